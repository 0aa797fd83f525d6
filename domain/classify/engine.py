"""``classify()``: a description's language, kind, EWC candidates and whether to ask a person.

Steps (each in its own module):

1. fold the text and split it into words (:mod:`~domain.classify.text`);
2. guess its language (:mod:`~domain.classify.language`);
3. turn each word into tokens in that language: its stem; a compound split into known parts
   (German, Dutch, Danish, Swedish); a misspelt word corrected to a known one (rapidfuzz, one edit
   for words of five letters or more); Chinese segmented against its vocabulary. Words that mean
   nothing in that language (``"FGD"``, ``"CO2"``, ``"RO"``) are also read as English;
4. find lexicon terms (the longest at each position) and take the **head** of the main clause
   (:mod:`~domain.classify.grammar`): a resource term names the kind; a main clause with content
   words but no resource term is a material;
5. weigh the unit and the figures in the text (:mod:`~domain.classify.evidence`);
6. for a material, rank EWC codes (:mod:`~domain.classify.candidates`);
7. abstain (``needs_review``) below the confidences calibrated on the evaluation set's dev split.

Deterministic: same text and unit, same answer (ties broken by code). Confidences are
heuristic scores in [0, 1], not calibrated probabilities.

Speed: answers are cached by the text with its figures zeroed (an export's rows differ in their
quantities) and by its shape: its words, with every short word no language knows as a blank
(:func:`_inert`: batch tags, abbreviations), plus what the figures, clause break, accented
letters and written codes say. A text of a shape seen before is answered without being read
again. A new text is read through what is kept per word (:class:`_Word`: its tokens, traits
and queries in each language, once per process) and answered from a text that read the same
(:func:`_conclusion_key`: the same language, terms, word traits, similarity and shape) when
there was one; the similarity to the official texts is kept per query (:data:`_SIMILAR`) and
computed only for a material. ``tests/unit/test_classify_caches.py`` holds the answers and
readings served so to those computed from scratch.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left
from collections import Counter, OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache, partial
from itertools import chain, compress, count, pairwise
from operator import neg
from typing import Final, NamedTuple, TypeVar

from rapidfuzz import process
from rapidfuzz.distance import OSA

from domain.classify.candidates import (
    CODE_PATTERN,
    LAST_MAKING_CHAPTER,
    OFF_SPEC,
    EwcCandidate,
    hazardous_codes,
    is_packaging,
    mentioned_codes,
    mirrors,
    names_packaging,
    names_what_things_are_made_of,
    rank_candidates,
)
from domain.classify.evidence import kinds_for_unit, kinds_in_text
from domain.classify.grammar import (
    ABSENT_AFTER,
    ABSENT_BEFORE,
    ABSENT_OF,
    ANSWER_NO,
    BESIDE_HALOGEN,
    BIODEGRADABLE,
    BIODEGRADABLE_ADVERBS,
    CAST_ALLOYS,
    CATALYST_METALS,
    CODE_LABELS,
    COMPOUNDING,
    CONTAINING,
    DELIVERIES,
    DELIVERIES_HAN,
    DESTINATION_STARTS_ZH,
    DESTINATIONS,
    DIRECTIONS,
    DISPOSED,
    DISPOSED_HAN,
    DRUMS,
    DRUMS_HAN,
    EMPTY,
    EQUIPMENT,
    FILLERS,
    FILLING,
    FOUND,
    FUNCTION_WORDS,
    HALOGEN_FREE,
    HALOGEN_FREE_HAN,
    HALOGENATED,
    HALOGENATED_HAN,
    HALOGENATED_WORDS,
    HEAD_FIRST,
    LINKING,
    MACHINES,
    MADE_HERE,
    MADE_HERE_HAN,
    MAKING,
    NEGATIONS,
    NO_DESTINATION_ZH,
    NOT_BEFORE_SHORT_HEAD,
    NOT_EASILY,
    NOT_HALOGENATED,
    NOT_METALS,
    PLACES,
    PLAIN_WORDS,
    PREPOSITIONS,
    REBUILDING,
    REBUILDING_HAN,
    RECEIVERS,
    RESIDUES,
    SHORT_HEADS,
    SOILED,
    SPENT_WATER,
    SURPLUS_HEADS,
    TANKER_PAIRS,
    TANKERS,
    TANKERS_HAN,
    TREATED_WATER,
    UNIT_WORDS,
    UNUSED,
)
from domain.classify.language import UNIT_SYMBOLS, guess_language, languages_of, letter_hints
from domain.classify.lexicon import LexiconTerm, lexicon
from domain.classify.references import entry_tokens, reference_index, similarity_tokens
from domain.classify.text import (
    LANGUAGES,
    SPELLED_OUT_LANGUAGES,
    Memo,
    fold,
    fold_words,
    has_han,
    hyphen_joined,
    segment_han,
    spelled_out,
    stem,
    stems_everywhere,
    words,
)
from domain.errors import ClassificationError
from domain.ewc import catalogue
from schemas.common import ResourceKind

KIND_REVIEW_BELOW: Final = 0.5
"""A kind confidence below this asks for review (calibrated on the dev split)."""
CODE_REVIEW_BELOW: Final = 0.3
"""A material whose best code scores below this asks for review."""
CHAPTER_MARGIN_BELOW: Final = 0.2
"""A material whose best code leads the best code of another chapter by less than this asks for
review. Calibrated on the evaluation set's dev split as the smallest margin that keeps the rows
not asked about in the right chapter 96 % of the time; it asks about a third of the materials.
A wrong code given with confidence costs more than a question."""

_MIN_FUZZY_LENGTH: Final = 5
_MIN_COMPOUND_HEAD: Final = 4
_MIN_COMPOUND_MODIFIER: Final = 3
_LONGEST_COMPOUND: Final = 64
"""Longer words are not split nor spelling-corrected (each cut costs a stem: quadratic)."""
_RESOURCE_KINDS: Final = frozenset(k.value for k in ResourceKind) | {"none"}
_UTILITY_KINDS: Final = frozenset({"heat", "steam", "water", "gas"})
_CONFLICT_PENALTY: Final = 0.25


@dataclass(frozen=True, slots=True)
class Classification:
    """The answer for one text.

    Attributes:
        text: the text as given.
        kind: the resource kind.
        kind_confidence: heuristic score in [0, 1]: high when a lexicon term decided the kind
            and the words were recognised, lower when the kind is the material default or the
            unit disagrees with the words.
        candidates: EWC codes best first, at most ``top``; always empty for kinds other than
            material, and possibly empty for a material nothing points to.
        matched_terms: the lexicon terms found, in text order (the explanation).
        hazardous_hint: the text says hazardous or contaminated.
        language: the language the text was read in (ISO 639-1).
        needs_review: the answer is too uncertain to use without a person's look: the kind's
            confidence, or a material's best code's, is under its threshold, the best code's
            chapter barely leads another chapter's, or a material has no candidate at all.
    """

    text: str
    kind: ResourceKind
    kind_confidence: float
    candidates: tuple[EwcCandidate, ...]
    matched_terms: tuple[str, ...]
    hazardous_hint: bool
    language: str = "en"
    needs_review: bool = False

    @property
    def ewc_code(self) -> str | None:
        """The best candidate's code, or ``None`` without candidates."""
        return self.candidates[0].code if self.candidates else None

    @property
    def ewc_chapter(self) -> str | None:
        """The best candidate's two-digit chapter, or ``None`` without candidates."""
        return self.candidates[0].chapter if self.candidates else None


class _Match(NamedTuple):
    """A lexicon term found in a text (a named tuple: made for every term of every text)."""

    term: LexiconTerm
    first: int  # first word index covered
    last: int  # last word index covered
    inside: bool = False  # it ends inside its last word (a compound's modifier: "water|basis")


@cache
def _fuzzy_choices(lang: str, initial: str) -> tuple[str, ...]:
    """Known stems starting with ``initial``, the ones a misspelt word is corrected to.

    A misspelling keeps its first letter far more often than not, and "hopper" must not become
    "copper".
    """
    index = reference_index(lang)
    known = [
        w
        for w in index.vocabulary
        if len(w) >= _MIN_FUZZY_LENGTH and w.isalpha() and w[0] == initial
    ]
    known.sort(key=lambda w: (w not in index.lexicon_vocabulary, -index.frequency.get(w, 0), w))
    return tuple(known)


@cache
def _fuzzy_choices_near(lang: str, initial: str, length: int) -> tuple[str, ...]:
    """:func:`_fuzzy_choices` of a length one edit can reach (``length`` +- 1), in their order.

    An edit changes a word's length by one at most, so the correction among these is the one
    among all of them, found without measuring the distance to the rest.
    """
    return tuple(w for w in _fuzzy_choices(lang, initial) if abs(len(w) - length) <= 1)


@cache
def _han_vocabulary() -> tuple[Mapping[str, LexiconTerm], int]:
    single = {key[0]: term for key, term in lexicon("zh").items() if len(key) == 1}
    return single, max((len(w) for w in single), default=1)


def word_tokens(lang: str, word: str) -> tuple[str, ...]:
    """The tokens one folded word stands for in a language (kept per word by its `_Word`).

    Its stem when known; else a compound's parts (compounding languages); else the known stem
    one edit away (five letters or more, and no language knows the word as it is); else its
    stem as is.
    """
    if has_han(word):
        if lang != "zh":
            return ()
        vocabulary, longest = _han_vocabulary()
        return tuple(segment_han(word, vocabulary, longest))
    if word in PLAIN_WORDS[lang]:
        return (word,)  # a word of the language naming no material, whatever its stem names
    token = stem(lang, word)
    index = reference_index(lang)
    if token in index.vocabulary or not word.isalpha() or len(word) < _MIN_FUZZY_LENGTH:
        return (token,)
    ascii_spelled = spelled_out(word) if lang in SPELLED_OUT_LANGUAGES else None
    if ascii_spelled is not None and stem(lang, ascii_spelled) in index.vocabulary:
        return (stem(lang, ascii_spelled),)  # "Abwaerme" is how ASCII writes Abwärme
    if len(word) > _LONGEST_COMPOUND:
        return (token,)  # no compound nor misspelling of a known word: not worth a split
    if lang in COMPOUNDING:
        parts = _compound(lang, word, index.vocabulary)
        if not parts and ascii_spelled is not None:  # "Laagtrycksaanga": Lågtrycksånga
            parts = _compound(lang, ascii_spelled, index.vocabulary)
        if lang == "sv" and not (parts and all(p in index.vocabulary for p in parts)):
            # "vattenverket", "oljan": the noun with its article, which Snowball keeps
            known = _swedish_without_article(word, index.vocabulary)
            if known:
                return known
        if parts:
            return parts
    if languages_of(word):
        return (token,)  # a word of another language ("stoom" in a German row), not a typo
    found = process.extractOne(
        token,
        _fuzzy_choices_near(lang, token[0], len(token)),
        scorer=OSA.distance,
        score_cutoff=1,
    )
    if found is not None:
        return (found[0],)
    if lang in COMPOUNDING:
        return _known_modifier(lang, word, index.vocabulary) or (token,)
    return (token,)


def _guessed_head(lang: str, tokens: tuple[str, ...], han: bool) -> bool:
    """Whether a word was read by its modifier alone (:func:`_known_modifier`).

    Its last token is then a head no text knows (nor a word of surplus, *Dampf|überschuss*).
    """
    vocabulary = reference_index(lang).vocabulary
    return (
        not han
        and len(tokens) > 1
        and tokens[-1] not in vocabulary
        and tokens[-1] not in _surplus_stems(lang)
    )


def _known_modifier(lang: str, word: str, vocabulary: frozenset[str]) -> tuple[str, ...]:
    """A compound whose head no text knows, as its known modifier and that head's stem.

    *Katalysator|korrels*, *Katalysator|kugeln*, *katalysator|fyld*: the shape or container a
    plant writes after a material is often a word no reference text holds, so no cut of
    :func:`_compound` is found, yet the modifier says what the row is. The longest known
    modifier of :data:`_MIN_KNOWN_MODIFIER` letters or more, a word the texts write as it is
    (with or without a linking *s*; *fjernvarm|erør* is no cut), never a word that is never
    content, before a head of :data:`_MIN_COMPOUND_HEAD` letters or more. The caller tries it
    only after spelling correction found nothing, so a misspelled compound is corrected first;
    the answer it leads to is then left for review (``guessed_head``: *Hydrauliköl|schläuche*
    are hoses, not the oil).

    Empty when there is none, when the head says the modifier is absent (*asbest|freier*,
    *asbest|fritt*, *asbest|vrije*), or when the modifier names a utility (*Fernwärme|rohre*,
    *Kühlwasser|pumpe*, *Druckluft|schläuche*: the pipe, the pump, the hose, no heat, water or
    gas offered).
    """
    skipped = _skipped_stems(lang)
    surface = reference_index(lang).words
    absent = tuple(ABSENT_AFTER[lang] | ABSENT_OF[lang])
    terms, english = lexicon(lang), lexicon("en")
    for cut in range(len(word) - _MIN_COMPOUND_HEAD, _MIN_KNOWN_MODIFIER - 1, -1):
        raw, tail = word[:cut], word[cut:]
        if tail.startswith(absent):
            return ()  # "asbest|freie": what is absent is no reading of the word
        head = stem(lang, tail)
        for form in (raw[:-1], raw) if raw.endswith("s") else (raw,):
            modifier = stem(lang, form)
            if form in surface and modifier in vocabulary and modifier not in skipped:
                term = terms.get((modifier,)) or english.get((modifier,))
                if term is not None and term.kind != "material":
                    return ()  # "Fernwärme|rohre": the pipes of a utility
                return (modifier, head)
    return ()


_MIN_KNOWN_MODIFIER: Final = 6
"""The shortest modifier read alone before a head no text knows (*katalysator|korrels*)."""


def _swedish_without_article(word: str, vocabulary: frozenset[str]) -> tuple[str, ...]:
    """A Swedish word no compound of known parts reads, as the noun without its article.

    Each form :func:`_swedish_indefinite` gives, as a known stem or a compound of known parts,
    never spell-corrected (*stålplå* is no *stall*), also as ASCII spells it out (*aangan*). The
    caller tries the word as a compound first (*oljeabsorbent*, *stålplåt*: no article cut off).
    Empty when no form is known.
    """
    for form in _swedish_indefinite(word):
        for spelled in (form, spelled_out(form)):  # "aangan": ångan as ASCII writes it
            if spelled is None:
                continue
            token = stem("sv", spelled)
            if token in vocabulary:
                return (token,)
            parts = _compound("sv", spelled, vocabulary)
            if parts and all(p in vocabulary for p in parts):
                return parts
    return ()


def _swedish_indefinite(word: str) -> tuple[str, ...]:
    """The forms a Swedish noun written with its definite article may stand for, likeliest first.

    Swedish writes the article on the noun, and Snowball's Swedish stemmer leaves much of it on:
    *vattenverket* (*vattenverk* + *et*), *slammet* (*slam*, its *m* doubled), *bränslet*
    (*bränsle* + *t*), *oljan* (*olja* + *n*). Bases shorter than four letters are not tried.
    """
    found: list[str] = []
    if word.endswith("et"):
        base = word[:-2]
        if base.endswith("mm"):
            base = base[:-1]  # "slammet": slam (not "stallet" a stål, nor "spannet" a spån)
        found.append(base)
    if word.endswith(("t", "n")):
        found.append(word[:-1])
    return tuple(b for b in found if len(b) >= _MIN_INDEFINITE)


_MIN_INDEFINITE: Final = 4


def _compound(lang: str, word: str, vocabulary: frozenset[str]) -> tuple[str, ...]:
    """A compound split into modifier and head, both known if they can be, the longest head first.

    Else the head is the longest known tail.

    A head has four letters or more, or is one of :data:`~domain.classify.grammar.SHORT_HEADS`
    (*Restgas*, *Prozessgas*) after a letter other than *g* or *a*: Swedish and Danish passives
    and genitives end in *-ggas*, *-agas* (*läggas* is *lägga* + *s*, *upplagas* *upplaga* + *s*).
    A word saying it is surplus is a head too (*Dampf|überschuss*,
    :data:`~domain.classify.grammar.SURPLUS_HEADS`).
    """
    longest: tuple[str, ...] = ()
    known_stems: tuple[str, ...] = ()
    surplus = _surplus_stems(lang)
    surface = reference_index(lang).words
    for cut in range(_MIN_COMPOUND_MODIFIER, len(word) - _MIN_COMPOUND_HEAD + 2):
        head = stem(lang, word[cut:])
        if len(head) >= _MIN_COMPOUND_HEAD:
            found = head in vocabulary or head in surplus
        else:
            found = head in SHORT_HEADS and word[cut - 1] not in NOT_BEFORE_SHORT_HEAD
        if found:
            raw = word[:cut]  # with or without one linking s ("Prozess" keeps both of its)
            forms = (raw[:-1], raw) if raw.endswith("s") and cut > 1 else (raw,)
            stems = [stem(lang, f) for f in forms]
            modifier = next((m for m in stems if m in vocabulary), stems[0])
            if modifier in vocabulary:
                if not _inside_a_word(lang, word, cut, modifier, surface):
                    return (modifier, head)  # "asphalt|reste", not "asphal|trester"
                # "asbes|treste" stems as "asbest|reste" does: a cut inside a word written
                # out gives way to a later cut after it
                known_stems = known_stems or (modifier, head)
                continue
            if not longest:
                # "Prozess|dampf|überschuss": a modifier of two known words
                long_enough = cut >= _MIN_SPLIT_MODIFIER
                inner = _compound(lang, word[:cut], vocabulary) if long_enough else ()
                known = (
                    inner
                    and len(inner[0]) >= _MIN_COMPOUND_HEAD
                    and all(p in vocabulary and p not in _skipped_stems(lang) for p in inner)
                )  # "underjords|gruva" is no "und|jord|gruva"
                longest = (*inner, head) if known else (modifier, head)
    return known_stems or longest


def _inside_a_word(lang: str, word: str, cut: int, modifier: str, surface: frozenset[str]) -> bool:
    """Whether a compound's cut falls inside its modifier.

    True when ``word[:cut]`` is no word as written but one or two letters short of one with
    its stem (*asbes* of *asbest*).
    """
    if word[:cut] in surface:
        return False
    return any(
        word[: cut + n] in surface and stem(lang, word[: cut + n]) == modifier
        for n in (1, 2)
        if cut + n < len(word)
    )


@cache
def _surplus_stems(lang: str) -> frozenset[str]:
    """The stems of the words of surplus that end a compound (:data:`SURPLUS_HEADS`).

    The head :func:`_compound` splits off, and the token :func:`_find_matches` reads past.
    """
    return frozenset(stem(lang, w) for w in SURPLUS_HEADS[lang])


@cache
def _skipped_stems(lang: str) -> frozenset[str]:
    """The stems of the words that are never content (:func:`_skipped`): no part of a compound."""
    return frozenset(stem(lang, w) for w in _skipped(lang))


_MIN_SPLIT_MODIFIER: Final = 8
"""The shortest modifier read as a compound of its own (*prozess|dampf*, not *bas*)."""


class _Word(NamedTuple):
    """What one folded word is in one language: all a classification asks of the word alone.

    Attributes:
        tokens: its tokens (:func:`word_tokens`).
        foreign: it has no Chinese character and the language does not know it
            (:func:`languages_of`): it is also read as English.
        content: a content word: no function word, filler, preposition or unit word
            (:func:`_skipped`), no figure, not a single letter.
        known: it has tokens and the language's official texts hold each (:func:`_recognised`).
        indexed: its tokens the official texts hold.
        similar: its stem and its compound parts the official texts hold (with ``indexed``,
            its part of the text's similarity query, :func:`_similar_query`).
        languages: the languages that know it (:func:`languages_of`), in :data:`LANGUAGES`
            order.
        traits: what the grammar reads of it, as bits: ``content``, ``known``, and whether it
            is a preposition that ends a main clause (:func:`_stops`), a filler
            (:func:`_fillers`), a destination word (:func:`_destinations`), a word saying the
            next or the previous material is absent (:func:`_absent`), a word naming a
            content, a residue or an empty container (:func:`_contents`), a catalyst's metal
            (:func:`_catalyst_metal`), a word saying halogenated or not
            (:func:`_said_halogenated`), a compound ending in a machine
            (:data:`~domain.classify.grammar.MACHINES`), a utility's equipment
            (:data:`~domain.classify.grammar.EQUIPMENT`), a Chinese run its vocabulary reads
            in part (:func:`_modifies_a_noun`), a compound read by its modifier alone
            (:func:`_known_modifier`), a word saying a thing is unused
            (:func:`_soiled_wipes`). With the terms found, all the steps after the reading
            ask of the word (:func:`_conclusion_key`).
    """

    tokens: tuple[str, ...]
    foreign: bool
    content: bool
    known: bool
    indexed: tuple[str, ...]
    similar: tuple[str, ...]
    languages: tuple[str, ...]
    traits: int


