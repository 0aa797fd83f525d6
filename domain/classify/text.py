"""Text normalisation for the classifier: folding, words, per-language stems, Chinese segments.

Every text, the query and the reference texts alike, goes through the same steps, so what is lost
on one side is lost on the other:

1. **Fold**: case-folded, accents and diacritics removed (``"Popiół"`` -> ``"popiol"``,
   ``"Abwärme"`` -> ``"abwarme"``, ``"ånga"`` -> ``"anga"``), superscripts made digits
   (``"m³"`` -> ``"m3"``). ERP exports drop accents often; folding makes that harmless.
2. **Words**: runs of letters and digits (formulas survive: ``"co2"``, ``"h2so4"``). Chinese runs
   are kept whole and segmented later against the Chinese vocabulary (:func:`segment_han`).
3. **Stems**: the Snowball stemmer of the text's language (PyStemmer, the C implementation of
   the Snowball algorithms, for every supported European language), English with the project's
   own rules (UK spelling, plurals, ``-ing``/``-ed``), kept because the English lexicon and its
   tests were written against them. Stems are cached per (language, word): an export repeats
   its vocabulary, so a word is stemmed once per process.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
from functools import cache, lru_cache
from itertools import chain
from typing import Final, TypeVar

import Stemmer

K = TypeVar("K")
V = TypeVar("V")

LANGUAGES: Final[tuple[str, ...]] = ("en", "de", "fr", "es", "it", "pl", "nl", "da", "sv", "zh")
"""Languages the classifier reads, as ISO 639-1 codes; English first (it wins ties)."""

_SNOWBALL: Final[Mapping[str, str]] = {
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "pl": "polish",
    "nl": "dutch",
    "da": "danish",
    "sv": "swedish",
}

_FOLD_TABLE: Final = str.maketrans(
    {
        "ł": "l", "ø": "o", "æ": "ae", "ß": "ss", "đ": "d", "œ": "oe", "\u0131": "i",
        "þ": "th", "³": "3", "²": "2", "¹": "1", "°": " deg ", "º": " deg ",
        "\u2103": " deg c", "\u2109": " deg f", "µ": "u", "·": " ", "\u2019": "'",
    }
)  # fmt: skip

_HAN_CHARS: Final = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD: Final = re.compile(rf"[{_HAN_CHARS}]+|[^\W_{_HAN_CHARS}]+")
_HAN: Final = re.compile(rf"[{_HAN_CHARS}]")

_SPELLING: Final[Mapping[str, str]] = {
    "aluminum": "aluminium",
    "fiber": "fibre",
    "fibers": "fibres",
    "tire": "tyre",
    "tires": "tyres",
    "color": "colour",
    "gases": "gas",
    "ashes": "ash",
    "leaves": "leaf",
}
"""English whole-word rewrites applied before stemming (US to UK, irregular plurals)."""


_WITH_SHORT: Final = re.compile(r"(?<=\w )[wW]/([oO])? +(?![#\d]|[eE][mM][uU][lL][sS])(?=\w)")
"""English shorthand for *with* (``w/``) and *without* (``w/o``) between two words: "drums w/o
lids", "rags w/ oil". Not at the text's start nor before a figure or ``#`` (*W/O #55213* is a
work order), not before *emulsion* (*W/O emulsion* is water in oil), not joined to a letter
(Polish *w/g*, *w/w*: according to, above-mentioned; *w/w* a mass fraction)."""


def _with_spelt(found: re.Match[str]) -> str:
    return "without " if found.group(1) else "with "


def spell_out(text: str) -> str:
    """``text`` with English shorthand written out (:data:`_WITH_SHORT`); others unchanged."""
    if "/" not in text:
        return text
    return _WITH_SHORT.sub(_with_spelt, text)


def fold(text: str) -> str:
    """Case-fold and strip accents: what both sides of every comparison see.

    ``"Sattdampf 12 bar"`` -> ``"sattdampf 12 bar"``, ``"Popiół LOTNY"`` -> ``"popiol lotny"``,
    ``"Nm³/h"`` -> ``"nm3/h"``, ``"180 °C"`` -> ``"180  deg c"``. Chinese passes unchanged.
    """
    folded = text.casefold()
    if folded.isascii():  # nothing to translate: the table folds letters outside ASCII only
        return folded
    folded = folded.translate(_FOLD_TABLE)
    if folded.isascii():
        return folded
    return unicodedata.normalize("NFKD", folded).translate(_STRIP_TABLE)


class _StripTable(dict[int, str | None]):
    """:data:`_FOLD_TABLE` with every combining mark mapped to nothing.

    One ``str.translate`` folds a decomposed text and drops its accents. Filled per character
    on first sight (a text's alphabet is small; scanning all of Unicode up front would cost the
    cold start).
    """

    def __missing__(self, code: int) -> str | None:
        char = chr(code)
        value = _FOLD_TABLE.get(code, char)
        found: str | None = None if unicodedata.combining(char) else value
        self[code] = found
        return found


_STRIP_TABLE: Final = _StripTable()


LONGEST_WORD: Final = 256
"""A run of letters longer than this is cut to it: no language's word (nor a Chinese
description) is that long, and what reads a word (stems, compound splits, caches keyed by
words) must not grow with a hostile text's run of 100,000 letters."""


