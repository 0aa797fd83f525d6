"""Free-text resource classifier: resource kind and ranked EWC candidates for a description.

``classify("FGD gypsum")`` answers *material, 10 01 05 first*; ``classify("Waste heat")`` answers
*heat*. Texts are what ERP exports and park registers hold: short noun phrases, mixed case, odd
spellings ("Carboard", "Aluminum scrap", "Fly Ash(Le)").

How it works (plain and explainable, no model, no network):

1. **Normalise**: lower case, split on anything that is not a letter or digit, US to UK spelling
   (sulfur, aluminum, fiber, tire), plural and ``-ing``/``-ed`` stripping. A word the vocabulary
   does not know, of five letters or more, is corrected to a known word one edit away.
2. **Lexicon** (``data/classification-lexicon.csv``, documented beside it): curated terms
   mapped to a kind and, for materials, to EWC codes best first; *source* terms ("pulp mill",
   "power station") name a chapter or sub-chapter; *hazard* terms ("contaminated") flip the
   preference to hazardous entries. The longest term wins at each position.
3. **Kind** comes from the *head*: the rightmost resource term before the first preposition
   ("Steam from flue gas" is steam, "Waste heat" is heat, "Cooling water" is water). With no
   resource term the text is taken as a material, with low confidence.
4. **EWC candidates** (materials only): lexicon codes carry a prior by rank; a TF-IDF cosine
   between the text and each official description (plus its sub-chapter title) re-ranks them
   and supplies candidates when the lexicon has none. A source term narrows the search to its
   sub-chapter (falling back to its "not otherwise specified" ``99`` code). Without a hazard
   word, mirror-hazardous entries (and hazardous entries the lexicon did not name) are halved;
   with one, non-hazardous entries are halved and the hazardous mirrors of named codes added.

Deterministic: same text, same answer (ties broken by code). Confidences are heuristic scores in
[0, 1], not calibrated probabilities.
"""

from __future__ import annotations

import csv
import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from types import MappingProxyType
from typing import Final, Literal, cast, get_args

from domain.errors import ClassificationError
from domain.ewc import EwcEntry, catalogue
from schemas.common import ResourceKind

LexiconKind = Literal[
    "heat", "steam", "water", "material", "gas", "none", "source", "hazard", "safe"
]
"""What a lexicon term says: a resource kind, ``none`` (not a resource), a source, or a hazard
(``hazard``) or no-hazard (``safe``) modifier."""

_LEXICON_KINDS: Final[frozenset[str]] = frozenset(get_args(LexiconKind))
_RESOURCE_KINDS: Final[frozenset[str]] = frozenset(k.value for k in ResourceKind) | {"none"}

_PREPOSITIONS: Final[frozenset[str]] = frozenset(
    {"from", "of", "for", "with", "in", "by", "to", "at", "after", "via", "on"}
)
"""A preposition ends the main clause; the head is looked for before it."""

_STOPWORDS: Final[frozenset[str]] = frozenset(
    {
        "a", "an", "and", "or", "the", "of", "from", "for", "with", "in", "on", "by", "to", "at",
        "as", "other", "than", "those", "that", "mentioned", "not", "otherwise", "specified",
        "containing", "contain", "substance", "hazardous", "dangerous", "waste", "wastes",
        "including", "include", "except", "example", "which", "have", "has", "their", "them",
        "its", "no", "only", "such", "site", "off", "use", "used",
    }
)  # fmt: skip
"""Dropped before TF-IDF and coverage: function words and the List of Waste's boilerplate."""

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
"""Whole-word rewrites applied before stemming (US to UK, irregular plurals)."""

_HEAD_WEIGHT: Final = 1.0
_MODIFIER_WEIGHT: Final = 0.85
_RANK_STEP: Final = 0.1
_PRIOR_FLOOR: Final = 0.9
"""A lexicon code scores prior x (0.9 + 0.1 x similarity): similarity only breaks near-ties."""
_SIMILARITY_BESIDE_LEXICON: Final = 0.4
"""A code only the similarity proposes, when the lexicon named others, scores 0.4 x cosine."""
_SIMILARITY_ONLY_SCALE: Final = 0.7
"""With no lexicon code at all, a code scores 0.7 x cosine."""
_OUTSIDE_SOURCE_FACTOR: Final = 0.5
_HAZARD_FACTOR: Final = 0.5
_SUBCHAPTER_TITLE_WEIGHT: Final = 0.5
_MIN_FUZZY_LENGTH: Final = 5

