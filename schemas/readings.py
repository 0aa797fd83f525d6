"""Meter readings as historians push them, and as they travel on the readings topic."""

from __future__ import annotations

import math
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, Field, field_validator

from schemas.common import SCHEMA_VERSION, Slug, StrictModel
from schemas.units import UnitStr


class ReadingQuality(StrEnum):
    """OPC UA-style quality of one reading; only ``good`` readings count towards the ledger."""

    GOOD = "good"
    UNCERTAIN = "uncertain"
    BAD = "bad"


class Reading(StrictModel):
    """One meter value at one instant.

    ``ts`` must carry a timezone (naive timestamps are rejected); it is an instant, kept with
    the offset it came with: the ledger and the database (``timestamptz``) only use the
    instant, and skipping a per-reading conversion keeps validation of a 500-reading batch
    near 1 ms. Other payloads normalise their timestamps to UTC.
    """

    meter: Slug
    ts: AwareDatetime
    value: float
    unit: UnitStr
    quality: ReadingQuality = ReadingQuality.GOOD

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("value must be a finite number")
        return v


class ReadingBatch(StrictModel):
    """A batch of readings of one stream: the payload of the readings topic, keyed by stream id.

    ``batch_id`` is unique per producer batch; with ``seq`` (position in the batch) it forms the
    idempotency key of each reading, so a replayed batch is stored once.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    batch_id: str = Field(min_length=1, max_length=64)
    stream: Slug
    readings: list[Reading] = Field(min_length=1, max_length=10_000)
