"""The MQTT bridge against a real Mosquitto (Debian's package), Kafka and PostgreSQL."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from domain.errors import StackError
from domain.park import bundled_park_path, load_park
from ingest.acked_publisher import Publisher
from ingest.gateway import ReadingGateway
from ingest.mqtt_bridge import MqttBridge
from ingest.registry_publisher import RegistryPublisher
from runtime.settings import Settings
from schemas.rejections import Rejection
from sinks.consumer import Sink
from symbiosis.local_mosquitto import LocalMosquitto
from tests.helpers import KafkaAway, consume_all, isolated, scalar, wait_for
from topics.kafka_admin import ensure_topics
from topics.registry_follower import RegistryFollower

pytestmark = pytest.mark.integration

ROOT = "park"
GAS = f"{ROOT}/kalundborg-refinery/refinery/refinery-fuel-gas"
UMH = "umh/v1/kalundborg-refinery/refinery"
UMH_TAG = "utilities/cooling/_historian/water/flow"
"""A UMH tag path below the site, mapped to the refinery's cooling-water meter by its tag map."""


@pytest.fixture(scope="module")
def broker(stack: Settings) -> Iterator[Settings]:
    """Mosquitto on the project's MQTT port, started here (and stopped if we started it)."""
    local = LocalMosquitto(stack)
    ours = local.pid() is None
    try:
        local.up()
    except StackError as e:
        pytest.fail(f"Mosquitto could not start: {e}", pytrace=False)
    yield stack
    if ours:
        local.down()


@dataclass
class Env:
    settings: Settings
    gateway: ReadingGateway
    client_id: str

    def bridge(self) -> MqttBridge:
        s = self.settings
        b = MqttBridge(self.gateway, host=s.mqtt_host, port=s.mqtt_port, root=ROOT,
                       client_id=self.client_id, flush_s=0.05)  # fmt: skip
        b.start()
        return b


@pytest.fixture(scope="module")
def env(broker: Settings) -> Iterator[Env]:
    settings = isolated(broker, "mqtt", sink_flush_s=0.2)
    topics = settings.topics
    prefix = topics.readings.split(".")[0]
    ensure_topics(settings.kafka_bootstrap, topics.configs(), settings.partitions)
    registry_out = RegistryPublisher(settings.kafka_bootstrap, topics)
    registry_out.park(load_park(bundled_park_path()))
    registry_out.flush()
    registry_out.close()
    publisher = Publisher(settings.kafka_bootstrap)
    registry = RegistryFollower(settings.kafka_bootstrap, topics)
    registry.start()
    registry.wait_ready()
    sink = Sink(settings)
    thread = threading.Thread(target=sink.run, daemon=True)
    thread.start()
    try:
        yield Env(settings, ReadingGateway(settings, publisher, registry), f"bridge-{prefix}")
    finally:
        sink.stop()
        thread.join(30)
        registry.stop()
        publisher.close()


def _publish(settings: Settings, messages: list[tuple[str, Any]]) -> None:
    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"plant-{uuid.uuid4().hex[:6]}")
    client.connect(settings.mqtt_host, settings.mqtt_port)
    client.loop_start()
    try:
        for topic, payload in messages:
            data = payload if isinstance(payload, bytes) else orjson.dumps(payload)
            client.publish(topic, data, qos=1).wait_for_publish(timeout=10)
    finally:
        client.disconnect()
        client.loop_stop()


def _readings(n: int, t0: datetime, value: float = 2950.0) -> list[dict[str, Any]]:
    return [
        {"timestamp": (t0 + timedelta(seconds=i)).isoformat(), "value": value, "unit": "m^3/h"}
        for i in range(n)
    ]


def _stored_since(settings: Settings, t0: datetime) -> int:
    return scalar(
        settings,
        "SELECT count(*) FROM readings WHERE meter = 'refinery-fuel-gas'"
        f" AND ts >= '{t0.isoformat()}' AND ts < '{(t0 + timedelta(minutes=5)).isoformat()}'",
    )


def test_unified_namespace_readings_reach_the_database(env: Env) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    bridge = env.bridge()
    try:
        rows = _readings(50, t0)
        _publish(env.settings, [(GAS, rows[i : i + 10]) for i in range(0, 50, 10)])
        wait_for(lambda: _stored_since(env.settings, t0) == 50, 30, "50 MQTT readings stored")
    finally:
        bridge.stop()
    assert bridge.stats.accepted == 50
    assert bridge.stats.rejected == 0