_MIRROR_REF = re.compile(r"others? than (?:those|that|the wastes)? ?mentioned in ([\d ,and]+)")
_CODE_REF = re.compile(r"\d\d \d\d \d\d")


@dataclass(frozen=True, slots=True)
class EwcCandidate:
    """One ranked EWC code proposed for a material.

    Attributes:
        code: six-digit code, e.g. ``"100105"``.
        description: its official description.
        hazardous: whether the code is hazardous (the asterisk of the legal text).
        confidence: heuristic score in [0, 1]; higher is better.
        source: ``"lexicon"`` when a lexicon term named the code, ``"similarity"`` when only the
            text similarity (or a source term's sub-chapter) proposed it.
    """

    code: str
    description: str
    hazardous: bool
    confidence: float
    source: Literal["lexicon", "similarity"]

    @property
    def chapter(self) -> str:
        """The two-digit chapter, e.g. ``"10"``."""
        return self.code[:2]

    @property
    def sub_chapter(self) -> str:
        """The four-digit sub-chapter, e.g. ``"1001"``."""
        return self.code[:4]


@dataclass(frozen=True, slots=True)
class Classification:
    """The answer for one text.

    Attributes:
        text: the text as given.
        kind: the resource kind.
        kind_confidence: heuristic score in [0, 1]: high when a lexicon term decided the kind
            and covered most of the text, low when the kind is the material default.
        candidates: EWC codes best first, at most ``top``; always empty for kinds other than
            material, and possibly empty for a material nothing points to.
        matched_terms: the lexicon terms found, in text order (the explanation).
        hazardous_hint: the text says hazardous or contaminated.
    """

    text: str
    kind: ResourceKind
    kind_confidence: float
    candidates: tuple[EwcCandidate, ...]
    matched_terms: tuple[str, ...]
    hazardous_hint: bool

    @property
    def ewc_code(self) -> str | None:
        """The best candidate's code, or ``None`` without candidates."""
        return self.candidates[0].code if self.candidates else None

    @property
    def ewc_chapter(self) -> str | None:
        """The best candidate's two-digit chapter, or ``None`` without candidates."""
        return self.candidates[0].chapter if self.candidates else None


@dataclass(frozen=True, slots=True)
class LexiconTerm:
    """One row of the lexicon after normalisation."""

    term: str
    tokens: tuple[str, ...]
    kind: LexiconKind
    codes: tuple[str, ...]
    prefixes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class _Match:
    term: LexiconTerm
    start: int
    end: int


def _stem(word: str) -> str:
    word = _SPELLING.get(word, word)
    word = word.replace("sulf", "sulph")
    word = re.sub(r"iz(e|ed|es|ing|ation|ations)$", r"is\1", word)
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


def tokenise(text: str) -> tuple[str, ...]:
    """Normalised tokens of a text: lower case, split on non-alphanumerics, stemmed.

    Formulas survive as tokens (``"CO2"`` -> ``"co2"``, ``"H2SO4"`` -> ``"h2so4"``). No spelling
    correction happens here (that needs the vocabulary; see :func:`classify`).
    """
    return tuple(_stem(w) for w in re.findall(r"[a-z0-9]+", text.lower()))


def _is_content(token: str) -> bool:
    return token not in _STOPWORDS and not token.isdigit() and len(token) > 2


def _parse_lexicon_row(row: Mapping[str, str], line: int) -> LexiconTerm:
    kind = row["kind"].strip()
    if kind not in _LEXICON_KINDS:
        raise ClassificationError(
            f"lexicon line {line}: kind {kind!r} is not one of {_LEXICON_KINDS}"
        )
    tokens = tokenise(row["term"])
    if not tokens:
        raise ClassificationError(f"lexicon line {line}: empty term")
    refs = tuple(row["ewc"].split())
    codes: tuple[str, ...] = ()
    prefixes: tuple[str, ...] = ()
    ewc = catalogue()
    if kind == "source":
        if not refs:
            raise ClassificationError(f"lexicon line {line}: a source term needs a prefix")
        for prefix in refs:
            ewc.title(prefix)  # raises ClassificationError for an unknown prefix
        prefixes = refs
    elif refs:
        if kind != "material":
            raise ClassificationError(f"lexicon line {line}: only materials carry EWC codes")
        codes = tuple(ewc.get(code).code for code in refs)  # raises for an unknown code
    return LexiconTerm(
        term=" ".join(row["term"].lower().split()),
        tokens=tokens,
        kind=cast(LexiconKind, kind),  # checked against _LEXICON_KINDS above
        codes=codes,
        prefixes=prefixes,
    )


