"""ERP offers: declared by-product stock or forecasts ("240 t gypsum available next week")."""

from __future__ import annotations

from typing import Literal, Self

from pydantic import Field, model_validator

from schemas.common import SCHEMA_VERSION, ResourceKind, Slug, StrictModel, UtcDatetime
from schemas.registry import EwcCode
from schemas.units import UnitStr


class OfferClassification(StrictModel):
    """How an offer's kind and EWC code were decided: given by the ERP, or by the classifier."""

    method: Literal["erp", "classifier"] = Field(
        description="'erp': kind and code as the export gave them; 'classifier': from the text."
    )
    confidence: float | None = Field(
        default=None,
        ge=0,
        le=1,
        description="Classifier: heuristic score of its decision (the chosen EWC code's for a "
        "material, the kind's otherwise); not a calibrated probability.",
    )
    candidates: tuple[EwcCode, ...] = Field(
        default=(), max_length=5, description="Classifier: EWC candidates, best first."
    )
    needs_review: bool = Field(
        default=False,
        description="Classifier: too unsure to decide; a person picks the code from the "
        "candidates (the offer then has no ewc).",
    )
    language: str | None = Field(
        default=None,
        pattern=r"^[a-z]{2}$",
        description="Classifier: the language the description was read in (ISO 639-1).",
    )


class Offer(StrictModel):
    """One declared surplus from an ERP export, before or after classification.

    Either ``ewc`` is given, or ``description`` is free text the classifier turns into a kind
    and ranked EWC candidates. Quantities are a rate (``t/wk``) or a stock (``t``) with
    ``available_from``/``available_until`` bounding when it can be collected.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    id: Slug
    site: Slug
    stream: Slug | None = Field(default=None, description="The stream it adds to, if known.")
    kind: ResourceKind | None = Field(default=None, description="Unset: classify the description.")
    description: str = Field(min_length=1, max_length=500, description="As the ERP wrote it.")
    ewc: EwcCode | None = None
    quantity: float = Field(gt=0)
    unit: UnitStr = Field(description="A rate (t/wk, t/d) or a stock (t, m^3).")
    available_from: UtcDatetime | None = None
    available_until: UtcDatetime | None = None
    source: str = Field(
        min_length=1, max_length=200, description="Where it came from, e.g. 'stock.xlsx:14'."
    )
    classification: OfferClassification | None = Field(
        default=None, description="How kind and EWC code were decided; unset: not recorded."
    )

    @model_validator(mode="after")
    def _window(self) -> Self:
        if (
            self.available_from is not None
            and self.available_until is not None
            and self.available_until <= self.available_from
        ):
            raise ValueError("available_until is not after available_from")
        return self
