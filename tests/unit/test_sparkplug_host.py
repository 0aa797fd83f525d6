"""Sparkplug B host sessions: births, data, seq gaps, deaths, as readings; payloads are built by
a real Sparkplug B library (pysparkplug), never by hand. No services."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pysparkplug as spb
import pytest

from domain.directory import Directory
from domain.intake import UNMAPPED
from domain.ledger import MeterWindow
from ingest.gateway import ReadingGateway
from ingest.mqtt_bridge import MqttBridge, _Message
from ingest.sparkplug_host import (
    MAX_DEVICES_PER_NODE,
    REBIRTH,
    SparkplugHost,
    is_sparkplug_topic,
    state_payload,
    state_topic,
)
from runtime.settings import Settings
from schemas.readings import ReadingsRecord
from schemas.registry import Site, Stream
from schemas.rejections import Rejection
from tests.unit.test_umh_historian import FakeKafka, FakeRegistry

GAS = Stream(id="fuel-gas", kind="gas", unit="m^3/h", nominal=3000, gas_species="ch4",
             purity_pct=55, meters=["fuel-gas", "flare-gas"])  # fmt: skip
STEAM = Stream(id="steam", kind="steam", unit="t/h", nominal=20, temperature_c=180)
REFINERY = Site(id="refinery", name="R", company="refiner", lat=55.0, lon=11.0,
                streams=[GAS, STEAM], tag_map={"boiler-1/Steam/Flow": "steam"})  # fmt: skip
NODE = "spBv1.0/refiner/{kind}/refinery"
DEVICE = "spBv1.0/refiner/{kind}/refinery/boiler-1"


def now_ms(minutes_ago: float = 60) -> int:
    return int((datetime.now(UTC) - timedelta(minutes=minutes_ago)).timestamp() * 1000)


def directory() -> Directory:
    d = Directory()
    d.put_site(REFINERY)
    d.put_site(Site(id="refinery-2", name="R2", company="refiner", lat=55.0, lon=11.1))
    return d


class Clock:
    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


def metric(
    name: str | None, value: Any, *, alias: int | None = None,
    dtype: spb.DataType = spb.DataType.DOUBLE, ts: int | None = None,
) -> spb.Metric:  # fmt: skip
    when = ts if ts is not None else now_ms()
    return spb.Metric(timestamp=when, name=name, datatype=dtype, value=value, alias=alias)


BD_SEQ = metric("bdSeq", 7, dtype=spb.DataType.INT64)
BIRTH = spb.NBirth(
    timestamp=now_ms(),
    seq=0,
    metrics=(
        metric("area/fuel-gas", 2950.0, alias=1),
        metric("flare-gas", 12, alias=2, dtype=spb.DataType.INT16),
        metric("Node Control/Rebirth", False, alias=3, dtype=spb.DataType.BOOLEAN),
        BD_SEQ,
    ),
)


def data(seq: int, *metrics: spb.Metric) -> bytes:
    return spb.NData(timestamp=now_ms(), seq=seq, metrics=metrics).encode()


def rows(out: Any) -> list[tuple[str, float, str]]:
    return [
        (r["meter"], r["value"], r.get("quality", "good")) for r in out.rows if r is not UNMAPPED
    ]


@pytest.fixture
def host() -> tuple[SparkplugHost, Clock]:
    clock = Clock()
    return SparkplugHost(reorder_timeout_s=2.0, clock=clock), clock


def born(host: SparkplugHost) -> Any:
    return host.handle(NODE.format(kind="NBIRTH"), BIRTH.encode(include_dtypes=True), directory())


def test_a_birth_defines_the_metrics_and_its_values_are_readings(host: Any) -> None:
    h, _ = host
    out = born(h)
    assert out.company == "refiner"
    assert rows(out) == [("fuel-gas", 2950.0, "good"), ("flare-gas", 12.0, "good")]
    assert out.errors == []
    assert {r["_site"] for r in out.rows} == {"refinery"}
    assert {r["unit"] for r in out.rows} == {"m^3/h"}
    # data by alias alone: the names (and datatypes) come from the birth
    out = h.handle(NODE.format(kind="NDATA"),
                   data(1, metric(None, 3000.0, alias=1), metric(None, -5, alias=2,
                                                                  dtype=spb.DataType.INT16)),
                   directory())  # fmt: skip
    assert rows(out) == [("fuel-gas", 3000.0, "good"), ("flare-gas", -5.0, "good")]
    assert out.commands == []


def test_device_metrics_map_through_the_sites_tag_map(host: Any) -> None:
    h, _ = host
    born(h)
    birth = spb.DBirth(timestamp=now_ms(), seq=1, metrics=(metric("Steam/Flow", 4.5, alias=10),))
    out = h.handle(DEVICE.format(kind="DBIRTH"), birth.encode(include_dtypes=True), directory())
    assert rows(out) == [("steam", 4.5, "good")]
    ddata = spb.DData(timestamp=now_ms(), seq=2, metrics=(metric(None, 5.0, alias=10),)).encode()
    assert rows(h.handle(DEVICE.format(kind="DDATA"), ddata, directory())) == [
        ("steam", 5.0, "good")
    ]


def test_metrics_that_are_no_reading_are_refused_with_a_reason(host: Any) -> None:
    h, _ = host
    born(h)
    out = h.handle(NODE.format(kind="NDATA"), data(
        1, metric("note", "sensor 1 faulty", dtype=spb.DataType.STRING),
        metric("unknown-meter", 1.0), metric(None, 1.0, alias=99),
        metric("fuel-gas", 1.0, ts=1_000_000),
    ), directory())  # fmt: skip
    assert out.rows == [UNMAPPED] * 4
    reasons = [e.reason for e in out.errors]
    assert reasons[0] == "must be a number, not a string"
    assert "names no meter" in reasons[1]
    assert "alias 99 was not defined by the birth" in reasons[2]
    assert "before 2000-01-01" in reasons[3]
    assert out.labels == ["note", "unknown-meter", "alias 99", "fuel-gas"]


def test_a_seq_gap_past_the_reorder_timeout_asks_for_a_rebirth(host: Any) -> None:
    h, clock = host
    born(h)
    h.handle(NODE.format(kind="NDATA"), data(3, metric(None, 1.0, alias=1)), directory())
    assert h.due() == []
    clock.t += 1.0
    h.handle(NODE.format(kind="NDATA"), data(1, metric(None, 1.0, alias=1)), directory())
    clock.t += 1.5  # seq 2 is still missing after 2.5 s
    [(topic, payload)] = h.due()
    assert topic == "spBv1.0/refiner/NCMD/refinery"
    command = spb.NCmd.decode(payload)
    assert [(m.name, m.value) for m in command.metrics] == [(REBIRTH, True)]
    assert h.due() == []  # asked once


def test_a_reordered_message_within_the_timeout_is_no_gap(host: Any) -> None:
    h, clock = host
    born(h)
    for seq in (2, 1):
        h.handle(NODE.format(kind="NDATA"), data(seq, metric(None, 1.0, alias=1)), directory())
    clock.t += 10
    assert h.due() == []


def test_seq_wraps_after_255(host: Any) -> None:
    h, clock = host
    born(h)
    for seq in [*range(1, 256), 0, 1]:
        h.handle(NODE.format(kind="NDATA"), data(seq, metric(None, 1.0, alias=1)), directory())
    clock.t += 10
    assert h.due() == []


def test_data_from_a_node_never_seen_born_asks_for_a_rebirth_once(host: Any) -> None:
    h, clock = host
    out = h.handle(NODE.format(kind="NDATA"), data(5, metric(None, 1.0, alias=1)), directory())
    assert out.ignored
    assert [t for t, _ in out.commands] == ["spBv1.0/refiner/NCMD/refinery"]
    clock.t += 1
    again = h.handle(NODE.format(kind="NDATA"), data(6, metric(None, 1.0, alias=1)), directory())
    assert again.ignored
    assert again.commands == []


def test_a_death_with_the_births_bdseq_marks_the_nodes_meters_bad(host: Any) -> None:
    h, _ = host
    born(h)
    h.handle(NODE.format(kind="NDATA"), data(1, metric(None, 3100.0, alias=1)), directory())
    stale = spb.NDeath(
        timestamp=now_ms(), bd_seq_metric=metric("bdSeq", 6, dtype=spb.DataType.INT64)
    )
    assert h.handle(NODE.format(kind="NDEATH"), stale.encode(), directory()).ignored
    death = spb.NDeath(timestamp=now_ms(), bd_seq_metric=BD_SEQ)
    out = h.handle(NODE.format(kind="NDEATH"), death.encode(), directory())
    assert sorted(rows(out)) == [("flare-gas", 12.0, "bad"), ("fuel-gas", 3100.0, "bad")]
    ts = datetime.fromisoformat(str(out.rows[0]["ts"]))
    assert abs((datetime.now(UTC) - ts).total_seconds()) < 5, "the time the host learnt of it"
    # the session is over: data now waits for a birth
    after = h.handle(NODE.format(kind="NDATA"), data(2, metric(None, 1.0, alias=1)), directory())
    assert after.ignored


@pytest.mark.parametrize("refused", [-0.1, float("nan"), 1e13])
def test_a_death_after_a_refused_value_still_marks_the_meter_bad(host: Any, refused: float) -> None:
    h, _ = host
    born(h)
    h.handle(NODE.format(kind="NDATA"), data(1, metric(None, refused, alias=1)), directory())
    death = spb.NDeath(timestamp=now_ms(), bd_seq_metric=BD_SEQ)
    out = h.handle(NODE.format(kind="NDEATH"), death.encode(), directory())
    # intake refuses the value itself; the death carries 0 so that it reaches the ledger
    assert sorted(rows(out)) == [("flare-gas", 12.0, "bad"), ("fuel-gas", 0.0, "bad")]


def test_a_node_that_is_no_site_of_the_company_keeps_no_session(host: Any) -> None:
    """One tenant's namespace must not fill the shared bridge with sessions or commands."""
    h, _ = host
    for node in ("made-up-1", "made-up-2"):
        out = h.handle(f"spBv1.0/refiner/NBIRTH/{node}", BIRTH.encode(), directory())
        assert [e.reason for e in out.errors] == [
            f"edge node {node!r} is not a registered site of company 'refiner'"
        ]
        out = h.handle(f"spBv1.0/refiner/NDATA/{node}", data(1, metric(None, 1.0)), directory())
        assert out.commands == []
    other = h.handle("spBv1.0/pharma/NBIRTH/refinery", BIRTH.encode(), directory())
    assert "is not a registered site of company 'pharma'" in other.errors[0].reason
    assert h._nodes == {}
    assert h._rebirth_sent == {}


