"""Sparkplug B as real edge nodes send it (Eclipse Tahu, Ignition MQTT Transmission): quality
and unit properties, templates (UDTs), historical and transient values, device deaths, lost
messages and the host's own STATE. No services.

pysparkplug 0.6.1 writes no property sets or templates, so these payloads are built with the
product's protobuf schema (``ingest/sparkplug_b.proto``, the specification's field numbers and
wire-compatible with Tahu's ``sparkplug_b.proto``), shaped as Tahu's ``example.py`` builds them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.directory import Directory
from domain.intake import UNMAPPED
from ingest.gateway import ReadingGateway
from ingest.mqtt_bridge import MqttBridge, _Message
from ingest.sparkplug_b_pb2 import Payload
from ingest.sparkplug_host import (
    MAX_TEMPLATE_DEPTH,
    MAX_VALUES_PER_MESSAGE,
    SparkplugHost,
    state_payload,
)
from runtime.settings import Settings
from schemas.readings import ReadingsRecord
from schemas.registry import Site, Stream
from tests.unit.test_umh_historian import FakeKafka, FakeRegistry

GAS = Stream(id="fuel-gas", kind="gas", unit="m^3/h", nominal=3000, gas_species="ch4",
             meters=["fuel-gas", "flare-gas"])  # fmt: skip
STEAM = Stream(id="steam", kind="steam", unit="t/h", nominal=20, temperature_c=180)
REFINERY = Site(id="refinery", name="R", company="refiner", lat=55.0, lon=11.0,
                streams=[GAS, STEAM],
                tag_map={"boiler-1/Boiler/Steam/Flow": "steam"})  # fmt: skip
NODE = "spBv1.0/refiner/{}/refinery"
DEVICE = "spBv1.0/refiner/{}/refinery/boiler-1"
MAX_VALUES = MAX_VALUES_PER_MESSAGE
INT32, INT64, FLOAT, DOUBLE, DATETIME, TEMPLATE, STRING = 3, 4, 9, 10, 13, 19, 12


def ms(minutes_ago: float = 10) -> int:
    return int((datetime.now(UTC) - timedelta(minutes=minutes_ago)).timestamp() * 1000)


def directory() -> Directory:
    d = Directory()
    d.put_site(REFINERY)
    return d


class Clock:
    t = 1000.0

    def __call__(self) -> float:
        return self.t


def payload(seq: int | None, *metrics: Payload.Metric, ts: int | None = None) -> Payload:
    p = Payload(timestamp=ms() if ts is None else ts)
    if seq is not None:
        p.seq = seq
    p.metrics.extend(metrics)
    return p


def number(
    name: str | None, value: float, *, alias: int | None = None, dtype: int = DOUBLE,
    props: dict[str, int | str] | None = None, ts: int | None = None,
) -> Payload.Metric:  # fmt: skip
    m = Payload.Metric(timestamp=ms() if ts is None else ts, datatype=dtype)
    if name is not None:
        m.name = name
    if alias is not None:
        m.alias = alias
    if dtype == FLOAT:
        m.float_value = value
    elif dtype in (INT32, INT64, DATETIME):
        m.long_value = int(value)
    else:
        m.double_value = value
    for key, v in (props or {}).items():
        m.properties.keys.append(key)
        if isinstance(v, str):
            m.properties.values.add(type=STRING, string_value=v)
        else:
            m.properties.values.add(type=INT32, int_value=v & 0xFFFFFFFF)
    return m


def bd_seq(value: int = 3) -> Payload.Metric:
    return Payload.Metric(name="bdSeq", datatype=INT64, long_value=value)


def born(h: SparkplugHost, *metrics: Payload.Metric) -> Any:
    birth = payload(0, bd_seq(), *metrics)
    return h.handle(NODE.format("NBIRTH"), birth.SerializeToString(), directory())


def send(h: SparkplugHost, topic: str, p: Payload) -> Any:
    return h.handle(topic, p.SerializeToString(), directory())


def rows(out: Any) -> list[tuple[str, float, str, str]]:
    return [
        (r["meter"], r["value"], r["unit"], r.get("quality", "good"))
        for r in out.rows
        if r is not UNMAPPED
    ]


@pytest.fixture
def host() -> tuple[SparkplugHost, Clock]:
    clock = Clock()
    return SparkplugHost(reorder_timeout_s=2.0, clock=clock), clock


# --- values -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "quality"),
    [(192, "good"), (0, "bad"), (500, "bad"), (100, "uncertain"), (216, "good"), (-1, "bad")],
)
def test_the_quality_property_is_the_readings_quality(host: Any, code: int, quality: str) -> None:
    """Sparkplug 3.0, Quality Codes: 0 BAD, 192 GOOD, 500 STALE (only GOOD counts as surplus)."""
    h, _ = host
    born(h, number("fuel-gas", 2950.0, alias=1))
    out = send(h, NODE.format("NDATA"), payload(1, number(None, 1234.5, alias=1,
                                                          props={"Quality": code})))  # fmt: skip
    assert rows(out) == [("fuel-gas", 1234.5, "m^3/h", quality)]


def test_a_quality_on_a_template_instance_holds_for_its_members(host: Any) -> None:
    h, _ = host
    instance = Payload.Metric(name="Boiler", alias=20, datatype=TEMPLATE, timestamp=ms())
    instance.template_value.template_ref = "Boiler"
    instance.template_value.metrics.append(number("Steam/Flow", 4.5))
    instance.properties.keys.append("Quality")
    instance.properties.values.add(type=INT32, int_value=500)
    send(h, NODE.format("NBIRTH"), payload(0, bd_seq()))
    out = send(h, DEVICE.format("DBIRTH"), payload(1, instance))
    assert rows(out) == [("steam", 4.5, "t/h", "bad")]


def test_the_eng_unit_of_a_birth_is_the_unit_of_later_data_by_alias(host: Any) -> None:
    """Tahu and Ignition send ``engUnit`` in the birth only: a kg/h meter is not t/h."""
    h, _ = host
    born(h, number("fuel-gas", 2.0, alias=1, props={"engUnit": "Nm3/s"}))
    out = send(h, NODE.format("NDATA"), payload(1, number(None, 3.0, alias=1)))
    assert rows(out) == [("fuel-gas", 3.0, "Nm3/s", "good")]


def test_an_eng_unit_the_stream_cannot_take_is_refused_at_the_door(
    bridge: tuple[MqttBridge, FakeKafka],
) -> None:
    b, kafka = bridge
    birth = payload(0, bd_seq(), number("fuel-gas", 2.0, props={"engUnit": "kg/h"}),
                    number("flare-gas", 50.0, props={"engUnit": "%"}))  # fmt: skip
    b._forward([_Message(NODE.format("NBIRTH"), birth.SerializeToString(), 1, 0, 0)])
    topics = b.gateway.settings.topics
    stored = [
        (r.meter, r.value, r.unit)
        for t, _, v in kafka.sent
        if t == topics.readings
        for batch in ReadingsRecord.model_validate_json(v).batches
        for r in batch.readings
    ]
    assert stored == [("fuel-gas", 2.0, "kg/h")]  # methane: a mass flow converts to m^3/h
    rejected = [v.decode() for t, _, v in kafka.sent if t == topics.rejected]
    assert len(rejected) == 1
    assert "flare-gas" in rejected[0]
    assert "unit" in rejected[0]


def test_a_float_is_read_as_the_decimal_it_was_written_as(host: Any) -> None:
    h, _ = host
    out = born(h, number("fuel-gas", 2950.7, dtype=FLOAT), number("flare-gas", 0.1, dtype=FLOAT))
    assert [r[1] for r in rows(out)] == [2950.7, 0.1]


def test_a_datetime_metric_is_no_quantity(host: Any) -> None:
    h, _ = host
    out = born(h, number("fuel-gas", ms(), dtype=DATETIME))
    assert out.rows == [UNMAPPED]
    assert out.errors[0].reason == "must be a number, not a DateTime"


# --- templates (UDTs) -----------------------------------------------------------------------


def instance_of(name: str | None, alias: int, *members: Payload.Metric) -> Payload.Metric:
    m = Payload.Metric(alias=alias, datatype=TEMPLATE, timestamp=ms())
    if name is not None:
        m.name = name
    m.template_value.template_ref = "Boiler"
    m.template_value.metrics.extend(members)
    return m


def test_template_members_are_readings_under_the_instances_path(host: Any) -> None:
    h, _ = host
    definition = Payload.Metric(name="_types_/Boiler", datatype=TEMPLATE)
    definition.template_value.is_definition = True
    definition.template_value.metrics.append(Payload.Metric(name="Steam/Flow", datatype=DOUBLE))
    out = born(h, definition)
    assert out.errors == []  # a definition carries no value: no reading, no refusal
    out = send(h, DEVICE.format("DBIRTH"),
               payload(1, instance_of("Boiler", 20, number("Steam/Flow", 4.5))))  # fmt: skip
    assert rows(out) == [("steam", 4.5, "t/h", "good")]
    assert out.labels == ["Boiler/Steam/Flow"]
    out = send(h, DEVICE.format("DDATA"),
               payload(2, instance_of(None, 20, number("Steam/Flow", 5.0))))  # fmt: skip
    assert rows(out) == [("steam", 5.0, "t/h", "good")]


def test_templates_nested_without_end_are_refused_not_walked(host: Any) -> None:
    h, _ = host
    send(h, NODE.format("NBIRTH"), payload(0, bd_seq()))
    inner = number("Flow", 1.0)
    for depth in range(MAX_TEMPLATE_DEPTH + 2):
        inner = instance_of(f"level{depth}", 100 + depth, inner)
    out = send(h, DEVICE.format("DBIRTH"), payload(1, inner))
    assert out.rows == [UNMAPPED]
    assert "nested" in out.errors[0].reason


def test_a_data_set_is_refused_by_what_it_is(host: Any) -> None:
    h, _ = host
    m = Payload.Metric(name="fuel-gas", datatype=16, timestamp=ms(), dataset_value=b"\x08\x01")
    out = born(h, m)
    assert out.errors[0].reason == "must be a number, not a DataSet"


# --- historical and transient ---------------------------------------------------------------


def test_transient_values_are_not_stored_and_historical_ones_are_not_the_current_value(
    host: Any,
) -> None:
    h, _ = host
    born(h, number("fuel-gas", 3000.0, alias=1), number("flare-gas", 12.0, alias=2))
    transient = number(None, 99.0, alias=2)
    transient.is_transient = True
    live = number(None, 3100.0, alias=1)
    historical = number(None, 10.0, alias=1, ts=ms(60))
    historical.is_historical = True
    out = send(h, NODE.format("NDATA"), payload(1, transient, live, historical))
    assert rows(out) == [("fuel-gas", 3100.0, "m^3/h", "good"), ("fuel-gas", 10.0, "m^3/h", "good")]
    death = payload(None, bd_seq())
    out = send(h, NODE.format("NDEATH"), death)
    assert sorted(rows(out)) == [
        ("flare-gas", 12.0, "m^3/h", "bad"),
        ("fuel-gas", 3100.0, "m^3/h", "bad"),  # the live value, not the historical one
    ]


# --- deaths and sequence ----------------------------------------------------------------------


def test_a_device_death_is_dated_by_its_payload(host: Any) -> None:
    """Sparkplug 3.0: mark the device's metrics stale "using the timestamp in the DDEATH"."""
    h, _ = host
    born(h)
    send(
        h, DEVICE.format("DBIRTH"), payload(1, instance_of("Boiler", 20, number("Steam/Flow", 4.5)))
    )
    died = ms(5)
    out = send(h, DEVICE.format("DDEATH"), payload(2, ts=died))
    [row] = out.rows
    assert row["quality"] == "bad"
    assert row["ts"] == datetime.fromtimestamp(died / 1000, UTC).isoformat()


