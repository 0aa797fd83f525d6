"""The rules every pushed reading passes before it reaches Kafka (HTTP API and MQTT bridge).

:func:`check_readings` takes raw rows (decoded JSON), validates each against
:class:`~schemas.readings.Reading`, and checks it against the registry: the meter is registered,
belongs to the pushing company, is not timestamped too far in the future, its value is not
negative (unless the stream allows it), and its unit converts to the stream's unit. Before the
schema, the JSON types are checked strictly (:func:`json_type_errors`): the schema alone would
take ``"5"`` or ``true`` for a number. It returns the valid readings grouped by stream and one
:class:`RowError` per bad field, naming the row and the field as the client sent them.
:func:`omf_rows` maps PI Web API / OMF-style values (``tag`` or ``meter``, ``timestamp``,
``value``, ``units``, ``good``) onto the same rows through a site's tag map.

Pure: no I/O; the caller decides what to publish, what to reject and what status to answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Final

import orjson
from pydantic import ValidationError

from domain.directory import Directory
from domain.errors import UnitError
from domain.units import factor
from domain.wording import TIME, reason_of
from schemas.readings import Reading, ReadingBatch, ReadingQuality, SiteReadings

UNMAPPED: Final = object()
"""Placeholder :func:`omf_rows` leaves for an item it could not map (already an error)."""

_MISSING: Final = object()


@dataclass(frozen=True, slots=True)
class _NotBoolean:
    """An OMF-style ``good`` that is not a JSON boolean, as the row's ``quality``."""

    value: object


_ISO_DATE: Final = re.compile(r"\s*\d{4}-\d{2}-\d{2}")
"""The start of an ISO 8601 date-time: pydantic would also read ``"0"`` or ``"1735689600000"``
as Unix time (seconds or milliseconds, as it guesses), with no offset written."""

SHOWN_PAYLOAD_BYTES: Final = 65_536
"""At most this much of a refused row travels on the rejected topic when it cannot be JSON."""


def payload_json(value: object) -> bytes:
    """``value`` (a refused row, as decoded) as JSON for the rejected topic; never raises.

    orjson reads JSON nested 1,024 levels deep but writes only 254: a row it cannot write
    again (or any other value it refuses) travels as the start of its ``repr`` instead.
    """
    try:
        return orjson.dumps(value, default=str)
    except (orjson.JSONEncodeError, TypeError, ValueError, RecursionError):
        shown = repr(value)[:SHOWN_PAYLOAD_BYTES] if _reprable(value) else "<unprintable>"
        return orjson.dumps({"unserialisable": shown})


def _reprable(value: object) -> bool:
    try:
        repr(value)
    except (RecursionError, ValueError):
        return False
    return True


OMF_FIELDS: Final[Mapping[str, str]] = {"ts": "timestamp", "unit": "units", "quality": "good"}
"""Our reading field -> the OMF-style name, for error messages on OMF pushes."""


@dataclass(frozen=True, slots=True)
class RowError:
    """One bad field of one row.

    Attributes:
        row: Position of the row in the request (0-based).
        field: The field as the client named it, e.g. ``readings[3].value``.
        reason: Why it was refused.
        forbidden: The row names a meter of another company (the request answers 403).
        payload: The row as received, for the rejected topic.
    """

    row: int
    field: str
    reason: str
    forbidden: bool = False
    payload: object = None


@dataclass
class CheckedReadings:
    """Valid readings by stream (in input order), each stream's site, and every error found."""

    by_stream: dict[str, list[Reading]] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)
    site_of: dict[str, str] = field(default_factory=dict)
    """stream id -> its site id, for every stream in ``by_stream``."""

    def records(self, batch_id: str, *, max_readings: int) -> list[SiteReadings]:
        """The valid readings as readings-topic records: one per site, split at ``max_readings``.

        Each record is a :class:`~schemas.readings.SiteReadings` of one site (keyed by its
        ``site``); a site's streams keep their input order, and a stream whose readings do not
        fit in the record being filled continues in the next one. Batch ids are ``batch_id``
        with a running suffix, unique within the push.
        """
        by_site: dict[str, list[tuple[str, list[Reading]]]] = {}
        for stream, readings in self.by_stream.items():
            by_site.setdefault(self.site_of[stream], []).append((stream, readings))
        out: list[SiteReadings] = []
        n = 0
        for site, streams in by_site.items():
            batches: list[ReadingBatch] = []
            room = max_readings
            for stream, readings in streams:
                start = 0
                while start < len(readings):
                    take = readings[start : start + room]
                    batches.append(ReadingBatch(batch_id=f"{batch_id}-{n}", stream=stream,
                                                readings=take))  # fmt: skip
                    n, start, room = n + 1, start + len(take), room - len(take)
                    if room == 0:
                        out.append(SiteReadings(site=site, batches=batches))
                        batches, room = [], max_readings
            if batches:
                out.append(SiteReadings(site=site, batches=batches))
        return out

    @property
    def accepted(self) -> int:
        """Number of valid readings."""
        return sum(len(rs) for rs in self.by_stream.values())

    @property
    def rejected_rows(self) -> int:
        """Number of distinct rows with at least one error."""
        return len({e.row for e in self.errors})

    @property
    def forbidden(self) -> bool:
        """Whether any row names another company's meter."""
        return any(e.forbidden for e in self.errors)