def test_a_node_has_a_bounded_number_of_devices(host: Any) -> None:
    h, _ = host
    born(h)
    for i in range(MAX_DEVICES_PER_NODE + 1):
        birth = spb.DBirth(timestamp=now_ms(), seq=(i + 1) % 256, metrics=())
        out = h.handle(f"spBv1.0/refiner/DBIRTH/refinery/d{i}", birth.encode(), directory())
    bound = f"an edge node has at most {MAX_DEVICES_PER_NODE} devices born at once"
    assert out.errors[0].reason == bound
    assert len(h._nodes["refiner", "refinery"].meters) == MAX_DEVICES_PER_NODE + 1  # + the node


def test_a_device_death_marks_only_that_devices_meters_bad(host: Any) -> None:
    h, _ = host
    born(h)
    birth = spb.DBirth(timestamp=now_ms(), seq=1, metrics=(metric("Steam/Flow", 4.5, alias=10),))
    h.handle(DEVICE.format(kind="DBIRTH"), birth.encode(include_dtypes=True), directory())
    death = spb.DDeath(timestamp=now_ms(), seq=2)
    out = h.handle(DEVICE.format(kind="DDEATH"), death.encode(), directory())
    assert rows(out) == [("steam", 4.5, "bad")]


@pytest.mark.parametrize(
    "topic",
    ["spBv1.0/refiner/NBIRTH", "spBv1.0/refiner/NFOO/refinery", "spBv1.0/refiner/DDATA/refinery",
     "spBv1.0/refiner/NDATA/refinery/boiler-1"],
)  # fmt: skip
def test_topics_outside_the_namespace_are_refused(host: Any, topic: str) -> None:
    h, _ = host
    out = h.handle(topic, BIRTH.encode(), directory())
    assert out.rows == [UNMAPPED]
    assert "topic must be spBv1.0/<company>/<type>/<site>" in out.errors[0].reason


