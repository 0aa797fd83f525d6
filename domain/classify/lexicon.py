"""The classifier's vocabulary: resource-kind, material, source and hazard terms per language.

English lives in ``data/classification-lexicon.csv`` (documented beside it); every other language
in ``data/lexicon/<lang>.csv`` with the same columns (``term,kind,ewc`` and a free fourth column,
``note`` or ``source``). The EWC codes of a material mostly come from the official List of Waste
texts (:mod:`domain.classify.references`); the lexicon says what those texts cannot: which words
name heat, steam, water or gas, which name a source sub-chapter, which flag a hazard. Chinese has
no official List of Waste text, so its vocabulary (``lexicon/zh.csv``) also maps by-product names
to codes, each row with its source.
"""

from __future__ import annotations

import csv
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from types import MappingProxyType
from typing import Final, Literal, cast, get_args

from domain.classify.grammar import PLAIN_WORDS
from domain.classify.text import LANGUAGES, fold, stem, words
from domain.errors import ClassificationError
from domain.ewc import catalogue

LexiconKind = Literal[
    "heat", "steam", "water", "material", "gas", "none", "source", "hazard", "safe"
]
"""What a lexicon term says: a resource kind, ``none`` (not a resource), a source, or a hazard
(``hazard``) or no-hazard (``safe``) modifier."""

LEXICON_KINDS: Final[frozenset[str]] = frozenset(get_args(LexiconKind))


@dataclass(frozen=True, slots=True)
class LexiconTerm:
    """One row of a lexicon after normalisation.

    Attributes:
        term: the term as written, lower case.
        tokens: its folded, stemmed tokens in its language (the matching key).
        kind: what it says.
        codes: EWC codes for a material term, best first.
        prefixes: chapters or sub-chapters for a source term.
        lang: the lexicon it comes from.
    """

    term: str
    tokens: tuple[str, ...]
    kind: LexiconKind
    codes: tuple[str, ...]
    prefixes: tuple[str, ...]
    lang: str = "en"


def parse_row(row: Mapping[str, str], line: int, lang: str = "en") -> LexiconTerm:
    """One CSV row as a term, checked against the EWC catalogue.

    Raises:
        ClassificationError: unknown kind, empty term, unknown code or prefix, codes on a kind
            other than material, or a source without a prefix; the message names the line.
    """
    where = f"lexicon {lang} line {line}"
    kind = (row.get("kind") or "").strip()
    if kind not in LEXICON_KINDS:
        raise ClassificationError(f"{where}: kind {kind!r} is not one of {sorted(LEXICON_KINDS)}")
    plain = PLAIN_WORDS.get(lang, frozenset())  # read as themselves, as in a text (*stomerij*)
    tokens = tuple(w if w in plain else stem(lang, w) for w in words(fold(row.get("term") or "")))
    if not tokens:
        raise ClassificationError(f"{where}: empty term")
    refs = tuple((row.get("ewc") or "").split())
    codes: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    ewc = catalogue()
    if kind == "source":
        if not refs:
            raise ClassificationError(f"{where}: a source term needs a prefix")
        for prefix in refs:
            ewc.title(prefix)  # raises ClassificationError for an unknown prefix
        prefixes = refs
    elif refs:
        if kind != "material":
            raise ClassificationError(f"{where}: only materials carry EWC codes")
        codes = tuple(ewc.get(code).code for code in refs)  # raises for an unknown code
    return LexiconTerm(
        term=" ".join((row.get("term") or "").lower().split()),
        tokens=tokens,
        kind=cast(LexiconKind, kind),  # checked against LEXICON_KINDS above
        codes=codes,
        prefixes=prefixes,
        lang=lang,
    )


def _files(lang: str) -> list[Traversable]:
    data = resources.files("domain") / "data"
    folder = data / "lexicon"
    extra = sorted(
        (f for f in folder.iterdir() if f.name.startswith(f"{lang}-") and f.name.endswith(".csv")),
        key=lambda f: f.name,
    )
    main = data / "classification-lexicon.csv" if lang == "en" else folder / f"{lang}.csv"
    return [main, *extra] if main.is_file() else extra


@cache
def lexicon(lang: str = "en") -> Mapping[tuple[str, ...], LexiconTerm]:
    """One language's lexicon keyed by its stemmed token sequence; loaded and checked once.

    A language's files are ``lexicon/<lang>.csv`` (kind, source and hazard words; English:
    ``classification-lexicon.csv``), read first, then ``lexicon/<lang>-*.csv`` (material names,
    sources) in name order. Rows whose ``term``
    starts with ``#`` are headings, lines starting with ``#`` are comments. Within a file a later
    row with the same token sequence replaces an earlier one; across files the first file wins.
    A language without a file has an empty lexicon.

    Raises:
        ClassificationError: a row is invalid (see :func:`parse_row`).
        ValueError: ``lang`` is not one of :data:`~domain.classify.text.LANGUAGES`.
    """
    if lang not in LANGUAGES:
        raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGUAGES)}")
    terms: dict[tuple[str, ...], LexiconTerm] = {}
    for source in _files(lang):
        in_file: dict[tuple[str, ...], LexiconTerm] = {}
        with source.open(encoding="utf-8") as f:
            lines = [(n, text) for n, text in enumerate(f, start=1) if not text.startswith("#")]
        reader = csv.DictReader(text for _, text in lines)
        for (line, _), row in zip(lines[1:], reader, strict=False):
            if (row.get("term") or "").lstrip().startswith("#"):
                continue
            term = parse_row(row, line, lang)
            in_file[term.tokens] = term  # within a file, a later row replaces an earlier one
        for tokens, term in in_file.items():
            terms.setdefault(tokens, term)  # across files, the first file read wins
    return MappingProxyType(terms)
