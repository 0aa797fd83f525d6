"""A stream that goes quiet is stale: it counts zero and its open alerts resolve (``stale``)."""

from __future__ import annotations

from array import array
from datetime import timedelta

import orjson

from domain.kpis import availability_by_kind
from domain.matching import Matcher
from schemas.alerts import ResolveReason
from streams.alert_state import AlertBook
from streams.ledger_state import LedgerBook
from streams.stage import ReadingsStage, StageOutput
from tests.helpers import T0
from tests.unit.test_readings_stage import PARK, Tables, record, run

STALE_AFTER_S = 60.0


def stage() -> ReadingsStage:
    book = LedgerBook(10.0, stale_after_s=STALE_AFTER_S)
    for site in PARK.sites:
        book.update_site(site)
    return ReadingsStage(book, AlertBook(Matcher.from_park(PARK), hysteresis=0.1))


def sweep(st: ReadingsStage, tables: Tables, clock: float, partitions: set[int] | None = None
          ) -> StageOutput:  # fmt: skip
    def clock_of(p: int) -> float | None:
        return clock if partitions is None or p in partitions else None

    out = st.sweep(list(tables.ledger.items()), clock_of, tables.alerts.get)
    tables.save(out)
    return out


def opened(st: ReadingsStage, tables: Tables) -> None:
    out = run(st, tables, [record("heat", 0, ("m1", 4.0, "MW"), ("m2", 4.0, "MW"), partition=2)])
    assert [a.event.value for a in out.alerts] == ["opened"]


NEWEST = T0.timestamp()  # the reading opened() sent


def test_a_quiet_stream_turns_stale_once_and_its_open_alert_resolves_with_reason_stale() -> None:
    st, tables = stage(), Tables()
    opened(st, tables)
    early = sweep(st, tables, NEWEST + STALE_AFTER_S - 1)
    assert not early.ledger
    assert not early.alerts
    assert not early.ledger_state
    out = sweep(st, tables, NEWEST + STALE_AFTER_S + 30)
    [entry] = out.ledger
    assert entry.stale
    assert entry.measured == entry.available == 0.0
    assert entry.samples == 0
    assert entry.updated_at == T0 + timedelta(seconds=STALE_AFTER_S)  # when it became stale
    [alert] = out.alerts
    assert alert.event.value == "resolved"
    assert alert.reason is ResolveReason.STALE
    assert alert.ts == entry.updated_at
    assert [(w.partition, w.key) for w in out.ledger_state] == [(2, b"heat")]
    assert [(w.partition, w.key) for w in out.alert_state] == [(2, b"heat")]
    again = sweep(st, tables, NEWEST + 10 * STALE_AFTER_S)
    assert not again.ledger
    assert not again.alerts
    assert not again.ledger_state


def test_a_sweep_repeated_after_a_crash_gives_the_same_entry_and_idempotency_keys() -> None:
    st, tables = stage(), Tables()
    opened(st, tables)
    before = Tables()
    before.ledger, before.alerts = dict(tables.ledger), dict(tables.alerts)
    first = sweep(st, tables, NEWEST + STALE_AFTER_S)
    # the state was never saved: a restarted worker sweeps from the tables as they were
    replay = sweep(stage(), before, NEWEST + STALE_AFTER_S + 45)
    assert replay.ledger == first.ledger
    assert [a.idempotency_key for a in replay.alerts] == [a.idempotency_key for a in first.alerts]


def test_a_replayed_batch_keeps_it_stale_and_a_newer_reading_brings_it_back() -> None:
    st, tables = stage(), Tables()
    opened(st, tables)
    sweep(st, tables, NEWEST + STALE_AFTER_S)
    old = run(st, tables, [record("heat", 0, ("m1", 4.0, "MW"), ("m2", 4.0, "MW"), partition=2)])
    [entry] = old.ledger
    assert entry.stale
    assert entry.available == 0.0
    assert not old.alerts
    back = run(st, tables, [record("heat", 90, ("m1", 4.0, "MW"), ("m2", 4.0, "MW"),
                                   partition=2)])  # fmt: skip
    [entry] = back.ledger
    assert not entry.stale
    assert entry.available == 8.0
    assert [a.event.value for a in back.alerts] == ["opened"]  # a new episode
    assert back.alerts[0].reason is None


