"""United Manufacturing Hub ``_historian`` messages: the pure mapping onto reading rows, and the
bridge forwarding them through the gateway (fake Kafka and broker). No services."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from domain.directory import Directory
from domain.errors import UnavailableError
from domain.intake import UNMAPPED
from ingest.gateway import ReadingGateway
from ingest.meter_claims import MeterClaims
from ingest.mqtt_bridge import MqttBridge, _Message
from ingest.umh_historian import MAX_TAG_DEPTH, is_umh_topic, parse_historian, timestamp
from runtime.settings import Settings
from schemas.readings import ReadingsRecord
from schemas.registry import Site, Stream
from schemas.rejections import Rejection

GAS = Stream(id="fuel-gas", kind="gas", unit="m^3/h", nominal=3000, gas_species="ch4",
             purity_pct=55, meters=["fuel-gas", "flare-gas"])  # fmt: skip
STEAM = Stream(id="steam", kind="steam", unit="t/h", nominal=20, temperature_c=180)
TAG = "utilities/boiler-house/_historian/steam/flow"
REFINERY = Site(id="refinery", name="R", company="refiner", lat=55.0, lon=11.0,
                streams=[GAS, STEAM], tag_map={TAG: "steam"})  # fmt: skip
HEAT = Stream(id="pharma-heat", kind="heat", unit="MW", nominal=5, temperature_c=90)
PHARMA = Site(id="pharma", name="P", company="pharma", lat=55.01, lon=11.0, streams=[HEAT])
TS_MS = 1_795_341_600_000  # 2026-11-22T10:00:00Z
TS = "2026-11-22T10:00:00+00:00"
SITE = "umh/v1/refiner/refinery"


def directory() -> Directory:
    d = Directory()
    d.put_site(REFINERY)
    d.put_site(PHARMA)
    return d


def parse(topic: str, payload: object) -> Any:
    data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    return parse_historian(topic, data, directory())


def reasons(parsed: Any) -> dict[str, str]:
    return {e.field: e.reason for e in parsed.errors}


# --- the mapping ------------------------------------------------------------------------------


def test_each_scalar_field_is_one_reading_of_the_meter_it_names() -> None:
    parsed = parse(f"{SITE}/gas-area/_historian",
                   {"timestamp_ms": TS_MS, "fuel-gas": 2950, "flare-gas": 12.5})  # fmt: skip
    assert parsed.company == "refiner"
    assert parsed.errors == []
    assert parsed.labels == ["fuel-gas", "flare-gas"]
    assert parsed.rows == [
        {"meter": "fuel-gas", "ts": TS, "value": 2950, "unit": "m^3/h", "_site": "refinery"},
        {"meter": "flare-gas", "ts": TS, "value": 12.5, "unit": "m^3/h", "_site": "refinery"},
    ]


@pytest.mark.parametrize(
    ("topic", "payload"),
    [
        # UMH Classic: the tag group in the topic, the tag name as the payload's key
        (f"{SITE}/utilities/boiler-house/_historian/steam", {"flow": 14.2}),
        # UMH Core: one tag, one topic; "value" is the tag the topic names
        (f"{SITE}/utilities/boiler-house/_historian/steam/flow", {"value": 14.2}),
        # a tag group as a JSON sub-object
        (f"{SITE}/utilities/boiler-house/_historian", {"steam": {"flow": 14.2}}),
    ],
)
def test_the_sites_tag_map_maps_the_tag_path_below_the_site(topic: str, payload: Any) -> None:
    parsed = parse(topic, {"timestamp_ms": TS_MS, **payload})
    assert parsed.errors == []
    assert parsed.rows == [
        {"meter": "steam", "ts": TS, "value": 14.2, "unit": "t/h", "_site": "refinery"}
    ]


def test_the_tag_map_wins_over_a_tag_named_like_a_meter() -> None:
    site = REFINERY.model_copy(update={"tag_map": {"_historian/fuel-gas": "flare-gas"}})
    d = directory()
    d.put_site(site)
    parsed = parse_historian(f"{SITE}/_historian/fuel-gas",
                             orjson.dumps({"timestamp_ms": TS_MS, "value": 1}), d)  # fmt: skip
    assert [r["meter"] for r in parsed.rows] == ["flare-gas"]


def test_non_numeric_tags_are_refused_with_a_reason_and_the_others_kept() -> None:
    topic = f"{SITE}/_historian"
    parsed = parse(topic, {"timestamp_ms": TS_MS, "fuel-gas": 2950, "notes": "sensor 1 faulty",
                           "flare-gas": True, "steam": None, "list": [1]})  # fmt: skip
    assert parsed.rows[0]["meter"] == "fuel-gas"
    assert parsed.rows[1:] == [UNMAPPED] * 4
    assert reasons(parsed) == {
        f"{topic}.notes": "must be a number, not a string",
        f"{topic}.flare-gas": "must be a number, not a boolean",
        f"{topic}.steam": "must be a number, not null",
        f"{topic}.list": "must be a number, not an array",
    }
    assert [e.row for e in parsed.errors] == [1, 2, 3, 4]
    assert parsed.errors[0].payload == {"timestamp_ms": TS_MS, "notes": "sensor 1 faulty"}


def test_a_tag_naming_no_meter_is_refused_naming_the_tag_map_key() -> None:
    parsed = parse(f"{SITE}/line-1/_historian/head", {"timestamp_ms": TS_MS, "temperature": 50})
    (error,) = parsed.errors
    assert parsed.rows == [UNMAPPED]
    assert error.field == f"{SITE}/line-1/_historian/head.temperature"
    assert "'line-1/_historian/head/temperature' names no meter" in error.reason
    assert "tag_map of site 'refinery'" in error.reason
    assert "'temperature' is not one of the caller's registered meters" in error.reason


def test_another_companys_meter_is_mapped_for_the_gateway_to_refuse() -> None:
    # the gateway refuses it with the same words as an unknown meter (see the bridge test)
    parsed = parse("umh/v1/pharma/pharma/_historian", {"timestamp_ms": TS_MS, "fuel-gas": 1})
    assert parsed.company == "pharma"
    assert parsed.rows[0]["meter"] == "fuel-gas"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (TS_MS, TS),
        (float(TS_MS), TS),
        (TS_MS + 123, "2026-11-22T10:00:00.123000+00:00"),
        (946_684_800_000, "2000-01-01T00:00:00+00:00"),
        # UMH's consumers take a string of digits and drop a fraction of a millisecond
        (str(TS_MS + 123), "2026-11-22T10:00:00.123000+00:00"),
        (TS_MS + 123.456, "2026-11-22T10:00:00.123000+00:00"),
        (f" {TS_MS + 123}.9 ", "2026-11-22T10:00:00.123000+00:00"),
    ],
)
def test_timestamp_ms_is_unix_milliseconds(raw: object, expected: str) -> None:
    assert timestamp(raw) == (expected, "")


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("2026-11-22T10:00:00Z", "must be a number of milliseconds, not a string"),
        ("1e12", "must be a number of milliseconds, not a string"),
        (True, "must be a number of milliseconds, not a boolean"),
        (None, "must be a number of milliseconds, not null"),
        (1795341600000 * 1000, "(microseconds instead of milliseconds?)"),
        (1795341600000 * 1_000_000, "(nanoseconds instead of milliseconds?)"),
        (
            1702286893,
            "1702286893 is 1970-01-20T16:51:26.893000+00:00, before 2000-01-01 "
            "(seconds instead of milliseconds?)",
        ),
        (5, "5 is 1970-01-01T00:00:00.005000+00:00, before 2000-01-01"),
        (-1, "-1 is before 1970, before 2000-01-01"),
        (10**19, f"{10**19} is after 2200-01-01T00:00:00+00:00"),
        (1e300, "is after 2200-01-01T00:00:00+00:00"),
    ],
)
def test_bad_timestamps_are_refused_with_a_reason(raw: object, reason: str) -> None:
    ts, why = timestamp(raw)
    assert ts is None
    assert reason in why
    parsed = parse(f"{SITE}/_historian", {"timestamp_ms": raw, "fuel-gas": 1})
    assert parsed.rows == [UNMAPPED]
    assert reasons(parsed) == {f"{SITE}/_historian.timestamp_ms": why}


@pytest.mark.parametrize(
    "payload",
    [
        b"{not json",
        b"[1, 2]",
        b"2950",
        b'{"fuel-gas": 2950}',
        b'{"timestamp_ms": 1795341600000}',
        b'{"timestamp_ms": 1795341600000, "group": {}}',
    ],
)
def test_a_payload_that_is_not_a_historian_message_is_refused_whole(payload: bytes) -> None:
    parsed = parse(f"{SITE}/_historian", payload)
    assert parsed.company == "refiner"
    assert parsed.rows == [UNMAPPED]
    assert parsed.labels == [""]
    (error,) = parsed.errors
    assert error.row == 0
    assert error.payload == payload.decode()
    assert any(w in error.reason for w in ("not JSON", "timestamp_ms"))


@pytest.mark.parametrize(
    ("topic", "company"),
    [
        ("umh/v1/refiner/_historian", "refiner"),  # no site: the registry needs one
        ("umh/v1/_historian", ""),
        ("umh/v1/refiner/refinery/area", "refiner"),  # no schema
        ("umh/v1/refiner/refinery//_historian", "refiner"),
        ("umh/v1/", ""),
    ],
)
def test_topics_outside_the_data_model_are_refused(topic: str, company: str) -> None:
    parsed = parse(topic, {"timestamp_ms": TS_MS, "fuel-gas": 1})
    assert (parsed.company, parsed.rows, parsed.ignored) == (company, [UNMAPPED], False)
    assert "topic must be umh/v1/<company>/<site>/.../_historian/..." in parsed.errors[0].reason


@pytest.mark.parametrize("schema", ["_analytics", "_local", "_Pump", "_pump"])
def test_other_umh_schemas_are_ignored(schema: str) -> None:
    parsed = parse(f"{SITE}/line-1/{schema}/x", {"timestamp_ms": TS_MS, "fuel-gas": 1})
    assert parsed.ignored
    assert (parsed.rows, parsed.errors) == ([], [])


@pytest.mark.parametrize("schema", ["_raw", "_pump_v1", "_temperature-sensor_v2"])
def test_umh_cores_raw_and_model_contracts_carry_readings(schema: str) -> None:
    """UMH Core replaced ``_historian`` by ``_raw`` (its default data contract) and names data
    models ``_<model>_v<N>``: the same time-series payloads, one tag per topic."""
    parsed = parse(f"{SITE}/line-1/{schema}/fuel-gas", {"timestamp_ms": TS_MS, "value": 2.5})
    assert not parsed.ignored
    assert [(r["meter"], r["value"]) for r in parsed.rows] == [("fuel-gas", 2.5)]


def test_an_empty_payload_clears_a_retained_message_and_is_no_reading() -> None:
    parsed = parse(f"{SITE}/_historian/fuel-gas", b"")
    assert parsed.ignored
    assert (parsed.rows, parsed.errors) == ([], [])


def test_a_bom_is_skipped_and_nan_is_named_in_the_reason() -> None:
    ok = parse(f"{SITE}/_historian", b'\xef\xbb\xbf{"timestamp_ms": %d, "fuel-gas": 1}' % TS_MS)
    assert [r["meter"] for r in ok.rows] == ["fuel-gas"]
    nan = parse(f"{SITE}/_historian", b'{"timestamp_ms": %d, "fuel-gas": NaN}' % TS_MS)
    assert "NaN and Infinity are not JSON numbers" in nan.errors[0].reason


def test_two_tag_paths_ending_in_one_meter_do_not_mix() -> None:
    """Two work cells publishing a tag of the same name would feed one meter (one value per
    instant: one of them silently dropped): the second path is refused until the tag_map
    says which is the meter; another company cannot claim a meter against its owner."""
    claims = MeterClaims()
    d = directory()
    body = b'{"timestamp_ms": %d, "value": 1}' % TS_MS

    def meters(topic: str) -> list[object]:
        out = parse_historian(topic, body, d, claims)
        return [r["meter"] if r is not UNMAPPED else out.errors[0].reason for r in out.rows]

    assert meters("umh/v1/pharma/refinery/line-9/_historian/fuel-gas") == ["fuel-gas"]
    assert meters(f"{SITE}/boiler-1/_historian/fuel-gas") == ["fuel-gas"]
    [refused] = meters(f"{SITE}/boiler-2/_historian/fuel-gas")
    assert "both end in meter 'fuel-gas'" in str(refused)
    assert meters(f"{SITE}/boiler-1/_historian/fuel-gas") == ["fuel-gas"]


def test_tag_groups_nested_beyond_any_asset_path_are_one_refused_leaf() -> None:
    ms = int((datetime.now(UTC) - timedelta(hours=1)).timestamp()) * 1000
    deep = b'{"g":' * 1_000 + b"1.0" + b"}" * 1_000  # deeper than Python's recursion limit
    message = parse(f"{SITE}/_historian", b'{"timestamp_ms":%d,"group":%s}' % (ms, deep))
    [(field, reason)] = reasons(message).items()
    assert field.split(".")[1:] == ["group"] + ["g"] * MAX_TAG_DEPTH
    assert "must be a number" in reason


def test_umh_topics_are_recognised_by_their_prefix() -> None:
    assert is_umh_topic("umh/v1/refiner/refinery/_historian")
    assert not is_umh_topic("park/refiner/refinery/fuel-gas")
    assert not is_umh_topic("umh/v2/refiner/refinery/_historian")


# --- the bridge: the same gateway, rejections and acknowledgements as the park's own tree -----


class FakeFuture:
    pass


class FakeKafka:
    """The gateway's publisher: records records; ``down`` makes every wait fail."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str | None, bytes]] = []
        self.waits: list[int] = []
        self.down = False

    def send(self, topic: str, key: str | None, value: bytes) -> FakeFuture:
        self.sent.append((topic, key, value))
        return FakeFuture()

    def wait(self, futures: list[FakeFuture], timeout_s: float) -> int:
        self.waits.append(len(futures))
        if self.down:
            raise UnavailableError("Kafka did not acknowledge in time")
        return len(futures)


