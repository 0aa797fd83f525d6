"""The stream worker's batch stage: an entry and a decision per record, a state write per stream
and batch."""

from __future__ import annotations

from datetime import timedelta

import orjson

from domain.matching import Matcher
from schemas.registry import Need, Park, Site, Stream
from streams.alert_state import AlertBook
from streams.ledger_state import LedgerBook
from streams.stage import Incoming, ReadingsStage, StageOutput
from tests.helpers import T0

PARK = Park(
    park="p",
    sites=[
        Site(id="plant", name="Plant", company="a", lat=55.0, lon=11.0, streams=[
            Stream(id="heat", kind="heat", unit="MW", nominal=10, temperature_c=90,
                   meters=["m1", "m2"]),
            Stream(id="cool", kind="heat", unit="kW", nominal=10, temperature_c=90),
        ]),
        Site(id="farm", name="Farm", company="b", lat=55.01, lon=11.0),
    ],
    needs=[Need(id="farm-heat", site="farm", kind="heat", unit="kW", min_quantity=5_000,
                min_temperature_c=60)],
)  # fmt: skip


class Tables:
    """The worker's two tables as plain dicts, written as the glue writes them."""

    def __init__(self) -> None:
        self.ledger: dict[bytes, bytes] = {}
        self.alerts: dict[bytes, bytes] = {}

    def save(self, out: StageOutput) -> None:
        for w in out.ledger_state:
            self.ledger[w.key] = w.value
        for w in out.alert_state:
            self.alerts[w.key] = w.value


def stage() -> ReadingsStage:
    matcher = Matcher.from_park(PARK)
    book = LedgerBook(10.0)
    for site in PARK.sites:
        book.update_site(site)
    return ReadingsStage(book, AlertBook(matcher, hysteresis=0.1))


def record(stream: str, s: int, *values: tuple[str, float, str], partition: int = 0) -> Incoming:
    readings = [
        {"meter": m, "ts": (T0 + timedelta(seconds=s)).isoformat(), "value": v, "unit": u}
        for m, v, u in values
    ]
    body = {"schema_version": 1, "batch_id": f"b-{stream}-{s}", "stream": stream,
            "readings": readings}  # fmt: skip
    return Incoming(partition, f"readings/{partition}/{s}", orjson.dumps(body))


def run(st: ReadingsStage, tables: Tables, records: list[Incoming]) -> StageOutput:
    out = st.process(records, tables.ledger.get, tables.alerts.get)
    tables.save(out)
    return out


def test_each_record_gets_its_entry_and_decision_and_each_stream_one_write_per_batch() -> None:
    st, tables = stage(), Tables()
    out = run(st, tables, [
        record("heat", 0, ("m1", 3.0, "MW"), ("m2", 3.0, "MW"), partition=2),
        record("heat", 1, ("m1", 4.0, "MW"), ("m2", 4000.0, "kW"), partition=2),
        record("cool", 1, ("cool", 1.0, "kW"), partition=1),
    ])  # fmt: skip
    assert [e.stream for e in out.ledger] == ["heat", "heat", "cool"]
    assert [e.measured for e in out.ledger[:2]] == [6.0, 7.0]  # means 3 + 3, then 3.5 + 3.5
    assert out.readings == 5
    assert [(w.partition, w.key) for w in out.ledger_state] == [(2, b"heat"), (1, b"cool")]
    assert [(a.event.value, a.stream) for a in out.alerts] == [("opened", "heat")]
    assert {w.key for w in out.alert_state} == {b"heat", b"cool"}  # first lifecycle of each
    assert not out.refused


def test_a_backlog_in_one_batch_gives_the_lifecycle_of_one_record_at_a_time() -> None:
    values = [8.0, 8.0, 1.0, 1.0, 8.0]  # surplus for the 5 MW need, gone, back
    # 20 s apart, beyond the 10 s window: each entry is what its record measured
    records = [
        record("heat", 20 * i, ("m1", v, "MW"), ("m2", 0.0, "MW")) for i, v in enumerate(values)
    ]
    one_by_one, tables = stage(), Tables()
    alone = [a for r in records for a in run(one_by_one, tables, [r]).alerts]
    batched = run(stage(), Tables(), records).alerts
    assert [a.event.value for a in batched] == ["opened", "resolved", "opened"]
    assert [a.idempotency_key for a in batched] == [a.idempotency_key for a in alone]