def _read_word(lang: str, word: str) -> _Word:
    """:class:`_Word` of a folded word in a language, from the functions each field names."""
    tokens = () if word in CODE_LABELS else word_tokens(lang, word)
    idf = reference_index(lang).idf
    languages = languages_of(word)
    han = has_han(word)
    content = word not in _skipped(lang) and not word[0].isdigit() and (len(word) > 1 or han)
    known = bool(tokens) and all(t in idf for t in tokens)
    flags = {
        "content": content,
        "known": known,
        "stop": word in _stops(lang),
        "filler": word in _fillers(lang),
        "destination": word in _destinations(lang),
        **{trait: word in table for trait, table in _absence_words(lang).items()},
        "containing": word in _containing(lang),
        "residue": word in _residues(lang),
        "linking": word in LINKING[lang] or word in LINKING["en"],
        "empty": word in EMPTY[lang] or word in EMPTY["en"],
        "precious_metal": _names_metal(lang, word, _PRECIOUS_CATALYST),
        "hazardous_metal": _names_metal(lang, word, _HAZARDOUS_CATALYST),
        "biodegradable": word.startswith(BIODEGRADABLE),
        "not_easily": word in NOT_EASILY,
        "bio_adverb": word in BIODEGRADABLE_ADVERBS,
        **_halogen_traits(word, han),
        "answer_no": word in ANSWER_NO[lang] or word in ANSWER_NO["en"],
        "machine": len(tokens) > 1 and tokens[-1] in _machine_stems(lang),
        "equipment": word in EQUIPMENT.get(lang, ()),
        "partly_read": han and sum(map(len, tokens)) < len(word),
        "guessed_head": _guessed_head(lang, tokens, han),
        "unused": word in UNUSED,
        "made_here": _holds(lang, word, han, MADE_HERE, MADE_HERE_HAN),
        "making": not han and _starts_or_ends(lang, word, MAKING),
        "delivered": _holds(lang, word, han, DELIVERIES, DELIVERIES_HAN),
        "receiver": word in RECEIVERS.get(lang, ()) or word in RECEIVERS["en"],
        "filling": word in FILLING.get(lang, ()) or word in FILLING["en"],
        "rebuilding": (
            any(h in word for h in REBUILDING_HAN)
            if han
            else word in REBUILDING.get(lang, ()) or word in REBUILDING["en"]
        ),
    }
    return _Word(
        tokens=tokens,
        foreign=not han and lang not in languages,
        content=content,
        known=known,
        indexed=tuple(t for t in tokens if t in idf),
        similar=tuple(t for t in similarity_tokens(lang, (word,)) if t in idf),
        languages=tuple(sorted(languages, key=LANGUAGES.index)),
        traits=sum(_TRAIT[name] for name, flag in flags.items() if flag),
    )


def _holds(
    lang: str,
    word: str,
    han: bool,
    table: Mapping[str, tuple[str, ...]],
    han_words: tuple[str, ...],
) -> bool:
    """Whether a folded word holds an entry of a marked word table, or a Chinese run a word.

    :func:`_starts_or_ends` reads the table; a Chinese run holds one of ``han_words`` inside
    it (*生产*, *来料*).
    """
    if han:
        return any(h in word for h in han_words)
    return _starts_or_ends(lang, word, table)


def _starts_or_ends(lang: str, word: str, table: Mapping[str, tuple[str, ...]]) -> bool:
    """Whether a folded word holds an entry of ``table`` as the entry's marks say.

    ``word`` whole, ``word*`` at its start, ``*word`` at the end of a compound of a
    compounding language (*isolatie|fabriek*) and whole, ``~word`` at such an end only; the
    entries of the word's language and of English.
    """
    for entry in chain(table.get(lang, ()), table["en"]):
        part = entry.strip("*~")
        if word == part and entry[0] != "~":
            return True
        if entry.endswith("*") and word.startswith(part):
            return True
        if (
            entry.startswith(("*", "~"))
            and lang in COMPOUNDING
            and len(word) > len(part) + 2
            and word.endswith(part)
        ):
            return True
    return False


def _halogen_traits(word: str, han: bool) -> dict[str, bool]:
    """The halogen traits of a folded word: what it says of a waste being halogenated.

    ``halogenated``: it says so; ``halogen_free``: it says not (a word saying the contrary is
    read first: *ohalogenerade*, *halogenfrei*, *非卤代*); ``beside_halogen``: beside one, it
    makes it no statement (*lamps*, *content*).
    """
    beside = word in BESIDE_HALOGEN
    if han:
        free = any(h in word for h in HALOGEN_FREE_HAN)
        said = any(h in word.replace("含氯化", "") for h in HALOGENATED_HAN)
        return {"halogen_free": free, "halogenated": not free and said, "beside_halogen": beside}
    free = word.startswith(HALOGEN_FREE)
    said = word in HALOGENATED_WORDS or (
        word.startswith(HALOGENATED) and not word.startswith(NOT_HALOGENATED)
    )
    return {"halogen_free": free, "halogenated": not free and said, "beside_halogen": beside}


class _Text(NamedTuple):
    """A text's words read in one language.

    Attributes:
        words: each word's :class:`_Word`, in order.
        tokens: the tokens of the words, in order.
        owners: the word each token comes from.
        content: positions of the content words.
    """

    words: tuple[_Word, ...]
    tokens: tuple[str, ...]
    owners: tuple[int, ...]
    content: tuple[int, ...]


_Read = TypeVar("_Read")


def _kept_by_identity(
    read: Callable[[str, tuple[str, ...]], _Read],
) -> Callable[[str, tuple[str, ...]], _Read]:
    """``read``, kept per language for the last tuple of words it read, by identity.

    One classification asks such a reading many times with the very same tuple of words, and a
    test of identity is all a hit costs (a cache keyed by the words would hash the whole text
    at every ask: the square of a long text's length). Safe across threads: an entry is
    replaced whole, and one whose words are the very tuple asked about holds its reading (the
    entry keeps the tuple alive, so no other tuple can take its identity).
    """
    last: dict[str, tuple[tuple[str, ...], _Read]] = {}

    def kept(lang: str, folded_words: tuple[str, ...]) -> _Read:
        found = last.get(lang)
        if found is not None and found[0] is folded_words:
            return found[1]
        answer = read(lang, folded_words)
        last[lang] = (folded_words, answer)
        return answer

    kept.__doc__ = read.__doc__
    return kept


def _read_text(lang: str, folded_words: tuple[str, ...]) -> _Text:
    """:class:`_Text` of a text's words in a language, from its words' :class:`_Word`."""
    read = tuple(map(_WORDS[lang].__getitem__, folded_words))
    per_word = [word.tokens for word in read]
    tokens = tuple(chain.from_iterable(per_word))
    if len(tokens) == len(read) and all(per_word):
        owners = tuple(range(len(read)))  # the common case: a token per word
    else:
        owners = tuple([i for i, word in enumerate(per_word) for _ in word])
    content = tuple(compress(range(len(read)), [word.content for word in read]))
    return _Text(read, tokens, owners, content)


_text: Final = _kept_by_identity(_read_text)
""":class:`_Text` of a text's words in a language (:func:`_read_text`), kept for the last words
read: one classification asks for it some ten times (the matches, the content words, the
similarity, the kind...)."""


@dataclass(frozen=True, slots=True)
class _Terms:
    """A lexicon indexed for the left-to-right scan: term sizes by first token."""

    by_tokens: Mapping[tuple[str, ...], LexiconTerm]
    sizes: Mapping[str, tuple[int, ...]]  # first token -> term lengths, longest first


@cache
def _terms(lang: str) -> _Terms:
    terms = lexicon(lang)
    sizes: dict[str, set[int]] = {}
    for key in terms:
        sizes.setdefault(key[0], set()).add(len(key))
    return _Terms(terms, {t: tuple(sorted(n, reverse=True)) for t, n in sizes.items()})


@cache
def _machine_stems(lang: str) -> frozenset[str]:
    """The stems of the machines a compound may end in (:data:`MACHINES`)."""
    return frozenset(stem(lang, w) for w in MACHINES.get(lang, ()))


@cache
def _skipped(lang: str) -> frozenset[str]:
    """Words that are never content: function words, fillers, prepositions, units."""
    return (
        FUNCTION_WORDS[lang]
        | FILLERS[lang]
        | PREPOSITIONS[lang]
        | FILLERS["en"]
        | UNIT_WORDS
        | CODE_LABELS
    )


@cache
def _stops(lang: str) -> frozenset[str]:
    """The prepositions that end a main clause in a language: its own and English ones."""
    return PREPOSITIONS[lang] | PREPOSITIONS["en"]


@cache
def _fillers(lang: str) -> frozenset[str]:
    """The fillers of a language and of English."""
    return FILLERS[lang] | FILLERS["en"]


_ABSENCE_TABLES: Final = {
    "absent_before": ABSENT_BEFORE,
    "absent_of": ABSENT_OF,
    "absent_after": ABSENT_AFTER,
    "negation": NEGATIONS,
    "found": FOUND,
}
"""The grammar's tables of the words of absence (:func:`_absences`), by the trait they give."""


@cache
def _absence_words(lang: str) -> dict[str, frozenset[str]]:
    """Trait -> the words of absence of a language and of English (:data:`_ABSENCE_TABLES`)."""
    return {trait: table[lang] | table["en"] for trait, table in _ABSENCE_TABLES.items()}


@cache
def _containing(lang: str) -> frozenset[str]:
    """The words naming a content in a language and in English (:data:`CONTAINING`)."""
    return CONTAINING[lang] | CONTAINING["en"]


_PRECIOUS_CATALYST: Final = "160801"
_HAZARDOUS_CATALYST: Final = "160802"
_TOLD_BY_METAL: Final = frozenset({"160801", "160802", "160803"})
"""The entries of spent catalysts a metal tells apart (precious, dangerous transition metals,
others): a head naming one of these first names a catalyst by its metals (a FCC catalyst,
16 08 04, a liquid one, 16 08 06, have entries of their own)."""
_CATALYSTS: Final = "1608"
_NO: Final = "无"
"""The Chinese *without* a character of a metal may follow in a word (*无铬催化剂*)."""


def _names_metal(lang: str, word: str, code: str) -> bool:
    """Whether a word names a metal of a catalyst's entry (:data:`CATALYST_METALS`)."""
    metals = CATALYST_METALS[code]
    if has_han(word):
        return any(char in metals and word[n - 1 : n] != _NO for n, char in enumerate(word))
    return word in metals and word not in NOT_METALS[lang]


def _catalyst_metal(
    lang: str,
    folded_words: tuple[str, ...],
    head: _Match | None,
    absent: frozenset[int] = frozenset(),
) -> frozenset[str]:
    """The entry of a spent catalyst the metals the text names tell (empty: none told).

    The head is a catalyst named by its metals (its entries all of 16 08, the first among
    16 08 01 to 16 08 03: :data:`_TOLD_BY_METAL`) and a word not said absent (``absent``:
    :func:`_absences`; *nickel-free*, *ohne Chrom*) names a precious metal (16 08 01:
    *Catalyseur Pd*, *Malla catal. Pt/Rh*, *废钯碳催化剂*) or else a dangerous transition metal
    (16 08 02: *catalizador CoMo*, *HT-shift kat. Fe/Cr*, *SCR (V2O5/TiO2)*). A FCC catalyst
    with nickel stays 16 08 04.
    """
    codes = head.term.codes if head is not None else ()
    if not codes or codes[0] not in _TOLD_BY_METAL or not all(c[:4] == _CATALYSTS for c in codes):
        return frozenset()
    traits = 0
    for n, word in enumerate(_text(lang, folded_words).words):
        if n not in absent:
            traits |= word.traits
    if traits & _PRECIOUS_METAL:
        return frozenset({_PRECIOUS_CATALYST})
    if traits & _HAZARDOUS_METAL:
        return frozenset({_HAZARDOUS_CATALYST})
    return frozenset()


@cache
def _residues(lang: str) -> frozenset[str]:
    """The words of what is left in a container or soils it, in a language and in English.

    :data:`~domain.classify.grammar.RESIDUES` and :data:`~domain.classify.grammar.SOILED`.
    """
    return RESIDUES[lang] | RESIDUES["en"] | SOILED[lang] | SOILED["en"]


@cache
def _destinations(lang: str) -> frozenset[str]:
    """The prepositions naming where a thing goes in a language and in English."""
    return DESTINATIONS[lang] | DESTINATIONS["en"]


def _find_matches(
    lang: str,
    folded_words: tuple[str, ...],
    allowed: frozenset[int] | None = None,
    breaks: tuple[int, ...] = (),
) -> list[_Match]:
    """Longest lexicon term at each position, left to right, non-overlapping.

    A term ending inside a word is *inside* (a compound's first part), unless the rest of the
    word only says it is surplus (*Dampf|überschuss*, :func:`_surplus_stems`); none reaches
    from words of no content across a clause break (:func:`_across_a_break`).
    """
    terms = _terms(lang)
    text = _text(lang, folded_words)
    tokens, owners = text.tokens, text.owners
    sizes, by_tokens = terms.sizes, terms.by_tokens
    surplus = _surplus_stems(lang)
    matches: list[_Match] = []
    if sizes.keys().isdisjoint(tokens):
        return matches  # no term starts with any of the tokens (one test in C)
    n = len(tokens)
    end = 0  # the tokens before it are part of a term found
    for i, lengths in enumerate(map(sizes.get, tokens)):
        if lengths is None or i < end:
            continue  # no term starts with the token, or it lies in one found
        for size in lengths:
            if i + size > n:
                continue
            term = by_tokens.get(tokens[i : i + size])
            first, last = owners[i], owners[i + size - 1]
            if (
                term is not None
                and (allowed is None or {first, last} <= allowed)
                and not (breaks and first < last and _across_a_break(text, first, last, breaks))
            ):
                j = i + size  # the rest of the word: "water|basis" is inside, "Dampf|über..." not
                while j < n and owners[j] == last and tokens[j] in surplus:
                    j += 1
                inside = j < n and owners[j] == last
                matches.append(_Match(term, first, last, inside))
                end = i + size
                break
    return matches


def _across_a_break(text: _Text, first: int, last: int, breaks: tuple[int, ...]) -> bool:
    """Whether words ``first..last`` reach from words of no content across a clause break.

    ``breaks``: the words a clause break follows. *Rags and wipes waste, oil contaminated*
    names no waste oil (*waste* is no content word: the oil is what the rags hold); a material
    and its qualifier after a comma are one term (*Hydraulolja, mineralisk*), as is a term
    written with its own comma (*groente-, fruit- en tuinafval*), and one opening the text (an
    ERP's *WASTE, OIL, HYDRAULIC*).
    """
    if first == 0:
        return False
    words = text.words
    return any(
        first <= b < last and not any(words[k].traits & _CONTENT for k in range(first, b + 1))
        for b in breaks
    )


def _all_matches(
    lang: str, folded_words: tuple[str, ...], breaks: tuple[int, ...] = ()
) -> list[_Match]:
    """The terms of a text read in a language, and those of the words it cannot read.

    A word foreign to the language is looked up in English (plants write English trade words
    in every language); and a word another language knows as its own is looked up in that
    language (for a material, a source or a hazard) when no code or utility is named before
    it: an export mixes its languages (*Used Altöl ex compressors, IBC*, *Waste Kartonage*).
    After a material or a utility named in words read, such a word is a detail (a stray word
    of another language rarely says more, and texts that read alike share their conclusions).
    """
    matches = _find_matches(lang, folded_words, breaks=breaks)
    read = _text(lang, folded_words).words
    foreign_words = [i for i, word in enumerate(read) if word.foreign]
    if not foreign_words:
        return matches
    covered = {i for m in matches for i in range(m.first, m.last + 1)}
    foreign = frozenset(foreign_words).difference(covered)
    found = len(matches)
    if lang != "en" and foreign and _may_start_a_term("en", [folded_words[i] for i in foreign]):
        matches += _find_matches("en", folded_words, foreign, breaks)
        covered.update(i for m in matches[found:] for i in range(m.first, m.last + 1))
    named = min(
        (m.first for m in matches if m.term.codes or m.term.kind in _UTILITY_KINDS),
        default=len(folded_words),
    )  # a material or a utility named before a word makes it a detail
    owned: dict[str, list[int]] = {}
    for i in sorted(foreign - covered):
        if i > named:
            break  # a material or a utility is named before the word: it is a detail
        if len(folded_words[i]) < _MIN_OWNED_LENGTH:
            continue  # "pak": Polish pitch, Dutch PAH
        for other in read[i].languages:
            if other not in (lang, "en"):
                owned.setdefault(other, []).append(i)
    for other, positions in owned.items():
        if _may_start_a_term(other, [folded_words[i] for i in positions]):
            mine = frozenset(positions) - covered
            more = _find_matches(other, folded_words, mine, breaks) if mine else []
            more = [m for m in more if m.term.kind not in _UTILITY_KINDS]  # _reading's choice
            matches += more
            covered.update(i for m in more for i in range(m.first, m.last + 1))
    return _in_order(matches, found)


def _in_order(matches: list[_Match], found: int) -> list[_Match]:
    """``matches`` in text order (the first ``found`` are, and so is each batch after them)."""
    if len(matches) > found:
        matches.sort(key=lambda m: m.first)
    return matches


_MIN_OWNED_LENGTH: Final = 5
"""The shortest word looked up in another language that knows it (:func:`_all_matches`)."""


def _may_start_a_term(lang: str, some_words: list[str]) -> bool:
    """Whether a token of one of the words begins a lexicon term of the language.

    A match of :func:`_find_matches` limited to some words begins at a token of one of them:
    when none begins a term, it finds nothing, and the text's tokens in that language need
    not be read.
    """
    table = _WORDS[lang]
    tokens = chain.from_iterable([table[w].tokens for w in some_words])
    return not _terms(lang).sizes.keys().isdisjoint(tokens)


def _content(lang: str, folded_words: tuple[str, ...]) -> tuple[int, ...]:
    """Positions of the content words (:attr:`_Text.content`)."""
    return _text(lang, folded_words).content


_CLAUSE_BREAK: Final = re.compile(
    r"[(\[{,;:\uff08\u3010\uff0c\uff1b\uff1a\u3001]|\s[-\u2013\u2014]\s"
)
"""Punctuation after which a description gives details, not what the thing is ("Cendres
volantes - chaudière CFB, silo 2"); brackets, commas and colons in their full-width forms too."""
_BAR: Final = re.compile(r"\|")
"""The bar between an export's columns (*Beizspülwasser | 25 m³/Woche | Tankfahrzeug*)."""


def _main_clause(
    lang: str,
    folded_words: tuple[str, ...],
    content: tuple[int, ...],
    limit: int,
    joined: tuple[int, ...] = (),
) -> range:
    """Words from the first content word to the next preposition or clause break.

    In Chinese a word beginning where the thing goes ends it too (:data:`DESTINATION_STARTS_ZH`).
    A preposition a hyphen joins (*fit-for-purpose water*, *oil-in-water emulsion*) is part of
    a modifier and ends nothing.
    """
    if not content:
        return range(0)
    start = content[0]
    stops = _stops(lang)
    inside = frozenset(joined)  # a set: a text of hyphenated stops asks for each of its words
    zh = lang == "zh"
    end = next(
        (
            i
            for i in range(start + 1, len(folded_words))
            if (folded_words[i] in stops and i not in inside) or (zh and _goes_zh(folded_words, i))
        ),
        len(folded_words),
    )
    if start < limit:
        end = min(end, limit)
    return range(start, end)


_LABEL_NUMBER: Final = re.compile(r"(?<![\w.,-])\d+(?![\w.,%-])(?:\s*([a-z]+))?")
"""A number and the word after it, in the text before the first clause break."""
_SIZES: Final = UNIT_SYMBOLS | {"mm", "cm", "um", "mesh", "x"}


def _breaks(folded: str, pattern: re.Pattern[str] = _CLAUSE_BREAK) -> tuple[int, ...]:
    """Positions (in :func:`words`) of the words a clause break follows ("asbestos free, 12 t").

    ``pattern``: what breaks a clause (:data:`_CLAUSE_BREAK`; :data:`_BAR`, an export's column
    bars). One pass: no break is a letter or a digit, so no word spans one, and the words
    between two breaks are counted once.
    """
    ends: list[int] = []
    before = at = 0
    for found in pattern.finditer(folded):
        before += len(words(folded[at : found.start()]))
        at = found.end()
        if before and (not ends or ends[-1] != before - 1):
            ends.append(before - 1)
    return tuple(ends)