def words(folded: str) -> list[str]:
    """Runs of letters and digits of a folded text, in order; a Chinese run is one word.

    A Chinese run ends where Latin letters or digits start: ``"余热40t"`` -> ``["余热", "40t"]``.
    Each run is at most :data:`LONGEST_WORD` characters.
    """
    found = _WORD.findall(folded)
    if max(map(len, found), default=0) > LONGEST_WORD:
        return [w[:LONGEST_WORD] for w in found]
    return found


_INNER_HYPHEN: Final = re.compile(r"\w-\w")
"""A hyphen between two letters or digits: a text without one (*Unit 0 - cooling water*, a
spaced dash) joins no words, and is not read word by word for them."""


def hyphen_joined(folded: str) -> tuple[int, ...]:
    """Positions (in :func:`words`) of the words a hyphen joins to the word before them.

    ``"fit-for-purpose water"`` -> ``(1, 2)``: *for* and *purpose* are parts of one modifier,
    and a preposition inside one ends no clause. Empty for a text without a hyphen.
    """
    if "-" not in folded or _INNER_HYPHEN.search(folded) is None:
        return ()
    return tuple(
        i
        for i, found in enumerate(_WORD.finditer(folded))
        if found.start() >= 2
        and folded[found.start() - 1] == "-"
        and _WORD.match(folded, found.start() - 2) is not None
    )


def fold_words(text: str) -> tuple[str, tuple[str, ...]]:
    """``fold(text)`` and the words of it (:func:`words`), from each space-separated part's.

    Folding works letter by letter (case folding, the table, a decomposition that keeps a
    space where it is) and no word holds a space, so a text of parts joined by single spaces
    folds to its folded parts joined by spaces, and its words are its parts' words in order.
    An export repeats its parts ("Flugasche", "t/a", "Silo"): each is folded and split once
    (:data:`_PARTS`). A text with other spacing (tabs, runs of spaces, no-break spaces) is
    folded whole.
    """
    text = spell_out(text)
    parts = text.split()
    if " ".join(parts) != text:
        folded = fold(text)
        return folded, tuple(words(folded))
    read = [_PARTS[part] for part in parts]
    folded = " ".join([part[0] for part in read])
    return folded, tuple(chain.from_iterable([part[1] for part in read]))


class Memo(dict[K, V]):
    """``compute(key)`` per key, computed on first lookup (``memo[key]``) and kept.

    For the classifier's per-word and per-part readings: ``compute`` must depend on the key
    alone (and on what is loaded once per process). Bounded: emptied when it holds ``limit``
    keys, so hostile text of ever new words costs at most ``limit`` entries.
    """

    def __init__(self, compute: Callable[[K], V], limit: int) -> None:
        """A memo of ``compute`` holding at most ``limit`` keys."""
        super().__init__()
        self.compute = compute
        self.limit = limit

    def __missing__(self, key: K) -> V:
        found = self.compute(key)
        if len(self) >= self.limit:
            self.clear()
        self[key] = found
        return found


def _fold_part(part: str) -> tuple[str, tuple[str, ...]]:
    folded = fold(part)
    return folded, tuple(words(folded))


_PARTS: Final = Memo(_fold_part, 200_000)
"""A part of a text (no whitespace) -> its fold and its words."""


_SPELLED_OUT: Final = re.compile("ae|oe|ue|aa")


SPELLED_OUT_LANGUAGES: Final = frozenset({"de", "da", "sv"})
"""The languages whose letters ASCII spells out: German ä ö ü, Danish æ ø å, Swedish ä ö å
(in Dutch, ``oe`` and ``aa`` are letters of their own: *zaagstof*, *koelwater*)."""