def test_128_or_more_lost_messages_ask_for_a_rebirth_at_once(host: Any) -> None:
    h, _ = host
    born(h, number("fuel-gas", 1.0, alias=1))
    for seq in range(1, 11):
        send(h, NODE.format("NDATA"), payload(seq, number(None, 1.0, alias=1)))
    send(h, NODE.format("NDATA"), payload(161, number(None, 1.0, alias=1)))  # 11..160 lost
    assert [t for t, _ in h.due()] == ["spBv1.0/refiner/NCMD/refinery"]
    node = h._nodes["refiner", "refinery"]
    assert node.next_seq == 162
    h._rebirth_sent.clear()
    send(h, NODE.format("NDATA"), payload(200, number(None, 1.0, alias=1)))  # 162..199 lost
    assert node.missing  # the second gap is seen too


def test_a_message_delivered_twice_is_no_gap(host: Any) -> None:
    h, clock = host
    born(h, number("fuel-gas", 1.0, alias=1))
    for seq in (1, 2, 3, 1, 2, 4):
        send(h, NODE.format("NDATA"), payload(seq, number(None, 1.0, alias=1)))
    clock.t += 10
    assert h.due() == []


def test_after_a_reconnect_every_node_is_asked_for_a_rebirth(host: Any) -> None:
    h, _ = host
    born(h, number("fuel-gas", 1.0, alias=1))
    h.resync()
    assert [t for t, _ in h.due()] == ["spBv1.0/refiner/NCMD/refinery"]
    death = send(h, NODE.format("NDEATH"), payload(None, bd_seq()))
    assert rows(death) == [("fuel-gas", 1.0, "m^3/h", "bad")]  # the session was kept