def _clause_ends(shape: _TextShape) -> list[int]:
    """The last word of each clause, ascending: before a clause break or a column bar."""
    return sorted({*shape.breaks, *shape.bars})


def _clause_start(ends: list[int], n: int) -> int:
    """The first word of the clause holding word ``n`` (``ends``: sorted last words of clauses)."""
    at = bisect_left(ends, n)
    return ends[at - 1] + 1 if at else 0


def _clause_end(ends: list[int], n: int) -> int | None:
    """The last word of the clause holding word ``n`` (``None``: the text's last word)."""
    at = bisect_left(ends, n)
    return ends[at] if at < len(ends) else None


def _word_count(part: str) -> int:
    """How many words (:func:`words`) a part of a folded text has."""
    return len(words(part))


_WORD_COUNTS: Final = Memo(_word_count, 100_000)
"""The words of each part of a text between clause breaks, counted once per part: an export
repeats its parts (*Flugasche*, *Silo 0*) and a text new in one word is new in one part."""


def _clauses(folded: str, n_words: int) -> tuple[int, bool, bool, tuple[int, ...]]:
    """The words before the first clause break, their label and dash, and every break.

    Whether those words are a label, and whether a spaced dash ends them (*Almacén central -
    palets rotos*).

    ``n_words``: how many words ``folded`` has (the first item when it has no break). The
    breaks are what :func:`_breaks` gives, counted in the same pass.

    A label is not what the row is: it ends with a colon, also full-width (``Plant 2: LP
    steam``) or holds a plain number that is no quantity nor size (``Unit 300 - cooling
    water``); ``Biochar 20 mm - heat treated``, ``Compost 0-10, water 40%`` have none. Not a
    semicolon: the first field is as often the material (``Paraffingatsch; Heißwasser-
    Begleitheizung``) as the plant's name.
    """
    ends: list[int] = []
    before = at = 0
    first: re.Match[str] | None = None
    limit = n_words
    for found in _CLAUSE_BREAK.finditer(folded):
        before += _WORD_COUNTS[folded[at : found.start()]]
        at = found.end()
        if first is None:
            first, limit = found, before
        if before and (not ends or ends[-1] != before - 1):
            ends.append(before - 1)
    if first is None:
        return n_words, False, False, ()
    label = first.group() in (":", "\uff1a") or any(
        m.group(1) is None or m.group(1) not in _SIZES
        for m in _LABEL_NUMBER.finditer(folded, 0, first.start())
    )
    return limit, label, len(first.group()) == 3, tuple(ends)


@dataclass(frozen=True, slots=True)
class _Kind:
    kind: ResourceKind
    head: _Match | None
    confidence: float


def _written_apart(first: _Match, last: _Match) -> bool:
    """Whether the first of two material nouns written apart leads ("Flygaska biobränsle").

    In a compounding language a compound is one word ("Holzasche"): nouns written apart are
    an ERP's "material qualifier", and the first names the material ("Schlacke Stahl",
    "KSS-Emulsion", "Cellenbeton puin"); unless the last is a form the material takes or a
    residue of a process (ash, slag, packaging, batteries, sludge: chapters 10, 15, 16 and 19
    first) or a chemical formula, which leads in either order ("Stahl Schlacke", "Metall
    Fässer", "Blei Batterien", "Säure H2SO4"), or names an entry of the first (the form that
    material takes: "Aluminium draaispanen", the shavings' 12 01 03), but a residue or an
    aqueous liquid waste in its container is what it holds ("Flugasche Big Bags", "Wässrige
    Abfälle, IBC").
    """
    if first.last >= last.first or not first.term.kind == last.term.kind == "material":
        return False
    last_chapter = _chapter(last.term)
    if first.term.codes and first.term.codes[0].startswith(_HELD) and last_chapter == "15":
        return True  # a residue in its container: "Flugasche Big Bags", "Wässrige Abfälle, IBC"
    shared = not set(first.term.codes).isdisjoint(last.term.codes)
    if shared and not is_packaging(first.term.codes[0]):
        return False  # the form the material takes: "Aluminium draaispanen" ("Paletten Holz":
        # the container leads, as any other)
    return last_chapter not in _FORM_CHAPTERS and not any(
        c.isdigit() for token in last.term.tokens for c in token
    )


def _held_in(folded_words: tuple[str, ...], in_main: list[_Match], head: _Match) -> _Match:
    """The material a Chinese row names before its container, else the container (``head``).

    A register writes the waste, then its category, form and container (*废磷酸 HW34
    900-300-34 IBC*, *废防冻液(乙二醇) ... IBC吨桶*, *废钯碳催化剂 ... 密封桶*): the last term, the
    head of a Chinese phrase, is then the container, and the waste a material with entries
    that ends an earlier word (not one inside a place's name: *磷酸车间*, *化学品仓库*). The
    container is the waste when its word says it is waste, contaminated or empty (*废包装桶*,
    *沾染...废包装袋*, *空桶*, *废空桶*) or the row names the packaging's own category
    (*HW49 900-041-49*: packaging and containers that held hazardous waste).
    """
    if any(mark in folded_words[head.first] for mark in _WASTE_CONTAINER) or _packaging_code(
        folded_words
    ):
        return head
    held = [
        m
        for m in in_main
        if m.term.kind == "material"
        and m.term.codes
        and not names_packaging(m.term)
        and m.last < head.first
        and folded_words[m.last].endswith(m.term.tokens[-1])
    ]
    return held[-1] if held else head


_WASTE_CONTAINER: Final = ("废", "空", "沾染")
"""Chinese *waste*, *empty*, *contaminated*: a container word holding one is the waste."""


def _packaging_code(folded_words: tuple[str, ...]) -> bool:
    """Whether a row writes the code 900-041-49 (HW49: packaging that held hazardous waste)."""
    return any(folded_words[n : n + 3] == _PACKAGING_CODE for n in range(len(folded_words) - 2))


_PACKAGING_CODE: Final = ("900", "041", "49")


def _names_a_state(term: LexiconTerm) -> bool:
    """Whether a term names only off-specification batches (16 03; 02 03 04 beside them).

    *Off-spec*, *Fehlcharge*, *non conforme* say what became of a product, not what it is:
    beside a term that names the product (*whey permeate off-spec*, *Fehlcharge 2K-Lack*),
    the product leads; alone, they name 16 03.
    """
    codes = term.codes
    return bool(codes) and all(c[:4] == OFF_SPEC or c == _UNSUITABLE for c in codes)


_PACKAGING: Final = "15"  # an off-spec lot in sacks is still the lot
_UNSUITABLE: Final = "020304"


_HAN_VEHICLE: Final = "车"
"""The last character of every Chinese tanker (:data:`~domain.classify.grammar.TANKERS_HAN`)."""
_HAN_DRUM: Final = "桶"
"""The character of every Chinese drum (:data:`~domain.classify.grammar.DRUMS_HAN`)."""
_PER_HOUR: Final = frozenset(
    {"h", "hr", "hour", "std", "u", "uur", "time", "tim", "godz", "s", "小时"}
)
"""The hour or second of a flow (*90 m3/h*, *6 m3/u*, *2 l/s*), after a :data:`_FLOW_UNIT`."""
_FLOW_UNIT: Final = re.compile(r"\d*(?:m3|t|l|kg|吨)")
"""A unit of a flow, alone or after its figure (``m3``, ``5m3``): water per hour runs in a pipe."""
_ORIGINS: Final = frozenset(
    fold("from ex aus von vom de du des del dalla dal da van uit fra från z ze").split()
)
"""Words before what a water comes from (*Rinse water, from IBC cleaning*): a container or a
tanker after one is what was washed, not what the water is collected in."""
_NEGATED_BEFORE: Final = frozenset(
    fold("no not non nicht kein keine ikke inte ej nie niet geen pas sin senza bez").split()
)
"""Words that, one or two words before a word saying the water is treated or reused, deny it
(*not yet treated*, *no reuse possible*)."""
_HAN_NEGATIONS: Final = ("未", "不", "无", "非")
"""Chinese *not*, *no*, *non-*, before a treated word inside a Chinese word (*未达标*,
*不可回用*)."""

_Disposal = tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]
"""What a text says of a water's disposal (:func:`_disposal`): the positions of the words
saying it is spent, of those naming a tanker or a drum the lexicon does not list, and of those
saying it is disposed of. Plain integers: part of :func:`_conclusion_key`."""
_NOT_SPENT: Final[_Disposal] = ((), (), ())
"""The :data:`_Disposal` of a text saying nothing of a spent water, or that it is treated,
reused, piped or a flow per hour."""


def _disposal(
    lang: str, folded_words: tuple[str, ...], matches: list[_Match], shape: _TextShape
) -> _Disposal:
    """What a text says of a water's disposal (:data:`_Disposal`).

    The words saying the water is spent (:data:`~domain.classify.grammar.SPENT_WATER`; where
    they count is the head's business, :func:`_handled_as_waste`), unless a word of the text
    says it is treated, reused or piped (:data:`~domain.classify.grammar.TREATED_WATER`; not a
    word denied one or two words before, *not yet treated*, or a Chinese one after 未, 不...)
    or a flow per hour or second is written (*90 m3/h*: a pipe's). Then the road tankers and
    vacuum trucks (:data:`~domain.classify.grammar.TANKERS`,
    :data:`~domain.classify.grammar.TANKER_PAIRS`, :data:`~domain.classify.grammar.TANKERS_HAN`)
    and the drums the lexicon does not list (:data:`~domain.classify.grammar.DRUMS`,
    :data:`~domain.classify.grammar.DRUMS_HAN`), but not one after an origin word in its clause
    (:data:`_ORIGINS`: *from IBC cleaning*); and the words saying it is disposed of
    (:data:`~domain.classify.grammar.DISPOSED`, :data:`~domain.classify.grammar.DISPOSED_HAN`).
    Inert words (:func:`_inert`) count for nothing, so
    texts of one shape say the same. Nothing when no water term was read (most texts: the
    terms are in :func:`_conclusion_key` too).
    """
    if not any(m.term.kind == "water" for m in matches):
        return _NOT_SPENT
    stems = _spent_stems(lang)
    inside = lang in COMPOUNDING or lang == "zh"
    spent = tuple(
        n
        for n, w in enumerate(folded_words)
        if not _INERT[w] and (any(s in w for s in stems) if inside else w.startswith(stems))
    )
    if not spent:
        return _NOT_SPENT
    if any(
        w in _PER_HOUR and _FLOW_UNIT.fullmatch(prev) is not None
        for prev, w in pairwise(folded_words)
    ):
        return _NOT_SPENT  # "Spent cooling water, 90 m3/h": a flow through a pipe
    if _said_treated(lang, folded_words):
        return _NOT_SPENT
    ends = _clause_ends(shape)
    carried = tuple(
        n
        for n, w in enumerate(folded_words)
        if (
            w in TANKERS
            or w in DRUMS
            or (n + 1 < len(folded_words) and (w, folded_words[n + 1]) in TANKER_PAIRS)
            or (_HAN_VEHICLE in w and any(t in w for t in TANKERS_HAN))
            or (_HAN_DRUM in w and any(t in w for t in DRUMS_HAN))
        )
        and not _ORIGINS.intersection(folded_words[max(n - 2, _clause_start(ends, n)) : n])
    )
    disposed = tuple(
        n
        for n, w in enumerate(folded_words)
        if (w in DISPOSED and _NEGATED_BEFORE.isdisjoint(folded_words[max(n - 2, 0) : n]))
        or (lang == "zh" and any(_han_said(w, d) for d in DISPOSED_HAN))
    )  # not denied: "not for disposal", "keine Entsorgung", "non à éliminer"
    return spent, carried, disposed


def _han_said(word: str, said: str) -> bool:
    """Whether a Chinese word holds ``said`` with no negation just before it (*不可回用*: no)."""
    at = word.find(said)
    return at >= 0 and not any(x in word[max(at - 2, 0) : at] for x in _HAN_NEGATIONS)


def _said_treated(lang: str, folded_words: tuple[str, ...]) -> bool:
    """Whether a word says the water is treated, reused or piped, and none denies it."""
    treated = _treated_words(lang)
    for n, w in enumerate(folded_words):
        if lang == "zh":
            if any(_han_said(w, t) for t in treated):
                return True
        elif w in treated and _NEGATED_BEFORE.isdisjoint(folded_words[max(n - 2, 0) : n]):
            return True
    return False


@cache
def _spent_stems(lang: str) -> tuple[str, ...]:
    """The words saying a water is spent, in a language and in English (:func:`_disposal`)."""
    return tuple(sorted(SPENT_WATER[lang] | SPENT_WATER["en"]))


@cache
def _treated_words(lang: str) -> frozenset[str]:
    """The words saying a water was treated, in a language and in English (:func:`_disposal`)."""
    return TREATED_WATER[lang] | TREATED_WATER["en"]


_LIQUID: Final = re.compile(
    r"aqueous|liquid|washing|rinsing|liquor|leachate|emulsion|solution|bilge|oily water"
)
"""What the List's text of a liquid waste says (:func:`_liquid_codes`); not a sludge's (*sludges
from on-site effluent treatment*, *sludges from washing and cleaning*)."""


@cache
def _liquid_codes() -> frozenset[str]:
    """The entries whose text names a liquid (*aqueous*, *washing*, *liquor*, *emulsion*...)."""
    texts = ((e.code, e.description.lower()) for e in catalogue().entries.values())
    return frozenset(code for code, text in texts if _LIQUID.search(text) and "sludge" not in text)


def _handled_as_waste(
    lang: str,
    folded_words: tuple[str, ...],
    matches: list[_Match],
    head: _Match,
    shape: _TextShape,
    disposal: _Disposal,
) -> bool:
    """Whether a water text says it is a liquid waste disposed of, not water offered.

    A spent water (a word saying so before the end of the head's clause: wash, rinse, waste
    or oily water, a mother liquor, :func:`_disposal`) put in a container or a road tanker
    named after that clause, or written with the code of a liquid waste: a plant offering
    water to a neighbour pipes it; one that fills containers or tankers with its wash water
    disposes of a liquid waste (a material with entries); so does one that says, after the
    water, that it is disposed of (:data:`~domain.classify.grammar.DISPOSED`: *zur Entsorgung*,
    *à éliminer*, *委托处置*). Not a clean water in a tanker
    ("demin water, by tanker if needed"), a treated or piped one, what is washed (*rinse water
    from the bottle washer*, *Waschwasser, aus Tankwagen-Reinigung*, *Rinse water (from IBC
    cleaning)*: an origin word before it), a container after a destination word ("to flash
    drum") nor the code of another waste of the site (*we also dispose 15 01 10 packaging*).
    """
    spent, carried, disposed = disposal
    ends = _clause_ends(shape)
    clause_end = _clause_end(ends, head.last)
    if clause_end is None:
        clause_end = len(folded_words)
    if not any(n <= clause_end for n in spent):  # "Process water | cleaning station | tote"
        return False
    if any(
        n > head.last
        and not any(
            m.term.kind == "material" and head.last < m.first < n for m in matches
        )  # "Rinse water; sludge for disposal": the sludge is disposed of
        for n in disposed
    ):
        return True  # "Ölhaltiges Abwasser zur Entsorgung", "含油废水 委托处置"
    liquid = _liquid_codes()
    if any(prior >= 1.0 and code in liquid for code, prior in shape.mentioned):
        return True
    if any(n > clause_end for n in carried):
        return True
    if _chemical_carried(lang, folded_words, matches, head, shape):
        return True  # "aguas de limpieza con restos de fenol", "Spülwasser mit Chromsäure"
    return any(
        m.first > clause_end
        and m.term.kind == "material"
        and names_packaging(m.term)
        and not _after_destination(lang, folded_words, m)
        and not _ORIGINS.intersection(
            folded_words[max(m.first - 2, _clause_start(ends, m.first)) : m.first]
        )
        for m in matches
    )


def _chemical_carried(
    lang: str,
    folded_words: tuple[str, ...],
    matches: list[_Match],
    head: _Match,
    shape: _TextShape,
) -> bool:
    """Whether a chemical is named as what a spent water carries, after it and not absent.

    A chemical (:func:`_chemical`: an acid, a caustic, a solvent, an oil...) after the water,
    with a word of containing, residue or soiling before it, past *of* (*aguas de limpieza con
    restos de fenol*, *Spülwasser mit Chromsäure*, *eaux de rinçage souillées par des
    solvants*), or a word of residue right after it: a spent water carrying one is its liquid
    waste. Not one said absent (*Spülwasser, frei von Öl*).
    """
    read = _text(lang, folded_words).words
    tying = _CONTAINING | _RESIDUE | _LINKING
    absent: frozenset[int] = frozenset()
    if any(w.traits & _ABSENCE for w in read):
        pairs = _absences(lang, folded_words, shape.joined, shape.breaks, tuple(matches))
        absent = frozenset(a for a, _ in pairs)
    for m in matches:
        if m.first <= head.last or not _chemical(m.term) or _absent(m, absent):
            continue
        before = _word_before(read, m.first, tying)
        while (
            before > head.last
            and not read[before].traits & (_CONTAINING | _RESIDUE)
            and read[before].traits & (_LINKING | _STOP)
        ):
            before = _word_before(read, before, tying)  # "restos de", "souillées par des"
        if before > head.last and read[before].traits & (_CONTAINING | _RESIDUE):
            return True
        if m.last + 1 < len(read) and read[m.last + 1].traits & _RESIDUE:
            return True  # "Spülwasser mit Säure-Resten"
    return False


def _chapter(term: LexiconTerm) -> str:
    """The chapter of a term's first code ("" without codes)."""
    return term.codes[0][:2] if term.codes else ""


_FORM_CHAPTERS: Final = frozenset({"10", "15", "16", "19"})
_HELD: Final = ("10", "19", "1610")
"""Wastes a container named beside them holds: residues of processes (10, 19) and aqueous
liquid wastes (16 10), which have no other form."""


