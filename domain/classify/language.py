"""Which language a description is written in, from the words it shares with each vocabulary.

A general-purpose detector (trained on sentences) is the wrong tool for three-word ERP phrases
full of codes and abbreviations ("Sattdampf 12 bar", "BFG 40 kNm3/h"), and it would cost more
than the whole classification. The words that matter here are known: each language's official
List of Waste text and its lexicon. A word found in few languages says more than one found in
many (its vote is split between them); a compound ("Sattdampf") votes through its known last
part. Letters only some languages use (ł, ø, å, ñ...) add a small vote. Chinese characters decide
at once. Ties, and texts with no known word, go to English.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import cache, lru_cache
from typing import Final

from domain.classify.grammar import (
    COMPOUNDING,
    FILLERS,
    FUNCTION_WORDS,
    NOT_BEFORE_SHORT_HEAD,
    PLAIN_WORDS,
    PREPOSITIONS,
    SHORT_HEADS,
)
from domain.classify.references import reference_index
from domain.classify.text import (
    LANGUAGES,
    SPELLED_OUT_LANGUAGES,
    Memo,
    has_han,
    spelled_out,
    stems_everywhere,
)

_MIN_PART: Final = 4
_MIN_STEMMED: Final = 6
"""A word no language knows as it is votes for the languages knowing its stem, from six
letters (:func:`_stem_languages`)."""
_LETTER_HINTS: Final[Mapping[str, tuple[str, ...]]] = {
    "ł": ("pl",), "ą": ("pl",), "ę": ("pl",), "ś": ("pl",), "ć": ("pl",), "ń": ("pl",),
    "ż": ("pl",), "ź": ("pl",), "ø": ("da",), "æ": ("da",), "å": ("sv", "da"),
    "ä": ("de", "sv"), "ö": ("de", "sv"), "ü": ("de",), "ß": ("de",), "ñ": ("es",),
    "ç": ("fr",), "è": ("fr", "it"), "ê": ("fr",), "ò": ("it",), "ù": ("it", "fr"),
    "ì": ("it",),
}  # fmt: skip
_LETTER_VOTE: Final = 1.0

_UNIT_SYMBOL_TEXT: Final = (
    "h hr hrs t c f k deg degc degf kg g mg m m2 m3 nm3 sm3 scm scf l ml hl w kw mw gw kwh mwh "
    "gwh j kj mj gj tj cal kcal gcal bar barg bara mbar pa kpa mpa psi psig ppm ton tons tonne "
    "tonnes kt mt a y yr d s min wk mth mon tph tpd tpa tpy ktpa mtpa mmbtu btu mmscfd scfd "
    "scfm gpm ar aar"
)
UNIT_SYMBOLS: Final = frozenset(_UNIT_SYMBOL_TEXT.split())
"""Folded unit symbols (and the year of ``t/år``, ``t/aar``): not counted as a language's
words where they follow a figure, as the unit of a quantity written in the text."""


@cache
def _word_languages() -> Mapping[str, frozenset[str]]:
    found: defaultdict[str, set[str]] = defaultdict(set)
    for lang in LANGUAGES:
        if lang == "zh":
            continue
        grammar = FUNCTION_WORDS[lang] | PREPOSITIONS[lang] | FILLERS[lang] | PLAIN_WORDS[lang]
        for word in reference_index(lang).words | grammar:
            found[word].add(lang)
    return {w: frozenset(langs) for w, langs in found.items()}


@lru_cache(maxsize=100_000)
def languages_of(word: str) -> frozenset[str]:
    """The languages whose vocabulary has a folded word, or its last part for a compound."""
    known = _word_languages()
    hit = known.get(word)
    if hit is not None:
        return hit
    ascii_spelled = spelled_out(word)  # "abwaerme": Abwärme as ASCII writes it
    if ascii_spelled is not None:
        hit = known.get(ascii_spelled, frozenset()) & SPELLED_OUT_LANGUAGES
        if hit:
            return hit
    found = _compound_languages(word, known)
    if not found and ascii_spelled is not None:  # "elektroaltgeraete": Elektroaltgeräte
        found = _compound_languages(ascii_spelled, known) & SPELLED_OUT_LANGUAGES
    return found


def _compound_languages(word: str, known: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The compounding languages knowing a word's last part (both parts, when one does)."""
    if not word.isalpha() or len(word) < 2 * _MIN_PART - 1:
        return frozenset()
    longest: frozenset[str] = frozenset()
    for short in SHORT_HEADS:  # "Rest|gas", "Raffinerie|gas": a short head after a known word
        cut = len(word) - len(short)
        if word.endswith(short) and cut >= _MIN_PART and word[cut - 1] not in NOT_BEFORE_SHORT_HEAD:
            short_langs = known.get(short, frozenset()) & COMPOUNDING
            known_both = short_langs & _modifier_languages(word[:cut], known)
            if known_both:  # not a Spanish plural (lechu|gas, bode|gas): its first part is no word
                return known_both
    for cut in range(3, len(word) - _MIN_PART + 1):
        tail = known.get(word[cut:])
        if tail is not None:
            compounding = tail & COMPOUNDING
            if compounding:
                # both parts known in one language: "plast|rester" is Swedish, not a
                # German "plas|trester"; else the longest known last part
                whole = compounding & _modifier_languages(word[:cut], known)
                if whole:
                    return whole
                longest = longest or compounding
    return longest