def test_commands_and_host_state_are_ignored(host: Any) -> None:
    h, _ = host
    assert h.handle("spBv1.0/STATE/other-host", state_payload(True, 1), directory()).ignored
    assert h.handle("spBv1.0/refiner/NCMD/refinery", b"", directory()).ignored
    assert is_sparkplug_topic("spBv1.0/refiner/NDATA/refinery")
    assert not is_sparkplug_topic("spBv1.0x/refiner/NDATA/refinery")


def test_a_payload_that_is_not_protobuf_is_refused(host: Any) -> None:
    h, _ = host
    out = h.handle(NODE.format(kind="NDATA"), b"\xff\xff\xff", directory())
    assert out.rows == [UNMAPPED]
    assert "not a Sparkplug B payload" in out.errors[0].reason


def test_a_bad_reading_empties_the_meters_window() -> None:
    window = MeterWindow(600)
    t0 = datetime(2026, 11, 22, 10, tzinfo=UTC)
    window.add(t0, 10.0)
    assert not window.stop(t0), "not newer: ignored like a replay"
    assert window.stop(t0 + timedelta(seconds=1))
    assert (window.count, window.measured) == (0, 0.0)
    assert not window.add(t0, 10.0), "older readings stay ignored"
    assert window.add(t0 + timedelta(seconds=2), 7.0)
    assert window.measured == 7.0