def _decide_kind(
    lang: str,
    folded_words: tuple[str, ...],
    matches: list[_Match],
    recognised: float,
    shape: _TextShape,
    disposal: _Disposal,
) -> _Kind:
    """Long because: the head rule, the material default and the unit evidence meet here.

    ``disposal``: what the text says of a water's disposal (:func:`_disposal`).
    """
    allowed, limit, label = shape.allowed, shape.limit, shape.label
    content = _content(lang, folded_words)
    main = _main_clause(lang, folded_words, content, limit, shape.joined)
    fillers = _fillers(lang)
    resource = [
        m
        for m in matches
        if m.term.kind in _RESOURCE_KINDS
        and not all(w in fillers for w in folded_words[m.first : m.last + 1])
        and not (m.inside and m.term.kind == "none")
        and not (
            m.term.kind in _UTILITY_KINDS
            and m.last + 1 in shape.joined
            and lang == "en"
            and folded_words[m.last + 1].endswith("ed")
        )
    ]  # "H2 Nebenprodukt": a word saying it is surplus never says what it is; a utility
    # joined by a hyphen to an English participle says how a thing was made ("bottom ash,
    # water-quenched", "gas-fired kiln", "steam-cleaned drums"; not "steam-export" nor
    # "Steam-net surplus", nouns it is offered by); nor does a
    # compound's first part naming no resource ("wervel|stroom|scheider": an eddy current)
    # a term beginning with words that are no content reaches into the clause ("empty aerosol
    # cans", "leere Spraydosen": the filler starts no clause, the term does; "Waste oil": the
    # oil heads it, and only its own entries' siblings come after it)
    read = _text(lang, folded_words).words
    in_main = [
        m
        for m in resource
        if m.first in main
        or (
            m.first < main.start <= m.last
            and not any(w.traits & _CONTENT for w in read[m.first : main.start])
        )
    ]
    main_content = [i for i in content if i in main]
    if in_main and label and all(m.last < limit and m.term.kind == "material" for m in in_main):
        # "Glass plant: cooling water return", "Steel works / BOF shop: converter gas",
        # "Cerámica Castellón / horno túnel: aceite usado": the label's material names the
        # plant, what follows it is the row (a utility named in the label is the row: "Waste
        # heat recovery HX-203: flue gas 180->90°C")
        later, _ = _head_after_label(lang, folded_words, content, resource, shape)
        named_words = {n for m in in_main for n in range(m.first, m.last + 1)}
        plant = any(n not in named_words for n in main_content)  # "Glass plant", "Batteries"
        if later is not None and (
            later.term.kind in _UTILITY_KINDS
            or (
                plant
                and later.term.codes
                and not names_packaging(later.term)
                and not _names_a_state(later.term)
            )
        ):  # a material after a label that is only a material is its detail: "Batteries: lead"
            in_main = []
    head: _Match | None = None
    equipment = False  # the text names a utility's equipment, not the utility
    if in_main:
        head = in_main[0] if lang in HEAD_FIRST else in_main[-1]
        # the first word's own head: "Bierfässer Edelstahl" leads with Fass, not Bier
        lead = next(m for m in reversed(in_main) if m.first == in_main[0].first)
        if lang in COMPOUNDING and _written_apart(lead, head):
            head = lead  # "Asche Holz", "Flygaska biobränsle"
        if lang in COMPOUNDING and _formula(head.term) and lead.term.kind == "material":
            head = lead  # "Gasflaschen CO2 leer", "Feuerlöscher CO2": what holds the gas
        if _names_a_state(head.term):  # "Whey permeate off-spec": whey, off spec
            named = [m for m in in_main if m.term.codes and not _names_a_state(m.term)
                     and _chapter(m.term) != _PACKAGING]  # fmt: skip
            if named:
                head = named[0] if lang in HEAD_FIRST else named[-1]
        if head.inside and head.term.kind in _UTILITY_KINDS:
            # "Lijmslib waterbasis": water-based says what the sludge is made with
            whole = [m for m in in_main if m.term.kind == "material" and not m.inside]
            if whole:
                head = whole[0] if lang in HEAD_FIRST else whole[-1]
            elif read[head.last].traits & _MACHINE:
                # "Dampf|maschine": a steam engine, no steam; a utility written apart beside
                # it still is one ("Abwärme Dampfmaschine")
                apart = [m for m in in_main if m.term.kind in _UTILITY_KINDS and not m.inside]
                if apart:
                    head = apart[0] if lang in HEAD_FIRST else apart[-1]
                else:
                    equipment = True
        if head.inside and head.term.kind == "material" and read[head.last].traits & _MACHINE:
            # "Abwärme Papier|maschine", "Kühlwasser Glas|ofen": a machine named by its
            # material; the utility beside it is the resource
            utilities = [m for m in in_main if m.term.kind in _UTILITY_KINDS and not m.inside]
            if utilities:
                head = utilities[0] if lang in HEAD_FIRST else utilities[-1]
        if head.term.kind == "none" and _modifies_a_noun(head, main_content, matches, read):
            # "Li-ion batteries energy storage system", "退役动力电池 ... 电动汽车": a word
            # naming no resource before a noun no term reads (a storage system, a car) heads
            # nothing when the clause names a material; "Biomass electricity", "Holzstrom"
            # end in it (electricity, refused), and beside a utility it stays ("Biogas Strom")
            named = [m for m in in_main if m.term.kind == "material"]
            if named:
                head = named[0] if lang in HEAD_FIRST else named[-1]
        if lang == "zh" and names_packaging(head.term):
            head = _held_in(folded_words, in_main, head)
        heat = next((m for m in in_main if m.term.kind == "heat"), None)
        if heat is not None and (
            head.term.kind == "water"
            or (head.term.kind == "gas" and (not allowed or ResourceKind.HEAT in allowed))
        ):  # "Abwärme Kühlwasser", "Restwarmte rookgas WKK": the heat they carry (not a gas
            # metered in Nm3/h: "heat treatment furnace exhaust gas, 30,000 Nm3/h")
            head = heat
        if lang in HEAD_FIRST and head.first != main_content[0]:
            first_word = main_content[0]
            covered = any(m.first <= first_word <= m.last for m in matches)
            if not covered and reference_index(lang).entries:
                head = None  # "boues ... eau": an unmatched noun leads the phrase
    elif not main_content:
        head = resource[-1] if resource else None
    elif label:
        # a label before the break ("Plant 2: LP steam", "Unit 300 - cooling water"): what
        # follows says what it is ("Biochar - heat treated" has no label: a material)
        head, main_content = _head_after_label(lang, folded_words, content, resource, shape)
        if head is None:
            head = next((m for m in resource if m.first >= max(main.stop, limit)
                         and m.term.kind in _UTILITY_KINDS), None)  # fmt: skip
    elif shape.dash and _place_before_the_break(lang, folded_words, matches, limit):
        # a place before a spaced dash and no resource term (*Almacén central - palets de
        # madera rotos*, *Fleet workshop - scrap tyres*): the clause after it names the row
        # when a term heading it names a material, as after a label; else the first clause
        # stays the head's place. Not a utility: after a material no term reads it is a
        # detail (*Biochar - heat treated*), after a place as often the place's liquid waste
        # (*Tankreiniging - waswater*), which the material default and the units read as before
        after_dash, words_after = _head_after_label(lang, folded_words, content, resource, shape)
        if after_dash is not None and after_dash.term.kind == "material":
            head, main_content = after_dash, words_after
    after = [
        i for i in main_content if head is not None and i > head.last and not _tag(folded_words[i])
    ]  # "Steam trap ST-12, defective": a tag names the trap, it is no noun of its own
    if (
        head is not None
        and head.term.kind in _UTILITY_KINDS
        and lang not in HEAD_FIRST
        and after
        and all(read[i].traits & _EQUIPMENT for i in after)
    ):
        equipment = True  # "Heat exchanger tubes, copper", "Steam trap, defective"
    if (
        head is not None
        and head.term.kind == "material"
        and head.term.codes[:1] == (_DISCARDED_EQUIPMENT,)
        and allowed
        and ResourceKind.MATERIAL not in allowed
    ):  # "Abwärme Wärmetauscher 3 MW": the equipment the heat is offered from
        head = next((m for m in resource if m.term.kind in _UTILITY_KINDS), None)
        equipment = head is None
    if equipment:
        head = None  # the material default, or what the units allow
    if head is not None and head.term.kind == "none":
        raise ClassificationError(
            f"{head.term.term!r} is not a heat, steam, water, material or gas resource"
        )
    if head is not None:
        kind = ResourceKind(head.term.kind)
        if kind is ResourceKind.WATER and (
            any(_is_category(m.term) for m in matches)
            or _handled_as_waste(lang, folded_words, matches, head, shape, disposal)
        ):
            kind = ResourceKind.MATERIAL  # "漂洗废水 HW17": a listed hazardous waste, no water
        confidence = 0.6 + 0.35 * recognised
        rivals = {m.term.kind for m in resource if m.term.kind not in {head.term.kind, "material"}}
        if rivals:
            confidence -= 0.15
        if kind is ResourceKind.HEAT and ResourceKind.STEAM in allowed and kind not in allowed:
            kind = ResourceKind.STEAM
        elif kind is ResourceKind.WATER and ResourceKind.HEAT in allowed and kind not in allowed:
            kind = ResourceKind.HEAT  # "Warm retourwater 40 °C, 25.000 GJ/jr": its heat
        elif allowed and kind not in allowed:
            confidence -= _CONFLICT_PENALTY
        return _Kind(kind, head, _clamp(confidence))
    if allowed and ResourceKind.MATERIAL not in allowed:
        for kind in (ResourceKind.HEAT, ResourceKind.STEAM, ResourceKind.GAS, ResourceKind.WATER):
            if kind in allowed and (len(allowed) == 1 or kind is not ResourceKind.WATER):
                return _Kind(kind, None, 0.55)
    confidence = 0.3 + 0.5 * recognised if main_content else 0.2
    if allowed and ResourceKind.MATERIAL not in allowed:
        confidence -= _CONFLICT_PENALTY
    return _Kind(ResourceKind.MATERIAL, None, _clamp(confidence))


def _place_before_the_break(
    lang: str, folded_words: tuple[str, ...], matches: list[_Match], limit: int
) -> bool:
    """Whether the words before the first clause break name a place or an origin.

    A word of where in the plant (:data:`~domain.classify.grammar.PLACES`: *almacén*,
    *workshop*, *Slipverkstad*), a source term (*Raffineria*) or a word for making (*Fábrica
    de vidrio hueco*): not a substance no term reads (*Beryllium oxide - dust*, *Mercury -
    sludge* stay what they name).
    """
    read = _text(lang, folded_words).words
    places = _places(lang)
    ends = lang in COMPOUNDING
    return (
        any(w in places or (ends and w.endswith(places)) for w in folded_words[:limit])
        or any(w.traits & _MAKING for w in read[:limit])
        or any(m.term.kind == "source" and m.first < limit for m in matches)
    )


@cache
def _places(lang: str) -> tuple[str, ...]:
    """The words naming a place in a plant in a language and in English (:data:`PLACES`)."""
    return tuple(sorted(PLACES[lang] | PLACES["en"]))


def _formula(term: LexiconTerm) -> bool:
    """Whether a utility term is a chemical formula (*CO2*, *H2*, *NH3*).

    A compounding language's row writes one after what holds it (*Gasflaschen CO2*) as often
    as alone.
    """
    return term.kind in _UTILITY_KINDS and any(ch.isdigit() for ch in term.term)


def _tag(word: str) -> bool:
    """Whether a folded word is a tag, no noun: with figures (*P3*) or inert (*CW*).

    :func:`_inert`: no answer tells such words apart, so none is told apart by this either.
    """
    return not word.isalpha() or _INERT[word]


def _head_after_label(
    lang: str,
    folded_words: tuple[str, ...],
    content: tuple[int, ...],
    resource: list[_Match],
    shape: _TextShape,
) -> tuple[_Match | None, list[int]]:
    """The resource heading the clause after a label, and that clause's content words.

    A label names the plant, the line or the place (:func:`_clauses`); the clause after it
    says what the row is (*Pastificio: pasta fuori specifica*, *Plant 2: LP steam*, *Reparto
    verniciatura: fanghi di vernice all'acqua*), read as a main clause is (from its first
    content word to a preposition or the next break, its head on its language's side, a
    compound's written apart as :func:`_decide_kind` reads it). No head when no resource term
    lies there, a word no term reads leads a head-first clause (*piezas rotas*), or the head
    is a container another material follows (*Lager 5: IBC mit Säureresten*: what it holds,
    the terms all weighed as details; *Butik: wellpapp* is the cardboard).
    """
    rest = tuple(i for i in content if i >= shape.limit)
    if not rest:
        return None, []
    last = _clause_end(_clause_ends(shape), rest[0])
    clause = _main_clause(
        lang, folded_words, rest, len(folded_words) if last is None else last + 1, shape.joined
    )
    read = _text(lang, folded_words).words
    named = [
        m
        for m in resource
        if m.first in clause
        and m.term.kind != "none"
        and not (m.inside and read[m.last].traits & _MACHINE)
    ]  # "Werk 2: Kühlwasser Glas|ofen": a machine named by its material, as without the label
    words = [i for i in rest if i in clause]
    if not named or (lang in HEAD_FIRST and named[0].first != rest[0]):
        return None, words
    head = named[0] if lang in HEAD_FIRST else named[-1]
    lead = next(m for m in reversed(named) if m.first == named[0].first)
    if lang in COMPOUNDING and _written_apart(lead, head):
        head = lead  # "Kessel 2: Asche Holz", as without the label
    heat = next((m for m in named if m.term.kind == "heat"), None)
    if heat is not None and (
        head.term.kind == "water"
        or (head.term.kind == "gas" and (not shape.allowed or ResourceKind.HEAT in shape.allowed))
    ):  # "Werk 2: Abwärme Kühlwasser": the heat it carries, as without the label
        head = heat
    if _holds_another_material(head, resource):
        return None, words
    return head, words


def _holds_another_material(head: _Match, resource: list[_Match]) -> bool:
    """Whether a packaging head is followed by a material it holds, which is then the row.

    *Lager 5: IBC mit Säureresten*: what the IBC holds. Not a word naming packaging itself
    (*Lackdosen mit Restanhaftungen*: residues in cans are 15 01 10*) nor what packaging is made
    of (*Caseificio: imballaggi in cartone*: the packaging).
    """
    return (
        head.term.kind == "material"
        and names_packaging(head.term)
        and any(
            m.first > head.last
            and m.term.kind == "material"
            and not names_packaging(m.term)
            and not names_what_things_are_made_of(m.term)
            for m in resource
        )
    )


def _modifies_a_noun(
    head: _Match, main_content: list[int], matches: list[_Match], read: tuple[_Word, ...]
) -> bool:
    """Whether a content word no term covers follows a term in the main clause.

    The term then names what the unread noun is for or made of (*energy storage system*), not
    the thing itself; so does a term in a Chinese run its vocabulary reads only in part
    (*电动汽车*, an electric car: 电 and characters no word holds). Read from the words'
    positions, their traits and the terms (all in the key).
    """
    if read[head.last].traits & _PARTLY_READ:
        return True
    covered = {i for m in matches for i in range(m.first, m.last + 1)}
    return any(i > head.last and i not in covered for i in main_content)


def _only_a_form(head: _Match | None, present: list[_Match]) -> bool:
    """Whether the text names only a form any industry's waste takes, nothing that says whose.

    A one-word head whose entries span :data:`_FORM_SPAN` chapters or more (*sludge*,
    *Schlamm*, *ash*: sewage works, metal plating, power plants...) with no other material nor an
    origin in the text (nor a code written, the caller's part): its first entry is a guess,
    so the row is asked about.
    """
    if head is None or head.term.kind != "material" or len(head.term.tokens) != 1:
        return False  # a term of more words names more than a form ("écumes de sucrerie")
    if len({c[:2] for c in head.term.codes}) < _FORM_SPAN:
        return False
    return not any(m is not head and m.term.kind in _TELLING_KINDS for m in present)


_FORM_SPAN: Final = 3
"""Chapters a head's entries span from which it names a form, not a waste (:func:`_only_a_form`)."""


def _clamp(value: float) -> float:
    return round(min(1.0, max(0.0, value)), 3)


def _recognised(lang: str, folded_words: tuple[str, ...], matches: list[_Match]) -> float:
    """Share of the content words that a term or an official text knows."""
    content = _content(lang, folded_words)
    if not content:
        return 1.0
    covered = {i for m in matches for i in range(m.first, m.last + 1)}
    read = _text(lang, folded_words).words
    known = sum(1 for i in content if i in covered or read[i].known)
    return known / len(content)


def _material_coverage(
    lang: str,
    folded_words: tuple[str, ...],
    matches: list[_Match],
    head: _Match | None,
    going: frozenset[int] = frozenset(),
    metals: bool = False,
    made: bool = False,
    delivered: bool = False,
) -> float:
    """Share of the content words the head material term covers (1.0 without content words).

    Generic material words ("scrap") count as covered, and with ``metals`` (the head is a
    catalyst its metals told: :func:`_catalyst_metal`) the metal words, with ``made`` (the
    text says where it was made: :func:`_made_here`) or ``delivered`` (what goods came in:
    :func:`_delivered`) the words saying so; without a head
    carrying codes, every material term counts. The words left uncovered are context for the
    similarity; the ``going`` ones (a destination's, :func:`_destination_words`) are not
    counted at all.
    """
    content = [n for n in _content(lang, folded_words) if n not in going]
    if not content:
        return 1.0
    chosen = matches
    if head is not None and head.term.codes:  # the head and the generic words ("scrap")
        chosen = [
            m for m in matches if m is head or (m.term.kind == "material" and not m.term.codes)
        ]
    covered = {i for m in chosen if m.term.kind == "material" for i in range(m.first, m.last + 1)}
    if metals or made or delivered:  # "spent nickel catalyst": the metal too
        read = _text(lang, folded_words).words
        said = (
            (_METAL if metals else 0)
            | (_MADE_HERE if made else 0)
            | (_DELIVERED if delivered else 0)
        )
        covered.update(i for i in content if read[i].traits & said)
    return sum(1 for i in content if i in covered) / len(content)


_TRAITS: Final = (
    "content",
    "known",
    "stop",
    "filler",
    "destination",
    "absent_before",
    "absent_of",
    "absent_after",
    "negation",
    "found",
    "containing",
    "residue",
    "linking",
    "empty",
    "precious_metal",
    "hazardous_metal",
    "biodegradable",
    "not_easily",
    "bio_adverb",
    "halogenated",
    "halogen_free",
    "beside_halogen",
    "answer_no",
    "machine",
    "equipment",
    "partly_read",
    "guessed_head",
    "unused",
    "made_here",
    "making",
    "rebuilding",
    "delivered",
    "receiver",
    "filling",
)
"""What :attr:`_Word.traits` holds of a word, one bit each in this order (:func:`_read_word`)."""
_TRAIT: Final = {name: 1 << bit for bit, name in enumerate(_TRAITS)}
_CONTENT: Final = _TRAIT["content"]
_STOP: Final = _TRAIT["stop"]
_ABSENT_BEFORE: Final = _TRAIT["absent_before"]
_ABSENT_OF: Final = _TRAIT["absent_of"]
_ABSENT_AFTER: Final = _TRAIT["absent_after"]
_NEGATION: Final = _TRAIT["negation"]
_FOUND: Final = _TRAIT["found"]
_CONTAINING: Final = _TRAIT["containing"]
_MADE_HERE: Final = _TRAIT["made_here"]
_MAKING: Final = _TRAIT["making"]
_REBUILDING: Final = _TRAIT["rebuilding"]
_DELIVERED: Final = _TRAIT["delivered"]
_RECEIVER: Final = _TRAIT["receiver"]
_FILLING: Final = _TRAIT["filling"]
_RESIDUE: Final = _TRAIT["residue"]
_EMPTY: Final = _TRAIT["empty"]
_LINKING: Final = _TRAIT["linking"]
_PRECIOUS_METAL: Final = _TRAIT["precious_metal"]
_HAZARDOUS_METAL: Final = _TRAIT["hazardous_metal"]
_METAL: Final = _PRECIOUS_METAL | _HAZARDOUS_METAL
_BIODEGRADABLE: Final = _TRAIT["biodegradable"]
_DENYING: Final = _TRAIT["negation"] | _TRAIT["not_easily"]
_BIO_ADVERB: Final = _TRAIT["bio_adverb"]
_HALOGENATED: Final = _TRAIT["halogenated"]
_HALOGEN_FREE: Final = _TRAIT["halogen_free"]
_ANSWER_NO: Final = _TRAIT["answer_no"]
_MACHINE: Final = _TRAIT["machine"]
_EQUIPMENT: Final = _TRAIT["equipment"]
_PARTLY_READ: Final = _TRAIT["partly_read"]
_GUESSED_HEAD: Final = _TRAIT["guessed_head"]
_UNUSED: Final = _TRAIT["unused"]
_BESIDE_HALOGEN: Final = _TRAIT["beside_halogen"]
_ABSENCE: Final = _ABSENT_BEFORE | _ABSENT_OF | _ABSENT_AFTER | _NEGATION | _FOUND
"""The traits of the words that say a material is absent (never looked up in the texts)."""