def _add_error(
    errors: list[RowError],
    row: int,
    raw: object,
    name: str,
    reason: str,
    *,
    forbidden: bool = False,
) -> None:
    errors.append(RowError(row, name, reason, forbidden, raw))


def _loc(loc: tuple[int | str, ...], names: Mapping[str, str]) -> str:
    return ".".join(names.get(str(p), str(p)) for p in loc)


Locate = Callable[[int, str], str]
"""Names a field for the client: ``(row, our field name)`` -> the field as the client sent it
(``(3, "value")`` -> ``readings[3].value``; ``""`` names the row itself)."""


def field_locator(prefix: str = "readings", names: Mapping[str, str] | None = None) -> Locate:
    """The usual :data:`Locate`: ``<prefix>[<row>].<field>``, fields renamed by ``names``."""
    renames = names or {}

    def locate(row: int, name: str) -> str:
        where = f"{prefix}[{row}]"
        if not name:
            return where
        return f"{where}.{_loc(tuple(name.split('.')), renames)}"

    return locate


STRING_FIELDS: Final = ("meter", "ts", "unit", "quality")
"""Reading fields that must be JSON strings (``ts`` too: an epoch number is refused)."""


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def json_type_errors(raw: Mapping[str, object]) -> list[tuple[str, str]]:
    """The fields of one decoded JSON reading whose JSON type is wrong, as ``(field, reason)``.

    ``value`` must be a JSON number (int or float; not a boolean, not a string), ``meter``,
    ``ts``, ``unit`` and ``quality`` must be strings, and ``ts`` must start as an ISO 8601
    date (not ``"0"``, which the schema would read as Unix time). Missing fields are left to
    the schema.

    Why here and not pydantic's strict mode: rows arrive as decoded JSON (dicts), and strict
    validation of Python input wants a ``datetime`` for ``ts`` and a ``ReadingQuality`` for
    ``quality``, so it would refuse every valid row; strict JSON validation would mean encoding
    each row again. A few ``isinstance`` checks on the dict cost far less than the schema.
    """
    errors: list[tuple[str, str]] = []
    value = raw.get("value", _MISSING)
    if value is not _MISSING and (isinstance(value, bool) or not isinstance(value, int | float)):
        errors.append(("value", f"must be a number, not {_json_type(value)}"))
    for name in STRING_FIELDS:
        v = raw.get(name, _MISSING)
        if isinstance(v, _NotBoolean):
            errors.append((name, f"must be true or false, not {_json_type(v.value)}"))
        elif v is not _MISSING and not isinstance(v, str):
            errors.append((name, f"must be a string, not {_json_type(v)}"))
    ts = raw.get("ts")
    if isinstance(ts, str) and _ISO_DATE.match(ts) is None:
        errors.append(("ts", TIME))
    return errors


