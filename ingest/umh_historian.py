"""United Manufacturing Hub ``_historian`` messages -> reading rows, for the MQTT bridge. Pure.

UMH's data model (umh.docs.umh.app, "Data Model (v1)" > "Messages" > "_historian"; and
umh-core's "Topic Convention" and "Payload Formats"): topics are
``umh/v1/<enterprise>/<site>/<area>/<productionLine>/<workCell>/<originID>/_historian
[/<tagGroup>...][/<tagName>]``, every level after the enterprise optional; the first level that
starts with ``_`` is the schema (UMH Core's ``_raw`` and data models ``_<model>_v<N>`` carry
the same time series as ``_historian``). A ``_historian`` payload is a JSON object with
``timestamp_ms`` (Unix milliseconds) and one or more tags: scalar fields (``{"timestamp_ms":
..., "flow": 12.5, "pressure": 5}``), nested objects as tag groups, or one tag per topic
(UMH Core's ``{"timestamp_ms": ..., "value": 12.5}``, or benthos-umh's ``tag_processor``
naming the field as the topic's last level), the tag named by the topic; benthos-umh's
``metadata`` object is no tag.

How it maps onto the park (docs/user-guide.md, "MQTT bridge"):

- the enterprise is the company id (the pushing tenant: the broker's ACL confines each company
  to ``umh/v1/<company>/#``), the site is the registry's site id; a site is required;
- each tag becomes one reading row. Its key is its path below the site: the location levels,
  ``_historian``, the tag groups of the topic and of the payload, and the field name
  (``utilities/boiler-1/_historian/steam/flow``); a top-level ``value`` field is the tag the
  topic names (UMH Core). The site's ``tag_map`` maps that key to a meter; a key not in it
  names the meter by its last element, as the park's own tree names it by the topic's last
  level;
- two keys of one company that name the same meter by their last element (two work cells'
  ``steam`` tags) do not both feed it: the first claims it, the other is refused until the
  ``tag_map`` says which is the meter (:mod:`ingest.meter_claims`);
- the unit is the meter's stream unit (UMH payloads carry none), the quality ``good``;
- every tag is a reading or a rejection with its reason, nothing is dropped silently:
  non-numeric tags (strings, booleans, null, arrays) and tags mapping to no meter are refused;
- ``timestamp_ms`` must be a number of milliseconds (or a string of one; a fraction is
  dropped, as UMH's historian does) from 2000-01-01 to the readings' latest instant (an
  earlier one is almost always seconds sent as milliseconds, as in UMH's own doc example);
  readings ahead of the clock are refused by the gateway, like every door's;
- other schemas (``_analytics``, ``_local``, names that are no data contract) carry no
  readings: the bridge acknowledges and ignores them (:attr:`HistorianMessage.ignored`), as it
  does an empty payload (MQTT's way to clear a retained message).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Final

import orjson

from domain.directory import Directory
from domain.intake import UNMAPPED, RowError
from ingest.meter_claims import MeterClaims
from schemas.readings import LATEST_READING_TS

PREFIX: Final = "umh/v1"
"""UMH's fixed topic prefix (its data model's version)."""

SCHEMA: Final = "_historian"
RAW: Final = "_raw"
"""UMH Core's default data contract (it replaced ``_historian``; same payload shapes)."""
_DATA_CONTRACT: Final = re.compile(r"_[a-z0-9][a-z0-9-]*_v[0-9]+")
"""UMH Core's data-model contracts (``_pump_v1``): time series, one tag per topic."""
_BOM: Final = b"\xef\xbb\xbf"

EARLIEST_MS: Final = 946_684_800_000
"""2000-01-01T00:00:00Z in ms: an earlier ``timestamp_ms`` is refused (seconds sent as ms)."""

LATEST_MS: Final = int(LATEST_READING_TS.timestamp()) * 1000

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_SCALE: Final = {"microseconds": 1_000, "nanoseconds": 1_000_000}
_TOPIC_SHAPE: Final = f"topic must be {PREFIX}/<company>/<site>/.../{SCHEMA}/... (or {RAW})"
_NOT_TAGS: Final = ("timestamp_ms", "metadata")
"""Top-level payload fields that are no tag: the time, and benthos-umh's ``metadata`` object."""
_DIGITS: Final = re.compile(r"[0-9]{1,20}(\.[0-9]{0,9})?")


