"""Meter readings as historians push them, and as they travel on the readings topic."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Literal, Protocol

from pydantic import (
    AwareDatetime,
    Discriminator,
    Field,
    RootModel,
    Tag,
    ValidationError,
    model_validator,
)

from schemas.common import SCHEMA_VERSION, Slug, StrictModel
from schemas.units import UnitStr

EARLIEST_READING_TS: Final = datetime(1970, 1, 1, tzinfo=UTC)
"""No reading is older than the Unix epoch: an earlier instant is a broken clock or an attack
(``0001-01-01T00:00:00+23:59`` lies before year 1 in UTC, which Python's ``datetime`` cannot
even convert to)."""

LATEST_READING_TS: Final = datetime(2200, 1, 1, tzinfo=UTC)
"""No reading is newer than this; far beyond any clock skew, far inside what every stage (Python,
PostgreSQL, the partitioning) handles. Intake also refuses readings ahead of its own clock."""

EARLIEST_READING_S: Final = EARLIEST_READING_TS.timestamp()
LATEST_READING_S: Final = LATEST_READING_TS.timestamp()
"""The same bounds as Unix seconds (how the worker's windows keep times)."""

MAX_ABS_VALUE: Final = 1e12
"""No meter rate in any supported unit is this large; anything above would overflow sums."""

ReadingTs = Annotated[AwareDatetime, Field(ge=EARLIEST_READING_TS, le=LATEST_READING_TS)]
"""A timezone-aware instant within [:data:`EARLIEST_READING_TS`, :data:`LATEST_READING_TS`].

pydantic-core compares the instants (offsets taken into account) without converting to a Python
``datetime`` first, so an input such as year 1 at +23:59 is refused, never raises (tested)."""

ReadingValue = Annotated[float, Field(allow_inf_nan=False, ge=-MAX_ABS_VALUE, le=MAX_ABS_VALUE)]
"""A finite number of magnitude at most :data:`MAX_ABS_VALUE`."""


class ReadingQuality(StrEnum):
    """OPC UA-style quality of one reading; only ``good`` readings count towards the ledger."""

    GOOD = "good"
    UNCERTAIN = "uncertain"
    BAD = "bad"


class Reading(StrictModel):
    """One meter value at one instant.

    ``ts`` must carry a timezone (naive timestamps are rejected) and lie within
    [:data:`EARLIEST_READING_TS`, :data:`LATEST_READING_TS`]; it is an instant, kept with the
    offset it came with: the ledger and the database (``timestamptz``) only use the instant,
    and skipping a per-reading conversion keeps validation of a 500-reading batch near 1 ms.
    Other payloads normalise their timestamps to UTC. ``value`` must be finite and at most
    :data:`MAX_ABS_VALUE` in magnitude. Both bounds are pydantic-core constraints (no Python
    call per reading), checked wherever a reading is parsed: API, MQTT bridge, stream worker
    and sink refuse the same readings.
    """

    meter: Slug
    ts: ReadingTs
    value: ReadingValue
    unit: UnitStr
    quality: ReadingQuality = ReadingQuality.GOOD


class ReadingFields(Protocol):
    """What a stage reads of a reading.

    A :class:`Reading`, or its fast-decoded twin (:class:`~schemas.readings_wire.WireReading`)
    holding the same values.
    """

    @property
    def meter(self) -> str:
        """The meter's id."""

    @property
    def ts(self) -> datetime:
        """When it was read (timezone-aware)."""

    @property
    def value(self) -> float:
        """The value, in ``unit``."""

    @property
    def unit(self) -> str:
        """The unit as written."""

    @property
    def quality(self) -> ReadingQuality:
        """Its quality."""


class BatchFields(Protocol):
    """What a stage reads of one stream's batch.

    A :class:`ReadingBatch`, or its twin (:class:`~schemas.readings_wire.WireBatch`).
    """

    @property
    def batch_id(self) -> str:
        """The producer's batch id."""

    @property
    def stream(self) -> str:
        """The stream's id."""

    @property
    def readings(self) -> Sequence[ReadingFields]:
        """The readings, in order."""


MAX_READINGS_PER_RECORD: Final = 10_000
"""Readings in one record of the readings topic, whatever its shape."""


class ReadingBatch(StrictModel):
    """A batch of readings of one stream (schema version 1).

    On the readings topic it travels alone (records written before version 2, and producers
    that send one stream at a time) or inside a :class:`SiteReadings` record; either way the
    record is keyed by the stream's **site** id (see :class:`SiteReadings` for why).
    ``batch_id`` is unique per producer batch; with ``seq`` (position in the batch) it forms the
    idempotency key of each reading, so a replayed batch is stored once.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    batch_id: str = Field(min_length=1, max_length=64)
    stream: Slug
    readings: list[Reading] = Field(min_length=1, max_length=10_000)


class SiteReadings(StrictModel):
    """One push's readings of one site, all its streams in one record (schema version 2).

    The readings topic's record for a push: a historian pushes all its meters at once, and a
    park of many small sites (TEDA: 1,000 companies, 4 readings per stream) would otherwise send
    one small record per stream. Every consumer's cost is per record, so one record per push is
    what lets the stream worker keep up (``docs/performance.md``). Each of ``batches`` is one
    stream's readings, processed exactly as a :class:`ReadingBatch` record of its own.

    Keyed by ``site``, like a lone :class:`ReadingBatch`: a stream's records must always land in
    the same partition, because the stream worker keeps the stream's state in the partition its
    readings arrive on.

    Bounded: at most :data:`MAX_READINGS_PER_RECORD` readings in all (producers split bigger
    pushes into several records).
    """

    schema_version: Literal[2] = 2
    site: Slug
    batches: list[ReadingBatch] = Field(min_length=1, max_length=MAX_READINGS_PER_RECORD)

    @model_validator(mode="after")
    def _bounded(self) -> SiteReadings:
        total = sum(len(b.readings) for b in self.batches)
        if total > MAX_READINGS_PER_RECORD:
            raise ValueError(
                f"batches hold {total} readings; a record holds at most {MAX_READINGS_PER_RECORD}"
            )
        return self


def _shape(value: Any) -> str:
    """Which payload a readings record is: a site's push or one stream's batch."""
    if isinstance(value, dict):
        return "site" if "batches" in value else "stream"
    return "site" if isinstance(value, SiteReadings) else "stream"


class ReadingsRecord(
    RootModel[
        Annotated[
            Annotated[ReadingBatch, Tag("stream")] | Annotated[SiteReadings, Tag("site")],
            Discriminator(_shape),
        ]
    ]
):
    """A record of the readings topic, in either shape.

    A :class:`SiteReadings` (a record with ``batches``) or a lone :class:`ReadingBatch`;
    validation errors name the fields of the shape the record has.
    """

    @classmethod
    def from_json(cls, value: bytes) -> ReadingsRecord:
        """Validate a record's JSON: the same result and errors as ``model_validate_json``.

        A site's push (what the doors publish) is validated as :class:`SiteReadings` directly:
        through the union it costs about 1.6x more, because the union's discriminator needs
        the JSON parsed into Python objects first. Only a record that names ``batches`` is
        tried so (a lone stream batch goes to the union at once). A valid push has a
        ``batches`` key, so the union would have tagged it ``site`` too; one that is not a
        valid push is validated again as the union, so its errors name the fields of the shape
        it has. Every stage that reads the readings topic decodes with this.

        Raises:
            pydantic.ValidationError: the record is neither shape.
        """
        if b'"batches"' in value:
            try:
                return cls.model_construct(SiteReadings.model_validate_json(value))
            except ValidationError:
                pass
        return cls.model_validate_json(value)

    @property
    def batches(self) -> list[ReadingBatch]:
        """The stream batches the record holds, in order."""
        root = self.root
        return root.batches if isinstance(root, SiteReadings) else [root]

    @property
    def readings(self) -> int:
        """How many readings the record holds."""
        return sum(len(b.readings) for b in self.batches)


RECORD_SHAPES: Final = {"site": SiteReadings, "stream": ReadingBatch}
""":class:`ReadingsRecord`'s union tags and the model of each shape (validation errors are
located under the tag)."""
