"""Rejected input: anything a stage cannot accept goes to the rejected topic with its reason."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import Field

from schemas.common import SCHEMA_VERSION, StrictModel, UtcDatetime


class Rejection(StrictModel):
    """One rejected item and why: the payload of the rejected topic. Nothing is dropped silently."""

    schema_version: Literal[1] = SCHEMA_VERSION
    stage: str = Field(description="Which stage rejected it: ingest, streams, sink.")
    source: str = Field(
        description="Where it came from: topic/partition/offset, HTTP route, file:line."
    )
    reason: str = Field(description="Why, naming the field when there is one.")
    payload: str = Field(max_length=65_536, description="The item as received (truncated).")
    ts: UtcDatetime

    @classmethod
    def of(cls, stage: str, source: str, reason: str, payload: bytes | None) -> Rejection:
        """A rejection of raw bytes as received, stamped now.

        The reason and payload are cut to their limits; the payload is decoded leniently (bad
        UTF-8 is replaced, not an error), so building a rejection never fails on the input.
        """
        return cls(
            stage=stage,
            source=source,
            reason=reason[:4000],
            payload=(payload or b"")[:65_536].decode("utf-8", errors="replace"),
            ts=datetime.now(UTC),
        )