@cache
def lexicon() -> Mapping[tuple[str, ...], LexiconTerm]:
    """The bundled lexicon, keyed by normalised token sequence; loaded and checked once.

    Rows whose ``term`` starts with ``#`` are section headings. A later row with the same
    normalised term replaces an earlier one.

    Raises:
        ClassificationError: a row names an unknown kind, EWC code or prefix, or carries codes
            on a kind other than material.
    """
    terms: dict[tuple[str, ...], LexiconTerm] = {}
    data = resources.files("domain") / "data" / "classification-lexicon.csv"
    with data.open(encoding="utf-8") as f:
        for line, row in enumerate(csv.DictReader(f), start=2):
            if row["term"].lstrip().startswith("#"):
                continue
            term = _parse_lexicon_row(row, line)
            terms[term.tokens] = term
    return MappingProxyType(terms)


@dataclass(frozen=True, slots=True)
class _Index:
    """TF-IDF vectors of the EWC descriptions, with an inverted index."""

    vectors: dict[str, dict[str, float]]
    postings: dict[str, tuple[str, ...]]
    idf: dict[str, float]
    vocabulary: frozenset[str]
    lexicon_vocabulary: frozenset[str]
    frequency: Counter[str]
    mirrors: dict[str, tuple[str, ...]]


def _mirror_siblings(entries: Iterable[EwcEntry]) -> dict[str, tuple[str, ...]]:
    """Map each mirror non-hazardous code to the hazardous codes its description refers to."""
    by_code = {e.code: e for e in entries}
    siblings: dict[str, tuple[str, ...]] = {}
    for entry in by_code.values():
        if entry.hazardous:
            continue
        found = _MIRROR_REF.search(entry.description)
        if not found:
            continue
        refs = [r.replace(" ", "") for r in _CODE_REF.findall(found.group(1))]
        hazardous = tuple(r for r in refs if r in by_code and by_code[r].hazardous)
        if hazardous:
            siblings[entry.code] = hazardous
    return siblings


@cache
def _index() -> _Index:
    ewc = catalogue()
    weighted: dict[str, defaultdict[str, float]] = {}
    frequency: Counter[str] = Counter()
    for code, entry in ewc.entries.items():
        tf: defaultdict[str, float] = defaultdict(float)
        for token in tokenise(entry.description):
            if _is_content(token):
                tf[token] += 1.0
        for token in tokenise(ewc.titles.get(entry.sub_chapter, "")):
            if _is_content(token):
                tf[token] += _SUBCHAPTER_TITLE_WEIGHT
        weighted[code] = tf
        frequency.update(tf.keys())
    n = len(weighted)
    idf = {t: math.log((n + 1) / (df + 1)) + 1.0 for t, df in frequency.items()}
    vectors: dict[str, dict[str, float]] = {}
    postings: defaultdict[str, list[str]] = defaultdict(list)
    for code, tf in weighted.items():
        vec = {t: w * idf[t] for t, w in tf.items()}
        norm = math.sqrt(sum(v * v for v in vec.values())) or 1.0
        vectors[code] = {t: v / norm for t, v in vec.items()}
        for t in vec:
            postings[t].append(code)
    lexicon_vocabulary = frozenset(t for key in lexicon() for t in key)
    return _Index(
        vectors=vectors,
        postings={t: tuple(codes) for t, codes in postings.items()},
        idf=idf,
        vocabulary=frozenset(frequency) | lexicon_vocabulary,
        lexicon_vocabulary=lexicon_vocabulary,
        frequency=frequency,
        mirrors=_mirror_siblings(ewc.entries.values()),
    )


def _within_one_edit(a: str, b: str) -> bool:
    """Optimal-string-alignment distance of at most one (one insert, delete, substitute, swap)."""
    if a == b:
        return True
    la, lb = len(a), len(b)
    if abs(la - lb) > 1:
        return False
    if la == lb:
        diffs = [i for i in range(la) if a[i] != b[i]]
        if len(diffs) == 1:
            return True
        i, j = diffs[0], diffs[-1]
        return len(diffs) == 2 and j == i + 1 and a[i] == b[j] and a[j] == b[i]
    short, long_ = (a, b) if la < lb else (b, a)
    i = 0
    while i < len(short) and short[i] == long_[i]:
        i += 1
    return short[i:] == long_[i + 1 :]