# --- the bridge: Sparkplug beside the park's tree, through the same gateway -------------------


class FakeBroker:
    def __init__(self) -> None:
        self.acked: list[int] = []
        self.published: list[tuple[str, bytes, int]] = []

    def ack(self, mid: int, qos: int) -> None:
        self.acked.append(mid)

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        self.published.append((topic, payload, qos))


@pytest.fixture
def bridge(monkeypatch: pytest.MonkeyPatch) -> tuple[MqttBridge, FakeKafka]:
    kafka = FakeKafka()
    registry = FakeRegistry()
    registry.directory = directory()
    settings = Settings(mqtt_host="mqtt.example.internal", sparkplug_host_id="park-host")
    gateway = ReadingGateway(settings, kafka, registry)  # type: ignore[arg-type]
    b = MqttBridge(gateway, host="h", port=1883, root="park", client_id="b")
    assert b._state_topic == state_topic("park-host") == "spBv1.0/STATE/park-host"
    b._client = FakeBroker()  # type: ignore[assignment]
    monkeypatch.setattr(b, "_drop_session", lambda: None)
    return b, kafka


def test_the_bridge_forwards_sparkplug_readings_and_sends_rebirths(bridge: Any) -> None:
    b, kafka = bridge
    births = [(NODE.format(kind="NBIRTH"), BIRTH.encode(include_dtypes=True)),
              (NODE.format(kind="NDATA"), data(1, metric(None, 3000.0, alias=1))),
              ("spBv1.0/refiner/NDATA/elsewhere", data(4, metric("fuel-gas", 1.0))),
              ("spBv1.0/refiner/NDATA/refinery-2", data(4, metric("fuel-gas", 1.0)))]  # fmt: skip
    b._forward([_Message(t, p, mid, 0, 0) for mid, (t, p) in enumerate(births, start=1)])
    topics = b.gateway.settings.topics
    readings = [
        batch
        for t, _, v in kafka.sent
        if t == topics.readings
        for batch in ReadingsRecord.model_validate_json(v).batches
    ]
    got = sorted((r.meter, r.value) for batch in readings for r in batch.readings)
    assert got == [("flare-gas", 12.0), ("fuel-gas", 2950.0), ("fuel-gas", 3000.0)]
    # a registered site whose node this host never saw born is asked to rebirth; a node that
    # is no site of the company is refused, with no session kept and no command sent
    assert [(t, q) for t, _, q in b._client.published] == [("spBv1.0/refiner/NCMD/refinery-2", 0)]
    assert (b.stats.accepted, b.stats.ignored, b.stats.sparkplug_control) == (3, 0, 1)
    rejections = [
        Rejection.model_validate_json(v) for t, _, v in kafka.sent if t == topics.rejected
    ]
    assert [r.reason for r in rejections] == [
        "spBv1.0/refiner/NDATA/elsewhere: edge node 'elsewhere' is not a registered site of "
        "company 'refiner'"
    ]
    assert "elsewhere" not in str(b.sparkplug._nodes) + str(b.sparkplug._rebirth_sent)