def _modifier_languages(modifier: str, known: Mapping[str, frozenset[str]]) -> frozenset[str]:
    """The languages knowing a compound's first part, as it is or with a linking *s*."""
    found = known.get(modifier, frozenset())
    if modifier.endswith("s"):
        found |= known.get(modifier[:-1], frozenset())
    return found


def guess_language(folded_words: Iterable[str], original: str) -> str:
    """The most likely language of a description (an ISO 639-1 code of ``LANGUAGES``).

    A unit written after a figure (``150 °C``, ``12 ton/år``, ``40 kNm3/h``) does not vote:
    its letters would make a one-word description in another language read as English or
    Swedish.

    Args:
        folded_words: the folded words of the text (:func:`~domain.classify.text.words`).
        original: the text as given (for letters that folding removes).
    """
    votes: defaultdict[str, float] = defaultdict(float)
    han = False
    after_figure = False
    for word in folded_words:
        if after_figure and word in UNIT_SYMBOLS:
            continue  # "150 °C", "12 ton/år": the unit of a figure is no language's word
        after_figure = word[:1].isdigit()
        shares = _VOTES[word]
        if shares is None:
            han = True
            continue
        for lang, share in shares:
            votes[lang] += share
    if han:
        return "zh"  # Chinese exports mix in Latin abbreviations ("高炉煤气 BFG")
    if not original.isascii():  # every hinting letter is outside ASCII
        for char in set(original.lower()) & _LETTER_HINTS.keys():
            for lang in _LETTER_HINTS[char]:
                votes[lang] += _LETTER_VOTE / len(_LETTER_HINTS[char])
    if not votes:  # no word known as it is: the languages knowing their stems ("pallar")
        for word in folded_words:
            langs = _STEM_VOTES[word]
            for lang in langs:
                votes[lang] += 1.0 / len(langs)  # split as a known word's vote is
    if not votes:
        return "en"
    best = max(votes.values())
    for lang in LANGUAGES:
        if votes.get(lang) == best:
            return lang
    raise AssertionError("the best vote is some language's")  # pragma: no cover


def letter_hints(original: str) -> frozenset[str]:
    """The letters of a text (as given, before folding) that only some languages use.

    With the folded words, all :func:`guess_language` reads of a text.
    """
    if original.isascii():  # every such letter is outside ASCII
        return frozenset()
    return frozenset(set(original.lower()) & _LETTER_HINTS.keys())


_ELEMENT_SYMBOL_TEXT: Final = (
    "ag al au ba br cd cl cr cu fe hg li mg mn mo ni pb pd pt rh sb sn ti tl zn zr"
)
_ELEMENT_SYMBOLS: Final = frozenset(_ELEMENT_SYMBOL_TEXT.split()) - frozenset().union(
    *FUNCTION_WORDS.values(), *PREPOSITIONS.values()
)
"""Symbols of the metals and halogens waste rows name (*Pb*, *Cd*, *Zn/Pb*), less any a
language's grammar holds (Spanish *ni*, *al*): the same in every language, they vote for none
(*Pb-haltig* made German the language of an Italian row holding *Pb*)."""


_CODE_LIKE: Final = re.compile(r"[a-z]{1,2}\d+[a-z]?")
"""A code of a letter or two and digits: a hazard statement (*H314*), a hazardous property
(*HP14*), a Chinese category (*HW08*), a refrigerant (*R134a*): the same in every language."""


def _vote(word: str) -> tuple[tuple[str, float], ...] | None:
    """A folded word's vote in :func:`guess_language`.

    ``(language, 1 / number of its languages)`` for each language knowing it
    (:func:`languages_of`), ``()`` for a number, ``None`` for a Chinese word.
    """
    if has_han(word):
        return None
    if word.isdigit() or word in _ELEMENT_SYMBOLS or _CODE_LIKE.fullmatch(word) is not None:
        return ()
    langs = languages_of(word)
    return tuple((lang, 1.0 / len(langs)) for lang in langs)


def _stem_languages(word: str) -> frozenset[str]:
    """The languages knowing the stem of a word none knows as it is (six letters or more).

    An inflection votes for its language (Swedish *pallar*, plural of a known *pall*; Italian
    *rifiuto* beside a known *rifiuti*) when no word of the text is known as it is (an English
    *refrigeration* beside *oil* is no French word); it is not read as that language's word.
    """
    if len(word) < _MIN_STEMMED or not word.isalpha() or has_han(word):
        return frozenset()
    return frozenset(
        lang
        for lang, token in stems_everywhere(word)
        if lang != "zh" and token != word and token in reference_index(lang).vocabulary
    )


_VOTES: Final = Memo(_vote, 200_000)
"""Folded word -> :func:`_vote`, filled per word on first sight."""
_STEM_VOTES: Final = Memo(_stem_languages, 200_000)
"""Folded word -> :func:`_stem_languages`, filled per word on first sight."""