@lru_cache(maxsize=16)
def _absences(
    lang: str,
    folded_words: tuple[str, ...],
    joined: tuple[int, ...],
    breaks: tuple[int, ...],
    matches: tuple[_Match, ...] = (),
) -> tuple[tuple[int, tuple[int, ...]], ...]:
    """The content words the text says are absent, each with the words that say so.

    The one grammar of absence: the word right after *no*, *without*, *ohne*, *sans*...
    (:data:`~domain.classify.grammar.ABSENT_BEFORE`); after *free*, *frei*, *exempt*... and a
    preposition ("free of oil", :data:`~domain.classify.grammar.ABSENT_OF`); before *free*,
    *none*, *absent*... when a hyphen joins that word or nothing that says what follows it (the
    end of the text, a clause break, a figure or a unit: "asbestos-free", "asbestos free, 12 t",
    "asbestos: none"; "free lime" is lime, :data:`~domain.classify.grammar.ABSENT_AFTER`);
    before a negated finding ("asbestos not detected"); after a word of content negated, in
    either order, and the prepositions or articles after it ("not containing dangerous
    substances", "non souillés par des huiles", "indeholder ikke olie"). A term is absent when
    one of its words is (:func:`_absent`): "hazardous substances: none" is no hazard. A term
    naming a hazard is absent after a negation ("not corrosive", "ikke ætsende") and after an
    absent word no term names in its clause, which modifies it ("sans pictogramme GHS05" is no
    hazard; not "without lid steel drums": a material stays).

    Long because: each pattern of absence is one test on a word's traits, in one pass, so that
    all of them read the same positions.

    Args:
        lang: the language the text is read in.
        folded_words: its folded words.
        joined: the words a hyphen joins to the one before (:attr:`_TextShape.joined`).
        breaks: the words a clause break follows (:attr:`_TextShape.breaks`).
        matches: the terms found in the text. *free* after the last word of one naming a
            hazard (:func:`_names_hazard`) is always an absence ("PCB free transformer",
            "asbestos free insulation").

    Returns:
        ``(position of the absent word, positions of the words saying so)`` pairs.
    """
    read = _text(lang, folded_words).words
    if not any(w.traits & _ABSENCE for w in read):
        return ()
    last = len(read) - 1
    naming = [m for m in matches if _names_hazard(m.term)]
    hazards = {m.last for m in naming}  # "free" after one is always an absence
    hazard_starts = {m.first for m in naming}
    found: list[tuple[int, tuple[int, ...]]] = []
    for n, w in enumerate(read):
        traits = w.traits
        if traits & _ABSENT_BEFORE:
            found.append((n + 1, (n,)))
        if traits & _ABSENT_OF and n < last and read[n + 1].traits & _STOP:
            found.append((n + 2, (n, n + 1)))
        ends = n == last or n in breaks or not read[n + 1].traits & (_CONTENT | _STOP)
        if traits & _ABSENT_AFTER and (ends or n in joined or n - 1 in hazards):
            found.append((n - 1, (n,)))
        if traits & _FOUND and n > 0 and read[n - 1].traits & _NEGATION:
            found.append((n - 2, (n - 1, n)))
        if n < last and (
            (traits & _NEGATION and read[n + 1].traits & _CONTAINING)
            or (traits & _CONTAINING and not traits & _STOP and read[n + 1].traits & _NEGATION)
        ):  # not "met niet uitgeharde verf": a preposition's content is not negated
            a = n + 2  # past "with", "par des": "not contaminated with oil"
            while a < min(last, n + 4) and not read[a].traits & _CONTENT:
                a += 1
            found.append((a, tuple(range(n, a))))
        if traits & _NEGATION and n + 1 in hazard_starts:  # "not corrosive", "ikke ætsende"
            found.append((n + 1, (n,)))
    if found and hazard_starts:
        covered = {n for m in matches for n in range(m.first, m.last + 1)}
        found += [
            (a + 1, cue)
            for a, cue in found
            if 0 <= a < last
            and a not in covered
            and a + 1 in hazard_starts
            and a not in breaks
            and read[a].traits & _CONTENT
        ]
    return tuple((a, cue) for a, cue in found if 0 <= a <= last)


def _unread(
    lang: str,
    folded_words: tuple[str, ...],
    matches: list[_Match],
    shape: _TextShape,
    going: frozenset[int] = frozenset(),
) -> frozenset[int]:
    """The words the similarity leaves out: an absent material's, the words saying so, a content.

    A content is left out too (:func:`_content_words`: a contaminant, a chemical packaging
    held), and the ``going`` words, a term naming where the thing goes
    (:func:`_destination_words`).
    "plasterboard without insulation" looks up *plasterboard* (neither *insulation* nor
    *without*, which would find *cameras without batteries*). An absent word no term names
    keeps its cue: "tanning liquor free of chromium" is the list's own words. A word of absence
    saying nothing here ("free water") is left out too.
    """
    read = _text(lang, folded_words).words
    if not any(w.traits & _ABSENCE for w in read):
        return _content_words(read, matches) | going
    pairs = _absences(lang, folded_words, shape.joined, shape.breaks, tuple(matches))
    absent = frozenset(a for a, _ in pairs)
    contents = _content_words(read, matches, absent) | going
    covered = {n for m in matches if _absent(m, absent) for n in range(m.first, m.last + 1)}
    cues = {n for _, cue in pairs for n in cue}
    unread = set(covered)
    unread.update(n for a, cue in pairs if a in covered for n in cue)
    unread.update(n for n, w in enumerate(read) if w.traits & _ABSENCE and n not in cues)
    return frozenset(unread | contents)


def _destination_words(
    lang: str, folded_words: tuple[str, ...], matches: list[_Match], breaks: tuple[int, ...]
) -> frozenset[int]:
    """The words of the terms naming where the thing goes ("SRF bales *to cement kiln*").

    Where a waste goes says nothing of what it is: the term names no origin
    (:func:`_after_destination`), and its words do not find the destination's entries either.
    Only after a material named before the destination word, and up to the clause break that
    follows the material ("For recycling: copper cable" is copper cable; "Sludge for land
    spreading, dairy" a dairy's sludge).
    """
    inside = _in_destination(lang, folded_words)
    if not any(inside):
        return frozenset()
    first = next((m.first for m in matches if m.term.kind == "material"), len(folded_words))
    if first >= inside.index(True):
        return frozenset()  # "For recycling: copper cable": no material before, nothing goes
    ends = [b for b in breaks if b >= first]
    end = ends[0] if ends else len(folded_words)  # to the clause break: "..., dairy" is an origin
    return frozenset(
        n for m in matches if m.first <= end and inside[m.first] for n in range(m.first, m.last + 1)
    )


def _content_words(
    read: tuple[_Word, ...], matches: list[_Match], absent: frozenset[int] = frozenset()
) -> frozenset[int]:
    """The words of a content (:func:`_contents`: "rags soaked in oil": *oil*).

    The similarity reads the material that holds it (rags: 15 02; drums with paint residues:
    15 01), not the oil's chapter (13 08 99 *wastes not otherwise specified* matched *oil*
    best).
    """
    return frozenset(
        n for m in _contents(read, matches, absent) for n in range(m.first, m.last + 1)
    )


def _contents(
    read: tuple[_Word, ...], matches: list[_Match], absent: frozenset[int] = frozenset()
) -> list[_Match]:
    """The contaminants named as a content, and the chemicals packaging held.

    A contaminant (:func:`_contaminant`) named as a content (:func:`_named_as_content`), and a
    chemical beside packaging and a word of residue or emptiness not in ``absent`` (the
    positions :func:`_absences` gives: *ohne Restanhaftungen*, *residue-free*) (see
    :func:`_residues_held`).
    """
    named = []
    if any(w.traits & _CONTAINING for w in read):
        named = [
            m
            for m in matches
            if m.term.kind == "material"
            and _contaminant(m.term.codes)
            and _named_as_content(read, m.first)
        ]
    if any(w.traits & (_RESIDUE | _EMPTY) for w in read):
        named.extend(m for m in _residues_held(read, matches, absent) if m not in named)
    return named


def _residues_held(
    read: tuple[_Word, ...], matches: list[_Match], absent: frozenset[int]
) -> list[_Match]:
    """The chemicals named as held by the packaging the text is about.

    The text's first material is packaging (its entries all of 15 01), and a chemical
    (:func:`_chemical`) is tied to it or to a word of residue or emptiness not said absent
    (:data:`~domain.classify.grammar.RESIDUES`, :data:`~domain.classify.grammar.EMPTY`; not
    *ohne Restanhaftungen*, *sans restes*): right after it, past a word of content or of
    (*with*, *of*, *mit*, *di*...), or right before a word of residue: "drums with paint
    residues", "fusti vuoti con residui di vernice", "Fässer mit Restanhaftungen von Lacken",
    "Lege IBC's fosforzuur", "Tomma dunkar myrsyra", "empty drums of caustic soda", "lege
    vaten met restanten olie". *Packaging containing residues of ... hazardous substances* is
    15 01 10*, as waste guidance writes it for paint, oil, solvent and chemical containers.
    Not a residue of wood, gypsum, glass or cement ("big bags with cement residues"), nor a
    packaging line or a store named after the residue ("glue residues from packaging line",
    "empty pallets from acid store"), nor a chemical without packaging ("wood with paint
    residues" is painted wood).
    """
    materials = [m for m in matches if m.term.kind == "material"]
    if not materials or not names_packaging(min(materials, key=lambda m: m.first).term):
        return []
    said = [n for n, w in enumerate(read) if w.traits & (_RESIDUE | _EMPTY) and n not in absent]
    if not said:
        return []
    ends = set(said) | {m.last for m in materials if names_packaging(m.term)}
    tying = _CONTAINING | _LINKING
    held = []
    for m in materials:
        if not _chemical(m.term):
            continue
        before = _word_before(read, m.first, tying)
        if before >= 0 and read[before].traits & tying:
            before = _word_before(read, before, tying)
        if before >= 1 and read[before].traits & _STOP and read[before - 1].traits & _RESIDUE:
            before -= 1  # "souillés par des isocyanates", "contaminati da resine"
        if before in ends or (m.last + 1 in said and read[m.last + 1].traits & _RESIDUE):
            held.append(m)
    return held


def _word_before(read: tuple[_Word, ...], n: int, tying: int) -> int:
    """The position of the word before ``n`` past letters and figures ("IBC's": *ibc*).

    A content word, a preposition or a ``tying`` word stops the search; -1 at the start.
    """
    before = n - 1
    while before >= 0 and not read[before].traits & (_CONTENT | _STOP | tying):
        before -= 1
    return before


def _chemical(term: LexiconTerm) -> bool:
    """Whether a material is a chemical whose residue makes packaging hazardous.

    Its first entry is hazardous (an acid, a caustic, an oil), or it is of the chapters of
    chemicals, oils and solvents (06, 07, 08, 13, 14; 16 05) with a hazardous entry or the
    other half of a mirror pair (paint: 08 01 12 / 08 01 11*; not plastics, 07 02 13).
    """
    codes = term.codes
    if term.kind != "material" or not codes or names_packaging(term):
        return False
    if codes[0] in hazardous_codes()[0]:
        return True
    twins = mirrors()
    return codes[0].startswith(_CHEMICALS) and any(
        code in hazardous_codes()[0] or (code in twins and not is_packaging(code)) for code in codes
    )  # a plastic's 15 01 02 has a twin, 15 01 10*, which says nothing of the plastic


_CHEMICALS: Final = ("06", "07", "08", "13", "14", "1605")


def _absent(match: _Match, absent: frozenset[int]) -> bool:
    """Whether a term is one the text says is absent (a position of :func:`_absences`)."""
    return any(n in absent for n in range(match.first, match.last + 1))


def _names_hazard(term: LexiconTerm) -> bool:
    """A hazard word, or a material whose entries are all the hazardous half of a mirror pair.

    Such a material is what makes a waste hazardous ("insulation containing asbestos" is
    17 06 01*, not 17 06 04; oily rags, laboratory chemicals). An acid or a crude names entries
    hazardous in any case and says nothing of the rest of the text ("acid whey"). A category of
    China's list of hazardous wastes (*HW12*, *HW50*) names a hazardous waste by definition.
    """
    return (
        term.kind == "hazard"
        or _is_category(term)
        or (
            term.kind == "material"
            and bool(term.codes)
            and hazardous_codes()[1].issuperset(term.codes)
        )
    )


_HAZARDOUS_CATEGORY: Final = re.compile(r"hw\d\d")
"""A category of 国家危险废物名录 as registers write it beside the waste (*HW08*)."""


def _is_category(term: LexiconTerm) -> bool:
    """A category of China's list of hazardous wastes (*HW17*): it names a hazardous waste."""
    return (
        term.kind == "source"
        and len(term.tokens) == 1
        and _HAZARDOUS_CATEGORY.fullmatch(term.tokens[0]) is not None
    )


def _hazard_hint(
    lang: str,
    folded_words: tuple[str, ...],
    matches: list[_Match],
    present: list[_Match],
    head: _Match | None,
    catalyst: frozenset[str] = frozenset(),
    absent: frozenset[int] = frozenset(),
) -> bool:
    """Whether the text says its material is hazardous.

    A hazard word, a material that makes a waste hazardous (:func:`_names_hazard`), a head
    naming only hazardous entries (:func:`_hazardous_head`), a hazardous oil or solvent named
    as a content (:func:`_hazardous_content`) or a dangerous transition metal of a catalyst
    (``catalyst``: what :func:`_catalyst_metal` told), none of them absent, and no word of
    safety ("non-hazardous", "tar-free") anywhere.
    """
    if any(m.term.kind == "safe" for m in matches):
        return False
    return (
        any(_names_hazard(m.term) for m in present)
        or _hazardous_head(head)
        or _hazardous_content(lang, folded_words, present, absent)
        or _soiled_wipes(lang, folded_words, present)
        or _HAZARDOUS_CATALYST in catalyst
    )


_WIPES: Final = "150203"
"""Absorbents, filter materials, wiping cloths, protective clothing (the harmless half)."""


def _soiled_wipes(lang: str, folded_words: tuple[str, ...], present: list[_Match]) -> bool:
    """Whether an absorbent or a rag is named beside a hazardous oil or solvent.

    What 15 02 holds is named by what it soaked up: *oil absorbent*, *absorbant huile*,
    *olieklude* (a compound read as *olie* and *klude*), *poetsdoeken olie* are 15 02 02*
    "contaminated by hazardous substances", wherever the oil is written (a content after
    *with* is :func:`_hazardous_content`'s). The oil must be a contaminant
    (:func:`_contaminant`: edible oil, grease or ink are not), no fuel (13 07: *Air filters,
    diesel engines* name the engines' fuel), another term than the rag, and not named as what
    the absorbent is for (*for oil spills*); nothing said unused (*Oil absorbent, unused*).
    """
    wipes = [m for m in present if m.term.kind == "material" and _WIPES in m.term.codes]
    if not wipes or any(w.traits & _UNUSED for w in _text(lang, folded_words).words):
        return False
    return any(
        m.term.kind == "material"
        and _contaminant(m.term.codes)
        and not m.term.codes[0].startswith(_FUELS)
        and m not in wipes
        and not _after_destination(lang, folded_words, m)
        for m in present
    )


_FUELS: Final = "1307"
"""Wastes of liquid fuels (fuel oil, diesel, petrol): a fuel named beside a filter is its
engine's, not what it soaked up."""


def _has_mirror(term: LexiconTerm) -> bool:
    """Whether a material names an entry with a hazardous twin that a content can make it.

    Rags, sawdust, a degreasing bath, packaging: 15 02 03 / 15 02 02*, 03 01 05 / 03 01 04*;
    food waste has none, and "food waste with oil" is no oil waste.
    """
    twins = mirrors()
    return term.kind == "material" and any(code in twins for code in term.codes)


def _hazardous_content(
    lang: str,
    folded_words: tuple[str, ...],
    present: list[_Match],
    absent: frozenset[int] = frozenset(),
) -> bool:
    """Whether a content (:func:`_contents`) is named in a material that can be hazardous.

    A contaminant (:func:`_contaminant`) named as a content (:func:`_named_as_content`), or a
    chemical packaging held (:func:`_residues_held`), beside a material with a hazardous twin
    (:func:`_has_mirror`): "degreasing bath containing oil", "rags soaked in solvent",
    "Putzlappen mit Öl" (oil is first 13 02 05*, edible oil after), "drums with paint
    residues" (15 01 10*); "acid whey" names its acid as no content, "concrete with
    reinforcement" no contaminant, "food waste with oil" no material oil makes hazardous.
    """
    contents = _contents(_text(lang, folded_words).words, present, absent)
    return bool(contents) and any(_has_mirror(m.term) for m in present if m not in contents)


def _contaminant(codes: tuple[str, ...]) -> bool:
    """Whether a material's first entry is a hazardous oil or solvent (13, 14).

    Such a content makes a waste hazardous; grease, soot, ink or a fridge in a waste do not
    by themselves ("cardboard with grease", "paper with printing ink").
    """
    return (
        bool(codes) and codes[0][:2] in _CONTAMINANT_CHAPTERS and codes[0] in hazardous_codes()[0]
    )


_CONTAMINANT_CHAPTERS: Final = frozenset({"13", "14"})


def _named_as_content(read: tuple[_Word, ...], first: int) -> bool:
    """Whether the words before a material (its first word at ``first``) name it as a content.

    A word of :data:`~domain.classify.grammar.CONTAINING` right before it, or before a
    preposition before it ("soaked in oil", "impregnati di olio"); not after a negation ("not
    containing oil").
    """
    at = first - 1
    if at >= 1 and read[at].traits & _STOP and read[at - 1].traits & _CONTAINING:
        at -= 1
    if at < 0 or not read[at].traits & _CONTAINING:
        return False
    return not (at >= 1 and read[at - 1].traits & _NEGATION)


def _hazardous_head(head: _Match | None) -> bool:
    """Whether the head is a material every entry of which is hazardous ("oily sludge").

    Only the head: as a modifier such a word says less ("acid whey" is whey, "crude tank
    bottoms" a sludge).
    """
    codes = head.term.codes if head is not None and head.term.kind == "material" else ()
    return bool(codes) and hazardous_codes()[0].issuperset(codes)


def _told_apart(
    lang: str, folded_words: tuple[str, ...], head: _Match | None, present: list[_Match]
) -> frozenset[str]:
    """The head term's codes the text's other materials and origins tell apart from its others.

    A code whose official text holds a word of another material or source term of the text
    (not an absent one) that some of the head's other codes lack: in "fly ash from a wood chip
    boiler", *wood chip* names 10 01 03 *fly ash from peat and untreated wood* among the codes
    of *fly ash* (10 01 02 *coal fly ash*...). In the text's language and, for its foreign words,
    in English. Words of no term ("production", "untreated") tell nothing apart. A head code
    another material of the text names too is told apart as well, in a detail too: *copper*
    names 12 01 03 *non-ferrous metal filings and turnings* among the codes of *turnings*
    (12 01 01 first), *bottles* 15 01 07 among those of *Glas Reste*, *pickling liquor* 11 01 05
    among those of *waste acid* (*废酸*, its pickling liquor in brackets).
    Empty when the head has one code or none, or nothing tells them apart.
    """
    if head is None or len(head.term.codes) < 2:
        return frozenset()
    codes = frozenset(head.term.codes)
    read = _text(lang, folded_words).words
    english = _WORDS["en"]
    own: set[str] = set()
    foreign: set[str] = set()
    for m in present:
        if m is head or m.term.kind not in _TELLING_KINDS:
            continue
        for n in range(m.first, m.last + 1):
            own.update(read[n].indexed, read[n].similar)
            if read[n].foreign and lang != "en":
                foreign.update(english[folded_words[n]].indexed)
    found: set[str] = set()
    for texts, tokens in ((entry_tokens(lang), own), (entry_tokens("en"), foreign)):
        for token in tokens:
            holding = {code for code in codes if token in texts.get(code, ())}
            if len(holding) < len(codes):
                found |= holding
    shared = _named_by_others(head, [m for m in present if m.term.kind == "material"])
    if len(shared) < len(codes):
        found |= shared  # "copper turnings", "Svarvspån aluminium": a metal's non-ferrous filings
    return frozenset(found)


def _named_by_others(head: _Match, materials: list[_Match]) -> frozenset[str]:
    """The head's codes the other ``materials`` name too."""
    return frozenset(head.term.codes).intersection(
        c for m in materials if m is not head for c in m.term.codes
    )


def _named_twice(
    head: _Match | None, materials: list[_Match], prefixes: tuple[str, ...]
) -> frozenset[str]:
    """The head's codes another material of the text names too; empty when it names them all.

    Those of them the text tells apart are settled (``firm`` in the ranking), as a place of
    making settles them: the material and the form it takes name one entry between them
    (*Messing draaispanen*: brass and shavings, 12 01 03 among the shavings' wood and metal
    entries), which a similarity to the other entries' official texts (the wood shavings'
    *spanen*) does not undo. Under a named origin only those under it (the origin decides
    otherwise: *Asbestos pipe lagging ex boiler house*), and no packaging (*Container glass
    plant ... rejects, amber bottles*: the plant's own) unless the head names packaging first
    and no origin is named (*OCC cardboard baled*).
    """
    if head is None:
        return frozenset()
    # packaging named twice is no more settled (a glass plant's bottles are its product)
    # unless the head is packaging first, and no origin is named (*OCC cardboard*: 15 01 01)
    packaging_first = not prefixes and is_packaging(next(iter(head.term.codes), ""))
    shared = frozenset(
        c
        for c in _named_by_others(head, materials)
        if (packaging_first or not is_packaging(c)) and (not prefixes or c.startswith(prefixes))
    )
    return shared if len(shared) < len(head.term.codes) else frozenset()


def _lead(
    lang: str, folded_words: tuple[str, ...], head: _Match | None, materials: list[_Match]
) -> _Match | None:
    """The material whose codes the row is: the head, or right beside a head of no codes.

    A head naming only a form (*rejects*, *scrap*, *Abfall*, *边角料*) says nothing of which
    entry: the material term naming codes written next to it, nothing but words that are no
    content between, on the side its language puts modifiers (*Float line cullet rejects*: the
    cullet; *scarti di vetro*: the glass) is read through it when the text says where it was
    made or that it came with deliveries. The head itself otherwise.
    """
    if head is None or head.term.kind != "material" or head.term.codes:
        return head
    skipped = _skipped(lang)
    for m in materials:
        if not m.term.codes or m is head:
            continue
        gap = range(head.last + 1, m.first) if lang in HEAD_FIRST else range(m.last + 1, head.first)
        if (m.first > head.last) == (lang in HEAD_FIRST) and all(
            folded_words[n] in skipped for n in gap
        ):
            return m
    return head