def test_a_death_in_a_batch_that_failed_still_stops_the_meters(
    bridge: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The second pass over a failed batch reuses each message's first reading: a death ends
    the node's session, so reading it again would find no session and drop the death."""
    b, kafka = bridge
    b._forward_batch([_Message(NODE.format(kind="NBIRTH"), BIRTH.encode(include_dtypes=True),
                               1, 0, 0)])  # fmt: skip
    kafka.sent.clear()
    parse = b._parse

    def failing(m: _Message) -> Any:
        if m.topic == "park/refiner/refinery/boom":
            raise RuntimeError("a bug")
        return parse(m)

    monkeypatch.setattr(b, "_parse", failing)
    death = spb.NDeath(timestamp=now_ms(), bd_seq_metric=BD_SEQ)
    b._forward_batch([_Message(NODE.format(kind="NDEATH"), death.encode(), 2, 0, 0),
                      _Message("park/refiner/refinery/boom", b"{}", 3, 1, 0)])  # fmt: skip
    topics = b.gateway.settings.topics
    bad = sorted(
        r.meter
        for t, _, v in kafka.sent
        if t == topics.readings
        for batch in ReadingsRecord.model_validate_json(v).batches
        for r in batch.readings
        if r.quality == "bad"
    )
    assert bad == ["flare-gas", "fuel-gas"]


def test_data_of_a_device_never_born_asks_for_a_rebirth_and_keeps_no_state(host: Any) -> None:
    h, _ = host
    born(h)
    for i in range(3):
        out = h.handle(f"spBv1.0/refiner/DDATA/refinery/unborn-{i}",
                       data(i + 1, metric("steam", 1.0)), directory())  # fmt: skip
        assert out.ignored
        assert [t for t, _ in out.commands] == (["spBv1.0/refiner/NCMD/refinery"] if i == 0 else [])
    assert set(h._nodes["refiner", "refinery"].meters) == {None}


def test_data_of_a_device_refused_by_the_cap_asks_for_no_rebirth(
    host: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Its birth would be refused again: a rebirth request every 10 s, forever."""
    monkeypatch.setattr("ingest.sparkplug_host.MAX_DEVICES_PER_NODE", 2)
    h, clock = host
    born(h)
    for i in range(3):
        birth = spb.DBirth(timestamp=now_ms(), seq=i + 1, metrics=())
        h.handle(f"spBv1.0/refiner/DBIRTH/refinery/d{i}", birth.encode(), directory())
    clock.t += 60
    out = h.handle("spBv1.0/refiner/DDATA/refinery/d2", data(4, metric("steam", 1.0)), directory())
    assert out.ignored
    assert out.commands == []
