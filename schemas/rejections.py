"""Rejected input: anything a stage cannot accept goes to the rejected topic with its reason."""

from __future__ import annotations

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