def spelled_out(word: str) -> str | None:
    """A folded word with its spelled-out letters folded as the letters are, or ``None``.

    ASCII-only systems write ``ä`` ``ö`` ``ü`` as ``ae`` ``oe`` ``ue`` and ``å`` as ``aa``
    (``Abwaerme``, ``Altoel``, ``Roeggas``, ``Aanga``), which :func:`fold` would have turned
    into ``a`` ``o`` ``u`` ``a``; callers try this form only for a word no language knows, in
    :data:`SPELLED_OUT_LANGUAGES`.
    """
    if _SPELLED_OUT.search(word) is None:
        return None
    return word.replace("ae", "a").replace("oe", "o").replace("ue", "u").replace("aa", "a")


def has_han(word: str) -> bool:
    """Whether a word contains a Chinese character."""
    return not word.isascii() and _HAN.search(word) is not None


_IZE: Final = re.compile(r"iz(e|ed|es|ing|ation|ations)$")


def _english_stem(word: str) -> str:
    word = _SPELLING.get(word, word)
    word = word.replace("sulf", "sulph")
    if "iz" in word:
        word = _IZE.sub(r"is\1", word)
    if len(word) > 4 and word.endswith("ies"):
        word = word[:-3] + "y"
    elif word.endswith(("sses", "shes", "ches", "xes", "zes")):
        word = word[:-2]
    elif len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "as", "os")):
        word = word[:-1]
    if len(word) >= 6 and word.endswith("ing"):
        word = word[:-3]
    elif len(word) >= 6 and word.endswith("ed") and not word.endswith("eed"):
        word = word[:-2]
    return _SPELLING.get(word, word)


@cache
def _stemmer(lang: str) -> Stemmer.Stemmer:
    # No PyStemmer cache (0): :func:`stem` caches, and PyStemmer's own makes a new word's stem
    # three times slower.
    return Stemmer.Stemmer(_SNOWBALL[lang], 0)


def stems_everywhere(word: str) -> list[tuple[str, str]]:
    """``(language, stem(language, word))`` for every language of :data:`LANGUAGES`, in order.

    Uncached, for a word seen for the first time (is it known in any language?).
    """
    if not word.isalpha():
        return [(lang, _english(word) if lang == "en" else word) for lang in LANGUAGES]
    found = [("en", _english(word))]
    found += [(lang, _snowball(lang, stemmer, word)) for lang, stemmer in _stemmers()]
    found.append(("zh", word))
    return found


@cache
def _stemmers() -> tuple[tuple[str, Stemmer.Stemmer], ...]:
    return tuple((lang, _stemmer(lang)) for lang in LANGUAGES if lang in _SNOWBALL)


@lru_cache(maxsize=200_000)
def stem(lang: str, word: str) -> str:
    """The stem of one folded word in a language; digits and formulas pass unchanged.

    Chinese words are not stemmed. A Snowball stem shorter than three letters falls back to the
    word (Snowball over-strips short words: Spanish ``"agua"`` -> ``"agu"`` is kept, ``"gas"``
    stays ``"gas"``).
    """
    if lang == "en":
        return _english(word)
    if lang == "zh" or not word.isalpha():
        return word
    return _snowball(lang, _stemmer(lang), word)


def _english(word: str) -> str:
    """The English stem of a folded word (:func:`stem`'s)."""
    return _same_making("en", _english_stem(word))


def _snowball(lang: str, stemmer: Stemmer.Stemmer, word: str) -> str:
    """The Snowball stem of a folded alphabetic word (:func:`stem`'s, for every language's).

    The word is first written as its accented form would stem (:func:`_before_stemming`); the
    stem of a word for making is its language's one (:func:`_same_making`); a stem shorter than
    three letters falls back to the word (Polish: to the word without the ending
    :func:`_before_stemming` takes off, *olejów* as *olej*).
    """
    prepared = _before_stemming(lang, word)
    stemmed: str = stemmer.stemWord(prepared)
    if len(stemmed) >= 3:
        return _same_making(lang, stemmed)
    return prepared if lang == "pl" else word  # "olejów": "olej", not "ol" nor "olejow"