def check_readings(
    rows: Sequence[object],
    directory: Directory,
    *,
    company: str | None,
    now: datetime,
    max_skew_s: float,
    prefix: str = "readings",
    names: Mapping[str, str] | None = None,
    locate: Locate | None = None,
) -> CheckedReadings:
    """Validate raw reading rows against the schema and the registry.

    Long because: one check after another, in the order a client reads the errors; splitting
    them would scatter the row's context.

    Args:
        rows: Decoded JSON values, one per reading (objects with ``meter, ts, value, unit,
            quality``).
        directory: The registry.
        company: The pushing tenant; ``None`` for the operator, who may push for any meter.
        now: The current time (readings newer than ``now + max_skew_s`` are refused; the
            schema refuses instants outside its fixed window, see :class:`Reading`).
        max_skew_s: How far in the future a timestamp may be.
        prefix: Name of the rows' list in error fields (``readings`` -> ``readings[3].ts``).
        names: Renames our field names in errors (see :data:`OMF_FIELDS`).
        locate: Names each row's fields instead of ``prefix`` and ``names`` (rows mapped from
            another shape, e.g. OMF values: ``[2].values[5].Pressure``).

    Returns:
        The valid readings by stream and one error per bad field; a row with an error never
        appears among the valid readings.
    """
    at = locate or field_locator(prefix, names)
    latest = now + timedelta(seconds=max_skew_s)
    out = CheckedReadings()
    for i, raw in enumerate(rows):
        if raw is UNMAPPED:
            continue
        error = partial(_add_error, out.errors, i, raw)
        typed = json_type_errors(raw) if isinstance(raw, dict) else []
        for name, reason in typed:
            error(at(i, name), reason)
        try:
            reading = Reading.model_validate(raw)
        except ValidationError as e:
            bad = {name for name, _ in typed}
            for err in e.errors(include_url=False):
                if err["loc"] and err["loc"][0] in bad:
                    continue  # already named with its JSON type
                error(at(i, ".".join(str(p) for p in err["loc"])), reason_of(err))
            continue
        if typed:
            continue
        meter_field = at(i, "meter")
        ref = directory.meter(reading.meter)
        # one answer for an unknown meter and another company's: ids of others stay unknown
        if ref is None or (company is not None and ref.company != company):
            what = "one of the caller's registered meters" if company else "a registered meter"
            error(meter_field, f"{reading.meter!r} is not {what}")
            continue
        if reading.ts > latest:
            error(
                at(i, "ts"),
                f"{reading.ts.isoformat()} is more than {max_skew_s:.0f} s in the future",
            )
            continue
        stream = ref.stream
        if reading.value < 0 and not stream.allows_negative:
            error(
                at(i, "value"),
                f"a surplus rate cannot be negative (stream {stream.id!r}), got {reading.value:g}",
            )
            continue
        if reading.unit != stream.unit:
            try:
                factor(
                    reading.unit, stream.unit, field=f"meter {reading.meter!r}",
                    kind=stream.kind, gas_species=stream.gas_species,
                    density_kg_per_m3=stream.density_kg_per_m3,
                )  # fmt: skip
            except UnitError as e:
                error(at(i, "unit"), str(e))
                continue
        out.by_stream.setdefault(stream.id, []).append(reading)
        out.site_of[stream.id] = ref.site.id
    return out


def omf_rows(
    items: Sequence[object], directory: Directory, site_id: str
) -> tuple[list[object], list[RowError]]:
    """Map OMF-style values of one site onto reading rows.

    Each item is an object with ``tag`` (looked up in the site's ``tag_map``) or ``meter``,
    ``timestamp``, ``value``, optional ``units`` (default: the stream's unit) and optional
    ``good`` (default true; false maps to quality ``bad``).

    Returns:
        One row per item (:data:`UNMAPPED` where the item could not be mapped) and the
        mapping errors, fields named as the client sent them (``[3].tag``).
    """
    rows: list[object] = []
    errors: list[RowError] = []
    allowed = {"tag", "meter", "timestamp", "value", "units", "good"}
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            errors.append(RowError(i, f"[{i}]", "must be an object", payload=item))
            rows.append(UNMAPPED)
            continue
        unknown = sorted(set(item) - allowed)
        if unknown:
            errors.append(RowError(i, f"[{i}].{unknown[0]}", "unknown field", payload=item))
            rows.append(UNMAPPED)
            continue
        tag, meter = item.get("tag"), item.get("meter")
        if (tag is None) == (meter is None):
            errors.append(RowError(i, f"[{i}].tag", "give exactly one of tag, meter", payload=item))
            rows.append(UNMAPPED)
            continue
        if tag is not None:
            meter = directory.tag(site_id, str(tag))
            if meter is None:
                errors.append(
                    RowError(
                        i, f"[{i}].tag", f"{tag!r} is not in the tag map of site {site_id!r}",
                        payload=item,
                    )
                )  # fmt: skip
                rows.append(UNMAPPED)
                continue
        units = item.get("units")
        if units is None and isinstance(meter, str):
            ref = directory.meter(meter)
            units = ref.stream.unit if ref is not None else None
        good = item.get("good", True)
        quality: object = _NotBoolean(good)  # refused with the row's other errors
        if isinstance(good, bool):
            quality = ReadingQuality.GOOD if good else ReadingQuality.BAD
        rows.append(
            {"meter": meter, "ts": item.get("timestamp"), "value": item.get("value"),
             "unit": units, "quality": quality}
        )  # fmt: skip
    return rows, errors