def _details(
    materials: list[_Match], head: _Match | None, limit: int, shape: _TextShape
) -> frozenset[int]:
    """Positions in ``materials`` of the terms outside the head's clause (weighed less).

    The terms after the first clause break; when the head follows a label
    (:func:`_head_after_label`), the terms outside the head's clause: the label's and those
    after that clause (*Lager 5: IBC mit Säureresten*).
    """
    if head is None or head.first < limit:
        return frozenset(n for n, m in enumerate(materials) if m.first >= limit)
    last = _clause_end(_clause_ends(shape), head.first)
    return frozenset(
        n
        for n, m in enumerate(materials)
        if m.first < limit or (last is not None and m.first > last)
    )


def _told_here(told: frozenset[str], made: frozenset[str], filled: bool) -> frozenset[str]:
    """The codes told apart (:func:`_told_apart`), or the maker's (:func:`_made_here`).

    Those told apart that are the maker's; else, where the text names filling (``filled``,
    :data:`~domain.classify.grammar.FILLING`), what it told apart (*Glasscherben, Flaschen,
    Ausschuss Abfüllung*: the bottles filled, 15 01 07); else the maker's (*Glasskår fra
    produktion (flaskeglas), afvist*: 10 11 12).
    """
    if not made:
        return told
    return (told & made) or (told if filled and told else made)


def _mixture(materials: list[_Match], prefixes: tuple[str, ...]) -> frozenset[str]:
    """The List's entry for a mixture of the materials named, when it has one.

    Two materials that each name a member of 17 01 07 *mixtures of concrete, bricks, tiles
    and ceramics* first (*concrete and bricks mixed*, *Tegl og beton blandet*, *béton et
    briques*) are that mixture, unless an origin outside chapter 17 is named (*broken bricks
    and tiles from the brickworks*: 10 12 08; a *kiln* is no origin the lexicon reads, so
    *rejects from the kiln* stay the mixture).
    """
    if prefixes and not all(p.startswith("17") for p in prefixes):
        return frozenset()
    firsts = {m.term.codes[0] for m in materials if m.term.codes}
    return frozenset(
        mixture for mixture, members in _MIXTURES.items() if len(firsts & members) >= 2
    )


_MIXTURES: Final = {"170107": frozenset({"170101", "170102", "170103"})}
"""A mixture entry of the List of Waste -> the entries whose materials it mixes."""


def _made_here(
    lang: str, folded_words: tuple[str, ...], head: _Match | None, beside: _Match | None = None
) -> frozenset[str]:
    """The maker's entries of the head, when the text says it was made where it arises.

    A material the List files where it is used up (:data:`_USED_UP`) and, made, under the
    industry making it (:data:`_MAKERS`): a word of :data:`MADE_HERE` outside a destination and
    outside the head (*cullet, hot end rejects*: 10 11 12, not 19 12 05; *Steinwolle
    Produktionsabfälle*: 10 11 03, not 17 06 04; not *cullet for container production*, nor a
    *sorting reject*) makes the maker's entry lead, and the head's own entries in its
    sub-chapter. Not for a head naming a state (*off-spec*: its own rule), nor beside a word
    naming a building's repair or demolition (:data:`REBUILDING`: *Gipskarton aus Umbau der
    Produktionshalle*), nor for a head whose entries in chapters 01 to 12 are not a maker's
    (*sludge from production* is no paper mill's). Empty otherwise.
    """
    if head is None or head.term.kind != "material" or _names_a_state(head.term):
        return frozenset()
    codes = head.term.codes
    makers = {
        _MAKERS[c]
        for c in codes
        if c in _MAKERS and (c not in _LISTED_MAKERS or _MAKERS[c] in codes)
    }
    if not codes or codes[0][:2] not in _USED_UP or not makers:
        return frozenset()  # solvents, oils, packaging: filed by material wherever made
    sub_chapters = {m[:4] for m in makers}
    making = makers | {c for c in codes if c[:4] in sub_chapters}
    going = _in_destination(lang, folded_words)
    said = False
    for n, word in enumerate(_text(lang, folded_words).words):
        if word.traits & _REBUILDING:
            return frozenset()
        said = said or bool(
            word.traits & _MADE_HERE
            and not word.traits & _MACHINE  # "von Produktions|maschinen": a machine's
            and not going[n]
            and not head.first <= n <= head.last
            and not (beside is not None and beside.first <= n <= beside.last)
        )
    return frozenset(making) if said else frozenset()


def _delivered(lang: str, folded_words: tuple[str, ...], head: _Match | None) -> frozenset[str]:
    """The head's packaging entries (15 01), when the text says it came with goods delivered.

    A word of :data:`~domain.classify.grammar.DELIVERIES` outside a destination (*Supermarket
    back of store: baled cardboard boxes from deliveries*, *Pap og plastfolie fra
    varemodtagelse*): the packaging the goods came in. Empty otherwise.
    """
    if head is None or head.term.kind != "material":
        return frozenset()
    packaging = frozenset(c for c in head.term.codes if is_packaging(c))
    if not packaging:
        return frozenset()
    going = _in_destination(lang, folded_words)
    for n, word in enumerate(_text(lang, folded_words).words):
        if word.traits & _DELIVERED and not going[n]:
            return packaging
    return frozenset()


_MUNICIPAL: Final = "20"
"""Municipal wastes, a shop's among them."""
_USED_UP: Final = frozenset({"17", "19", "20"})
"""The chapters of a material used up: construction and demolition, waste treatment, municipal.
A head whose first entry lies elsewhere (solvents 14 06, oils 13, packaging 15 01) is filed by
material wherever it arises: *Lösemittel, Lampenfertigung* stays 14 06 03."""
_MAKERS: Final = {
    "170101": "101314",  # concrete: waste concrete and concrete sludge
    "170102": "101208",  # bricks: waste ceramics, bricks, tiles (after thermal processing)
    "170103": "101208",  # tiles and ceramics
    "170202": "101112",  # glass: waste glass other than 10 11 11
    "191205": "101112",
    "200102": "101112",
    "170604": "101103",  # insulation (mineral wool): waste glass-based fibrous materials
    "170802": "101399",  # gypsum-based construction materials: plaster products, n.o.s.
    "191204": "070299",  # rubber (and plastics): the MFSU of plastics and synthetic rubber
}
"""A used-up entry of chapters 17, 19 or 20 -> the entry of the industry making that material,
for :func:`_made_here`: the maker's entry is not one of the term's codes, so a plain *tiles*,
*Gipskarton* or *stenuld* keeps its one code and is not asked about; only a text saying the
material was made there reaches the maker's."""
_LISTED_MAKERS: Final = frozenset({"170604", "191204"})
"""Used-up entries whose maker's applies only to a term listing it: insulation is mineral wool's
maker's (10 11 03) only when the term says mineral, glass or rock wool, not EPS or a cable's;
rubber the rubber maker's (07 02 99) only when the term names it, not crumb rubber (19 12 04:
made by treating wastes)."""


_TELLING_KINDS: Final = frozenset({"material", "source"})
"""The terms whose words tell a head's codes apart (:func:`_told_apart`)."""


def _after_destination(lang: str, folded_words: tuple[str, ...], match: _Match) -> bool:
    """Whether a term sits in a phrase naming where the thing goes ("... to plasterboard")."""
    return _in_destination(lang, folded_words)[match.first]


def _read_destination(lang: str, folded_words: tuple[str, ...]) -> tuple[bool, ...]:
    """Whether each word follows a destination word ("to", "für", "pour") before any preposition.

    One pass over the text: asked once per term found (:data:`_in_destination`, which keeps
    it), a backward scan per term cost a long text the square of its length.
    """
    destinations, stops, directions = _destinations(lang), _stops(lang), DIRECTIONS[lang]
    zh = lang == "zh"
    inside, after, last = False, [], ""
    for n, word in enumerate(folded_words):
        if zh and _goes_zh(folded_words, n):
            inside = True  # "外售水泥厂": the word itself goes
        after.append(inside)
        if word in destinations:
            inside = True
        elif word in stops and not (
            word in directions and last in destinations and last not in stops
        ):
            inside = False  # not the direction a sending takes: "expédié en cimenterie"
        last = word
    return tuple(after)


def _goes_zh(folded_words: tuple[str, ...], n: int) -> bool:
    """Whether Chinese word ``n`` begins where the thing goes (:data:`DESTINATION_STARTS_ZH`)."""
    word = folded_words[n]
    return (
        n > 0
        and word.startswith(DESTINATION_STARTS_ZH)
        and not word.startswith(NO_DESTINATION_ZH)
        and "的" not in word
    )


_in_destination: Final = _kept_by_identity(_read_destination)
""":func:`_read_destination`, kept for the last words read."""


def _source_prefixes(
    lang: str,
    folded_words: tuple[str, ...],
    matches: list[_Match],
    head: _Match | None = None,
    made_of: Sequence[_Match] = (),
) -> tuple[str, ...]:
    """The chapters the source terms point to, less those named as a destination.

    ``made_of``: the materials whose making the text names (:func:`_made_materials`), each an
    origin as a source term is.

    * When the source terms disagree, the (sub-)chapters most of them name are kept: "ash from
      EfW flue gas cleaning" names incineration (19 01) twice, a power station (10 01) once;
      of a chapter and a sub-chapter in it, the sub-chapter (a dye maker, 07 03, beside
      China's category HW11 of still bottoms, chapter 07).
    * Flue gas cleaning (an incinerator's or a power plant's, 19 01 and 10 01) named beside
      another origin is that origin's: a cement kiln's, a steelworks', an EfW plant's.
    * Waste water treatment (19 08) named beside an industry (chapters 01 to 16) is that
      industry's own effluent treatment, and the List of Waste classifies its sludges under the
      industry (19 08 is for off-site plants): 19 08 is then left out, and water preparation
      (19 09) with it when the industry is another word's (a word naming both, *waterzuivering*);
      words naming the treatment alone do not outvote the industry however many they are;
      nor does such treatment alone overrule a ``head`` all of whose entries are industries'
      (*Galvanikschlamm aus der Abwasserbehandlung* is the plating shop's: 11 01 09).
    * None is kept for a boiler's ash (:func:`_burnt_anywhere`) nor a treatment plant's
      product beside its inputs (:func:`_made_by_treatment`).
    """
    read = _text(lang, folded_words).words
    named = Counter(
        m.term.prefixes
        for m in matches
        if m.term.kind == "source"
        and not _after_destination(lang, folded_words, m)
        and not _received(read, m.first)  # "Klärschlamm ..., Abnehmer: Zementwerk"
    )  # terms by their prefixes: a text repeating sources costs what its distinct ones cost
    named.update(_making_prefixes(m.term) for m in made_of)
    if len(named) > 1:
        named.pop(_GAS_CLEANING, None)  # "fly ash from flue gas cleaning, cement kiln": 10 13
    if any(any(p[:2] <= _LAST_INDUSTRY for p in each) for each in named):
        for each in [e for e in named if all(p.startswith(_OFF_SITE) for p in e)]:
            # "osady z oczyszczania ścieków ... w zakładowej oczyszczalni mleczarni": the
            # dairy's own effluent treatment, however many words name the treatment
            del named[each]
    support = {
        p: sum(n for other, n in named.items() if any(p.startswith(q) or q.startswith(p)
                                                      for q in other))
        for each in named
        for p in each
    }  # fmt: skip
    most = max(support.values(), default=0)
    best = [p for p, n in support.items() if n == most]
    best = [p for p in best if not any(q != p and q.startswith(p) for q in best)]
    prefixes = _metal_named(tuple(best), lang, folded_words, matches)
    prefixes = _on_site(prefixes, named, head)
    if _COMBUSTION in prefixes and (_INCINERATION,) in named:  # an incinerator named alone:
        prefixes = tuple(p for p in prefixes if p != _COMBUSTION)  # the boiler is its boiler
    if _burnt_anywhere(head, prefixes) or _made_by_treatment(head, prefixes):
        return ()  # "Wood factory fly ash": the factory's boiler, 10 01
    return prefixes


_INCINERATION: Final = "1901"
_COMBUSTION: Final = "1001"
"""Waste incineration and combustion plants: a word naming only an incinerator beside one
naming a boiler (*Pannaska från fluidbäddpanna i avfallsförbränningsanläggningen*, *Bäddsand
från CFB-panna, avfallsförbränning*) makes the boiler the incinerator's and its residues 19
01's; a word naming both (flue gas cleaning, an electrostatic precipitator) changes nothing."""


def _burnt_anywhere(head: _Match | None, prefixes: tuple[str, ...]) -> bool:
    """Whether the head is a combustion residue beside origins that burn nothing themselves.

    Ash, slag and boiler dust whose first entry is 10 01's (*wastes from power stations and
    other combustion plants*) come from a boiler wherever it stands: a sawmill's, a paper
    mill's, a furniture factory's fly ash is 10 01's, not the industry's (whose chapters
    hold no ash). Origins of thermal processes (10) or of incineration and treatment (19)
    have entries of their own and keep them (a steelworks' dust, an incinerator's ash), as
    does any origin with an ash or slag of its own (:func:`_has_ashes`: a galvanizer's).
    """
    return (
        head is not None
        and bool(prefixes)
        and bool(head.term.codes)
        and head.term.codes[0] in _ASHES
        and not any(p.startswith(_BURNING_CHAPTERS) or _has_ashes(p) for p in prefixes)
    )


@cache
def _has_ashes(prefix: str) -> bool:
    """Whether an origin's (sub-)chapter has entries of its own ash or slag.

    An ash, slag, dross or skimmings in an entry's text: hot-dip galvanising's zinc ash
    (11 05 02), phosphorus chemistry's slag (06 09 02); such an origin's ash is its own, not a
    boiler's.
    """
    ewc = catalogue()
    return any(
        _ASH_WORDS.search(ewc.entries[c].description) is not None
        for c in ewc.entries
        if c.startswith(prefix)
    )


_ASH_WORDS: Final = re.compile(r"\b(?:ash|ashes|slags?|dross|skimmings)\b", re.IGNORECASE)


_BURNING_CHAPTERS: Final = ("10", "19")
_DISCARDED_EQUIPMENT: Final = "160214"
"""Discarded equipment (16 02 14): a heat exchanger, a transformer, an electric motor."""


def _made_by_treatment(head: _Match | None, prefixes: tuple[str, ...]) -> bool:
    """Whether the head is what a treatment plant makes, beside origins that are its inputs.

    Digestate, compost, refuse-derived fuel and an incinerator's bottom or fly ash (every
    entry of the head one of :data:`_TREATMENT_PRODUCTS`) are the treatment plant's whatever
    it was fed: *Whole digestate, AD plant fed with food-processing residues* is 19 06 06;
    the farms, food plants and households named are its inputs. Not a sorting reject or a
    shredder's scrap (a paper mill's rejects are its own, 03 03), nor beside a thermal
    process (10: a cement kiln's residues are its own).
    """
    return (
        head is not None
        and bool(prefixes)
        and bool(head.term.codes)
        and all(c in _TREATMENT_PRODUCTS for c in head.term.codes)
        and all(p[:2] < _THERMAL or p.startswith(_MUNICIPAL) for p in prefixes)
    )


_TREATMENT_PRODUCTS: Final = frozenset(
    {"190503", "190603", "190604", "190605", "190606", "191210", "190111", "190112", "190113",
     "190114"}
)  # fmt: skip
"""Compost, digestate and liquor of anaerobic treatment, refuse-derived fuel, an
incinerator's bottom and fly ash: what a treatment plant makes of what it is fed."""
_THERMAL: Final = "10"
_ASHES: Final = frozenset(
    {"100101", "100102", "100103", "100104", "100113", "100114", "100115", "100116", "100117"}
)
"""10 01's ashes, slags and boiler dusts (not its flue gas desulphurisation gypsum, 10 01 05,
which a titanium dioxide works' *Gips poreakcyjny* names too)."""


def _on_site(
    prefixes: tuple[str, ...], named: Counter[tuple[str, ...]], head: _Match | None
) -> tuple[str, ...]:
    """The origins less waste water treatment where an industry treats its own effluent.

    ``named``: the sources' prefixes as :func:`_source_prefixes` counted them. See there.
    """
    if (
        prefixes
        and all(p.startswith(_OFF_SITE) for p in prefixes)
        and head is not None
        and head.term.kind == "material"
        and head.term.codes
        and all(c[:2] <= LAST_MAKING_CHAPTER for c in head.term.codes)
    ):  # not a generic reject (*Refus dégrillage STEP*: paper rejects first, and 19 12 12)
        return ()
    if any(p.startswith(_OFF_SITE) for p in prefixes) and any(
        p[:2] <= _LAST_INDUSTRY for p in prefixes
    ):
        elsewhere = any(
            p in prefixes and p[:2] <= _LAST_INDUSTRY
            for each in named
            if not any(q.startswith(_OFF_SITE) for q in each)
            for p in each
        )  # an industry named by another word: "eigen waterzuivering, suikerfabriek"
        gone = (_OFF_SITE, _WATER_PREPARATION) if elsewhere else (_OFF_SITE,)
        return tuple(p for p in prefixes if not p.startswith(gone))
    return prefixes


def _made_materials(
    lang: str,
    folded_words: tuple[str, ...],
    matches: list[_Match],
    head: _Match | None,
    ends: Sequence[int] = (),
) -> list[_Match]:
    """The material terms whose making the text names as an origin (:func:`_making_prefixes`).

    A material term other than the head beside a word for making (:data:`MAKING`): before it,
    with at most two words never content between (*fremstilling af PVC*, *wytwórni tworzyw*;
    in a head-last language not after a making word's own modifier, :func:`_modified`), or
    right after it in a head-last language (*PVC production*). Not in *tortas de filtración
    producción de ...*: the cakes of a production; nor across a clause break (``ends``). A
    compound ending in a word for making names its first part's (*glasulds|produktion*); no
    material no industry makes (oil, packaging) nor one in a destination has one.
    """
    read = _text(lang, folded_words).words
    skipped = _skipped(lang)
    found: list[_Match] = []
    closing = frozenset(ends)
    going = _in_destination(lang, folded_words)
    if (
        head is not None
        and head.term.codes
        and head.term.codes[0][:2] in _BY_USE
        and not _names_a_state(head.term)
    ):
        return found  # "Copper cable from glass production": the cable's, wherever it was
    for m in matches:
        if m is head or m.term.kind != "material":
            continue
        if not _making_prefixes(m.term) or going[m.first]:
            continue
        if m.inside:  # "Kassation fra glasulds|produktion"
            if read[m.last].traits & _MAKING and folded_words[m.last] not in _WHOLE_MAKING:
                found.append(m)
            continue
        at = m.last + 1  # "PVC production"
        after = (
            lang not in HEAD_FIRST
            and m.last not in closing
            and at < len(read)
            and bool(read[at].traits & _MAKING)
        )
        if not after:
            at = m.first - 1  # "fremstilling af PVC"
            while at >= 0 and m.first - at <= _MAKING_REACH and at not in closing:
                if read[at].traits & _MAKING or folded_words[at] not in skipped:
                    break
                at -= 1
            if at < 0 or at in closing or not folded_words[at].startswith(_MAKING_STARTS):
                continue  # "värmeframställning, träflis"; "Textil|fabrik Farbstoffe"
            unit = lang not in HEAD_FIRST and m.first - at < 2  # "alky unit acid sludge"
            if unit and _modified(folded_words, at, skipped, closing):
                continue
        if at < 0 or not read[at].traits & _MAKING or going[at] or _received(read, at):
            continue  # "Sand for the manufacture of glass", "customer: PVC factory"
        found.append(m)
    return found


def _modified(
    folded_words: tuple[str, ...], at: int, skipped: frozenset[str], closing: frozenset[int]
) -> bool:
    """Whether a content word of its clause stands right before word ``at`` (*alky unit*).

    A head-last making word with a modifier of its own names a unit (*alky unit acid sludge*:
    no acid's making); one opening the text or its clause names what follows (*manufacture
    PVC sludge*, *the manufacture PVC sludge*). ``closing``: the clauses' last words.
    """
    before = at - 1
    return before >= 0 and before not in closing and folded_words[before] not in skipped