def test_bad_messages_are_rejected_with_their_topic_and_reason(env: Env) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4)
    bridge = env.bridge()
    try:
        _publish(env.settings, [
            (f"{ROOT}/argo/refinery/refinery-fuel-gas", _readings(1, t0)),  # not argo's meter
            (f"{ROOT}/kalundborg-refinery/gyproc/refinery-fuel-gas", _readings(1, t0)),  # site
            (GAS, b"{not json"),
            (GAS, [{"timestamp": t0.isoformat(), "value": "high", "unit": "m^3/h"}]),
            (GAS, _readings(2, t0 + timedelta(seconds=30))),  # good, in the same batch
        ])  # fmt: skip
        wait_for(lambda: bridge.stats.rejected >= 4, 30, "4 rejected messages")
        wait_for(lambda: _stored_since(env.settings, t0) == 2, 30, "the 2 good readings")
    finally:
        bridge.stop()
    raw = consume_all(env.settings, env.settings.topics.rejected, 4, timeout_s=20)
    reasons = {(r.source, r.reason) for r in map(Rejection.model_validate_json, raw)}
    not_theirs = "is not one of the caller's registered meters"
    assert any("argo" in src and not_theirs in why for src, why in reasons)
    assert any("is not at site 'gyproc'" in why for _, why in reasons)
    assert any(src == f"mqtt {GAS}" and "not JSON" in why for src, why in reasons)
    assert any(".value" in why for _, why in reasons)


def test_messages_sent_while_the_bridge_is_down_are_not_lost(env: Env) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=5)
    env.bridge().stop()  # the broker now holds a persistent session for the bridge
    _publish(env.settings, [(GAS, r) for r in _readings(20, t0)])
    bridge = env.bridge()
    try:
        wait_for(lambda: _stored_since(env.settings, t0) == 20, 30, "20 queued readings stored")
    finally:
        bridge.stop()


# --- United Manufacturing Hub _historian messages ----------------------------------------------


def _with_umh_tag_map(env: Env) -> None:
    """The refinery site registered again with a tag map for :data:`UMH_TAG`."""
    site = next(s for s in load_park(bundled_park_path()).sites if s.id == "refinery")
    out = RegistryPublisher(env.settings.kafka_bootstrap, env.settings.topics)
    out.site(site.model_copy(update={"tag_map": {UMH_TAG: "refinery-cooling-water"}}))
    out.flush()
    out.close()

    def seen() -> bool:
        with env.gateway.registry.locked() as directory:
            return directory.tag("refinery", UMH_TAG) == "refinery-cooling-water"

    wait_for(seen, 30, "the refinery's UMH tag map")


def _ms(t: datetime) -> int:
    return int(t.timestamp()) * 1000


def _stored(settings: Settings, meter: str, t0: datetime, where: str = "true") -> int:
    return scalar(
        settings,
        f"SELECT count(*) FROM readings WHERE meter = '{meter}' AND ({where})"
        f" AND ts >= '{t0.isoformat()}' AND ts < '{(t0 + timedelta(minutes=5)).isoformat()}'",
    )


def _umh_rejections(settings: Settings, expect: int) -> list[Rejection]:
    """Rejections of UMH messages on the rejected topic (other tests' are there too)."""
    found: list[Rejection] = []

    def enough() -> bool:
        raw = consume_all(settings, settings.topics.rejected, 1_000_000, timeout_s=3)
        found[:] = [r for r in map(Rejection.model_validate_json, raw)
                    if r.source.startswith("mqtt umh/")]  # fmt: skip
        return len(found) >= expect

    wait_for(enough, 40, f"{expect} rejected UMH messages")
    return found


def test_umh_historian_messages_arrive_once_as_readings(env: Env) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=6)
    _with_umh_tag_map(env)
    # UMH Classic: tags as the payload's fields; the field names the meter
    classic = [(f"{UMH}/utilities/_historian",
                {"timestamp_ms": _ms(t0 + timedelta(seconds=i)), "refinery-fuel-gas": 2950 + i})
               for i in range(10)]  # fmt: skip
    # UMH Core: one tag, one topic, {"timestamp_ms", "value"}; the site's tag map names the meter
    core = [(f"{UMH}/{UMH_TAG}", {"timestamp_ms": _ms(t0 + timedelta(seconds=i)), "value": 410.5})
            for i in range(10)]  # fmt: skip
    bridge = env.bridge()
    try:
        _publish(env.settings, classic + core + classic[:3])  # three sent twice
        wait_for(lambda: bridge.stats.messages >= 23, 30, "23 UMH messages forwarded")
        wait_for(lambda: _stored(env.settings, "refinery-cooling-water", t0) == 10, 30,
                 "10 UMH Core readings stored")  # fmt: skip
        wait_for(lambda: _stored(env.settings, "refinery-fuel-gas", t0) == 10, 30,
                 "10 UMH Classic readings stored")  # fmt: skip
    finally:
        bridge.stop()
    assert (bridge.stats.accepted, bridge.stats.rejected) == (23, 0)
    # stored once each, with their values and the meters' units
    assert _stored(env.settings, "refinery-fuel-gas", t0,
                   "value >= 2950 AND value <= 2959 AND unit = 'm^3/h'") == 10  # fmt: skip
    assert _stored(env.settings, "refinery-cooling-water", t0, "value = 410.5") == 10
    # a restarted bridge (the broker redelivers whatever it did not see acknowledged, if any)
    # stores nothing twice
    again = env.bridge()
    try:
        time.sleep(2)
    finally:
        again.stop()
    assert again.stats.rejected == 0
    assert _stored(env.settings, "refinery-fuel-gas", t0) == 10
    assert _stored(env.settings, "refinery-cooling-water", t0) == 10