def test_uncertain_readings_do_not_keep_a_stream_alive() -> None:
    st, tables = stage(), Tables()
    opened(st, tables)
    doubtful = record("heat", 50, ("m1", 4.0, "MW"), partition=2)
    body = orjson.loads(doubtful.value)
    body["readings"][0]["quality"] = "uncertain"
    run(st, tables, [doubtful.__class__(2, doubtful.source, orjson.dumps(body))])
    out = sweep(st, tables, NEWEST + STALE_AFTER_S)
    assert [e.stale for e in out.ledger] == [True]


def test_only_partitions_with_a_clock_are_swept() -> None:
    st, tables = stage(), Tables()
    opened(st, tables)  # heat, partition 2
    run(st, tables, [record("cool", 0, ("cool", 1.0, "kW"), partition=1)])
    out = sweep(st, tables, NEWEST + STALE_AFTER_S, partitions={1})
    assert [e.stream for e in out.ledger] == ["cool"]
    assert not out.alerts
    out = sweep(st, tables, NEWEST + STALE_AFTER_S, partitions={1, 2})
    assert [e.stream for e in out.ledger] == ["heat"]


def test_a_snapshot_written_before_staleness_existed_waits_for_its_partition() -> None:
    st, tables = stage(), Tables()
    opened(st, tables)
    # the JSON form of then: each meter's readings as pairs, no stale mark, partition, heard
    header, _, body = tables.ledger[b"heat"].partition(b"\0")
    state = orjson.loads(header)
    flat, meters = array("d", body), {}
    for meter, newest, count in state["m"]:
        meters[meter] = [newest, [flat[i : i + 2].tolist() for i in range(0, 2 * count, 2)]]
        flat = flat[2 * count :]
    tables.ledger[b"heat"] = orjson.dumps({"m": meters, "s": state["s"]})
    st = stage()  # a worker that never wrote it (an upgrade, a restart)
    assert not sweep(st, tables, NEWEST + STALE_AFTER_S).ledger  # which partition? not known
    run(st, tables, [record("heat", 1, ("m1", 4.0, "MW"), ("m2", 4.0, "MW"), partition=2)])
    out = sweep(st, tables, NEWEST + 1 + STALE_AFTER_S)
    assert [(e.stream, e.stale) for e in out.ledger] == [("heat", True)]
    assert [w.partition for w in out.ledger_state] == [2]


def test_a_bad_reading_does_not_bring_a_stale_stream_back() -> None:
    st, tables = stage(), Tables()
    opened(st, tables)
    sweep(st, tables, NEWEST + STALE_AFTER_S)
    bad = record("heat", 90, ("m1", 4.0, "MW"), partition=2)
    body = orjson.loads(bad.value)
    body["readings"][0]["quality"] = "bad"
    out = run(st, tables, [bad.__class__(2, bad.source, orjson.dumps(body))])
    [entry] = out.ledger
    assert entry.stale
    assert entry.measured == 0.0  # not m2's samples from before it went quiet
    assert not out.alerts


def test_the_entry_that_says_it_is_back_is_dated_after_the_stale_one() -> None:
    st, tables = stage(), Tables()
    opened(st, tables)
    [stale] = sweep(st, tables, NEWEST + STALE_AFTER_S).ledger
    # a reading held back by a gateway: newer than the last one counted, older than the
    # stale entry's date
    out = run(st, tables, [record("heat", 20, ("m1", 4.0, "MW"), ("m2", 4.0, "MW"),
                                  partition=2)])  # fmt: skip
    [back] = out.ledger
    assert not back.stale
    assert back.updated_at > stale.updated_at


def test_the_dashboard_counts_stale_streams_per_site_and_kind() -> None:
    st, tables = stage(), Tables()
    opened(st, tables)
    live = run(st, tables, [record("cool", 70, ("cool", 1.0, "kW"), partition=1)]).ledger
    stale = sweep(st, tables, NEWEST + STALE_AFTER_S, partitions={2}).ledger
    [row] = availability_by_kind([*live, *stale])
    assert (row.site, row.streams, row.stale) == ("plant", 2, 1)
    assert row.available == 0.001  # MW: the live stream's 1 kW only


def test_a_resolve_says_why_when_the_surplus_falls_short() -> None:
    st, tables = stage(), Tables()
    opened(st, tables)
    out = run(st, tables, [record("heat", 20, ("m1", 1.0, "MW"), ("m2", 1.0, "MW"),
                                  partition=2)])  # fmt: skip
    assert [(a.event.value, a.reason) for a in out.alerts] == [
        ("resolved", ResolveReason.INSUFFICIENT)
    ]
