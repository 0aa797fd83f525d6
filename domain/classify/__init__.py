"""Free-text resource classifier: language, resource kind and ranked EWC candidates.

``classify("FGD gypsum")`` answers *material, 10 01 05 first*; ``classify("Sattdampf 12 bar")``
answers *steam*; ``classify("popiół lotny")`` answers *material, 10 01 02 first*;
``classify("余热")`` answers *heat*. Texts are what ERP exports and park registers hold: short
noun phrases in the park's language, abbreviations, figures, odd spellings.

Plain and explainable, no model, no network: the official List of Waste texts of each language
(:mod:`~domain.classify.references`), a lexicon of kind, source and hazard words per language
(:mod:`~domain.classify.lexicon`), a small grammar of noun phrases
(:mod:`~domain.classify.grammar`), and the unit as evidence (:mod:`~domain.classify.evidence`).
How the steps fit: :mod:`~domain.classify.engine`.
"""

from domain.classify.candidates import EwcCandidate
from domain.classify.engine import (
    CHAPTER_MARGIN_BELOW,
    CODE_REVIEW_BELOW,
    KIND_REVIEW_BELOW,
    Classification,
    classify,
)
from domain.classify.lexicon import LexiconKind, LexiconTerm, lexicon, parse_row
from domain.classify.text import LANGUAGES, tokenise

__all__ = [
    "CHAPTER_MARGIN_BELOW",
    "CODE_REVIEW_BELOW",
    "KIND_REVIEW_BELOW",
    "LANGUAGES",
    "Classification",
    "EwcCandidate",
    "LexiconKind",
    "LexiconTerm",
    "classify",
    "lexicon",
    "parse_row",
    "tokenise",
]