def test_bad_umh_messages_are_rejected_with_their_topic_and_reason(env: Env) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=7)
    ms = _ms(t0)
    historian = f"{UMH}/utilities/_historian"
    bridge = env.bridge()
    try:
        _publish(env.settings, [
            (historian, {"timestamp_ms": ms, "refinery-fuel-gas": "high"}),
            (historian, {"timestamp_ms": ms // 1000, "refinery-fuel-gas": 1.0}),  # seconds
            (historian, b"{not json"),
            (f"{historian}/unmapped-tag", {"timestamp_ms": ms, "value": 1.0}),
            ("umh/v1/argo/refinery/_historian", {"timestamp_ms": ms, "refinery-fuel-gas": 1.0}),
            (f"{UMH}/utilities/_analytics/work-order", {"timestamp_ms": ms, "order": "o-1"}),
            (historian, {"timestamp_ms": ms + 30_000, "refinery-fuel-gas": 2950.0}),  # good
        ])  # fmt: skip
        wait_for(lambda: bridge.stats.rejected >= 5, 30, "5 rejected UMH messages")
        wait_for(lambda: _stored(env.settings, "refinery-fuel-gas", t0) == 1, 30, "the good one")
    finally:
        bridge.stop()
    assert bridge.stats.ignored == 1  # the _analytics message: not readings, acknowledged
    reasons = {(r.source, r.reason) for r in _umh_rejections(env.settings, 5)}
    not_a_number = f"{historian}.refinery-fuel-gas: must be a number, not a string"
    assert (f"mqtt {historian} refinery-fuel-gas", not_a_number) in reasons
    assert any(src == f"mqtt {historian}" and "seconds instead of milliseconds" in why
               for src, why in reasons)  # fmt: skip
    assert any(src == f"mqtt {historian}" and "not JSON" in why for src, why in reasons)
    assert any("'utilities/_historian/unmapped-tag' names no meter" in why for _, why in reasons)
    # argo's enterprise level names the refinery's meter: refused as on every door
    assert any(src == "mqtt umh/v1/argo/refinery/_historian refinery-fuel-gas"
               and "is not one of the caller's registered meters" in why
               for src, why in reasons)  # fmt: skip
    assert not any("_analytics" in src for src, _ in reasons)


def test_umh_messages_sent_while_the_bridge_is_down_are_not_lost(env: Env) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=8)
    env.bridge().stop()  # the broker now holds a persistent session for the bridge
    _publish(env.settings, [
        (f"{UMH}/utilities/_historian",
         {"timestamp_ms": _ms(t0 + timedelta(seconds=i)), "refinery-fuel-gas": 2950})
        for i in range(20)
    ])  # fmt: skip
    bridge = env.bridge()
    try:
        wait_for(lambda: _stored(env.settings, "refinery-fuel-gas", t0) == 20, 30,
                 "20 queued UMH readings stored")  # fmt: skip
    finally:
        bridge.stop()


def test_while_kafka_is_away_nothing_is_acknowledged_and_the_broker_sends_it_again(
    env: Env,
) -> None:
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=9)
    working = env.gateway.publisher
    away = ReadingGateway(env.settings, KafkaAway(), env.gateway.registry)  # type: ignore[arg-type]
    s = env.settings
    bridge = MqttBridge(away, host=s.mqtt_host, port=s.mqtt_port, root=ROOT,
                        client_id=env.client_id, flush_s=0.05)  # fmt: skip
    bridge.start()
    try:
        _publish(s, [  # our JSON and UMH's, QoS 1 as plants send them
            (f"{ROOT}/kalundborg-refinery/refinery/refinery-fuel-gas", _readings(5, t0)),
            (f"{UMH}/utilities/_historian",
             {"timestamp_ms": _ms(t0 + timedelta(seconds=30)), "refinery-fuel-gas": 2950}),
        ])  # fmt: skip
        wait_for(lambda: bridge.stats.kafka_failures >= 1, 30, "the bridge to meet Kafka away")
        assert bridge.stats.accepted == 0
    finally:
        bridge.stop()
    assert _stored_since(s, t0) == 0
    assert env.gateway.publisher is working
    back = env.bridge()  # Kafka is back: the broker redelivers what was never acknowledged
    try:
        wait_for(lambda: _stored_since(s, t0) == 6, 30, "the 6 readings after Kafka came back")
    finally:
        back.stop()
    assert _stored_since(s, t0) == 6
