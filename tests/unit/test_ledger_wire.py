"""The ledger topic's fast reader answers only with what the model would hold.

:func:`schemas.ledger_wire.wire_ledger_entry` may decline any record (the model then decides);
when it answers, :class:`~schemas.ledger.LedgerEntry` must accept the same bytes with the
same values. Checked on the entries the workers write, hand-written corners and generated
records (tricky values per field, keys left out, repeated or added, escapes).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.ledger import LedgerEntry
from schemas.ledger_wire import WireLedgerEntry, wire_ledger_entry
from tests.wire_fuzz import Raw, agrees, answered, escaped

_FIELDS = (
    "schema_version", "stream", "site", "kind", "unit", "window_s", "measured", "committed",
    "available", "steadiness", "samples", "available_since", "updated_at", "stale",
)  # fmt: skip


def _dump(pairs: list[tuple[str, Any]]) -> bytes:
    def one(v: Any) -> bytes:
        return v.text if isinstance(v, Raw) else orjson.dumps(v)

    return b"{" + b",".join(orjson.dumps(k) + b":" + one(v) for k, v in pairs) + b"}"


def _entry(**changes: Any) -> list[tuple[str, Any]]:
    base: dict[str, Any] = {
        "schema_version": 1, "stream": "st-1", "site": "plant-1", "kind": "heat",
        "unit": "MW", "window_s": 300.0, "measured": 12.5, "committed": 2.0,
        "available": 10.5, "steadiness": 0.93, "samples": 1200,
        "available_since": "2026-11-22T08:00:00Z", "updated_at": "2026-11-22T09:00:00.25Z",
        "stale": False,
    }  # fmt: skip
    base.update(changes)
    return list(base.items())


def _values(e: LedgerEntry | WireLedgerEntry) -> tuple[Any, ...]:
    def when(ts: datetime | None) -> Any:
        return None if ts is None else (ts.timestamp(), ts.utcoffset(), ts.replace(tzinfo=None))

    return tuple(
        when(v) if isinstance(v, datetime) or v is None else (v, type(v))
        for v in (getattr(e, f) for f in _FIELDS)
    )


def _agrees(raw: bytes) -> bool:
    return agrees(raw, wire_ledger_entry, LedgerEntry.model_validate_json, _values)


def test_it_answers_for_the_entries_the_workers_write() -> None:
    entry = LedgerEntry(
        stream="st-000000-0", site="site-000000", kind="steam", unit="t/h", window_s=300,
        measured=812.3, committed=0, available=812.3, steadiness=0.93, samples=1200,
        available_since=datetime(2026, 11, 22, 8, tzinfo=UTC),
        updated_at=datetime(2026, 11, 22, 9, 0, 0, 123456, tzinfo=UTC),
    )  # fmt: skip
    assert _agrees(entry.model_dump_json().encode())
    stale = entry.model_copy(update={"stale": True, "available_since": None})
    assert _agrees(stale.model_dump_json().encode())
    assert _agrees(_dump(_entry()))


_DECLINED = [
    _entry(stream="St-1"),
    _entry(site=" plant-1"),
    _entry(unit=" MW"),
    _entry(unit="ton"),
    _entry(kind="Heat"),
    _entry(window_s=0),
    _entry(window_s=Raw(b"1e400")),
    _entry(measured=Raw(b"1e400")),
    _entry(measured=Raw(b"-1e400")),
    _entry(committed=-1),
    _entry(steadiness=1.5),
    _entry(samples=-1),
    _entry(samples=1.0),
    _entry(stale=1),
    _entry(updated_at="2026-11-22T10:00:00+01:00"),  # the model converts it to UTC
    _entry(updated_at="2026-11-22T09:00:00"),
    _entry(updated_at="2026-11-22T09:00:00.1234567Z"),
    _entry(updated_at=Raw(b'"2026-11-22T09:00:00.123456\\u0037Z"')),
    _entry(available_since="2026-11-22T09:00:00.9999995Z"),
    [*_entry(), ("extra", 1)],
    _entry(schema_version=2),
]


@pytest.mark.parametrize("record", _DECLINED, ids=range(len(_DECLINED)))
def test_it_declines_what_it_cannot_be_sure_of(record: list[tuple[str, Any]]) -> None:
    assert wire_ledger_entry(_dump(record)) is None


_POOLS: dict[str, list[Any]] = {
    "schema_version": [1, 2, "1", Raw(b"1.0"), True],
    "stream": ["a", "A", " a", "a ", "a\n", "a--b", "ä", "a" * 64, "a" * 65, "", 1, None],
    "site": ["p", "P", "p ", "", "p_1", None],
    "kind": ["heat", "steam", "water", "material", "gas", "HEAT", "", None, 1],
    "unit": ["MW", " MW", "t/h", "m3/h", "Nm³/h", "ton", "x" * 33, "", "M\u0000W", 1],
    "window_s": [0, -1, 1e-300, Raw(b"1e400"), 300, "300", None],
    "measured": [0, -0.0, -5.5, 1e308, Raw(b"1e400"), Raw(b"-1e400"), "1", True, None],
    "committed": [0, -0.0, -1e-300, 1e12, Raw(b"1e400"), None],
    "available": [0, -1, 5, Raw(b"1e400"), None],
    "steadiness": [0, 1, 1.0000001, -0.0, 0.5, None],
    "samples": [0, -1, 1.0, 2**63 - 1, Raw(b"18446744073709551616"), "3", True, None],
    "available_since": [None, "2026-11-22T08:00:00Z", "2026-11-22T08:00:00+00:00",
                        "2026-11-22T08:00:00-00:00", "2026-11-22T09:00:00+01:00",
                        "2026-11-22T08:00:00", "0001-01-01T00:00:00+23:59", "x", 5],
    "updated_at": ["2026-11-22T09:00:00Z", "2026-11-22t09:00:00z", "2026-11-22 09:00:00Z",
                   "2026-11-22T09:00:00.1234567Z", "9999-12-31T23:59:59-23:59",
                   "2026-11-22T09:00:00+0000", "1700000000", 1_700_000_000, None],
    "stale": [False, True, 0, "false", None],
}  # fmt: skip


@st.composite
def _records(draw: st.DrawFn) -> bytes:
    pairs: list[tuple[str, Any]] = []
    for key, usual in _entry():
        value = draw(st.sampled_from(_POOLS[key])) if draw(st.integers(0, 7)) == 0 else usual
        pairs.append((key, value))
    how = draw(st.integers(0, 11))
    if how == 0:
        del pairs[draw(st.integers(0, len(pairs) - 1))]
    elif how == 1:
        key, _ = pairs[draw(st.integers(0, len(pairs) - 1))]
        pairs.append((key, draw(st.sampled_from(_POOLS[key]))))
    elif how == 2:
        pairs.append((draw(st.sampled_from(["extra", "Stream", "readings"])), 1))
    return escaped(draw, _dump(pairs))


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_records())
def test_when_it_answers_the_model_agrees(raw: bytes) -> None:
    _agrees(raw)


def test_the_generated_records_are_answered_often_enough_to_mean_something() -> None:
    """The property above proves nothing if the fast reader declined every generated record."""
    assert answered(_records(), _agrees) >= 30
