r"""A fast reader of the readings topic's records: the models' readings, or no answer.

The stream worker and the sink validate every record of the readings topic. Through the
pydantic models (:class:`~schemas.readings.ReadingsRecord`) a TEDA push of 20 readings builds
26 model instances and runs a regular expression per identifier: 13 % of the worker's time and
most of the sink's validation on that load (``docs/performance.md``). Here msgspec decodes the
same JSON into frozen structs with the same field names (:class:`WireReading`,
:class:`WireBatch`), with the constraints msgspec can state (types, lengths, number bounds, a
timezone on every time, no unknown field), and :func:`wire_batches` checks in Python what it
cannot: identifiers against the slug pattern (remembered, since meters repeat every second),
times within the readings' window, units through the same parser as the models (cached),
strings with no surrounding whitespace (the models strip it), the record's total of readings.

Guarantee: when :func:`wire_batches` answers, the models accept the record and hold the same
values (time instants, numbers, strings, qualities; a time's offset object may be another
class with the same offset). Whatever it is not sure of, it does not answer (``None``): any
constraint failed, a time with more than six fractional digits (msgspec rounds them, the
models truncate), a ``\u`` escape anywhere (it could hide such a fraction from the test
on the raw bytes), any check raising. The caller then validates with the models, which decide
and word the errors. ``tests/unit/test_readings_wire.py`` holds the two to the same answers
on hand-written and generated records.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from operator import attrgetter
from typing import Annotated, Final, Literal

import msgspec

from schemas.common import SLUG_PATTERN
from schemas.readings import (
    EARLIEST_READING_TS,
    LATEST_READING_TS,
    MAX_ABS_VALUE,
    MAX_READINGS_PER_RECORD,
    ReadingQuality,
)
from schemas.units import UNIT_MAX_CHARS, parse_unit

_Id = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]


class WireReading(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """:class:`~schemas.readings.Reading` as msgspec decodes it (see the module docstring)."""

    meter: _Id
    ts: Annotated[datetime, msgspec.Meta(tz=True)]
    value: Annotated[float, msgspec.Meta(ge=-MAX_ABS_VALUE, le=MAX_ABS_VALUE)]
    unit: Annotated[str, msgspec.Meta(min_length=1, max_length=UNIT_MAX_CHARS)]
    quality: ReadingQuality = ReadingQuality.GOOD


class WireBatch(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """:class:`~schemas.readings.ReadingBatch` as msgspec decodes it (fields in its order)."""

    schema_version: Literal[1] = 1
    batch_id: _Id
    stream: _Id
    readings: Annotated[
        list[WireReading], msgspec.Meta(min_length=1, max_length=MAX_READINGS_PER_RECORD)
    ]

    def to_json(self) -> bytes:
        """The batch as JSON (a refused batch's payload on the rejected topic)."""
        return msgspec.json.encode(self)


class _WireSite(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    schema_version: Literal[2] = 2
    site: _Id
    batches: Annotated[
        list[WireBatch], msgspec.Meta(min_length=1, max_length=MAX_READINGS_PER_RECORD)
    ]


_SITE: Final = msgspec.json.Decoder(_WireSite)
_BATCH: Final = msgspec.json.Decoder(WireBatch)

_SLUG: Final = re.compile(SLUG_PATTERN)
_KNOWN_MAX: Final = 200_000
"""Identifiers remembered as valid; the memory is emptied when it is full."""
_slugs: set[str] = set()

_METER: Final = attrgetter("meter")
_UNIT: Final = attrgetter("unit")
_TS: Final = attrgetter("ts")

_LONG_FRACTION: Final = re.compile(rb":\d\d:\d\d[.,]\d{7}")
"""A time's seconds with more than six fractional digits (msgspec rounds, the models cut).

Starts with a literal (``:``), which the regular expression engine skips to: five times the
speed of a pattern starting with a digit class. A number can never match it, so no record is
declined for its values; a string holding such text only is (the models then decide)."""


def long_fraction(value: bytes) -> bool:
    r"""Whether the JSON may hold a time with more than six fractional digits.

    msgspec rounds such a fraction, the models truncate it: a fast reader leaves such a record
    to the models. A ``\u`` escape anywhere counts as one: an escaped digit or ``.`` would hide
    a long fraction from :data:`_LONG_FRACTION` (the doors never write one).
    """
    return b"\\u" in value or _LONG_FRACTION.search(value) is not None


def slug_ok(text: str) -> bool:
    """Whether ``text`` is a valid id (:data:`~schemas.common.Slug`), as written; remembered."""
    if text in _slugs:
        return True
    if _SLUG.fullmatch(text) is None:
        return False
    if len(_slugs) >= _KNOWN_MAX:
        _slugs.clear()
    _slugs.add(text)
    return True


def unit_ok(text: str) -> bool:
    """Whether ``text`` is a unit the models take as written, nothing to strip.

    As :data:`~schemas.units.UnitStr` checks it (after the models strip whitespace), through
    the same parser and its cache.
    """
    if text != text.strip():
        return False
    try:
        parse_unit(text)
    except ValueError:
        return False
    return True


def _checked(batches: Sequence[WireBatch]) -> bool:
    """What msgspec's constraints cannot say about the batches (see the module docstring).

    Set operations and ``min``/``max`` over each field rather than a Python step per reading:
    this runs for every reading the worker and the sink read.
    """
    ids = {b.stream for b in batches}
    units: set[str] = set()
    times: list[datetime] = []
    for b in batches:
        if b.batch_id != b.batch_id.strip():
            return False
        readings = b.readings
        ids.update(map(_METER, readings))
        units.update(map(_UNIT, readings))
        times.extend(map(_TS, readings))
    return (
        len(times) <= MAX_READINGS_PER_RECORD
        and all(map(slug_ok, ids - _slugs))
        and all(map(unit_ok, units))
        and min(times) >= EARLIEST_READING_TS
        and max(times) <= LATEST_READING_TS
    )


def wire_batches(value: bytes) -> list[WireBatch] | None:
    r"""The stream batches of a readings record, or ``None``: ask the models.

    Never raises. ``None`` is no verdict: the record may be valid or not, and the models say
    which (the module docstring says when this answers). A record with a ``\u`` escape is
    not answered: an escaped digit or ``.`` would hide a long fraction from the raw-bytes test
    (the doors never escape, so their records are answered).
    """
    try:
        if long_fraction(value):
            return None
        if b'"batches"' in value:
            site = _SITE.decode(value)
            if not slug_ok(site.site):
                return None
            batches = site.batches
        else:
            batches = [_BATCH.decode(value)]
        return batches if _checked(batches) else None
    except Exception:  # noqa: BLE001 - no verdict: the models decide and word it
        return None