class FakeRegistry:
    def __init__(self) -> None:
        self.directory = directory()

    @contextmanager
    def locked(self) -> Iterator[Directory]:
        yield self.directory


class FakeBroker:
    def __init__(self) -> None:
        self.acked: list[int] = []

    def ack(self, mid: int, qos: int) -> None:
        self.acked.append(mid)


@pytest.fixture
def kafka() -> FakeKafka:
    return FakeKafka()


@pytest.fixture
def bridge(kafka: FakeKafka, monkeypatch: pytest.MonkeyPatch) -> MqttBridge:
    settings = Settings(mqtt_host="mqtt.example.internal")
    gateway = ReadingGateway(settings, kafka, FakeRegistry())  # type: ignore[arg-type]
    b = MqttBridge(gateway, host="h", port=1883, root="park", client_id="b")
    b._client = FakeBroker()  # type: ignore[assignment]
    monkeypatch.setattr(b, "_drop_session", lambda: None)
    return b


def _messages(*items: tuple[str, object]) -> list[_Message]:
    return [
        _Message(topic, payload if isinstance(payload, bytes) else orjson.dumps(payload), mid, 1, 0)
        for mid, (topic, payload) in enumerate(items, start=1)
    ]


def _sent(kafka: FakeKafka, topic: str) -> list[bytes]:
    return [value for t, _, value in kafka.sent if t == topic]