def test_a_bad_record_is_refused_with_its_source_and_the_others_still_count() -> None:
    st, tables = stage(), Tables()
    bad_unit = record("heat", 1, ("m1", 3.0, "t/h"))  # a mass rate for a heat stream
    out = run(st, tables, [
        Incoming(0, "readings/0/7", b"{not json"),
        record("nowhere", 1, ("x", 1.0, "MW")),
        record("heat", 0, ("m1", 6.0, "MW")),
        bad_unit,
        record("heat", 2, ("m1", 7.0, "MW")),
    ])  # fmt: skip
    assert [r.source for r in out.refused] == ["readings/0/7", "readings/0/1", bad_unit.source]
    assert "not a registered stream" in out.refused[1].reason
    assert not any(r.internal for r in out.refused)
    assert [e.stream for e in out.ledger] == ["heat", "heat"]
    assert out.ledger[-1].measured == 6.5  # the refused batch left no trace in the window
    assert out.readings == 2


def test_an_unchanged_lifecycle_is_not_written_again() -> None:
    st, tables = stage(), Tables()
    first = run(st, tables, [record("cool", 0, ("cool", 1.0, "kW"))])
    assert [w.key for w in first.alert_state] == [b"cool"]
    again = run(st, tables, [record("cool", 1, ("cool", 1.5, "kW"))])
    assert again.ledger
    assert not again.alert_state  # no need fits: nothing changed


def test_a_replayed_batch_gives_the_same_entries_and_idempotency_keys() -> None:
    batch = [record("heat", 0, ("m1", 6.0, "MW"), ("m2", 1.0, "MW"))]
    st, tables = stage(), Tables()
    before_ledger, before_alerts = dict(tables.ledger), dict(tables.alerts)
    first = run(st, tables, batch)
    # a crash after the outputs, before the state was saved: a fresh worker replays the batch
    replay = stage().process(batch, before_ledger.get, before_alerts.get)
    assert replay.ledger == first.ledger
    assert [a.idempotency_key for a in replay.alerts] == [a.idempotency_key for a in first.alerts]
    # saved state: the same batch again changes nothing and opens nothing new
    again = run(st, tables, batch)
    assert again.ledger == first.ledger
    assert again.alerts == []


def site_record(s: int, streams: dict[str, list[tuple[str, float, str]]], offset: int) -> Incoming:
    """One push of site ``plant`` at second ``s``: a stream batch per stream, one record."""
    ts = (T0 + timedelta(seconds=s)).isoformat()
    batches = [
        {"batch_id": f"p-{s}-{i}", "stream": stream,
         "readings": [{"meter": m, "ts": ts, "value": v, "unit": u} for m, v, u in values]}
        for i, (stream, values) in enumerate(streams.items())
    ]  # fmt: skip
    body = {"schema_version": 2, "site": "plant", "batches": batches}
    return Incoming(3, f"readings/3/{offset}", orjson.dumps(body))


def test_a_site_push_counts_as_its_stream_batches_would_alone() -> None:
    pushes = [
        {"heat": [("m1", 3.0, "MW"), ("m2", 3.0, "MW")], "cool": [("cool", 1.0, "kW")]},
        {"heat": [("m1", 4.0, "MW"), ("m2", 4.0, "MW")], "cool": [("cool", 2.0, "kW")]},
    ]
    together = run(stage(), Tables(), [site_record(s, p, s) for s, p in enumerate(pushes)])
    alone = run(stage(), Tables(), [
        record(stream, s, *values, partition=3) for s, p in enumerate(pushes)
        for stream, values in p.items()
    ])  # fmt: skip
    assert together.ledger == alone.ledger
    assert [a.idempotency_key for a in together.alerts] == [a.idempotency_key for a in alone.alerts]
    assert together.readings == alone.readings == 6
    assert [(w.partition, w.key) for w in together.ledger_state] == [(3, b"heat"), (3, b"cool")]
    assert not together.refused


def test_a_bad_stream_batch_of_a_push_is_refused_alone_with_its_own_payload() -> None:
    push = site_record(0, {
        "heat": [("m1", 6.0, "MW")], "nowhere": [("x", 1.0, "MW")], "cool": [("cool", 1.0, "t/h")],
    }, offset=9)  # fmt: skip
    out = run(stage(), Tables(), [push])
    assert [r.source for r in out.refused] == [
        "readings/3/9 batch 1 (nowhere)",
        "readings/3/9 batch 2 (cool)",
    ]
    assert orjson.loads(out.refused[0].payload or b"")["stream"] == "nowhere"
    assert [e.stream for e in out.ledger] == ["heat"]
    assert out.readings == 1


def test_an_invalid_push_is_refused_whole_naming_the_field() -> None:
    body = orjson.loads(site_record(0, {"heat": [("m1", 6.0, "MW")]}, offset=4).value)
    body["batches"][0]["readings"][0]["value"] = 1e13  # beyond MAX_ABS_VALUE
    out = run(stage(), Tables(), [Incoming(3, "readings/3/4", orjson.dumps(body))])
    assert [r.source for r in out.refused] == ["readings/3/4"]
    # one line in plain words, located under the record's own fields (no union tag, no
    # pydantic input echo or link)
    assert out.refused[0].reason == "batches[0].readings[0].value: must be at most 1000000000000"
    assert not out.ledger