def _received(read: tuple[_Word, ...], n: int) -> bool:
    """Whether a receiver field's word (*customer:*, *Abnehmer:*) stands just before word ``n``.

    Within three words: what follows names where the waste goes, not where it comes from.
    """
    return any(w.traits & _RECEIVER for w in read[max(0, n - _RECEIVER_REACH) : n])


_RECEIVER_REACH: Final = 3
"""How far before an origin a receiver field's word may stand (*odbiorca: wytwórnia tworzyw*)."""
_BY_USE: Final = frozenset({"15", "16", "17", "20"})
"""Chapters filing a material by what it is wherever used (packaging, not otherwise specified,
construction and demolition, municipal): a head there keeps its entries beside a making named
(*Świetlówki z wytwórni tworzyw sztucznych* are lamps, 20 01 21)."""


def _making_prefixes(term: LexiconTerm) -> tuple[str, ...]:
    """Where a material is made: the sub-chapter of its first entry, a making industry's.

    A sub-chapter of chapters 01 to 12 whose title names making (:func:`_making_sub_chapters`:
    PVC's 07 02 13, *the MFSU of plastics*), or the maker's of a used-up first entry
    (:data:`_MAKERS`: glass wool's 17 06 04, 10 11), or of a product's (:data:`_MADE_BY`:
    pesticides' 02 01 09, 07 04); not where it is used (alumina's 10 03 05,
    *aluminium thermal metallurgy*), nor a later entry naming it as another making's residue
    (gypsum's 06 09 04 of phosphorus chemicals).
    """
    first = term.codes[0] if term.codes else ""
    sub_chapter = _MADE_BY.get(first) or _MAKERS.get(first, first)[:4]
    return (sub_chapter,) if sub_chapter in _making_sub_chapters() else ()


_MADE_BY: Final = {
    "020108": "0704",  # agrochemical waste: the MFSU of organic plant protection products
    "020109": "0704",
    "200119": "0704",  # pesticides
    "200129": "0706",  # detergents: the MFSU of soaps and detergents
    "200130": "0706",
    "040216": "0703",  # dyestuffs and pigments (a textile mill's): organic dyes and pigments
    "040217": "0703",
    "200131": "0705",  # medicines: the MFSU of pharmaceuticals
    "200132": "0705",
    "180108": "0705",
    "180109": "0705",
    "140603": "0701",  # a solvent (methanol, toluene): made as a basic organic chemical
}
"""A product's first entry where it is used up or applied -> the sub-chapter of the industry
making it, for :func:`_making_prefixes` only (*Filterkuchen aus der Herstellung von
Pflanzenschutzmitteln*: 07 04; *produktion af vaskemidler*: 07 06): the product named alone
keeps its entries."""


@cache
def _making_sub_chapters() -> frozenset[str]:
    """The List's sub-chapters of chapters 01 to 12 whose title names making or an industry.

    *Manufacture*, *MFSU*, *production*, *processing*, *industry* (:data:`_MAKING_TITLE`).
    """
    ewc = catalogue()
    return frozenset(
        p
        for p in ewc.titles
        if len(p) == 4 and p[:2] <= LAST_MAKING_CHAPTER and _MAKING_TITLE.search(ewc.title(p))
    )


_MAKING_TITLE: Final = re.compile(r"manufactur|mfsu|msfu|production|processing|industry", re.I)
"""Words of a sub-chapter title naming making (*MSFU*: the List's own spelling in 06 09)."""


_WHOLE_MAKING: Final = frozenset(w.strip("*~") for words in MAKING.values() for w in words)
"""The words for making themselves: no compound naming what it makes."""
_MAKING_STARTS: Final = tuple(sorted(_WHOLE_MAKING))
"""A word before a material names its making only when it begins with a word for making
(*Herstellungs-*, *fabrication*), not as a compound's end (*Textil|fabrik*: the textiles')."""
_MAKING_REACH: Final = 3
"""How far before a material its word for making may stand: two words never content between
(*synthèse des principes actifs*, *production of the resins*)."""


_GAS_CLEANING: Final = ("1901", "1001")
"""The origins flue gas cleaning names alone (the lexicons' *flue gas treatment*,
*Rauchgasreinigung*, *traitement des fumées*...)."""


def _said_biodegradable(lang: str, folded_words: tuple[str, ...]) -> bool | None:
    """Whether the text says its material is biodegradable, that it is not, or neither.

    ``True``, ``False`` or ``None``. A word of :data:`~domain.classify.grammar.BIODEGRADABLE`
    says it, unless the word right before it (or before its adverb, *readily*, *biologisch*)
    is a negation or a word of difficulty: then it is denied (*not readily biodegradable*,
    *non-biodegradable*, *nicht biologisch abbaubar*, *schwer abbaubar*); a negation of another
    word (*non-toxic, biodegradable*) denies nothing.
    """
    read = _text(lang, folded_words).words
    said: bool | None = None
    for n, word in enumerate(read):
        if word.traits & _BIODEGRADABLE:
            before = n - 1
            if before >= 1 and read[before].traits & _BIO_ADVERB:
                before -= 1  # "not readily biodegradable", "nicht biologisch abbaubar"
            if before < 0 or not read[before].traits & _DENYING:
                return True
            said = False
    return said


def _said_halogenated(
    lang: str,
    folded_words: tuple[str, ...],
    absent: frozenset[int],
    matches: list[_Match],
    breaks: tuple[int, ...],
) -> bool | None:
    """Whether the text says its material is halogenated (or chlorinated), not, or neither.

    ``True``, ``False`` or ``None``: what the first word saying it says, among the words within
    two of a material term (*Résidus de distillation chlorés*; not *Altöl, Kühlwasser
    chloriert*). A word of :data:`~domain.classify.grammar.HALOGENATED` says it, unless it is
    said absent (:func:`_absences`: *free of halogens*, *sans halogènes*), a negation or *non*
    comes right before it (*non halogenated*, *nicht chloriert*) or before a word of content
    right before it (*nie zawierają chlorowców*), *free* comes right after it (*halogen free
    solvent*) or a form's *no* after its colon (*halogeniert: nein*,
    :data:`~domain.classify.grammar.ANSWER_NO`):
    then it is denied, as by a word of :data:`~domain.classify.grammar.HALOGEN_FREE`
    (*ohalogenerade*, *halogenfrei*, *非卤代*). Beside a lamp or a content measured
    (:data:`~domain.classify.grammar.BESIDE_HALOGEN`: *halogen lamps*, *teneur en halogènes*,
    *halogens < 1000 ppm*), it says nothing.
    """
    read = _text(lang, folded_words).words
    if not any(w.traits & (_HALOGENATED | _HALOGEN_FREE) for w in read):
        return None  # most texts: no word to read
    last = len(read) - 1
    near = {
        n
        for m in matches
        if m.term.kind == "material"
        for n in range(max(0, m.first - 2), min(last, m.last + 2) + 1)
    }
    for n, word in enumerate(read):
        if n not in near or not word.traits & (_HALOGENATED | _HALOGEN_FREE):
            continue
        if any(
            read[b].traits & _BESIDE_HALOGEN for b in (n - 2, n - 1, n + 1, n + 2) if 0 <= b <= last
        ):  # "halogen lamps", "Halogene < 1000 ppm": nothing said of the waste (read by traits
            continue  # alone, as every step after the reading: the answer's cache key holds them)
        return not (
            word.traits & _HALOGEN_FREE
            or n in absent
            or (n > 0 and read[n - 1].traits & _DENYING)
            or (
                n > 1
                and read[n - 2].traits & _DENYING
                and read[n - 1].traits & _CONTAINING
                and n - 1 not in breaks
            )
            or (n < last and read[n + 1].traits & _ABSENT_AFTER)
            or (n < last and n in breaks and read[n + 1].traits & _ANSWER_NO)
        )
    return None


def _beyond_head(
    lang: str, folded_words: tuple[str, ...], head: _Match | None, query: _Query
) -> frozenset[str] | None:
    """The codes the text's words beside the head find (``None``: no head naming codes).

    The codes whose official text holds a token of a word the head does not cover, in the
    text's language or, for its foreign words, in English. A code the
    similarity alone proposes and only the head's words find is a sibling of the head's codes
    that the lexicon did not name (*Starterbatterien ... (LKW/PKW)*: 16 06 02 *Ni-Cd-Batterien*
    through *Batterien* alone): it weighs less
    (:func:`~domain.classify.candidates.rank_candidates`).
    """
    if head is None or not head.term.codes or head.term.kind != "material":
        return None
    if not reference_index(lang).entries:
        return None  # no official text in the language: its similarity is not the head's
    read = _text(lang, folded_words).words
    english = _WORDS["en"]
    covered = range(head.first, head.last + 1)
    own = frozenset(t for n in covered for t in (*read[n].indexed, *read[n].similar))
    own_en = frozenset(
        t
        for n in covered
        for t in (*english[folded_words[n]].indexed, *english[folded_words[n]].similar)
    )  # a head word read as English ("gebruikte catalyst") finds its siblings there too
    found = _found_by(lang, frozenset(query.tokens) - own)
    if query.en_tokens:
        found = found | _found_by("en", frozenset(query.en_tokens) - own_en)
    return found


def _found_by(lang: str, tokens: frozenset[str]) -> frozenset[str]:
    """The codes whose official text in ``lang`` holds one of ``tokens``."""
    return frozenset().union(*[_holding(lang, t) for t in tokens])


@lru_cache(maxsize=65_536)
def _holding(lang: str, token: str) -> frozenset[str]:
    """The codes whose official text in ``lang`` holds ``token`` (one set per token, kept)."""
    return frozenset(code for code, _ in reference_index(lang).postings.get(token, ()))


def _metal_named(
    prefixes: tuple[str, ...], lang: str, folded_words: tuple[str, ...], matches: list[_Match]
) -> tuple[str, ...]:
    """Metallurgy's sub-chapters narrowed to those of the metals the text names.

    A foundry is 10 09 (ferrous casting) or 10 10 (non-ferrous); a smelter one of 10 03 to
    10 08: *Filterstaub Alu-Gießerei* is 10 10, *ESP dust copper flash smelter* 10 06. A metal
    is a material term naming one of 17 04 01 to 17 04 06 (copper, aluminium, lead, zinc,
    iron and steel, tin); brass and bronze are cast, not smelted (:data:`~domain.classify.
    grammar.CAST_ALLOYS`). A word meaning both a foundry and a smelter (*fonderie*,
    *fundición*, *fonderia*) with no metal beside it is a foundry. Sub-chapters outside
    metallurgy stay; unchanged when the sources name one sub-chapter of metallurgy.
    """
    if sum(p in _METALLURGY for p in prefixes) < 2:
        return prefixes
    metals: set[str] = set()
    for m in matches:
        if m.term.kind == "material" and not _after_destination(lang, folded_words, m):
            named = [_METAL_ORIGINS[c] for c in m.term.codes if c in _METAL_ORIGINS]
            if len(named) == 1:  # "mixed metals" or "scrap metal" name no one metal
                cast = not _cast_alloys(m.term.lang).isdisjoint(m.term.tokens)
                metals.update(named[0][1:] if cast else named[0])  # (smelting, casting)
    if metals.isdisjoint(prefixes):
        if any(p in _FOUNDRIES for p in prefixes):  # "poussières de fonderie": a foundry's
            return tuple(p for p in prefixes if p not in _SMELTERS)
        return prefixes
    return tuple(p for p in prefixes if p in metals or p not in _METALLURGY)


@cache
def _cast_alloys(lang: str) -> frozenset[str]:
    """The stems of :data:`~domain.classify.grammar.CAST_ALLOYS` in a language."""
    return frozenset(stem(lang, w) for w in CAST_ALLOYS[lang])


_FOUNDRIES: Final = frozenset({"1009", "1010"})
_SMELTERS: Final = frozenset(f"10{n:02d}" for n in range(3, 9))
"""The non-ferrous smelters (10 03 to 10 08)."""


_METALLURGY: Final = frozenset(f"10{n:02d}" for n in range(2, 11))
"""Iron and steel (10 02), the non-ferrous smelters (10 03 to 10 08), the foundries (10 09,
10 10)."""
_METAL_ORIGINS: Final = {
    "170401": ("1006", "1010"),  # copper, bronze, brass
    "170402": ("1003", "1010"),  # aluminium
    "170403": ("1004", "1010"),  # lead
    "170404": ("1005", "1010"),  # zinc
    "170405": ("1002", "1009"),  # iron and steel
    "170406": ("1008", "1010"),  # tin
}
"""A metal's entry in 17 04 -> the sub-chapters of its smelting and of its casting."""


_WATER_PREPARATION: Final = "1909"
"""Water for human consumption or industrial use: a word of water treatment may name it and
19 08 both (Dutch *waterzuivering*); beside an industry, that is the industry's own."""
_OFF_SITE: Final = "1908"
"""Waste water treatment plants: off-site unless an industry is named beside them."""
_LAST_INDUSTRY: Final = "16"
"""The last chapter named by the industry a waste comes from (17 to 20 name other origins)."""


class _Similar:
    """A text's similarity to the official texts, computed when first asked for.

    Only a material's codes need it; a text of another kind, or one answered from
    :data:`_CONCLUSIONS`, needs only its :attr:`serial`. Two threads asking at once may both
    compute it: the same value, and either is kept.

    Attributes:
        query: what decides it, and the tokens in the order of the first text that asked.
        serial: a number no other similarity of the process gets (a part of a cache key).
    """

    __slots__ = ("_ranked", "_scores", "query", "serial")

    def __init__(self, query: _Query) -> None:
        self.query = query
        self.serial = next(_SERIALS)
        self._scores: Mapping[str, float] | None = None
        self._ranked: tuple[tuple[float, str], ...] | None = None

    @property
    def scores(self) -> Mapping[str, float]:
        """Code -> cosine similarity (read only: shared by every text of the same key)."""
        if self._scores is None:
            self._scores = _similarity_scores(self.query)
        return self._scores

    @property
    def ranked(self) -> tuple[tuple[float, str], ...]:
        """``(-similarity, code)`` of every scored code, best first, ties by code."""
        if self._ranked is None:
            scores = self.scores
            self._ranked = tuple(sorted(zip(map(neg, scores.values()), scores, strict=True)))
        return self._ranked


_SimilarKey = tuple[str, frozenset[str], frozenset[str], float]
_NO_TOKENS: Final[frozenset[str]] = frozenset()


class _Query(NamedTuple):
    """A text's queries to the official texts.

    Attributes:
        key: what decides the similarity: the language, the set of each query, the weight of
            the English one (:func:`_similar_query`).
        tokens: the query to the language's texts, in text order (each word's tokens, then
            each word's stems and compound parts).
        en_tokens: the query to the English texts (the tokens of the foreign words), in order.
    """

    key: _SimilarKey
    tokens: tuple[str, ...]
    en_tokens: tuple[str, ...]


def _similarities(
    lang: str, folded_words: tuple[str, ...], dropped: frozenset[int] = frozenset()
) -> _Similar:
    """The similarity of a text's words to the official texts of its language (and English's).

    Its words' tokens, stems and compound parts are compared with the texts of its language;
    the words the language does not know (:attr:`_Word.foreign`) also with the English texts,
    the higher similarity kept. Cached by what decides it (:attr:`_Query.key`).

    Args:
        lang: the language the text is read in.
        folded_words: its folded words.
        dropped: positions of words that are not looked up (the words of absent terms).
    """
    query = _similar_query(lang, folded_words, dropped)
    found = _SIMILAR.get(query.key)
    if found is None:
        found = _Similar(query)
        if len(_SIMILAR) >= _MAX_SIMILAR:
            _SIMILAR.clear()
        _SIMILAR[query.key] = found
    return found


def _similar_query(
    lang: str, folded_words: tuple[str, ...], dropped: frozenset[int] = frozenset()
) -> _Query:
    """A text's :class:`_Query`: its queries to the official texts and the English share.

    The tokens (each word's tokens first, then its stems and compound parts) its language's
    official texts hold; the tokens of its foreign words the English texts hold; and the weight
    of the English similarity (1.0 but for a language without official texts, where it is the
    share of the content words English knows). The ``dropped`` words are not looked up
    (:func:`_unread`).
    """
    read = _text(lang, folded_words).words
    if dropped:  # "plasterboard, no insulation"
        kept = [n for n in range(len(read)) if n not in dropped]
        read = tuple(read[n] for n in kept)
        folded_words = tuple(folded_words[n] for n in kept)
    flat = chain.from_iterable
    tokens = tuple(chain(flat([w.indexed for w in read]), flat([w.similar for w in read])))
    query = frozenset(tokens)
    if lang == "en":
        return _Query((lang, query, _NO_TOKENS, 1.0), tokens, ())
    english = _WORDS["en"]
    foreign = [english[word] for w, word in zip(read, folded_words, strict=True) if w.foreign]
    en_tokens = tuple(flat([w.indexed for w in foreign]))
    en_query = frozenset(en_tokens) if en_tokens else _NO_TOKENS
    share = 1.0
    if en_query and not reference_index(lang).entries:
        # Without an official text of its own, most of a text's words look foreign: weigh the
        # English similarity by the share of words English knows, so one stray word ("base")
        # cannot find an English entry on its own.
        known = sum(1 for w in foreign if "en" in w.languages)
        share = min(1.0, known / max(1, sum(1 for w in read if w.content)))
    return _Query((lang, query, en_query, share), tokens, en_tokens)


def _similarity_scores(query: _Query) -> dict[str, float]:
    """:attr:`_Similar.scores` of a text's queries.

    The tokens go to the indexes in text order, as they always did: an index sums a cosine in
    the order of the query's set, and that order is the one of the tokens it was built from.
    """
    lang, _, en_query, share = query.key
    scores = reference_index(lang).similarities(query.tokens)
    if en_query:
        for code, value in reference_index("en").similarities(query.en_tokens).items():
            scores[code] = max(scores.get(code, 0.0), share * value)
    return scores


_MAX_SIMILAR: Final = 4_096
_SERIALS: Final = count()
_SIMILAR: Final[dict[_SimilarKey, _Similar]] = {}
"""Similarities by :attr:`_Query.key`. Safe to keep: the official texts never change in a
process, and the key holds everything the similarity is computed from (but the order of the
tokens, which can change the last bit of a cosine: the indexes' own caches by query have always
served one query the cosine of an equal one). Emptied when full."""


_FIGURE_PATTERN: Final = r"(?<![^\W_])\d+(?:[.,' ]\d{3})*(?:[.,]\d+)?(?![^\W_])"
_NUMBER: Final = re.compile(rf"(?P<code>{CODE_PATTERN})|{_FIGURE_PATTERN}")
"""A stand-alone number ("12", "1.800", "0,35"), not one inside a word ("co2", "h2so4") nor
any of a word's digits ("PM25", "R134a", "A380": neither side of a figure is a letter or a
digit); an EWC code written in the text ("10 02 13") is kept (it is evidence)."""


_DIGIT: Final = re.compile(r"\d")
_CODE: Final = re.compile(CODE_PATTERN)
_FIGURE: Final = re.compile(_FIGURE_PATTERN)


def _zero_figures(text: str) -> str:
    if _DIGIT.search(text) is None:
        return text
    if _CODE.search(text) is None:  # no code to keep: every match of _NUMBER is a figure
        return _FIGURE.sub("0", text)
    return _NUMBER.sub(lambda m: m.group(0) if m.group("code") else "0", text)