def test_the_bridge_forwards_historian_tags_and_rejects_the_bad_ones(
    bridge: MqttBridge, kafka: FakeKafka
) -> None:
    ms = int((datetime.now(UTC) - timedelta(hours=1)).timestamp()) * 1000
    umh = f"{SITE}/gas-area/_historian"
    batch = _messages(
        (umh, {"timestamp_ms": ms, "fuel-gas": 2950, "notes": "sensor 1 is faulty"}),
        (f"{SITE}/utilities/boiler-house/_historian/steam/flow", {"timestamp_ms": ms, "value": 3}),
        ("umh/v1/pharma/refinery/_historian", {"timestamp_ms": ms, "fuel-gas": 1}),  # not pharma's
        ("umh/v1/refiner/pharma/_historian", {"timestamp_ms": ms, "fuel-gas": 1}),  # wrong site
        (umh, {"timestamp_ms": ms // 1000, "fuel-gas": 1}),  # seconds
        (f"{SITE}/line-1/_analytics/work-order", {"timestamp_ms": ms, "order": "o-1"}),
        ("park/refiner/refinery/flare-gas",
         {"ts": datetime.now(UTC).isoformat(), "value": 4, "unit": "m^3/h"}),
    )  # fmt: skip
    bridge._forward(batch)
    topics = bridge.gateway.settings.topics
    readings = [
        batch
        for v in _sent(kafka, topics.readings)
        for batch in ReadingsRecord.model_validate_json(v).batches
    ]
    got = sorted((r.meter, r.value, r.unit) for b in readings for r in b.readings)
    assert got == [("flare-gas", 4, "m^3/h"), ("fuel-gas", 2950, "m^3/h"), ("steam", 3, "t/h")]
    assert {r.ts for b in readings for r in b.readings if r.meter != "flare-gas"} == {
        datetime.fromtimestamp(ms / 1000, UTC)
    }
    rejections = [Rejection.model_validate_json(v) for v in _sent(kafka, topics.rejected)]
    by_source = {r.source: r.reason for r in rejections}
    assert by_source[f"mqtt {umh} notes"] == f"{umh}.notes: must be a number, not a string"
    assert (
        "is not one of the caller's registered meters"
        in by_source["mqtt umh/v1/pharma/refinery/_historian fuel-gas"]
    )
    assert (
        "meter 'fuel-gas' is not at site 'pharma'"
        in by_source["mqtt umh/v1/refiner/pharma/_historian fuel-gas"]
    )
    assert "seconds instead of milliseconds" in by_source[f"mqtt {umh}"]
    assert len(rejections) == 4
    assert sorted(bridge._client.acked) == [1, 2, 3, 4, 5, 6, 7]  # type: ignore[attr-defined]
    assert (bridge.stats.messages, bridge.stats.accepted, bridge.stats.ignored) == (7, 3, 1)
    assert bridge.stats.rejected == 4


def test_nothing_is_acknowledged_while_kafka_is_away(bridge: MqttBridge, kafka: FakeKafka) -> None:
    ms = int((datetime.now(UTC) - timedelta(hours=1)).timestamp()) * 1000
    kafka.down = True
    bridge._forward(_messages((f"{SITE}/_historian", {"timestamp_ms": ms, "fuel-gas": 1}),
                              (f"{SITE}/_analytics", {"timestamp_ms": ms, "x": 1})))  # fmt: skip
    assert bridge._client.acked == []  # type: ignore[attr-defined]
    assert bridge.stats.kafka_failures == 1
    assert bridge.stats.accepted == 0


def test_a_batch_of_many_companies_waits_for_kafka_once_and_acks_all_or_nothing(
    bridge: MqttBridge, kafka: FakeKafka
) -> None:
    """A park of many small historians puts many companies in one batch: their records are
    all queued, then acknowledged in one wait (one Kafka round trip per company kept the
    bridge at a third of TEDA's rate); a failed wait acknowledges none of the batch."""
    ms = int((datetime.now(UTC) - timedelta(hours=1)).timestamp()) * 1000
    batch = _messages(
        (f"{SITE}/_historian", {"timestamp_ms": ms, "fuel-gas": 1}),
        ("umh/v1/pharma/pharma/_historian", {"timestamp_ms": ms, "pharma-heat": 2}),
        (f"{SITE}/_historian", {"timestamp_ms": ms, "pharma-heat": 3}),  # not refiner's: rejected
    )
    bridge._forward(batch)
    readings, rejected = (
        bridge.gateway.settings.topics.readings,
        bridge.gateway.settings.topics.rejected,
    )
    assert sorted(key or "" for t, key, _ in kafka.sent if t == readings) == ["pharma", "refinery"]
    assert len(_sent(kafka, rejected)) == 1
    assert kafka.waits == [3]  # both companies' readings and the rejection, one wait
    assert sorted(bridge._client.acked) == [1, 2, 3]  # type: ignore[attr-defined]
    assert (bridge.stats.accepted, bridge.stats.rejected) == (2, 1)

    kafka.down = True
    bridge._client.acked.clear()  # type: ignore[attr-defined]
    bridge._forward(_messages(*[(f"{SITE}/_historian", {"timestamp_ms": ms + 1000, "fuel-gas": 1}),
                                ("umh/v1/pharma/pharma/_historian",
                                 {"timestamp_ms": ms + 1000, "pharma-heat": 2})]))  # fmt: skip
    assert kafka.waits[1:] == [2]
    assert bridge._client.acked == []  # type: ignore[attr-defined]
    assert (bridge.stats.accepted, bridge.stats.kafka_failures) == (2, 1)


def test_a_message_the_bridge_fails_on_is_refused_and_the_others_go_on(
    bridge: MqttBridge, kafka: FakeKafka, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bug or an input nobody foresaw must not make the broker deliver a batch forever."""
    ms = int((datetime.now(UTC) - timedelta(hours=1)).timestamp()) * 1000
    poison = f"{SITE}/boom/_historian"
    parse = bridge._parse

    def failing(m: _Message) -> Any:
        if m.topic == poison:
            raise RuntimeError("a bug")
        return parse(m)

    monkeypatch.setattr(bridge, "_parse", failing)
    batch = _messages(
        (f"{SITE}/_historian", {"timestamp_ms": ms, "fuel-gas": 1}),
        (poison, {"timestamp_ms": ms, "fuel-gas": 2}),
        (f"{SITE}/_historian", {"timestamp_ms": ms + 1000, "fuel-gas": 3}),
    )
    bridge._forward_batch(batch)
    topics = bridge.gateway.settings.topics
    values = sorted(
        r.value
        for v in _sent(kafka, topics.readings)
        for b in ReadingsRecord.model_validate_json(v).batches
        for r in b.readings
    )
    assert set(values) == {1, 3}  # published again one by one: readings are idempotent
    rejections = [Rejection.model_validate_json(v) for v in _sent(kafka, topics.rejected)]
    assert [r.source for r in rejections] == [f"mqtt {poison}"]
    assert "internal error: RuntimeError('a bug')" in rejections[0].reason
    assert sorted(bridge._client.acked) == [1, 2, 3]  # type: ignore[attr-defined]
    assert bridge.stats.kafka_failures == 0


def test_json_nested_deeper_than_orjson_writes_is_refused_not_retried(
    bridge: MqttBridge, kafka: FakeKafka
) -> None:
    deep = b'{"ts":"2026-12-05T00:00:00+00:00","value":1,"unit":"m^3/h","x":'
    deep += b'{"a":' * 300 + b"1" + b"}" * 300 + b"}"
    bridge._forward_batch(_messages(("park/refiner/refinery/flare-gas", deep)))
    [rejection] = [
        Rejection.model_validate_json(v)
        for v in _sent(kafka, bridge.gateway.settings.topics.rejected)
    ]
    # the rules refuse it, no failure
    assert rejection.reason == "park/refiner/refinery/flare-gas[0].x: unknown field"
    assert bridge._client.acked == [1]  # type: ignore[attr-defined]
    assert bridge.stats.kafka_failures == 0


def test_a_message_of_more_readings_than_a_record_holds_is_one_rejection(
    bridge: MqttBridge, kafka: FakeKafka
) -> None:
    row = {"ts": datetime.now(UTC).isoformat(), "value": 1, "unit": "m^3/h"}
    bridge._forward_batch(_messages(("park/refiner/refinery/flare-gas", [row] * 10_001)))
    rejections = [
        Rejection.model_validate_json(v)
        for v in _sent(kafka, bridge.gateway.settings.topics.rejected)
    ]
    assert len(rejections) == 1
    assert "at most 10000 readings, not 10001" in rejections[0].reason
    assert _sent(kafka, bridge.gateway.settings.topics.readings) == []


def test_a_refused_field_is_named_by_its_message_not_its_place_in_the_batch(
    bridge: MqttBridge, kafka: FakeKafka
) -> None:
    now = datetime.now(UTC).isoformat()
    batch = _messages(
        ("park/refiner/refinery/flare-gas", [{"ts": now, "value": 1, "unit": "m^3/h"}] * 3),
        ("park/refiner/refinery/fuel-gas", [{"ts": now, "value": 2, "unit": "m^3/h"},
                                            {"ts": now, "value": -1, "unit": "m^3/h"}]),
    )  # fmt: skip
    bridge._forward_batch(batch)
    [rejection] = [
        Rejection.model_validate_json(v)
        for v in _sent(kafka, bridge.gateway.settings.topics.rejected)
    ]
    assert rejection.reason.startswith("park/refiner/refinery/fuel-gas[1].value: ")
    assert "cannot be negative" in rejection.reason


def test_benthos_tag_processor_output_names_the_tag_once_and_its_metadata_is_no_tag() -> None:
    """benthos-umh's tag_processor writes ``.../_historian/steam/flow`` with ``{"flow": ...,
    "timestamp_ms": ..., "metadata": {...}}``: the tag is ``steam/flow``, as the topic says."""
    parsed = parse(f"{SITE}/gas-area/_historian/fuel/fuel-gas",
                   {"fuel-gas": 3.5, "timestamp_ms": TS_MS,
                    "metadata": {"unit": "m3/h", "opcua_tag_type": "number"}})  # fmt: skip
    assert [(r["meter"], r["value"]) for r in parsed.rows] == [("fuel-gas", 3.5)]
    assert parsed.errors == []


def test_a_meter_the_tag_map_names_is_fed_by_that_tag_alone() -> None:
    """Another path ending in the meter's id would mix a second series into it."""
    claims = MeterClaims()
    d = directory()
    mapped = parse_historian(
        f"{SITE}/{TAG}", b'{"timestamp_ms": %d, "value": 10}' % TS_MS, d, claims
    )
    other = parse_historian(
        f"{SITE}/boiler-2/_historian/steam", b'{"timestamp_ms": %d, "value": 99}' % TS_MS, d, claims
    )
    assert [r["meter"] for r in mapped.rows] == ["steam"]
    assert other.rows == [UNMAPPED]
    assert "fed by the tag the tag_map names" in other.errors[0].reason


def test_made_up_sites_leave_no_claims_behind() -> None:
    claims = MeterClaims()
    d = directory()
    for i in range(500):
        parse_historian(f"umh/v1/refiner/nosuchsite-{i}/_historian/fuel-gas",
                        b'{"timestamp_ms": %d, "value": 1}' % TS_MS, d, claims)  # fmt: skip
        parse_historian(f"umh/v1/pharma/refinery/line-{i}/_historian/fuel-gas",
                        b'{"timestamp_ms": %d, "value": 1}' % TS_MS, d, claims)  # fmt: skip
    assert claims._claims == {}


def test_a_group_and_field_of_one_name_among_other_tags_keep_both_levels() -> None:
    parsed = parse(f"{SITE}/boiler/_historian/flare",
                   {"timestamp_ms": TS_MS, "flare": 1.0, "pressure": 2.0})  # fmt: skip
    assert [e.reason.split("'")[1] for e in parsed.errors] == [
        "boiler/_historian/flare/flare", "boiler/_historian/flare/pressure"]  # fmt: skip


def test_a_fraction_written_as_text_is_dropped_not_rounded() -> None:
    assert timestamp(f"{TS_MS}.999999999") == (TS, "")
