"""Ranking EWC codes for a material: lexicon priors, reference-text similarity, source, hazard.

* Codes a lexicon term names carry a prior by rank (1.0, 0.9, 0.8... for the head term, x 0.85
  for another material term); the similarity to the official texts only breaks near-ties.
* With no lexicon code, the similarity to the official texts of the description's language
  (and to the English texts, for the English words in it) proposes the codes. Beside a head
  term that names codes, a code only the similarity proposes weighs less when its official
  text shares no token with the head: the other words found it.
* A source term ("power station", "Kläranlage") keeps codes under its sub-chapters and halves the
  others; a named code outside them also names the same entry under them (:func:`same_entries`:
  "tar" names 05 01 08 *other tars*, from a coke oven 05 06 03 *other tars*); if none lies under
  them, the most similar codes there (or its ``99`` code) are added.
* Without a hazard word, mirror-hazardous entries are halved (the non-hazardous entry of a pair
  comes first); with one, non-hazardous entries are halved and the hazardous mirrors of the named
  codes added.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from itertools import chain, islice
from operator import neg
from typing import Final, Literal

from domain.classify.grammar import CODE_LABELS, FUNCTION_WORDS, PREPOSITIONS
from domain.classify.language import UNIT_SYMBOLS
from domain.classify.lexicon import LexiconTerm
from domain.classify.references import reference_index
from domain.classify.text import stem
from domain.ewc import EwcEntry, catalogue

_HEAD_WEIGHT: Final = 1.0
_MODIFIER_WEIGHT: Final = 0.85
_DETAIL_WEIGHT: Final = 0.6
"""A material term outside the main clause ("..., biomass fuel", "(spent lime + PAC)")."""
_CONTAINER_WEIGHT: Final = 0.3
"""Packaging named after the clause break beside a head that names no entry ("aqueous waste,
IBC"): what holds the waste, the answer only when the words find nothing better."""
_RANK_STEP: Final = 0.1
_PRIOR_FLOOR: Final = 0.9
"""A lexicon code scores prior x (0.9 + 0.1 x similarity) when its terms cover the whole text:
then similarity only breaks near-ties; the less they cover, the lower the floor
(:data:`_CONTEXT_WEIGHT`)."""
_SIMILARITY_BESIDE_LEXICON: Final = 0.5
"""A code only the similarity proposes, when the lexicon named others, scores 0.5 x cosine (plus
:data:`_CONTEXT_WEIGHT` x the uncovered share)."""
_SIMILARITY_ONLY_SCALE: Final = 0.7
"""With no lexicon code at all, a code scores 0.7 x cosine."""
_CONTEXT_WEIGHT: Final = 0.6
"""How much the words a lexicon term leaves uncovered shift the weight to similarity (tuned on the
evaluation set's dev split: "scrubber sludge from BF gas cleaning" is a blast-furnace sludge, not
any sludge)."""
_OUTSIDE_SOURCE_FACTOR: Final = 0.5
_AWAY_FROM_HEAD_FACTOR: Final = 0.6
"""Weighs a code found by similarity alone whose official text shares no token with the head
term, when the head names codes: the other words found it (*Visafval ... uit fileerafdeling*
is fish, not particulates through a stray *deel*). Chosen on the dev split and the probes (0.5
to 0.8 alike on dev)."""
_HAZARD_FACTOR: Final = 0.5
_UNSAID_FACTOR: Final = 0.9
"""The prior left to an oil's entry when the text says biodegradable and the readily
biodegradable entry of its sub-chapter is proposed beside it (that one leads)."""
_UNWRITTEN_FACTOR: Final = 0.7
"""Weighs the codes a text does not write when it writes one as a code (*Szlam z oczyszczania
gazu wielkopiecowego, 10 02 13*): a source or a head naming another entry does not overrule
the plant's own code."""
_DENIED_FACTOR: Final = 0.5
"""Weighs the readily biodegradable entries of a text saying its oil is not, and the entries
a text saying halogenated (or not) contradicts (:func:`_halogen_said`)."""

CODE_PATTERN: Final = r"(?<!\d)(\d{2})[ .]?(\d{2})[ .]?(\d{2})(?!\d)"
"""An EWC code written in a text: ``100102``, ``10 01 02``, ``10.01.02`` (not ``17-02-01``:
with hyphens, a date as often)."""
_MENTION: Final = re.compile(CODE_PATTERN)
_OTHER_THAN: Final = re.compile(
    r"(?:other than|except|inn[aey] niz|autres? que|sauf|distint[oa]s? de|excepto|divers[oi] da|"
    r"andere als|ausser|mit ausnahme|anders dan|andre end|andet end|annat an|med undantag)"
    r"(?:\W+(?:those|that|the|wastes|mentioned|listed|in|under|wymienione|wymienionych|w|ceux|"
    r"celles|vises|visees|a|la|rubrique|los|las|especificados|especificadas|en|el|codigo|quelli|"
    r"quelle|di|cui|alla|voce|derjenigen|die|unter|genannten|van|bedoeld|genoemd|dem|der|er|"
    r"naevnt|i|det|som|anges|av)){0,6}\W+$"
)
"""Words before a written code that point to its non-hazardous mirror ("other than 10 02 13"),
and the words the official texts put between them ("other than those mentioned in", "inne niż
wymienione w", "autres que ceux visés à la rubrique", "andre end dem, der er nævnt i"); no
other word ("inne niż niebezpieczne, kod 19 12 12" names 19 12 12)."""
_CODE_WORDS: Final = frozenset(
    {*CODE_LABELS, "kod", "code", "codice", "codigo", "kode", "abfallcode"}
)
"""Words that say the number after them is a code of the List (with :data:`CODE_LABELS`: *kod
02 02 01*, *code déchet*, *waste code*); not *no.* or *Nr.*, which number orders too."""
_WRITTEN_AS_CODE: Final = re.compile(r"\d\d \d\d \d\d|\d\d[ .]?\d\d[ .]?\d\d ?\*")
"""A code written as the List writes it (*10 02 13*) or with its asterisk (``100213*``)."""
_BARE_NUMBER: Final = 0.9
"""The prior of a six-digit number on the list written with no sign of being a code (*PO
150110*, *Charge 17.04.05*): an order number or a date as often. A code written as a code
(:func:`mentioned_codes`) has 1.0, leads the others and stands whatever the source."""
_NEXT_WORD: Final = re.compile(r"\s*([a-z0-9]+)")
_QUANTITY_UNITS: Final = UNIT_SYMBOLS - {"a", "y", "d", "s", "c", "f", "w", "ar", "mon", "min"}
"""Units that make a six-digit number a quantity; not the one-letter words that are also
prepositions ("CER 19 12 12 a recupero", "17 05 04 à valoriser", Polish "170504 w magazynie")."""
_MIRROR_PHRASE: Final = r"others? than (?:those|that|the wastes)? ?mentioned in "
"""How a non-hazardous mirror entry names its hazardous siblings ("other than those mentioned in
10 02 13")."""
_MIRROR_REF = re.compile(_MIRROR_PHRASE + r"([\d ,and]+)")
_MIRROR_TAIL: Final = re.compile(r"\s*(?:" + _MIRROR_PHRASE + r".*|\(except [\d ,and]+\))$")
"""That reference and what follows it, or an exception of codes (*sharps (except 18 01 03)*),
cut to compare two entries' own texts."""
_CODE_REF = re.compile(r"\d\d \d\d \d\d")


@dataclass(frozen=True, slots=True)
class EwcCandidate:
    """One ranked EWC code proposed for a material.

    Attributes:
        code: six-digit code, e.g. ``"100105"``.
        description: its official (English) description.
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
def mirrors() -> Mapping[str, tuple[str, ...]]:
    """Non-hazardous mirror code -> its hazardous siblings (from the English texts).

    Packaging too: the list has one hazardous entry for every packaging material of 15 01,
    15 01 10* *packaging containing residues of or contaminated by hazardous substances*
    (contaminated plastic drums are not 15 01 02), though no 15 01 entry refers to it.
    """
    found = _mirror_siblings(catalogue().entries.values())
    for entry in catalogue().entries.values():
        if entry.sub_chapter == _PACKAGING and not entry.hazardous and entry.code not in found:
            found[entry.code] = (_CONTAMINATED_PACKAGING,)
    return found


_PACKAGING: Final = "1501"
_CONTAMINATED_PACKAGING: Final = "150110"


@cache
def _mirrors_of() -> Mapping[str, tuple[str, ...]]:
    """Hazardous code -> the non-hazardous entries that name it ("other than ... 10 02 13")."""
    found: dict[str, list[str]] = {}
    for plain, hazardous in mirrors().items():
        for code in hazardous:
            found.setdefault(code, []).append(plain)
    return {code: tuple(plains) for code, plains in found.items()}


def mentioned_codes(folded: str) -> dict[str, float]:
    """EWC codes a description writes out, as priors.

    ``"... (inne niż 10 02 13)"`` / ``"other than 10 02 13"`` name the non-hazardous mirror
    entry that refers to 10 02 13; a code written alone names itself. Numbers that are not
    codes on the list, or that a unit follows (``170504 kg``), are ignored. 1.0 for a code
    written as one: as the List writes it (``10 02 13``), with its asterisk, after a code's
    name (*EWC*, *kod*, *code*: :data:`_CODE_WORDS`) or after *other than*;
    :data:`_BARE_NUMBER` for a bare number (``PO 150110``, ``16.01.03``).
    """
    ewc = catalogue()
    named: dict[str, float] = {}
    for found in _MENTION.finditer(folded):
        code = "".join(found.groups())
        if code not in ewc.entries:
            continue
        after = _NEXT_WORD.match(folded, found.end())
        if found.group().isdigit() and after is not None and after.group(1) in _QUANTITY_UNITS:
            continue  # "170504 kg": a quantity that reads like a code
        before = folded[max(0, found.start() - 60) : found.start()]
        negated = _OTHER_THAN.search(before.replace("*", " "))
        written = (
            negated is not None
            or _WRITTEN_AS_CODE.match(folded, found.start()) is not None
            or bool(_CODE_WORDS.intersection(re.findall(r"[a-z]+", before)[-3:]))
        )
        for target in _mirrors_of().get(code, ()) if negated else (code,):
            named[target] = max(named.get(target, 0.0), 1.0 if written else _BARE_NUMBER)
    return named


def _under(code: str, prefixes: tuple[str, ...]) -> bool:
    return code.startswith(prefixes)


def _lexicon_priors(
    materials: list[LexiconTerm],
    head: LexiconTerm | None,
    details: frozenset[int],
    preferred: frozenset[str] = frozenset(),
    firm: bool = False,
) -> dict[str, float]:
    priors: dict[str, float] = {}
    for n, term in enumerate(materials):
        weight = _HEAD_WEIGHT if term is head else _MODIFIER_WEIGHT
        if (
            term is not head
            and head is not None
            and names_packaging(head)
            and names_what_things_are_made_of(term)
        ):
            weight = _DETAIL_WEIGHT  # "canettes aluminium": what the packaging is made of
        if n in details and term is not head:
            weight = _DETAIL_WEIGHT
            if head is not None and not head.codes and names_packaging(term):
                weight = _CONTAINER_WEIGHT  # "Wässrige Abfälle, IBC": what holds the head
        codes = term.codes
        if term is head and preferred:  # "fly ash ... wood": 10 01 03 before 10 01 02
            # among them first the one most of the text's other materials name ("aluminium
            # draaisel en spanen": 12 01 03, which the aluminium names too, before 12 01 01)
            naming = Counter(c for m in materials if m is not head for c in set(m.codes))
            codes = (
                *sorted((c for c in codes if c in preferred), key=lambda c: -naming[c]),
                *sorted(preferred.difference(codes)),  # "catalyst Pd": 16 08 01, not its own
                *(c for c in codes if c not in preferred),
            )
        settles = not preferred.isdisjoint(codes)  # "Aluminium draaispanen": not 17 04 02
        for rank, code in enumerate(codes):
            prior = weight * max(0.5, 1.0 - _RANK_STEP * rank)
            if firm and code not in preferred and (term is head or settles):
                prior *= _FIRM_FACTOR  # "cardboard boxes from deliveries": not 20 01 01
            priors[code] = max(priors.get(code, 0.0), prior)
    return priors


_FIRM_FACTOR: Final = 0.8
"""Weighs the head's codes other than those the text settles (``firm`` in
:func:`rank_candidates`: a maker's entry said made there, packaging said delivered), so the
similarity of a text to the others' official texts does not bring them back."""


def names_packaging(term: LexiconTerm) -> bool:
    """Whether a term names packaging only (its entries all of 15 01)."""
    return bool(term.codes) and all(map(is_packaging, term.codes))


def is_packaging(code: str) -> bool:
    """Whether an entry is one of 15 01, packaging."""
    return code.startswith(_PACKAGING)


@cache
def same_entries() -> Mapping[str, tuple[str, ...]]:
    """Code -> the other codes whose English description is the same (its mirror reference aside).

    The List of Waste repeats one kind of waste in each industry's sub-chapter: "sludges from
    on-site effluent treatment" (19 codes), "materials unsuitable for consumption or processing"
    (02 02 03, 02 03 04, 02 05 01...), "solid wastes from gas treatment". ``99`` entries ("wastes
    not otherwise specified") are left out: they say nothing about the material; and a
    hazardous entry is never the twin of a non-hazardous one (19 08 07* and 19 09 05 read alike
    once their references are cut).
    """
    by_text: dict[tuple[str, bool], list[str]] = {}
    for entry in catalogue().entries.values():
        if not entry.code.endswith("99"):
            text = _MIRROR_TAIL.sub("", entry.description)
            by_text.setdefault((text, entry.hazardous), []).append(entry.code)
    return {
        code: tuple(c for c in codes if c != code)
        for codes in by_text.values()
        if len(codes) > 1
        for code in codes
    }


def _in_source(priors: Mapping[str, float], prefixes: tuple[str, ...]) -> dict[str, float]:
    """The priors outside the source, carried to the same entries under it.

    "Off-spec" from a dairy: 02 03 04 -> 02 05 01, both "materials unsuitable for consumption or
    processing". A code already among the priors keeps its own. When no code has such a twin
    there, a waste water treatment sludge is carried to the source's on-site effluent sludge
    (:func:`_effluent_twins`), a solvent to the source's solvents and washing liquids
    (:func:`_solvent_twins`), an acid to metal surface treatment's (:func:`_pickling_twins`).
    """
    return (
        _carried(priors, prefixes, same_entries())
        or _carried(priors, prefixes, _effluent_twins())
        or _carried(priors, prefixes, _solvent_twins())
        or _carried(priors, prefixes, _pickling_twins())
    )


def _carried(
    priors: Mapping[str, float], prefixes: tuple[str, ...], twins: Mapping[str, tuple[str, ...]]
) -> dict[str, float]:
    """The priors outside the source, carried to their ``twins`` under it (not to a named one)."""
    carried: dict[str, float] = {}
    for code, prior in priors.items():
        if _under(code, prefixes):
            continue
        for twin in twins.get(code, ()):
            if _under(twin, prefixes) and twin not in priors:
                carried[twin] = max(carried.get(twin, 0.0), prior)
    return carried


@cache
def _effluent_twins() -> Mapping[str, tuple[str, ...]]:
    """A waste water treatment sludge (19 08) -> each industry's on-site effluent sludges.

    The List of Waste files the sludge of a plant's own effluent treatment under the plant's
    industry and keeps 19 08 for waste water treatment plants: "Fanghi da depurazione" from a
    dairy is 02 05 02. Hazardous to hazardous, harmless to harmless.
    """
    entries = catalogue().entries.values()
    on_site = [e for e in entries if _ON_SITE_SLUDGE.match(e.description)]
    return {
        e.code: tuple(o.code for o in on_site if o.hazardous == e.hazardous)
        for e in entries
        if e.sub_chapter == "1908" and _WASTE_WATER_SLUDGE.match(e.description)
    }


@cache
def _biodegradable_twins() -> Mapping[str, str]:
    """A code -> the readily biodegradable entry of its sub-chapter, where there is one.

    The List of Waste gives machining, hydraulic, engine and insulating oils each an entry of
    their own when readily biodegradable (12 01 19, 13 01 12, 13 02 07, 13 03 09); the other
    oils of those sub-chapters point to it (not swarf, emulsions or grit).
    """
    entries = catalogue().entries.values()
    readily = {e.sub_chapter: e.code for e in entries if "readily biodegradable" in e.description}
    return {
        e.code: readily[e.sub_chapter]
        for e in entries
        if e.sub_chapter in readily and e.code != readily[e.sub_chapter]
        and _AN_OIL.search(e.description.split(" (")[0]) is not None
    }  # fmt: skip


@cache
def _readily_entries() -> frozenset[str]:
    """The readily biodegradable entries (12 01 19, 13 01 12, 13 02 07, 13 03 09)."""
    return frozenset(_biodegradable_twins().values())


_AN_OIL: Final = re.compile(r"\boils?\b")
"""An entry naming an oil (before any bracket): not filings, emulsions or blasting grit."""


def _readily_biodegradable(named: Mapping[str, float]) -> dict[str, float]:
    """The readily biodegradable entries of the named codes' sub-chapters, with priors.

    Each with the best prior of the codes naming it (or its own, when higher).
    """
    twins = _biodegradable_twins()
    found: dict[str, float] = {}
    for code, prior in named.items():
        twin = twins.get(code)
        if twin is not None:
            found[twin] = max(found.get(twin, 0.0), named.get(twin, 0.0), prior)
    return found


@cache
def _by_content() -> frozenset[str]:
    """The entries defined by a hazardous content (*... containing hazardous substances*).

    A text names them by the content (*catalyseur usé au mercure*: 16 08 07, *spent catalysts
    contaminated with hazardous substances*), words no official text holds: the head's words
    alone finding one says nothing against it.
    """
    return frozenset(
        e.code for e in catalogue().entries.values() if "hazardous substances" in e.description
    )


@cache
def _halogen_twins() -> Mapping[bool, Mapping[str, str]]:
    """Halogenated or not -> each entry of a halogen pair -> the entry a text saying so means.

    The List of Waste gives halogenated solvents, still bottoms, filter cakes and oils entries
    of their own beside the others of their sub-chapter (07 05 07* *halogenated still bottoms
    and reaction residues* beside 07 05 08* *other still bottoms...*; 12 01 06/07, 13 01 09/10,
    14 06 02/03...): two entries of one sub-chapter whose texts are the same but for
    *halogenated*, *chlorinated*, *containing halogens* against *other*, *non-chlorinated*,
    *free of halogens*. ``True`` maps the other entry to the halogenated one, ``False`` the
    reverse. ``True`` also maps each organic chemical process's *aqueous washing liquids and
    mother liquors* (07 xx 01) to its *organic halogenated solvents, washing liquids and mother
    liquors* (07 xx 03): a halogenated mother liquor is not aqueous.
    """
    pairs: dict[tuple[str, str], list[tuple[bool, str]]] = {}
    for entry in catalogue().entries.values():
        text = _MIRROR_TAIL.sub("", entry.description.lower()).replace("-", " ")
        said_so = _HALOGENATED_ENTRY.search(text) is not None
        pairs.setdefault(
            (entry.sub_chapter, " ".join(_HALOGEN_WORDS.sub(" ", text).split())), []
        ).append((said_so, entry.code))
    said: dict[bool, dict[str, str]] = {True: {}, False: {}}
    for twins in pairs.values():
        if len(twins) == 2 and twins[0][0] != twins[1][0]:
            (_, other), (_, halogenated) = sorted(twins)
            said[True][other] = halogenated
            said[False][halogenated] = other
    # a mother liquor said to be halogenated is no aqueous one: each organic chemical
    # process files it with its halogenated solvents (07 05 01 -> 07 05 03)
    halogenated_liquors = {code[:4]: code for code in _solvent_twins()["140602"]}
    for entry in catalogue().entries.values():
        liquors = halogenated_liquors.get(entry.sub_chapter)
        if liquors is not None and _AQUEOUS_LIQUORS.match(entry.description):
            said[True][entry.code] = liquors
    return said


_HALOGEN_WORDS: Final = re.compile(
    r"\b(?:non chlorinated|chlorinated|halogenated|containing halogens|free of halogens|other)\b"
)
_HALOGENATED_ENTRY: Final = re.compile(
    r"(?<!non )\b(?:halogenated|chlorinated|containing halogens)\b"
)


def _halogen_said(named: Mapping[str, float], halogenated: bool) -> dict[str, float]:
    """The named codes' halogen twins the text means, and the named codes it contradicts.

    Each twin with the best prior of the codes naming it (or its own, when higher); each
    contradicted code with its prior times :data:`_DENIED_FACTOR`.
    """
    twins = _halogen_twins()[halogenated]
    said: dict[str, float] = {}
    for code, prior in named.items():
        twin = twins.get(code)
        if twin is not None:
            said[twin] = max(said.get(twin, 0.0), named.get(twin, 0.0), prior)
            said[code] = min(said.get(code, prior), prior * _DENIED_FACTOR)
    return said


@cache
def _solvent_twins() -> Mapping[str, tuple[str, ...]]:
    """A solvent of chapter 14 -> the organic chemical industries' solvents and washing liquids.

    Chapter 14 holds solvents no origin's chapter covers; the organic chemical processes of
    chapter 07 have their own: *Lösemittelgemisch aus der Wirkstoffproduktion* is 07 05 04
    *other organic solvents, washing liquids and mother liquors*, a halogenated one 07 05 03.
    """
    entries = catalogue().entries.values()
    halogenated = tuple(e.code for e in entries if _HALOGENATED_LIQUORS.match(e.description))
    other = tuple(e.code for e in entries if _OTHER_LIQUORS.match(e.description))
    return {"140602": halogenated, "140603": other}


@cache
def _pickling_twins() -> Mapping[str, tuple[str, ...]]:
    """An acid (06 01) -> the acids of metal surface treatment (11 01 05, 11 01 06).

    The surface treatment of metals files its spent acids by use, not by substance: pickling
    acids (11 01 05, most of them: *Acido cloridrico di decapaggio*) and acids not otherwise
    specified (11 01 06: anodising, etching); the text's similarity to each tells them apart.
    Bases have no such pair there (a degreasing bath's is 11 01 13, a pickling bath's 11 01 07).
    """
    entries = catalogue().entries.values()
    return {
        e.code: ("110105", "110106")
        for e in entries
        if e.sub_chapter == "0601" and not e.code.endswith("99")
    }


@cache
def _municipal_twins() -> Mapping[str, tuple[str, ...]]:
    """A material named elsewhere in the list -> its separately collected municipal fraction.

    Chapter 20 files what households and recycling centres collect by material, not by the
    industry it came from: used engine oil brought to a *punto limpio* is 20 01 26, garden
    furniture at a *PSZOK* 20 01 39, a car battery 20 01 33. Packaging (15 01) is not carried:
    separately collected packaging stays packaging (Commission notice 2018/C 124/01, 1.3), and
    rubble or plasterboard stay construction wastes (only wood, glass, plastics and metals of
    chapter 17 have a fraction). Hazardous to hazardous, harmless to harmless
    (:data:`_MUNICIPAL_FRACTIONS`).
    """
    twins: dict[str, list[str]] = {}
    for fraction, codes in _MUNICIPAL_FRACTIONS.items():
        for code in codes:
            twins.setdefault(code, []).append(fraction)
    return {code: tuple(fractions) for code, fractions in twins.items()}


_RECYCLING_CENTRE: Final = frozenset({"2001", "2002", "2003"})
"""How the lexicon names a recycling centre: by the three sub-chapters of chapter 20 it collects
(households, shops and canteens name the chapter, 20). It is read as the chapter, except that a
material named there is its separately collected fraction too (:func:`_collected`)."""


def _recycling_centre(prefixes: tuple[str, ...]) -> tuple[bool, tuple[str, ...]]:
    """Whether the sources name a recycling centre, and the prefixes with it read as chapter 20."""
    if not _RECYCLING_CENTRE.issubset(prefixes):
        return False, prefixes
    rest = tuple(p for p in prefixes if p not in _RECYCLING_CENTRE)
    return True, rest if _MUNICIPAL in rest else (*rest, _MUNICIPAL)


def _collected(
    named: Mapping[str, float],
    head: LexiconTerm | None,
    materials: Sequence[LexiconTerm],
    prefixes: tuple[str, ...],
) -> dict[str, float]:
    """The named codes carried to their separately collected fractions (:func:`_municipal_twins`).

    The head's when there is one: the oil left in a canister brought to a recycling centre does
    not make the canister oil; and not packaging's (15 01), which stays packaging there too.
    Without a head (*Wertstoffhof, Altöl*: the place leads), the codes of every material term
    but packaging's (*recycling centre, paint tins* stay tins, not paint).
    """
    terms = [head] if head is not None and head.codes else materials
    own = {
        code: named[code]
        for term in terms
        if term.codes and not term.codes[0].startswith(_PACKAGING)
        for code in term.codes
        if code in named
    }
    return {
        code: prior
        for code, prior in _carried(own, prefixes, _municipal_twins()).items()
        if prior > named.get(code, 0.0)
    }


_MUNICIPAL: Final = "20"
_MUNICIPAL_FRACTIONS: Final = {
    "200101": ("191201",),  # paper and cardboard
    "200102": ("170202", "191205", "101112"),  # glass
    "200111": ("040221", "040222", "191208"),  # textiles
    "200113": ("140602", "140603", "070104"),  # solvents
    "200114": ("060101", "060102", "060104", "060105", "060106"),  # acids
    "200115": ("060201", "060203", "060204", "060205"),  # alkalines
    "200117": ("090101", "090102", "090103", "090104", "090105"),  # photochemicals
    "200119": ("020108",),  # pesticides
    "200123": ("160211",),  # discarded equipment containing chlorofluorocarbons
    "200126": ("130110", "130111", "130113", "130205", "130206", "130208", "130307", "130308"),
    "200127": ("080111",),  # paint containing dangerous substances
    "200128": ("080112",),  # paint
    "200131": ("180108",),  # cytotoxic and cytostatic medicines
    "200132": ("180109",),  # medicines
    "200133": ("160601", "160602", "160603", "160606"),  # batteries (hazardous)
    "200134": ("160604", "160605"),  # batteries
    "200135": ("160213",),  # electrical equipment with hazardous components
    "200136": ("160214",),  # electrical equipment
    "200137": ("170204", "191206"),  # wood containing dangerous substances
    "200138": ("170201", "191207", "030105"),  # wood
    "200139": ("170203", "191204", "070213", "120105", "160119"),  # plastics
    "200140": ("170401", "170402", "170403", "170404", "170405", "170406", "170407",
               "191202", "191203", "160117", "160118"),  # metals
}  # fmt: skip
"""A separately collected municipal fraction (20 01) -> the entries elsewhere for its material."""
_MADE_OF: Final = frozenset(
    chain.from_iterable(
        (fraction, *_MUNICIPAL_FRACTIONS[fraction])
        for fraction in ("200101", "200102", "200138", "200139", "200140")
    )
)
"""Entries naming what things are made of: paper, glass, wood, plastics, metals, each as a
municipal fraction and as its entries elsewhere."""


def names_what_things_are_made_of(term: LexiconTerm) -> bool:
    """Whether a term names what things are made of (*aluminium*, *Kunststoff*), no content."""
    return not _MADE_OF.isdisjoint(term.codes)


_HALOGENATED_LIQUORS: Final = re.compile(r"organic halogenated solvents, washing liquids")
_OTHER_LIQUORS: Final = re.compile(r"other organic solvents, washing liquids")
_AQUEOUS_LIQUORS: Final = re.compile(r"aqueous washing liquids and mother liquors")


_ON_SITE_SLUDGE: Final = re.compile(
    r"(?:sludges?|solid wastes),? (?:in particular )?from on-site effluent treatment"
)
"""How an industry's entry names the sludge of its own effluent treatment; glass (10 11 20)
says *solid wastes from on-site effluent treatment*."""
_WASTE_WATER_SLUDGE: Final = re.compile(r"sludges .*treatment of (?:urban|industrial) waste water")


_SOURCE_ENTRY: Final = 0.9
"""The prior of the best entry found under a source for a material named outside it (then
0.1 less per rank)."""
_UNNAMED_ENTRY: Final = 0.25
"""The prior of an entry of a source's sub-chapter that nothing in the text names: its chapter
is the answer's, its entry a guess, so it stays below the review threshold
(:data:`~domain.classify.engine.CODE_REVIEW_BELOW`)."""
_PLAIN_STEMS: Final = frozenset(
    stem("en", w)
    for w in FUNCTION_WORDS["en"]
    | PREPOSITIONS["en"]
    | {"substances", "treatment", "production", "processing", "process", "e", "g", "i"}
)
"""Stems of the English entries that say nothing about the material: the grammar's function
words and prepositions, and the list's words of process."""


@cache
def _description_words(code: str) -> frozenset[str]:
    """The stems of a code's English entry that name its material (Snowball, lower case)."""
    text = _MIRROR_TAIL.sub("", catalogue().entries[code].description).lower()
    return frozenset(stem("en", w) for w in re.findall(r"[a-z]+", text)) - _PLAIN_STEMS


_MIN_SHARED_WORDS: Final = 2
"""One shared word is too little: "sludges" alone would make a filter cake from a supermarket
septic tank sludge (20 03 04)."""


@lru_cache(maxsize=4_096)
def _nearest_under(
    ranked: tuple[str, ...], prefixes: tuple[str, ...], least: int = _MIN_SHARED_WORDS
) -> tuple[str, ...]:
    """Under the source, the entries whose English text shares most words with a named code's.

    For the first named code (``ranked``, best first) that shares a word with an entry under
    ``prefixes``: those entries, most shared words first (then an entry before its halogenated
    twin, which a text must say: :func:`_halogen_twins`; then code order), at most five; two
    shared words at least (``least``; :data:`_MIN_SHARED_WORDS`).
    "Sludge" names 19 08 05 *sludges from treatment of urban waste water*; from an oil
    separator (13 05) that is 13 05 02 *sludges from oil/water separators*. Empty when no named
    code shares a word with the source's entries.
    """
    under = [c for c in _entries_under(prefixes) if not c.endswith("99")]
    halogenated = _halogen_twins()[False]  # unsaid: the other entry before it
    for code in ranked:
        words = _description_words(code)
        shared = [(len(words & _description_words(c)), c) for c in under]
        best = sorted((-n, c in halogenated, c) for n, c in shared if n >= least)
        if best:
            return tuple(c for _, _, c in best[:5])
    return ()


_BY_MATERIAL: Final = frozenset({"13", "14", "15", "16", "1705", "1706", "0805", "1909"})
"""Chapters the List of Waste files by material whatever the origin (its introduction: when no
code of the origin's chapter fits, look in 13, 14 and 15, then 16): oils, solvents, packaging,
linings and refractories, batteries, catalysts, off-specification batches; and of construction
and demolition wastes, soil ("including excavated soil from contaminated sites", chapter 17's
title: the soil dug up at an old filling station is 17 05, not the station's fuels) and
insulation and asbestos (17 06: pipe lagging from a boiler house), unless the origin has an
entry of its own naming it (a sugar factory's beet soil is 02 04 01). Not the other C&D
materials: a brickworks' rejected bricks are its own (10 12 08), a tin smelter's tin its dross.
And isocyanates (08 05 01, *wastes not otherwise specified in 08*: an adhesives or coatings
maker's MDI residues), and the residues of preparing water (19 09: the spent resins of a boiler
house's demineralisation, unless the origin has its own, a plating shop's 11 01 16)."""
LAST_MAKING_CHAPTER: Final = "12"
"""The List's chapters by the industry a waste comes from end with 12 (shaping and treating
metals and plastics); 13 to 20 file it by material or where it was used up."""
OFF_SPEC: Final = "1603"
"""Off-specification batches and unused products: under a named origin, that origin's entries
(*Kassation fra glasuldsproduktion*: 10 11), as the List files a chapter 16 entry only when no
origin's fits."""
_WHEREVER_FOUND: Final = frozenset({"190809", "190810", "200121"})
"""Entries named by what the waste is, wherever it arises: the contents of a grease or oil
separator (19 08 09, 19 08 10) at a canteen, a restaurant or a plant are those entries, not the
origin's edible oil (20 01 25) or kitchen waste; fluorescent tubes (20 01 21) a cement plant
relamps are no kiln's waste. Only for a term of the main clause naming one
first (a grease trap), not for a word that also names it (*grease*, *fat*: 12 01 12 first)."""
_MIXED_WASTE: Final = re.compile(r"mixed .*waste")
"""A chapter's unsorted waste: 17 09 04 *mixed construction and demolition wastes*, 20 03 01
*mixed municipal waste* (not a fraction such as 17 04 07 *mixed metals*)."""


def _another_industry(code: str, prefixes: tuple[str, ...]) -> bool:
    """Whether ``code`` lies under another industry (chapters 01 to 12) than the named origins.

    Not one the List files by material itself (isocyanates' 08 05: :data:`_BY_MATERIAL`).
    """
    return (
        code[:2] <= LAST_MAKING_CHAPTER
        and not _under(code, prefixes)
        and code[:2] not in _BY_MATERIAL
        and code[:4] not in _BY_MATERIAL
    )


def _source_priors(
    priors: dict[str, float], prefixes: tuple[str, ...], by_similarity: Sequence[tuple[float, str]]
) -> dict[str, float]:
    """The priors narrowed to a source's (sub-)chapters, or its most similar codes there.

    ``by_similarity``: ``(-similarity, code)`` pairs, best first, ties by code.
    """
    if not prefixes:
        return dict(priors)
    if any(_under(c, prefixes) for c in priors):
        return {
            c: p if _under(c, prefixes) else p * _OUTSIDE_SOURCE_FACTOR for c, p in priors.items()
        }
    ewc = catalogue()
    named = tuple(sorted(priors, key=priors.__getitem__, reverse=True))
    by_material = (
        bool(named)
        and priors[named[0]] >= _HEAD_WEIGHT
        and named[0][:4] != OFF_SPEC  # a state of what the source made, no material
        and (
            named[0][:2] in _BY_MATERIAL
            or (named[0][:4] in _BY_MATERIAL and not _nearest_under(named[:1], prefixes, 1))
        )
    )
    nearest = _nearest_under(named, prefixes) if by_material else None
    if by_material and not nearest:
        # the head's material is one the list files by material: linings from a smelter are 16 11;
        # not another industry's entry the term also lists (a power plant's spent resins: 19 09
        # 05, not plating's 11 01 16)
        return {
            c: p * _OUTSIDE_SOURCE_FACTOR if _another_industry(c, prefixes) else p
            for c, p in priors.items()
        }
    inside: Sequence[str] = list(
        islice((c for s, c in by_similarity if s < 0.0 and _under(c, prefixes)), 5)
    )
    if inside and named:  # what names the named material first ("pickling acids"), a 99 last
        words = _description_words(named[0])
        inside = sorted(inside, key=lambda c: (c.endswith("99"), not words & _description_words(c)))
    if not inside:
        inside = nearest if nearest is not None else _nearest_under(named, prefixes)
    if not inside:
        inside = [f"{p}99" for p in prefixes if len(p) == 4 and f"{p}99" in ewc.entries]
    narrowed = {c: p * _OUTSIDE_SOURCE_FACTOR for c, p in priors.items()}
    for rank, code in enumerate(inside):
        narrowed[code] = max(narrowed.get(code, 0.0), _SOURCE_ENTRY * (1.0 - _RANK_STEP * rank))
    if not inside:  # nothing names an entry there: its entries, as a question to a person
        # a mixed waste named ("rifiuti misti") is the origin chapter's own mixed waste
        mixed = bool(named) and _MIXED_WASTE.match(ewc.entries[named[0]].description) is not None
        for code in _unnamed_entries(prefixes):
            twin = mixed and _MIXED_WASTE.match(ewc.entries[code].description) is not None
            prior = _SOURCE_ENTRY if twin else _UNNAMED_ENTRY
            narrowed[code] = max(narrowed.get(code, 0.0), prior)
    return narrowed


@cache
def _unnamed_entries(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    """What a source proposes when nothing in the text names one of its entries.

    A sub-chapter's first five entries; a chapter's mixed wastes (17 09 04 *mixed construction
    and demolition wastes*, 20 03 01 *mixed municipal waste*; not a fraction such as 17 04 07
    *mixed metals*), the list's own answer for an unsorted waste of that origin; nothing for a
    chapter without one.
    """
    entries = catalogue().entries
    found = list(_entries_under(tuple(p for p in prefixes if len(p) == 4))[:5])
    found += [
        c for c in _entries_under(tuple(p for p in prefixes if len(p) == 2))
        if not entries[c].hazardous and _MIXED_WASTE.match(entries[c].description)
    ]  # fmt: skip
    return tuple(found)


@cache
def _entries_under(prefixes: tuple[str, ...]) -> tuple[str, ...]:
    """The codes under some (sub-)chapters, in the list's order."""
    return tuple(c for c in catalogue().entries if _under(c, prefixes))


@dataclass(frozen=True, slots=True)
class Ranking:
    """Ranked candidates and how clearly the best one's chapter leads.

    Attributes:
        candidates: the best codes, best first.
        chapter_margin: the best score minus the best score of a code in another chapter
            (the best score itself when no other chapter scored): small means the text could as
            well be from another industry, the question a person should answer.
    """

    candidates: tuple[EwcCandidate, ...]
    chapter_margin: float


@cache
def hazardous_codes() -> tuple[frozenset[str], frozenset[str]]:
    """The hazardous codes, and the mirror-hazardous ones among them (the catalogue's flags)."""
    entries = catalogue().entries.values()
    return (
        frozenset(e.code for e in entries if e.hazardous),
        frozenset(e.code for e in entries if e.entry_type == "mirror_hazardous"),
    )


@cache
def _all_hazardous_sub_chapters() -> frozenset[str]:
    """Sub-chapters with no non-hazardous entry (13 05 oil/water separator contents...)."""
    entries = catalogue().entries.values()
    harmless = {e.sub_chapter for e in entries if not e.hazardous}
    return frozenset(e.sub_chapter for e in entries if e.sub_chapter not in harmless)


def _scores(
    pool: set[str],
    priors: Mapping[str, float],
    named: Mapping[str, float],
    sims: Mapping[str, float],
    prefixes: tuple[str, ...],
    hazardous_hint: bool,
    coverage: float,
    head_reach: frozenset[str] | None = None,
    carried: frozenset[str] = frozenset(),
    written: frozenset[str] = frozenset(),
    beyond_head: frozenset[str] | None = None,
) -> dict[str, float]:
    """Each pooled code's score in (0, 1]: prior and similarity, source and hazard factors.

    ``carried``: the entries under the source a named material is there (:func:`_nearest_under`)
    and ``written``, the codes the text writes (``EWC 17 05 03*``): a hazardous one is not
    halved. ``beyond_head``: as :func:`rank_candidates` has it.
    """
    hazardous, mirror_hazardous = hazardous_codes()
    all_hazardous = _all_hazardous_sub_chapters()
    by_content = _by_content()
    scores: dict[str, float] = {}
    floor = _PRIOR_FLOOR - _CONTEXT_WEIGHT * (1.0 - coverage)
    beside = _SIMILARITY_BESIDE_LEXICON + _CONTEXT_WEIGHT * (1.0 - coverage)
    for code in pool:
        sim = sims.get(code, 0.0)
        if code in priors:
            score = priors[code] * (floor + (1.0 - floor) * sim)
        else:
            score = (beside if priors else _SIMILARITY_ONLY_SCALE) * sim
            if prefixes and not _under(code, prefixes):
                score *= _OUTSIDE_SOURCE_FACTOR
            if head_reach is not None and code not in head_reach and code[:4] not in head_reach:
                score *= _AWAY_FROM_HEAD_FACTOR
            elif beyond_head is not None and code not in beyond_head and code not in by_content:
                score *= _AWAY_FROM_HEAD_FACTOR  # the head's words alone: a sibling unnamed
        if hazardous_hint:
            if code not in hazardous:
                score *= _HAZARD_FACTOR
        elif (
            code in hazardous
            and code not in written
            and (
                code in mirror_hazardous
                or (
                    code not in named
                    and code not in carried
                    and not (_under(code, prefixes) and code[:4] in all_hazardous)
                )
            )
        ):  # under a source whose entries are all hazardous, none is ("Ölabscheider": 13 05);
            # nor the entry there a named material is ("filter cake", fine chemicals: 07 07 10)
            score *= _HAZARD_FACTOR
        if score > 0.0:
            scores[code] = min(1.0, score)
    return scores


def _told(
    preferred: frozenset[str], head: LexiconTerm | None, prefixes: tuple[str, ...]
) -> frozenset[str]:
    """The head's codes that lead its others: what the text tells apart (``preferred``).

    Under a source, only those under it; when none is, the head's codes under it
    (*slagge fra forbrændingsanlæg*: 19 01 12 before the head's first, 10 02 02). A code the
    text names beside the head's own (a catalyst's metal) stays wherever the source is.
    """
    if not prefixes:
        return preferred
    own = head.codes if head else ()
    return frozenset(c for c in preferred if _under(c, prefixes) or c not in own) or frozenset(
        c for c in own if _under(c, prefixes)
    )


@lru_cache(maxsize=4_096)
def _head_reach(head: LexiconTerm) -> frozenset[str] | None:
    """The codes and sub-chapters a code found by similarity alone may lie in at full weight.

    The codes whose official text (in the head term's language) holds a token of the head,
    and the sub-chapters of the head's own codes (*sludge ... desanding*: 19 08 02 beside the
    head's 19 08 05). A code outside both was found by the text's other words (a container, a
    place, an abbreviation), not by what the text is about: it weighs
    :data:`_AWAY_FROM_HEAD_FACTOR` beside the head's own codes (*Slaktblod kat. 3, tank* is
    blood, not tank cleaning). ``None`` for a language without an official text (Italian,
    Danish, Chinese): no text there can hold the head.
    """
    index = reference_index(head.lang)
    if not index.entries:
        return None
    postings = index.postings
    found = {code for token in head.tokens for code, _ in postings.get(token, ())}
    return frozenset(found | {code[:4] for code in head.codes})


def rank_candidates(
    materials: list[LexiconTerm],
    head: LexiconTerm | None,
    prefixes: tuple[str, ...],
    sims: Mapping[str, float],
    mentioned: Mapping[str, float],
    *,
    hazardous_hint: bool,
    top: int,
    coverage: float = 1.0,
    details: frozenset[int] = frozenset(),
    by_similarity: Sequence[tuple[float, str]] | None = None,
    preferred: frozenset[str] = frozenset(),
    biodegradable: bool | None = None,
    halogenated: bool | None = None,
    beyond_head: frozenset[str] | None = None,
    firm: bool = False,
) -> Ranking:
    """The ``top`` best EWC codes for a material, best first (see the module docstring).

    Long because: each of its many inputs is described below; the steps are calls.

    Args:
        materials: the material lexicon terms found in the text.
        head: the head term when it is one of ``materials``.
        prefixes: the source terms' chapters and sub-chapters.
        sims: code -> cosine similarity of the text to the official texts.
        mentioned: codes the text writes out (:func:`mentioned_codes`), as priors.
        hazardous_hint: the text says hazardous or contaminated.
        top: how many to return.
        coverage: share of the text's content words the material terms cover. The less they
            cover, the more the rest of the text (its similarity to the official texts) counts.
        details: positions in ``materials`` of terms outside the main clause (weighed less).
        by_similarity: ``(-similarity, code)`` of every code of ``sims``, best first, ties by code
            (shared by the texts of one similarity); computed from ``sims`` when ``None``.
        preferred: the codes the rest of the text tells apart: the head's own, or one it names
            beside them (a catalyst's metal: 16 08 01); they lead the head's.
        biodegradable: the text says its material is biodegradable (a named oil is its
            sub-chapter's readily biodegradable entry too, :func:`_biodegradable_twins`), says
            it is not (those entries weigh half), or neither (``None``).
        halogenated: the text says its material is halogenated (a named entry with a
            halogenated twin is that twin, :func:`_halogen_twins`; the named one weighs half),
            says it is not (the reverse), or neither (``None``).
        beyond_head: the codes the text's words beside the head find (``None``: no head
            naming codes); a code only the similarity proposes and only the head's words find
            weighs :data:`_AWAY_FROM_HEAD_FACTOR`, as one only the other words find does.
        firm: ``preferred`` is settled by the text (where it was made, goods delivered): the
            head's other codes weigh :data:`_FIRM_FACTOR` more.
    """
    collected, prefixes = _recycling_centre(prefixes)
    told = _told(preferred, head, prefixes)
    named = _lexicon_priors(materials, head, details, told, firm)
    for code, prior in mentioned.items():
        named[code] = max(named.get(code, 0.0), prior)
    if biodegradable:  # "biodegradable ester gear oil": 13 02 07 before 13 02 05
        readily = _readily_biodegradable(named)
        twins = _biodegradable_twins()
        for code in [c for c in named if twins.get(c) in readily]:
            named[code] *= _UNSAID_FACTOR  # the text says what the other entries are not
        named.update(readily)
    if prefixes:  # a named entry is named in the source's sub-chapter too
        named.update(_in_source(named, prefixes))
    if collected:  # "Altöl, Wertstoffhof": 20 01 26 beside 13 02 05
        named.update(_collected(named, head, materials, prefixes))
    if by_similarity is None:  # sorting (-similarity, code) pairs runs in C
        by_similarity = sorted(zip(map(neg, sims.values()), sims, strict=True))
    if any(
        term.codes and term.codes[0] in _WHEREVER_FOUND
        for n, term in enumerate(materials)
        if term is head or n not in details
    ):  # named by what it is: no source narrows it (a canteen's grease trap is 19 08 09)
        priors = dict(named)
    else:
        priors = _source_priors(named, prefixes, by_similarity)
    written = frozenset(c for c, prior in mentioned.items() if prior >= 1.0)
    for code in written:  # written by the plant as a code: whatever the source says
        priors[code] = 1.0
    if halogenated is not None:  # "chlorowcowane": 07 05 07 before 07 05 08
        priors.update(_halogen_said(priors, halogenated))
    from_lexicon = set(named)
    if hazardous_hint:
        # the hazard says which twin of what the text tells apart, not of the head's other
        # entries ("Stålspåner ... olieholdige": 12 01 01, not the wood shavings' 03 01 04)
        settled = preferred.intersection(priors)
        for code in [c for c in priors if not settled or c in settled]:
            for sibling in mirrors().get(code, ()):
                priors[sibling] = max(priors.get(sibling, 0.0), priors[code])
                if code in named:
                    from_lexicon.add(sibling)
    pool = set(priors) | {code for _, code in by_similarity[: max(2 * top, 10)]}
    reach = _head_reach(head) if head is not None and head.codes else None
    carried = (
        frozenset(
            _nearest_under(tuple(sorted(named, key=named.__getitem__, reverse=True)), prefixes)
        )
        if prefixes and named
        else frozenset()
    )
    scores = _scores(
        pool, priors, named, sims, prefixes, hazardous_hint, coverage, reach, carried, written,
        beyond_head,
    )  # fmt: skip
    if written:  # "kod 02 02 01": the code the plant wrote leads those it did not
        scores = {c: v if c in written else v * _UNWRITTEN_FACTOR for c, v in scores.items()}
    if biodegradable is False:  # "not readily biodegradable" names those entries' words
        scores = {
            c: v * _DENIED_FACTOR if c in _readily_entries() else v for c, v in scores.items()
        }
    ranked = [code for _, code in sorted(zip(map(neg, scores.values()), scores, strict=True))]
    margin = 0.0
    if ranked:
        best = ranked[0]
        rival = next((scores[c] for c in ranked if c[:2] != best[:2]), 0.0)
        margin = scores[best] - rival
    chosen = tuple(
        (code, round(scores[code], 4), _SOURCE[code in from_lexicon]) for code in ranked[:top]
    )
    return Ranking(_CANDIDATES[chosen], round(margin, 4))


_Source = Literal["lexicon", "similarity"]
_SOURCE: Final[dict[bool, _Source]] = {True: "lexicon", False: "similarity"}
_Chosen = tuple[tuple[str, float, _Source], ...]


class _Candidates(dict[_Chosen, tuple[EwcCandidate, ...]]):
    """``(code, confidence, source)`` of ranked codes -> their candidates, made on first sight.

    Candidates are frozen and their other fields follow from the code (the catalogue never
    changes in a process), so answers can share them: a cache of answers then holds one
    ranking per distinct ranking, not five new objects per answer for the garbage collector to
    go through on every full collection. Emptied when it holds :data:`_MAX_CANDIDATES`.
    """

    def __missing__(self, chosen: _Chosen) -> tuple[EwcCandidate, ...]:
        found = tuple(_candidate(code, confidence, source) for code, confidence, source in chosen)
        if len(self) >= _MAX_CANDIDATES:
            self.clear()
            _candidate.cache_clear()
        self[chosen] = found
        return found


@cache
def _candidate(code: str, confidence: float, source: _Source) -> EwcCandidate:
    """One candidate, shared by the rankings of :data:`_CANDIDATES` that hold it."""
    entry = catalogue().entries[code]
    return EwcCandidate(code, entry.description, entry.hazardous, confidence, source)


_MAX_CANDIDATES: Final = 65_536
_CANDIDATES: Final = _Candidates()
