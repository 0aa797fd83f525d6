"""The availability ledger: per stream, measured surplus, committed quantity, available."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.common import SCHEMA_VERSION, ResourceKind, Slug, StrictModel, UtcDatetime
from schemas.units import UnitStr


class LedgerEntry(StrictModel):
    """State of one stream after a batch of readings: the payload of the ledger topic.

    Guarantees ``available == max(measured - committed, 0)`` (each to six significant figures,
    so no float noise is published), that all three share ``unit``, and that a ``stale``
    entry has ``measured == available == 0``.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    stream: Slug
    site: Slug
    kind: ResourceKind
    unit: UnitStr
    window_s: float = Field(gt=0, description="Length of the averaging window.")
    measured: float = Field(description="Mean good reading over the window, in `unit`.")
    committed: float = Field(ge=0, description="Sum of active exchanges from this stream.")
    available: float = Field(ge=0)
    steadiness: float = Field(
        ge=0, le=1, description="1 - coefficient of variation over the window, clipped to [0, 1]."
    )
    samples: int = Field(ge=0, description="Good readings in the window.")
    available_since: UtcDatetime | None = Field(
        default=None, description="Since when available has stayed above zero."
    )
    updated_at: UtcDatetime = Field(
        description="Timestamp of the newest reading counted; for a stale entry, when the "
        "stream became stale."
    )
    stale: bool = Field(
        default=False,
        description="No good reading for the worker's `stale_after_s`: measured and available "
        "count zero until a newer good reading arrives.",
    )
