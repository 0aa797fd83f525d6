"""Alerts: an exchangeable (stream, need) pair opened, updated or resolved."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import Field

from schemas.common import SCHEMA_VERSION, ResourceKind, Slug, StrictModel, UtcDatetime
from schemas.units import UnitStr


class AlertEvent(StrEnum):
    """Lifecycle step of an alert."""

    OPENED = "opened"
    UPDATED = "updated"
    RESOLVED = "resolved"


class ResolveReason(StrEnum):
    """Why an alert resolved."""

    STALE = "stale"
    """The stream sent no good reading for the worker's ``stale_after_s``: its surplus counts
    zero until it reports again."""
    INSUFFICIENT = "insufficient"
    """The stream's available surplus no longer meets the need (quantity, quality, time)."""
    WITHDRAWN = "withdrawn"
    """The need left the registry."""


class Benefit(StrictModel):
    """Yearly benefit of the exchange if it ran at the alert's quantity."""

    co2e_t_per_yr: float = Field(description="CO2-equivalent avoided, tonnes per year.")
    diverted_t_per_yr: float = Field(default=0, ge=0, description="Tonnes kept from landfill.")
    water_m3_per_yr: float = Field(default=0, ge=0, description="Cubic metres of water reused.")
    quantified: bool = Field(
        default=True,
        description="False when the CO2e could not be estimated (e.g. a gas with neither a "
        "species nor a heating value): `co2e_t_per_yr` is then 0, meaning not quantified.",
    )
    note: str | None = Field(
        default=None, max_length=300, description="Why the benefit is not quantified."
    )


class Alert(StrictModel):
    """One lifecycle event of a (stream, need) alert: the payload of the alerts topic.

    ``alert_id`` is stable for the pair's episode (from opened to resolved); ``idempotency_key``
    is unique per event, so a subscriber receiving it twice can drop the repeat.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    alert_id: str = Field(min_length=1, max_length=80)
    idempotency_key: str = Field(min_length=1, max_length=120)
    event: AlertEvent
    stream: Slug
    need: Slug
    kind: ResourceKind
    available: float = Field(ge=0, description="Stream's available surplus, in `unit`.")
    unit: UnitStr
    quantity: float = Field(ge=0, description="What the need could take of it, in the need's unit.")
    need_unit: UnitStr
    distance_km: float = Field(ge=0)
    benefit: Benefit
    supplier_company: Slug | None = Field(
        default=None, description="Only when the supplier allows its identity to be disclosed."
    )
    ts: UtcDatetime
    reason: ResolveReason | None = Field(
        default=None, description="Why a `resolved` alert resolved; absent on other events."
    )