def _correct(token: str, index: _Index) -> str:
    """Spelling correction of one token against the vocabulary.

    A known token, a short one (under five letters) or one with digits is returned unchanged; an
    unknown word is replaced by a vocabulary word one edit away (lexicon words first, then the
    most frequent in the List of Waste, then alphabetical), or returned unchanged.
    """
    if token in index.vocabulary or len(token) < _MIN_FUZZY_LENGTH or not token.isalpha():
        return token
    near = [
        w for w in index.vocabulary if len(w) >= _MIN_FUZZY_LENGTH and _within_one_edit(token, w)
    ]
    if not near:
        return token
    near.sort(key=lambda w: (w not in index.lexicon_vocabulary, -index.frequency[w], w))
    return near[0]


def _find_matches(
    tokens: tuple[str, ...], terms: Mapping[tuple[str, ...], LexiconTerm]
) -> list[_Match]:
    """Longest lexicon term at each position, left to right, non-overlapping."""
    longest = max((len(k) for k in terms), default=0)
    matches: list[_Match] = []
    i = 0
    while i < len(tokens):
        for size in range(min(longest, len(tokens) - i), 0, -1):
            term = terms.get(tokens[i : i + size])
            if term is not None:
                matches.append(_Match(term, i, i + size))
                i += size
                break
        else:
            i += 1
    return matches


def _head(matches: list[_Match], tokens: tuple[str, ...]) -> _Match | None:
    """The rightmost resource term of the main clause (before the first preposition)."""
    cut = next((i for i, t in enumerate(tokens) if i > 0 and t in _PREPOSITIONS), len(tokens))
    resource = [m for m in matches if m.term.kind in _RESOURCE_KINDS]
    main = [m for m in resource if m.start < cut]
    pool = main or resource
    return pool[-1] if pool else None


def _kind_confidence(
    head: _Match | None, matches: list[_Match], tokens: tuple[str, ...], has_similarity: bool
) -> float:
    if head is None:
        return 0.3 if has_similarity else 0.2
    content = [
        i
        for i, t in enumerate(tokens)
        if _is_content(t) or any(m.start <= i < m.end for m in matches)
    ]
    covered = sum(1 for i in content if any(m.start <= i < m.end for m in matches))
    coverage = covered / len(content) if content else 1.0
    score = 0.6 + 0.35 * coverage
    rivals = {
        m.term.kind
        for m in matches
        if m.term.kind in _RESOURCE_KINDS and m.term.kind not in {head.term.kind, "material"}
    }
    if rivals:
        score -= 0.15
    return round(min(1.0, max(0.0, score)), 3)


def _similarities(tokens: Iterable[str], index: _Index) -> dict[str, float]:
    """Cosine between the text's content tokens and every EWC description sharing one."""
    query = {t: index.idf[t] for t in set(tokens) if _is_content(t) and t in index.idf}
    norm = math.sqrt(sum(v * v for v in query.values()))
    if not norm:
        return {}
    sims: defaultdict[str, float] = defaultdict(float)
    for t, w in query.items():
        for code in index.postings[t]:
            sims[code] += (w / norm) * index.vectors[code][t]
    return dict(sims)


def _under(code: str, prefixes: Iterable[str]) -> bool:
    return any(code.startswith(p) for p in prefixes)


def _lexicon_priors(matches: list[_Match], head: _Match | None) -> dict[str, float]:
    priors: dict[str, float] = {}
    for m in matches:
        if m.term.kind != "material":
            continue
        weight = _HEAD_WEIGHT if m is head else _MODIFIER_WEIGHT
        for rank, code in enumerate(m.term.codes):
            prior = weight * max(0.5, 1.0 - _RANK_STEP * rank)
            priors[code] = max(priors.get(code, 0.0), prior)
    return priors


def _source_priors(
    priors: dict[str, float], prefixes: tuple[str, ...], sims: Mapping[str, float]
) -> dict[str, float]:
    """Narrow the priors to the source terms' prefixes.

    Lexicon codes outside the prefixes are discounted. When none lies inside, the most similar
    codes inside (or the sub-chapter's "not otherwise specified" 99 code) are added.
    """
    if not prefixes:
        return dict(priors)
    if any(_under(c, prefixes) for c in priors):
        return {
            c: p if _under(c, prefixes) else p * _OUTSIDE_SOURCE_FACTOR for c, p in priors.items()
        }
    ewc = catalogue()
    inside = sorted(
        (c for c in ewc.entries if _under(c, prefixes) and sims.get(c, 0.0) > 0.0),
        key=lambda c: (-sims[c], c),
    )[:5]
    if not inside:
        inside = [f"{p}99" for p in prefixes if len(p) == 4 and f"{p}99" in ewc.entries]
    narrowed = {c: p * _OUTSIDE_SOURCE_FACTOR for c, p in priors.items()}
    for rank, code in enumerate(inside):
        narrowed[code] = max(narrowed.get(code, 0.0), 0.9 * (1.0 - _RANK_STEP * rank))
    return narrowed


