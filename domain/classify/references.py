"""The official List of Waste texts per language, as TF-IDF indexes over stemmed words.

The List of Waste (Commission Decision 2000/532/EC as amended by 2014/955/EU) has the same codes
in every EU language. English comes from ``data/ewc-codes.csv``; every other language from
``data/low/<lang>.csv`` (``code,level,text``, each file with its source line; see
``data/low/README-<lang>.md``). A description is compared with the texts of its own language,
so "Flugasche" finds *Filterstäube aus der Kohlefeuerung* without any hand-made translation.

Each entry's vector holds its own text (weight 1) and its sub-chapter's title (0.5). Words that
occur in more than a quarter of all entries ("waste", "Abfälle", "odpady", "mentioned in") are
the list's boilerplate and are left out, in every language alike.
"""

from __future__ import annotations

import csv
import math
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
from typing import Final

from domain.classify.grammar import COMPOUNDING, FUNCTION_WORDS, PREPOSITIONS
from domain.classify.lexicon import lexicon
from domain.classify.text import fold, stem, words
from domain.errors import ClassificationError
from domain.ewc import catalogue

_SUBCHAPTER_TITLE_WEIGHT = 0.5
_BOILERPLATE_SHARE = 0.25


@dataclass(frozen=True, slots=True)
class ReferenceIndex:
    """One language's List of Waste as normalised TF-IDF vectors with an inverted index.

    Attributes:
        lang: the language.
        postings: stem -> ((code, weight in that code's unit vector), ...).
        idf: stem -> inverse document frequency.
        vocabulary: every stem of the texts and of the language's lexicon.
        lexicon_vocabulary: the stems of the lexicon alone (preferred by spelling correction).
        frequency: stem -> number of entries it occurs in.
        boilerplate: stems too common to tell entries apart.
        words: folded (unstemmed) words of the texts and the lexicon (language detection).
        entries: how many entries the language's text has.
    """

    lang: str
    postings: Mapping[str, tuple[tuple[str, float], ...]]
    idf: Mapping[str, float]
    vocabulary: frozenset[str]
    lexicon_vocabulary: frozenset[str]
    frequency: Mapping[str, int]
    boilerplate: frozenset[str]
    words: frozenset[str]
    entries: int

    _cache: dict[frozenset[str], dict[str, float]] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def similarities(self, tokens: Iterable[str]) -> dict[str, float]:
        """Cosine between the tokens (as one query) and every entry sharing a stem with it.

        A new dict on each call (the caller may change it). Cached by the set of the tokens the
        index knows: descriptions that differ in words the texts do not hold are one query.
        """
        query = frozenset(t for t in tokens if t in self.idf)
        sims = self._cache.get(query)
        if sims is None:
            sims = self._similarities(query)
            if len(self._cache) >= _MAX_CACHED_QUERIES:
                self._cache.clear()
            self._cache[query] = sims
        return dict(sims)

    def _similarities(self, query: frozenset[str]) -> dict[str, float]:
        weights = {t: self.idf[t] for t in query}
        norm = math.sqrt(sum(v * v for v in weights.values()))
        if not norm:
            return {}
        sims: defaultdict[str, float] = defaultdict(float)
        for t, w in weights.items():
            scale = w / norm
            for code, weight in self.postings[t]:
                sims[code] += scale * weight
        return dict(sims)


_MAX_CACHED_QUERIES: Final = 65_536


def _texts(lang: str) -> tuple[dict[str, str], dict[str, str]]:
    """(six-digit code -> entry text, two- or four-digit prefix -> title) of one language."""
    ewc = catalogue()
    if lang == "en":
        entries = {code: e.description for code, e in ewc.entries.items()}
        return entries, dict(ewc.titles)
    source = resources.files("domain") / "data" / "low" / f"{lang}.csv"
    if not source.is_file():
        return {}, {}
    entries, titles = {}, {}
    with source.open(encoding="utf-8") as f:
        rows = csv.DictReader(line for line in f if not line.startswith("#"))
        for row in rows:
            code = row["code"].strip()
            if len(code) == 6:
                if code not in ewc.entries:
                    raise ClassificationError(f"low/{lang}.csv: {code} is not on the List of Waste")
                entries[code] = row["text"]
            else:
                titles[code] = row["text"]
    return entries, titles


_MIN_PART: Final = 4
_MIN_MODIFIER: Final = 3
_LINKS: Final = ("", "s", "n", "e", "en", "er")
"""Linking letters between the parts of a compound (Abfall-s-behandlung, Kessel-n-...)."""


@cache
def _dictionary(lang: str) -> frozenset[str]:
    """The words a compound may be made of: the language's official text and lexicon.

    Folded, four letters or more.
    """
    entries, titles = _texts(lang)
    found: set[str] = set()
    for text in (*entries.values(), *titles.values(), *(t.term for t in lexicon(lang).values())):
        found.update(w for w in words(fold(text)) if len(w) >= _MIN_PART and w.isalpha())
    return frozenset(found)