def classify(text: str, *, unit: str | None = None, top: int = 5) -> Classification:
    """Classify a free-text resource description, in any of the supported languages.

    Args:
        text: a description as written in an ERP export or park register ("FGD gypsum",
            "Sattdampf 12 bar", "popiół lotny", "余热"); see :data:`~domain.classify.text.
            LANGUAGES`.
        unit: the row's unit when it has one (``"MW"``, ``"t/a"``, ``"Nm3/h"``): evidence for
            the kind.
        top: the most EWC candidates to return (at least 1).

    Returns:
        The kind with its confidence and, for a material, up to ``top`` EWC candidates best
        first, the language read, and ``needs_review`` when the answer should be checked.

    Raises:
        ClassificationError: the text has no letters or digits, or its head term names
            something that is not a resource of the five kinds (electricity, energy, power).
        ValueError: ``top`` is less than 1.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    # The answer never depends on a figure's value, only on its being there ("12 bar"): an
    # export's rows that differ only in their figures share one classification.
    # a labelled code's hyphens go before the figures are zeroed ("CER 17-09-04")
    read = _HYPHENATED_CODE.sub(r"\1\2\3 \4 \5", text) if "-" in text else text
    answer = _classify_shape(_zero_figures(read), unit, top)
    if isinstance(answer, str):
        raise ClassificationError(f"cannot classify {text!r}: {answer}")
    return answer if answer.text == text else _with_text(answer, text)


def _with_text(answer: Classification, text: str) -> Classification:
    """The same answer for another text (what :func:`dataclasses.replace` does, faster)."""
    return Classification(
        text,
        answer.kind,
        answer.kind_confidence,
        answer.candidates,
        answer.matched_terms,
        answer.hazardous_hint,
        answer.language,
        answer.needs_review,
    )


@lru_cache(maxsize=65_536)
def _classify_shape(text: str, unit: str | None, top: int) -> Classification | str:
    """:func:`classify` of a text whose numbers are all ``0``; a refusal as its reason."""
    try:
        return _answer(text, unit, top)
    except ClassificationError as e:
        return str(e)


_NUMBER_SIGN: Final = re.compile(r"\bno\.(?!\w)", re.IGNORECASE)
"""*No.* for number ("Item no. 4711", "Tank No. 3"): read as *nr*, never as the *no* of an
absence ("plasterboard, no insulation")."""
_CODE_WORD: Final = re.compile(
    r"\b(?:waste\s+)?(?:codes?|c[oó]digo|codice|kod|kode|koden|kod\s+odpadu)\b", re.IGNORECASE
)
"""A generic word for a code ("waste code 170904", "código LER", "kod 170904"): read as the
list's name when the text writes a code, else as a word ("colour code red")."""
_HYPHENATED_CODE: Final = re.compile(
    r"\b(ewc|eer|cer|ced|avv|ler|eak|eural)(\s*:?\s*)(\d{2})-(\d{2})-(\d{2})(?!\d)", re.IGNORECASE
)
"""A code written with hyphens after the list's name ("CER 17-09-04"); without the name, six
digits with hyphens are a date as often."""


def _labelled(text: str) -> str:
    """``text`` with *No.* as a number and a code's generic label as the list's name.

    "Item no. 4711" reads "Item nr 4711"; "waste code 170904" and "código LER 17 09 04" read
    "EWC 170904" (a text's figures are zeroed by now, its codes kept: :func:`_zero_figures`).
    Run once per text shape (:func:`_answer`), not per row of an export.
    """
    if "." in text:
        text = _NUMBER_SIGN.sub(" nr ", text)
    if _DIGIT.search(text) is not None and _CODE.search(text) is not None:
        text = _CODE_WORD.sub(" ewc ", text)
    return text


def _answer(text: str, unit: str | None, top: int) -> Classification | str:
    """:func:`_classify_shape` through :data:`_ANSWERS`.

    The answer of a text of the same shape when there is one (its ``text`` may be that text's).
    """
    folded, folded_words = fold_words(_labelled(text))
    if not folded_words:
        raise ClassificationError("it has no letters or digits")
    figures = _DIGIT.search(folded) is not None  # what the figures say needs a figure
    allowed = kinds_in_text(folded) if figures else _NOTHING
    if unit:
        from_unit = kinds_for_unit(unit)
        allowed = (allowed & from_unit or from_unit) if allowed else from_unit
    limit, label, dash, breaks = _clauses(folded, len(folded_words))
    shape = _TextShape(
        letters=letter_hints(text),
        allowed=allowed,
        limit=limit,
        label=label,
        dash=dash,
        joined=hyphen_joined(folded),
        breaks=breaks,
        bars=_breaks(folded, _BAR) if "|" in folded else (),
        mentioned=tuple(mentioned_codes(folded).items()) if figures else (),
        top=top,
    )
    key = _shape_key(shape, tuple([None if _INERT[w] else w for w in folded_words]))
    answer = _ANSWERS.get(key)
    if answer is None:
        answer = _classify(text, folded_words, shape)
        _ANSWERS.put(key, answer)
    return answer


class _TextShape(NamedTuple):
    """What a classification needs of a text besides its words (all of it, with the words).

    Attributes:
        letters: the letters in the text that hint at a language (:func:`letter_hints`).
        allowed: the kinds the unit and the figures in the text allow.
        limit: how many words come before the first clause break.
        label: whether the words before that break are a label (:func:`_clauses`).
        dash: whether that break is a spaced dash (*Almacén central - palets rotos*).
        joined: the words a hyphen joins to the one before (:func:`hyphen_joined`).
        breaks: the words a clause break follows (:func:`_breaks`).
        bars: the words a column bar follows (*Spülwasser | IBC*: :data:`_BAR`).
        mentioned: the codes the text writes out, as :func:`mentioned_codes` gives them.
        top: the most candidates asked for.
    """

    letters: frozenset[str]
    allowed: frozenset[ResourceKind]
    limit: int
    label: bool
    dash: bool
    joined: tuple[int, ...]
    breaks: tuple[int, ...]
    bars: tuple[int, ...]
    mentioned: tuple[tuple[str, float], ...]
    top: int


_NOTHING: Final[frozenset[ResourceKind]] = frozenset()

_ShapeFields = tuple[
    int,
    bool,
    bool,
    tuple[int, ...],
    tuple[int, ...],
    tuple[int, ...],
    tuple[tuple[str, float], ...],
    int,
]
"""A shape's fields after its letters and kinds (``shape[2:]``), as both keys hold them."""
_ShapeKey = tuple[str, tuple[str, ...], *_ShapeFields, tuple[str | None, ...]]


def _shape_key(shape: _TextShape, words: tuple[str | None, ...]) -> _ShapeKey:
    """The key of :data:`_ANSWERS`: a shape and its words, as a tuple of strings and numbers.

    It says what ``(shape, words)`` says (the letters sorted, the kinds by name), but a tuple
    of nothing but strings, numbers and such tuples is one the garbage collector stops
    tracking after its first look: frozensets and a named tuple in each of 65,536 keys kept
    them all tracked, and every full collection went through them again.
    """
    letters = "".join(sorted(shape.letters)) if shape.letters else ""
    return letters, _kind_names(shape.allowed), *shape[2:], words


@cache
def _kind_names(kinds: frozenset[ResourceKind]) -> tuple[str, ...]:
    """The names of a set of kinds, sorted (the kinds a text allows, in a shape's key)."""
    return tuple(sorted(k.value for k in kinds))


def _inert(word: str) -> bool:
    """Whether a folded word cannot change any answer, whichever word it is.

    True for a word of two to four ASCII letters that no language's vocabulary or grammar knows
    (it votes for no language and is no function word, preposition, filler, destination or unit
    word) and whose stem in every language is in no lexicon term and no official text. Such a
    word ("xqz", a plant's or a supplier's abbreviation) only counts as an unrecognised content
    word where it stands: two texts that differ only in which inert word stands at a position
    get the same language and the same answer (the figures the text writes, its clause break,
    its language-hinting letters and the codes it names are kept beside the words, see
    :class:`_TextShape`). That is what lets :data:`_ANSWERS` answer text it has not seen.

    A word that short gets no spelling correction and no compound split (:func:`word_tokens`,
    :func:`~domain.classify.references.compound_parts`): its stems are all its tokens, so the
    test costs ten stems. A longer word is never taken as inert: proving it would take a
    spelling correction and a compound split in every language, more than reading the text.
    """
    if not 2 <= len(word) < _MIN_FUZZY_LENGTH or not (word.isascii() and word.isalpha()):
        return False
    if languages_of(word):
        return False  # languages_of knows every language's function words, fillers, prepositions
    if word in UNIT_WORDS or any(word in destinations for destinations in DESTINATIONS.values()):
        return False
    if word in _GRAMMAR_WORDS:  # "frei", "ewc": they change answers where they stand
        return False
    if word.startswith(_GRAMMAR_PREFIXES):  # "lckw", "hees": read by how they begin
        return False
    return not any(token in _vocabulary(lang) for lang, token in stems_everywhere(word))


_GRAMMAR_WORDS: Final = CODE_LABELS.union(
    *(
        table[lang]
        for table in (*_ABSENCE_TABLES.values(), CONTAINING, RESIDUES, SOILED, PLACES)
        for lang in LANGUAGES
    ),
    (w for words in MAKING.values() for w in words if w.isalpha()),  # "fab", "prod", "zakl"
    *CATALYST_METALS.values(),
    *ANSWER_NO.values(),
    NOT_EASILY,
    BIODEGRADABLE_ADVERBS,
    TANKERS,
    *TANKER_PAIRS,
    DRUMS,
    DISPOSED,
    *EQUIPMENT.values(),
    UNUSED,
    _PER_HOUR,
    *TREATED_WATER.values(),
)
"""Words of the grammar that no language's vocabulary lists: never inert."""
_GRAMMAR_PREFIXES: Final = (*BIODEGRADABLE, *HALOGENATED, *HALOGEN_FREE, *HALOGENATED_WORDS)
"""How words of the grammar read by their beginning begin: never inert either."""


@cache
def _vocabulary(lang: str) -> frozenset[str]:
    return reference_index(lang).vocabulary


_INERT: Final = Memo(_inert, 200_000)
"""Folded word -> :func:`_inert`."""
_WORDS: Final = {lang: Memo(partial(_read_word, lang), 100_000) for lang in LANGUAGES}
"""Per language, folded word -> :class:`_Word` (a text is read in one or two languages).
Safe to keep for the process: every field depends only on the language and the word (and on
the lexicons and official texts, loaded once)."""


class _AnswerCache:
    """A bounded map from a key to an answer; the oldest entries go first when full.

    Thread-safe. An ordered dict: dropping its oldest entry costs the same however many were
    dropped before (a plain dict's first entry is found past every slot already emptied:
    13 us per answer stored into a full cache of 65,536).
    """

    def __init__(self, size: int) -> None:
        self._size = size
        self._answers: OrderedDict[object, Classification | str] = OrderedDict()
        self._lock = threading.Lock()
        self.get: Callable[[object], Classification | str | None] = self._answers.get
        """The answer stored for a key, or ``None`` (the dict's own ``get``: no call between)."""

    def put(self, key: object, answer: Classification | str) -> None:
        """Store an answer, dropping the oldest one when the cache is full."""
        with self._lock:
            if len(self._answers) >= self._size:
                self._answers.popitem(last=False)
            self._answers[key] = answer

    def clear(self) -> None:
        """Forget every answer."""
        with self._lock:
            self._answers.clear()


_ANSWERS: Final = _AnswerCache(65_536)
"""Answers by text shape: a description that differs from one seen before only in words that
mean nothing to the classifier (:func:`_inert`) is answered without reading it again."""
_CONCLUSIONS: Final = _AnswerCache(65_536)
"""Answers by :func:`_conclusion_key`: a text whose words read as those of a text seen before
(the same language, terms, word traits, similarity and shape) gets that text's answer without
its kind being decided and its codes ranked again."""


def _reading(
    text: str, folded_words: tuple[str, ...], breaks: tuple[int, ...] = ()
) -> tuple[str, list[_Match]]:
    """The language a text is read in, and its terms in that language.

    The language the words vote for; but when it finds no resource term in the text and
    another language finds heat, steam, water or gas in a word it left unread, that one: a
    row mixing two languages (``LP Dampf``, ``Hoogovengas Lot 4711``) is read in the language
    of its resource word. (Not for a material: the official texts' similarity in the voted
    language names materials better than another language's stray word, on the dev split.)
    """
    lang = guess_language(folded_words, text)
    matches = _all_matches(lang, folded_words, breaks)
    if any(m.term.kind in _RESOURCE_KINDS for m in matches):
        return lang, matches
    covered = {i for m in matches for i in range(m.first, m.last + 1)}
    read = _text(lang, folded_words).words
    uncovered = [word.languages for i, word in enumerate(read) if i not in covered]
    others = dict.fromkeys(chain.from_iterable(uncovered))  # in the order the words name them
    others.pop(lang, None)
    for other in others:
        found = _all_matches(other, folded_words, breaks)
        if any(_utility_word_of(other, folded_words, m, covered, lang) for m in found):
            return other, found
    return lang, matches


def _utility_word_of(
    lang: str, folded_words: tuple[str, ...], match: _Match, covered: set[int], voted: str
) -> bool:
    """Whether a match names a utility in words left unread that ``lang`` knows as its own.

    *Dampf* in ``LP Dampf`` is German; *déposé* corrected to Swedish *deponi(gas)* is no word
    of Swedish, and a French transformer is not landfill gas. Not a word the ``voted``
    language knows too and read as no utility: *air* in *shredder air separator* is English.
    """
    if match.term.kind not in _UTILITY_KINDS or match.first in covered:
        return False
    read = _text(lang, folded_words).words
    span = range(match.first, match.last + 1)
    return any(lang in read[i].languages for i in span) and not all(
        voted in read[i].languages for i in span
    )


def _classify(text: str, folded_words: tuple[str, ...], shape: _TextShape) -> Classification | str:
    """The answer for a text (a refusal as its reason), through :data:`_CONCLUSIONS`."""
    lang, matches = _reading(text, folded_words, shape.breaks)
    going = _destination_words(lang, folded_words, matches, shape.breaks)
    similar = _similarities(lang, folded_words, _unread(lang, folded_words, matches, shape, going))
    disposal = _disposal(lang, folded_words, matches, shape)
    key = _conclusion_key(lang, folded_words, matches, similar, shape, disposal)
    answer = _CONCLUSIONS.get(key)
    if answer is None:
        try:
            answer = _conclude(text, lang, folded_words, matches, similar, shape, going, disposal)
        except ClassificationError as e:
            answer = str(e)
        _CONCLUSIONS.put(key, answer)
    return answer


_ConclusionKey = tuple[
    str,
    tuple[tuple[str, tuple[str, ...], int, int, bool], ...],
    tuple[int, ...],
    int,
    tuple[str, ...],
    *_ShapeFields,
    _Disposal,
]


def _conclusion_key(
    lang: str,
    folded_words: tuple[str, ...],
    matches: list[_Match],
    similar: _Similar,
    shape: _TextShape,
    disposal: _Disposal,
) -> _ConclusionKey:
    """Everything :func:`_conclude` reads of a text once its language and terms are known.

    The language; each term found (its lexicon's language and tokens, which name it) and the
    words it covers; each word's :attr:`_Word.traits` (the kind, the head, the clause, the
    recognised share, the coverage and the destinations read words only through these); the
    similarity (by its serial: a similarity is computed once per query while cached, and no
    serial is used twice, so a key never names another similarity); the kinds the figures and
    the unit allow, the clause break, the label, the codes written and ``top``; what the text
    says of a water's disposal (:func:`_disposal`). Texts of one
    key get one answer whatever their words (only ``text`` differs, set by :func:`classify`).
    Strings, numbers and tuples of them: the garbage collector stops tracking such a key.
    """
    return (
        lang,
        tuple([(m.term.lang, m.term.tokens, m.first, m.last, m.inside) for m in matches]),
        tuple([w.traits for w in _text(lang, folded_words).words]),
        similar.serial,
        _kind_names(shape.allowed),
        *shape[2:],  # as in _shape_key: a field added to _TextShape is in both keys
        disposal,
    )


def _conclude(
    text: str,
    lang: str,
    folded_words: tuple[str, ...],
    matches: list[_Match],
    similar: _Similar,
    shape: _TextShape,
    going: frozenset[int],
    disposal: _Disposal,
) -> Classification:
    """The answer for a text read (``going``: its destination's words, :func:`_destination_words`).

    ``disposal``: what the text says of a water's disposal (:func:`_disposal`).

    Long because: the steps of a conclusion meet here in order (absence, kind, hazard, codes,
    review), each a call.
    """
    allowed, limit = shape.allowed, shape.limit
    recognised = _recognised(lang, folded_words, matches)
    pairs = _absences(lang, folded_words, shape.joined, shape.breaks, tuple(matches))
    absent = frozenset(a for a, _ in pairs)
    present = [m for m in matches if not _absent(m, absent)] if absent else matches
    decided = _decide_kind(lang, folded_words, present, recognised, shape, disposal)
    catalyst = _catalyst_metal(lang, folded_words, decided.head, absent)
    hazardous_hint = _hazard_hint(
        lang, folded_words, matches, present, decided.head, catalyst, absent
    )
    candidates: tuple[EwcCandidate, ...] = ()
    margin = 1.0
    if decided.kind is ResourceKind.MATERIAL:
        materials = [m for m in present if m.term.kind == "material"]
        materials = [m for m in materials if not _after_destination(lang, folded_words, m)]
        ends = _clause_ends(shape)
        made_of = _made_materials(lang, folded_words, matches, decided.head, ends)
        if made_of:
            # "Filter cake from PVC production": PVC names the origin, not the waste; beside a
            # head of no codes it is the waste in the first clause ("Produktionsabfall Holz")
            # and only an origin after it ("Metal scrap, production of glass")
            coded = decided.head is not None and bool(decided.head.term.codes)
            materials = [
                m
                for m in materials
                if m is decided.head or m not in made_of or (not coded and m.first < limit)
            ]
        if decided.head is not None and decided.head.term.codes:
            # "Fehlchargen Dispersionsfarbe": the paint off spec is the paint (08 01 12); the
            # state's own entries (16 03) are for a product the text does not name
            materials = [m for m in materials if m is decided.head or not _names_a_state(m.term)]
        if decided.head is not None and decided.head.term.kind == "water":
            # a liquid waste in its container: the IBC holds it, it is not the waste
            materials = [m for m in materials if not names_packaging(m.term)]
        prefixes = _source_prefixes(lang, folded_words, matches, decided.head, made_of)
        lead = _lead(lang, folded_words, decided.head, materials)
        delivered = _delivered(lang, folded_words, lead)
        if delivered:  # what goods came in is packaging, a shop's (20) or anyone's
            prefixes = tuple(p for p in prefixes if not p.startswith(_MUNICIPAL))
        made = frozenset() if delivered else _made_here(lang, folded_words, lead, decided.head)
        if made and prefixes:  # "Pipe lagging removed from factory boiler house": 10 01's
            made = frozenset(c for c in made if c.startswith(prefixes))
        # the head ranked: beside a head of no codes, the material said made or delivered,
        # or a chemical ("Toluene waste from stencil cleaning": the solvent, 14 06 03)
        chemical = lead is not None and lead is not decided.head and _chemical(lead.term)
        ranked = lead if (made or delivered or chemical) else decided.head
        told = delivered or _told_here(
            _told_apart(lang, folded_words, decided.head, present),
            made,
            any(w.traits & _FILLING for w in _text(lang, folded_words).words),
        )
        twice = _named_twice(decided.head, materials, prefixes) & told
        head = ranked.term if ranked is not None else None
        rank = partial(
            rank_candidates,
            [m.term for m in materials],
            head if head is not None and head.kind == "material" else None,
            prefixes,
            similar.scores,
            dict(shape.mentioned),
            # a precious-metal catalyst's entry is no mirror: a hazard said (a Chinese HW50)
            # does not rank it down
            hazardous_hint=hazardous_hint and _PRECIOUS_CATALYST not in catalyst,
            top=shape.top,
            details=_details(materials, decided.head, limit, shape),
            by_similarity=similar.ranked,
            preferred=told | catalyst | _mixture(materials, prefixes),
            beyond_head=_beyond_head(lang, folded_words, decided.head, similar.query),
            biodegradable=_said_biodegradable(lang, folded_words),
            halogenated=_said_halogenated(lang, folded_words, absent, present, shape.breaks),
            firm=bool(delivered or made or twice),
        )
        cover = partial(_material_coverage, lang, folded_words, matches, decided.head, going)
        ranking = rank(coverage=cover(bool(catalyst), bool(made), bool(delivered)))
        if made and ranking.candidates and ranking.candidates[0].code not in made:
            # the words saying where it was made told nothing: they are context again
            ranking = rank(coverage=cover(bool(catalyst)))
        candidates, margin = ranking.candidates, ranking.chapter_margin
    contradicted = bool(allowed) and decided.kind not in allowed  # "Purge gas 300 Nm3/h"
    review = (
        decided.confidence < KIND_REVIEW_BELOW
        or contradicted
        or (
            decided.kind is ResourceKind.MATERIAL
            and (
                not candidates
                or candidates[0].confidence < CODE_REVIEW_BELOW
                or margin < CHAPTER_MARGIN_BELOW
                or (not shape.mentioned and _only_a_form(decided.head, present))
                or (
                    decided.head is not None
                    and bool(
                        _text(lang, folded_words).words[decided.head.last].traits & _GUESSED_HEAD
                    )
                )  # "Hydrauliköl|schläuche": read by the modifier of an unknown head
            )
        )
    )
    return Classification(
        text=text,
        kind=decided.kind,
        kind_confidence=decided.confidence,
        candidates=candidates,
        matched_terms=tuple(m.term.term for m in matches),
        hazardous_hint=hazardous_hint,
        language=lang,
        needs_review=review,
    )