def test_a_damaged_ledger_state_is_reported_and_the_stream_goes_on_from_a_fresh_window() -> None:
    st, tables = stage(), Tables()
    tables.ledger[b"heat"] = b'{"m": [["m1", 1e300, 0]], "s": null}\x00'  # damaged: refused
    out = run(st, tables, [record("heat", 0, ("m1", 3.0, "MW"), ("m2", 3.0, "MW"))])
    assert [e.measured for e in out.ledger] == [6.0]  # counted, as for a new stream
    assert [(r.source, r.internal) for r in out.refused] == [("ledger state of heat", True)]
    assert out.refused[0].reason.startswith("damaged ledger state, the stream's windows start")
    assert out.refused[0].payload == b'{"m": [["m1", 1e300, 0]], "s": null}\x00'
    assert [w.key for w in out.ledger_state] == [b"heat"]  # healed: a snapshot replaces it
    again = run(st, tables, [record("heat", 1, ("m1", 4.0, "MW"), ("m2", 4.0, "MW"))])
    assert not again.refused
    assert [e.measured for e in again.ledger] == [7.0]


def test_a_damaged_ledger_state_met_by_the_sweep_is_reported_once() -> None:
    st = stage()
    items = [(b"heat", b"\xff not a snapshot")]
    first = st.sweep(items, lambda partition: 1e12, {}.get)
    second = st.sweep(items, lambda partition: 1e12, {}.get)
    assert [r.source for r in first.refused] == ["ledger state of heat"]
    assert not second.refused
    assert not first.ledger
    assert not second.ledger


def test_a_damaged_alert_state_is_reported_and_the_lifecycles_start_afresh() -> None:
    st, tables = stage(), Tables()
    tables.alerts[b"heat"] = b'{"farm-heat": [0, 7, 0, 0]}'  # an alert id that is no id
    out = run(st, tables, [record("heat", 0, ("m1", 3.0, "MW"), ("m2", 3.0, "MW"))])
    assert [(a.event.value, a.need) for a in out.alerts] == [("opened", "farm-heat")]
    assert [(r.source, r.internal) for r in out.refused] == [("alert state of heat", True)]
    assert "alert id 7" in out.refused[0].reason
    assert tables.alerts[b"heat"] != b'{"farm-heat": [0, 7, 0, 0]}'  # replaced
    again = run(st, tables, [record("heat", 1, ("m1", 4.0, "MW"), ("m2", 4.0, "MW"))])
    assert not again.refused


def test_a_partly_damaged_alert_state_keeps_the_open_alerts_that_read() -> None:
    st, tables = stage(), Tables()
    opened = run(st, tables, [record("heat", 0, ("m1", 3.0, "MW"), ("m2", 3.0, "MW"))]).alerts
    state = orjson.loads(tables.alerts[b"heat"])
    state["gone"] = [0, None, -1, 0]  # a pair that does not read
    tables.alerts[b"heat"] = orjson.dumps(state)
    out = run(stage(), tables, [record("heat", 1, ("m1", 3.1, "MW"), ("m2", 3.0, "MW"))])
    assert [r.source for r in out.refused] == ["alert state of heat"]
    assert "'gone'" in out.refused[0].reason
    assert [a.event.value for a in opened] == ["opened"]
    assert not [a for a in out.alerts if a.event.value == "opened"]  # the open one goes on


def test_a_damaged_alert_state_is_not_reported_while_its_entry_fails() -> None:
    matcher = Matcher()  # knows no stream: every decision raises
    book = LedgerBook(10.0)
    for site in PARK.sites:
        book.update_site(site)
    st, tables = ReadingsStage(book, AlertBook(matcher, hysteresis=0.1)), Tables()
    tables.alerts[b"heat"] = b"{broken"
    out = run(st, tables, [record("heat", 0, ("m1", 3.0, "MW"), ("m2", 3.0, "MW"))])
    assert [r.source for r in out.refused] == ["ledger entry of heat"]


def test_a_damaged_ledger_state_met_by_the_sweep_says_when_the_stream_starts_afresh() -> None:
    st, tables = stage(), Tables()
    tables.ledger[b"heat"] = b"\xff not a snapshot"
    swept = st.sweep(list(tables.ledger.items()), lambda partition: 1e12, {}.get)
    assert swept.refused[0].reason.startswith(
        "damaged ledger state, the stream's windows start afresh at its next batch"
    )
    out = run(st, tables, [record("heat", 0, ("m1", 3.0, "MW"), ("m2", 3.0, "MW"))])
    assert not out.refused  # reported once, by the sweep
    assert [e.measured for e in out.ledger] == [6.0]