_MAKING: Final[Mapping[str, str]] = {
    "en": "manufacture manufacturing synthesis",
    "de": "produktion herstellung fertigung synthese",
    "fr": "production fabrication synthese elaboration",
    "es": "produccion fabricacion sintesis elaboracion",
    "it": "produzione fabbricazione sintesi",
    "pl": "produkcja produkcji wytwarzanie wytwarzania synteza syntezy",
    "nl": "productie fabricage vervaardiging synthese",
    "da": "produktion fremstilling syntese",
    "sv": "produktion tillverkning syntes",
}
"""The words of each language for making something, which name one process (folded): a plant
writes *fabrication de principes actifs* where the list and the lexicon say *production*,
*Farbstoffsynthese* for *Farbstoffherstellung*, *producción de plaguicidas* for
*fabricación*. Each stems to the first's stem (:func:`_same_making`), in texts, terms and
official texts alike."""


_COMPOUND_MAKING: Final[Mapping[str, tuple[str, tuple[str, ...]]]] = {
    lang: (_MAKING[lang].split()[0], tuple(_MAKING[lang].split()[1:]))
    for lang in ("de", "nl", "da", "sv")
}
"""A compounding language's first word for making, and the others a compound may end in."""


@cache
def _making_stems(lang: str) -> Mapping[str, str]:
    """A stem of a word of :data:`_MAKING` -> the stem of its language's first word."""
    found = _MAKING[lang].split()
    if lang == "en":
        own = [_english_stem(w) for w in found]
    else:
        own = [_stemmer(lang).stemWord(w) for w in found]
    return {s: own[0] for s in own}


def _same_making(lang: str, stemmed: str) -> str:
    """``stemmed``, or the one stem of the words for making (:data:`_MAKING`) when it is one."""
    return _making_stems(lang).get(stemmed, stemmed)


def _before_stemming(lang: str, word: str) -> str:
    """A folded word as Snowball should see it.

    French: folding turns a feminine participle's *-ée(s)* into *-ee(s)*, which Snowball
    stems apart from the masculine (*contaminee* -> *contamine*, *contamine* -> *contamin*):
    one *e* goes, so *contaminée*, *contaminées*, *contaminé* and *contaminés* share a stem,
    as *polluée* and *pollué*, *souillées* and *souillé*. Polish: Snowball leaves a genitive
    plural's *-ów* and a mobile *e* (*płytek*, *worek*, *piasek*) in the stem, so *osadów*
    stems apart from *osady* and *płytek* from *płytki*: the ending goes first (*osad*, *płytk*).
    A compounding language: a compound
    ending in a word for making ends in the language's first one (:data:`_COMPOUND_MAKING`).
    """
    if lang == "fr" and len(word) > 4 and word.endswith(("ee", "ees")):
        return word[:-2] + word[-1] if word[-1] == "s" else word[:-1]
    if lang == "pl" and len(word) >= 5 and word.isalpha():
        if word.endswith("ow"):  # a genitive plural: "osadów", "olejów" stem as "osady", "oleje"
            return word[:-2]
        if word.endswith("ek"):  # a mobile e: "płytek", "worek" stem as "płytki", "worki"
            return word[:-2] + "k"
    if lang in _COMPOUND_MAKING:
        first, endings = _COMPOUND_MAKING[lang]
        for ending in endings:
            if word.endswith(ending) and len(word) > len(ending) + 2:
                # "Farbstoff|synthese" as "Farbstoff|produktion", as the lexicon's
                # "Farbstoff|herstellung" is: one word, one stem
                return word[: -len(ending)] + first
    return word


def stems(lang: str, folded_words: Iterable[str]) -> tuple[str, ...]:
    """:func:`stem` of each word, in order."""
    return tuple(stem(lang, w) for w in folded_words)


def tokenise(text: str, lang: str = "en") -> tuple[str, ...]:
    """Folded, stemmed tokens of a text in one language (Chinese runs kept whole).

    ``tokenise("Fly ashes")`` -> ``("fly", "ash")``; ``tokenise("Flugaschen", "de")`` ->
    ``("flugasch",)``.
    """
    return stems(lang, words(fold(text)))


def segment_han(run: str, vocabulary: Mapping[str, object], longest: int) -> list[str]:
    """Split a Chinese run into vocabulary words by forward maximum matching.

    At each position the longest vocabulary word starting there is taken; a character no word
    starts with is skipped (it carries no resource meaning the vocabulary knows).
    """
    found: list[str] = []
    i = 0
    while i < len(run):
        for size in range(min(longest, len(run) - i), 0, -1):
            piece = run[i : i + size]
            if piece in vocabulary:
                found.append(piece)
                i += size
                break
        else:
            i += 1
    return found