# --- the host's own STATE ---------------------------------------------------------------------


class FakeBroker:
    def __init__(self) -> None:
        self.published: list[tuple[str, bytes, int, bool]] = []
        self.wills: list[bytes] = []

    def ack(self, mid: int, qos: int) -> None:
        pass

    def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        self.published.append((topic, payload, qos, retain))

    def will_set(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        self.wills.append(payload)


@pytest.fixture
def bridge(monkeypatch: pytest.MonkeyPatch) -> tuple[MqttBridge, FakeKafka]:
    kafka = FakeKafka()
    registry = FakeRegistry()
    registry.directory = directory()
    settings = Settings(mqtt_host="mqtt.example.internal", sparkplug_host_id="park-host")
    gateway = ReadingGateway(settings, kafka, registry)  # type: ignore[arg-type]
    b = MqttBridge(gateway, host="h", port=1883, root="park", client_id="b")
    b._client = FakeBroker()  # type: ignore[assignment]
    monkeypatch.setattr(b, "_drop_session", lambda: None)
    return b, kafka


def test_the_host_says_online_again_when_its_own_state_says_offline(bridge: Any) -> None:
    """Sparkplug 3.0: a host that receives its own STATE with online false republishes
    online (a late Will of an earlier connection would otherwise stop every edge node)."""
    b, _ = bridge
    late_will = state_payload(False, 1)
    b._forward([_Message("spBv1.0/STATE/park-host", late_will, 1, 1, 0)])
    [(topic, body, qos, retain)] = b._client.published
    assert (topic, qos, retain) == ("spBv1.0/STATE/park-host", 1, True)
    assert body == state_payload(True, b._state_ts)
    b._client.published.clear()
    b._forward([_Message("spBv1.0/STATE/other-host", late_will, 2, 1, 0)])
    assert b._client.published == []  # another host's state is not ours to answer


def test_each_connection_has_a_will_stamped_when_it_connects(
    bridge: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    b, _ = bridge
    first = b._state_ts
    monkeypatch.setattr("ingest.mqtt_bridge.time.time", lambda: first / 1000 + 60)
    b._client.on_disconnect = None
    b._arm_will()
    assert b._state_ts == first + 60_000
    assert b._client.wills == [state_payload(False, first + 60_000)]


# --- folders --------------------------------------------------------------------------------


def test_two_folders_ending_in_one_meter_do_not_mix(host: Any) -> None:
    """Sparkplug's identity is the whole path: ``Line1/flare-gas`` and ``Line2/flare-gas`` are
    two metrics, and only one of them can be meter ``flare-gas`` without a tag_map entry."""
    h, _ = host
    out = born(
        h, number("Line1/flare-gas", 10.0, alias=1), number("Line2/flare-gas", 500.0, alias=2)
    )
    assert rows(out) == [("flare-gas", 10.0, "m^3/h", "good")]
    assert "both end in meter 'flare-gas'" in out.errors[0].reason
    out = send(h, NODE.format("NDATA"), payload(1, number(None, 11.0, alias=1),
                                                number(None, 501.0, alias=2)))  # fmt: skip
    assert rows(out) == [("flare-gas", 11.0, "m^3/h", "good")]
    assert len(out.errors) == 1


def test_a_device_death_from_a_clock_ahead_is_dated_now(host: Any) -> None:
    """A death dated in the future would be refused by intake: the meters would stay live."""
    h, _ = host
    born(h)
    send(
        h, DEVICE.format("DBIRTH"), payload(1, instance_of("Boiler", 20, number("Steam/Flow", 4.5)))
    )
    before = datetime.now(UTC)
    out = send(h, DEVICE.format("DDEATH"), payload(2, ts=ms(-60)))  # an hour ahead
    [row] = out.rows
    assert before <= datetime.fromisoformat(row["ts"]) <= datetime.now(UTC)


# --- bounds (a hostile node) ------------------------------------------------------------------


def test_long_template_names_and_too_many_values_are_refused_not_walked(host: Any) -> None:
    """Member names repeat their instance's: a long instance name times many members was
    gigabytes from a 180 KiB birth (the review's repro)."""
    h, _ = host
    send(h, NODE.format("NBIRTH"), payload(0, bd_seq()))
    long_name = "x" * 300
    wide = instance_of(long_name, 30, *(number(f"m{i}", 1.0) for i in range(5_000)))
    out = send(h, DEVICE.format("DBIRTH"), payload(1, wide))
    assert out.rows == [UNMAPPED]
    assert "a name over 256 characters" in out.errors[0].reason
    many = instance_of("Boiler", 31, *(number(f"m{i}", 1.0) for i in range(MAX_VALUES + 50)))
    out = send(h, DEVICE.format("DBIRTH"), payload(2, many))
    assert len(out.rows) == MAX_VALUES + 1  # each value read (refused: no meter), then one more
    assert "at most 10000 values" in out.errors[-1].reason
    node = h._nodes["refiner", "refinery"]
    device = [k for k in node.datatypes if k[0] == "boiler-1"]
    assert len(device) == MAX_VALUES  # read up to the limit; its rebirth replaced the rest


def test_a_death_after_a_value_in_a_unit_intake_refuses_is_still_taken(host: Any) -> None:
    h, _ = host
    born(h, number("fuel-gas", 50.0, alias=1), number("flare-gas", 2.0, alias=2))
    send(h, NODE.format("NDATA"), payload(1, number(None, 7.0, alias=1, props={"engUnit": "%"}),
                                          number(None, 3.0, alias=2,
                                                 props={"engUnit": "m^3/min"})))  # fmt: skip
    out = send(h, NODE.format("NDEATH"), payload(None, bd_seq()))
    assert sorted(rows(out)) == [
        ("flare-gas", pytest.approx(180.0), "m^3/h", "bad"),  # converted to the stream's unit
        ("fuel-gas", 0.0, "m^3/h", "bad"),  # '%' is no flow: 0, but the death is taken
    ]


def test_a_path_ending_in_a_meter_the_tag_map_maps_is_refused(host: Any) -> None:
    h, _ = host
    send(h, NODE.format("NBIRTH"), payload(0, bd_seq(), number("steam", 99.0)))
    out = send(h, DEVICE.format("DBIRTH"),
               payload(1, instance_of("Boiler", 20, number("Steam/Flow", 4.5))))  # fmt: skip
    assert rows(out) == [("steam", 4.5, "t/h", "good")]
    again = send(h, NODE.format("NDATA"), payload(2, number("steam", 98.0)))
    assert again.rows == [UNMAPPED]
    assert "fed by the tag the tag_map names" in again.errors[0].reason