@dataclass
class HistorianMessage:
    """One UMH message as reading rows (see the module docstring).

    Attributes:
        company: The enterprise level of the topic (the pushing tenant); empty when missing.
        rows: One row per tag in our reading shape with ``_site`` (the topic's site), or
            :data:`~domain.intake.UNMAPPED` with its error in ``errors``.
        errors: Why rows were refused (row numbers are positions in ``rows``).
        labels: Per row, the tag's JSON path in the payload (``steam.flow``); empty for a
            message refused whole.
        ignored: Another UMH schema than ``_historian``: no rows, nothing to reject.
    """

    company: str
    rows: list[object] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    ignored: bool = False

    def refuse(self, where: str, reason: str, payload: object) -> HistorianMessage:
        """This message refused whole: one unmapped row with ``reason``."""
        self.rows, self.labels = [UNMAPPED], [""]
        self.errors = [RowError(0, where, reason, payload=payload)]
        return self


def is_umh_topic(topic: str) -> bool:
    """Whether ``topic`` is in UMH's namespace (``umh/v1/...``)."""
    return topic.startswith(PREFIX + "/")


def _text(payload: bytes) -> str:
    return payload[:4096].decode("utf-8", "replace")


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return type(value).__name__


def timestamp(raw: object) -> tuple[str | None, str]:
    """``timestamp_ms`` as an ISO-8601 UTC instant, or ``None`` and why it is refused.

    A number, or a string of one (UMH's consumers take both); a fraction of a millisecond is
    dropped (``time.time() * 1000`` from Python), as UMH's historian does.
    """
    if isinstance(raw, str) and _DIGITS.fullmatch(raw.strip()):
        raw = int(raw.strip().split(".")[0])  # the fraction dropped, never rounded up
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None, f"must be a number of milliseconds, not {_json_type(raw)}"
    if isinstance(raw, float) and not math.isfinite(raw):
        return None, f"must be a number of milliseconds, got {raw!r}"
    ms = math.floor(raw)
    if ms > LATEST_MS:
        scale = next((s for s in ("microseconds", "nanoseconds")
                      if EARLIEST_MS <= ms // _SCALE[s] <= LATEST_MS), None)  # fmt: skip
        hint = f" ({scale} instead of milliseconds?)" if scale else ""
        return None, f"{ms} is after {LATEST_READING_TS.isoformat()}{hint}"
    if ms < EARLIEST_MS:
        hint = " (seconds instead of milliseconds?)" if ms >= EARLIEST_MS // 1000 else ""
        when = (_EPOCH + timedelta(milliseconds=ms)).isoformat() if ms >= 0 else "before 1970"
        return None, f"{ms} is {when}, before 2000-01-01{hint}"
    return (_EPOCH + timedelta(milliseconds=ms)).isoformat(), ""


MAX_TAG_DEPTH: Final = 16
"""Tag groups nest at most this deep (UMH's asset paths are a few levels): a deeper object is
one leaf, refused as not a number, instead of a recursion as deep as the payload."""


def _tags(
    data: dict[str, object], path: tuple[str, ...] = ()
) -> Iterator[tuple[tuple[str, ...], object]]:
    """``(json path, value)`` of every leaf of a payload; nested objects are tag groups."""
    for key, value in data.items():
        if not path and key in _NOT_TAGS:
            continue
        if isinstance(value, dict) and len(path) < MAX_TAG_DEPTH:
            yield from _tags(value, (*path, key))
        else:
            yield (*path, key), value


def is_time_series(schema: str) -> bool:
    """Whether a UMH data contract carries readings: ``_historian``, ``_raw``, ``_<model>_v<N>``."""
    return schema in (SCHEMA, RAW) or _DATA_CONTRACT.fullmatch(schema) is not None


def parse_historian(
    topic: str, payload: bytes, directory: Directory, claims: MeterClaims | None = None
) -> HistorianMessage:
    """One MQTT message on a ``umh/v1/...`` topic as reading rows; see the module docstring.

    Args:
        topic: ``umh/v1/<company>/<site>/[<levels>/]_historian[/<groups>/][<tag>]``.
        payload: ``{"timestamp_ms": <int>, "<tag>": <number>, ...}``; an empty payload (how
            MQTT clears a retained message) is ignored.
        directory: The registry, for the site's ``tag_map`` and the meters' units (the
            caller holds its lock). Whether the meter is the company's and at the site is
            checked later, as for every MQTT row.
        claims: Which tag path named each meter by its last element (across messages): a
            second path naming the same meter is refused (:mod:`ingest.meter_claims`).
    """
    levels = topic.split("/")[2:]
    schema_at = next((i for i, level in enumerate(levels) if level.startswith("_")), None)
    out = HistorianMessage(levels[0] if levels and schema_at != 0 else "")
    if not payload.strip():
        out.ignored = True  # a retained message cleared
        return out
    if not all(levels) or schema_at is None or schema_at < 2:
        return out.refuse(topic, _TOPIC_SHAPE, _text(payload))
    schema = levels[schema_at]
    if not is_time_series(schema):
        out.ignored = True
        return out
    try:
        data = orjson.loads(payload.removeprefix(_BOM))
    except orjson.JSONDecodeError as e:
        return out.refuse(topic, f"payload is not JSON{_nan_hint(payload)}: {e}", _text(payload))
    if not isinstance(data, dict) or "timestamp_ms" not in data:
        reason = 'must be a JSON object with "timestamp_ms" and one or more tags'
        return out.refuse(topic, reason, _text(payload))
    ts, why = timestamp(data["timestamp_ms"])
    if ts is None:
        return out.refuse(f"{topic}.timestamp_ms", why, _text(payload))
    tags = list(_tags(data))
    if not tags:
        return out.refuse(topic, "holds no tag besides timestamp_ms", _text(payload))
    site, below_site, groups = levels[1], levels[2:schema_at], levels[schema_at + 1 :]
    for i, (path, value) in enumerate(tags):
        label = ".".join(path)
        out.labels.append(label)
        names = groups if _names_the_topic(path, groups, len(tags)) else [*groups, *path]
        key = "/".join([*below_site, schema, *names])
        reason, row = _row(directory, out.company, site, key, ts, value, claims)
        if row is None:
            raw = {"timestamp_ms": data["timestamp_ms"], label: value}
            out.errors.append(RowError(i, f"{topic}.{label}", reason, payload=raw))
        out.rows.append(UNMAPPED if row is None else row)
    return out


def _names_the_topic(path: tuple[str, ...], groups: list[str], tags: int) -> bool:
    """Whether a payload field is the tag the topic already names.

    UMH Core's ``value``, or the one field of a payload named as the topic's last level
    (benthos-umh's ``tag_processor`` writes ``.../steam/flow`` with ``{"flow": ...}``; a tag
    group ``flow`` with a field ``flow`` among others stays ``flow/flow``).
    """
    if not groups or len(path) != 1:
        return False
    return path[0] == "value" or (tags == 1 and path[0] == groups[-1])


def _nan_hint(payload: bytes) -> str:
    """Why a payload a JSON library wrote may not be JSON: ``NaN``/``Infinity`` literals."""
    return (
        " (NaN and Infinity are not JSON numbers)"
        if b"NaN" in payload or b"Infinity" in payload
        else ""
    )


def _row(
    directory: Directory, company: str, site: str, key: str, ts: str, value: object,
    claims: MeterClaims | None,
) -> tuple[str, dict[str, object] | None]:  # fmt: skip
    """One tag's reading row (``_site`` included), or why it is refused."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"must be a number, not {_json_type(value)}", None
    found = directory.tagged_meter(site, key)
    if isinstance(found, str):
        return f"tag {found}", None
    meter, ref = found
    owner = directory.sites.get(site)
    if (
        claims is not None
        and owner is not None
        and owner.company == company
        and directory.tag(site, key) is None
    ):  # a site of the company's own: another's, or a made-up one, is refused later
        other = claims.claim(company, site, meter, key)
        if other is not None:
            return (
                f"tag {key!r} and tag {other!r} both end in meter {meter!r}; map the one that "
                f"is the meter in the tag_map of site {site!r}",
                None,
            )
    row: dict[str, object] = {
        "meter": meter,
        "ts": ts,
        "value": value,
        "unit": ref.stream.unit,
        "_site": site,
    }
    return "", row