def _candidates(
    matches: list[_Match],
    head: _Match | None,
    tokens: tuple[str, ...],
    index: _Index,
    *,
    hazardous_hint: bool,
    top: int,
) -> tuple[EwcCandidate, ...]:
    ewc = catalogue()
    sims = _similarities(tokens, index)
    named = _lexicon_priors(matches, head)
    prefixes = tuple(p for m in matches if m.term.kind == "source" for p in m.term.prefixes)
    priors = _source_priors(named, prefixes, sims)
    from_lexicon = set(named)
    if hazardous_hint:
        for code in list(priors):
            for sibling in index.mirrors.get(code, ()):
                priors[sibling] = max(priors.get(sibling, 0.0), priors[code])
                if code in named:
                    from_lexicon.add(sibling)
    pool = set(priors) | set(sorted(sims, key=lambda c: (-sims[c], c))[: max(2 * top, 10)])
    scores: dict[str, float] = {}
    for code in pool:
        entry = ewc.entries[code]
        sim = sims.get(code, 0.0)
        if code in priors:
            score = priors[code] * (_PRIOR_FLOOR + (1.0 - _PRIOR_FLOOR) * sim)
        elif priors:
            score = _SIMILARITY_BESIDE_LEXICON * sim
        else:
            score = _SIMILARITY_ONLY_SCALE * sim
        if hazardous_hint:
            if not entry.hazardous:
                score *= _HAZARD_FACTOR
        elif entry.hazardous and (entry.entry_type == "mirror_hazardous" or code not in named):
            score *= _HAZARD_FACTOR
        if score > 0.0:
            scores[code] = min(1.0, score)
    ranked = sorted(scores, key=lambda c: (-scores[c], c))[:top]
    return tuple(
        EwcCandidate(
            code=code,
            description=ewc.entries[code].description,
            hazardous=ewc.entries[code].hazardous,
            confidence=round(scores[code], 4),
            source="lexicon" if code in from_lexicon else "similarity",
        )
        for code in ranked
    )


def classify(text: str, *, top: int = 5) -> Classification:
    """Classify a free-text resource description.

    Args:
        text: a description as written in an ERP export or park register ("FGD gypsum",
            "Waste heat", "Scrap plastic", "CO2").
        top: the most EWC candidates to return (at least 1).

    Returns:
        The kind with its confidence and, for a material, up to ``top`` EWC candidates best
        first (possibly none when nothing in the text points to a code). Same text, same
        answer.

    Raises:
        ClassificationError: the text has no letters or digits, or its head term names
            something that is not a resource of the five kinds (electricity, energy, power).
        ValueError: ``top`` is less than 1.
    """
    if top < 1:
        raise ValueError(f"top must be at least 1, got {top}")
    terms = lexicon()
    index = _index()
    tokens = tuple(_correct(t, index) for t in tokenise(text))
    if not tokens:
        raise ClassificationError(f"cannot classify {text!r}: it has no letters or digits")
    matches = _find_matches(tokens, terms)
    head = _head(matches, tokens)
    if head is not None and head.term.kind == "none":
        raise ClassificationError(
            f"cannot classify {text!r}: {head.term.term!r} is not a heat, steam, water, material "
            "or gas resource"
        )
    hazardous_hint = any(m.term.kind == "hazard" for m in matches) and not any(
        m.term.kind == "safe" for m in matches
    )
    kind = ResourceKind(head.term.kind) if head is not None else ResourceKind.MATERIAL
    candidates: tuple[EwcCandidate, ...] = ()
    if kind is ResourceKind.MATERIAL:
        candidates = _candidates(
            matches, head, tokens, index, hazardous_hint=hazardous_hint, top=top
        )
    return Classification(
        text=text,
        kind=kind,
        kind_confidence=_kind_confidence(head, matches, tokens, bool(candidates)),
        candidates=candidates,
        matched_terms=tuple(m.term.term for m in matches),
        hazardous_hint=hazardous_hint,
    )