@lru_cache(maxsize=100_000)
def compound_parts(lang: str, word: str) -> tuple[str, ...]:
    """A compound's modifier and head as stems ("rostschlacke" -> "rost", "schlack").

    Empty for other words and for languages that do not compound. The head is the longest known
    tail; the modifier may end in a linking letter. Compounds are how German, Dutch, Danish and
    Swedish name most wastes, and two texts rarely compound the same way ("Rostschlacke" /
    "Rost- und Kesselasche"): the parts let them meet.
    """
    if lang not in COMPOUNDING or len(word) < _MIN_PART + _MIN_MODIFIER or not word.isalpha():
        return ()
    dictionary = _dictionary(lang)
    for cut in range(_MIN_MODIFIER, len(word) - _MIN_PART + 1):
        head = word[cut:]
        if head not in dictionary:
            continue
        modifier = word[:cut]
        for link in _LINKS:
            if link and not modifier.endswith(link):
                continue
            bare = modifier[: len(modifier) - len(link)] if link else modifier
            if len(bare) >= _MIN_MODIFIER and (bare in dictionary or len(bare) >= _MIN_PART):
                return (stem(lang, bare), stem(lang, head))
    return ()


def similarity_tokens(lang: str, folded_words: Iterable[str]) -> list[str]:
    """The tokens a text is compared by: each word's stem, plus a compound's parts."""
    tokens: list[str] = []
    for word in folded_words:
        tokens.append(stem(lang, word))
        tokens.extend(compound_parts(lang, word))
    return tokens


@cache
def entry_tokens(lang: str) -> Mapping[str, frozenset[str]]:
    """Code -> the tokens of its own text in a language (not its sub-chapter's title).

    The index's tokens (:func:`similarity_tokens` of the words that are no function word or
    preposition), less its boilerplate: what the entry itself says.
    """
    entries, _ = _texts(lang)
    boilerplate = reference_index(lang).boilerplate
    return {
        code: frozenset(_text_tokens(lang, _text_words(lang, text))) - boilerplate
        for code, text in entries.items()
    }


def _text_words(lang: str, text: str) -> list[str]:
    """An official text's folded words, less the language's function words and prepositions."""
    skipped = FUNCTION_WORDS.get(lang, frozenset()) | PREPOSITIONS.get(lang, frozenset())
    return [w for w in words(fold(text)) if w not in skipped]


def _text_tokens(lang: str, text_words: list[str]) -> list[str]:
    """The tokens an official text is indexed by (:func:`similarity_tokens`, no short ones)."""
    return [t for t in similarity_tokens(lang, text_words) if len(t) > 2 and not t.isdigit()]


@cache
def reference_index(lang: str) -> ReferenceIndex:
    """The index of one language's List of Waste; built once per process.

    A language without an official text (Chinese) has an empty index: its descriptions are
    matched through its lexicon alone.

    Raises:
        ClassificationError: the text names a code that is not on the List of Waste.
    """
    entries, titles = _texts(lang)
    weighted: dict[str, defaultdict[str, float]] = {}
    frequency: Counter[str] = Counter()
    folded_words: set[str] = set()
    for code, text in entries.items():
        tf: defaultdict[str, float] = defaultdict(float)
        for weight, part in ((1.0, text), (_SUBCHAPTER_TITLE_WEIGHT, titles.get(code[:4], ""))):
            raw = _text_words(lang, part)
            folded_words.update(raw)
            for token in _text_tokens(lang, raw):
                tf[token] += weight
        weighted[code] = tf
        frequency.update(tf.keys())
    n = len(weighted)
    boilerplate = frozenset(t for t, df in frequency.items() if df > _BOILERPLATE_SHARE * n)
    idf = {
        t: math.log((n + 1) / (df + 1)) + 1.0 for t, df in frequency.items() if t not in boilerplate
    }
    postings: defaultdict[str, list[tuple[str, float]]] = defaultdict(list)
    for code, tf in weighted.items():
        vec = {t: w * idf[t] for t, w in tf.items() if t in idf}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        for t, v in vec.items():
            postings[t].append((code, v / norm))
    terms = lexicon(lang)
    lexicon_vocabulary = frozenset(t for key in terms for t in key)
    for term in terms.values():
        folded_words.update(words(fold(term.term)))
    return ReferenceIndex(
        lang=lang,
        postings={t: tuple(p) for t, p in postings.items()},
        idf=idf,
        vocabulary=frozenset(frequency) | lexicon_vocabulary,
        lexicon_vocabulary=lexicon_vocabulary,
        frequency=dict(frequency),
        boilerplate=boilerplate,
        words=frozenset(w for w in folded_words if not w.isdigit()),
        entries=n,
    )
