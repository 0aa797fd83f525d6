"""The bridge as a Sparkplug B host against a real Mosquitto, Kafka and PostgreSQL, driven by a
real Sparkplug B edge node (pysparkplug), as a plant's gateway would publish."""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import paho.mqtt.client as mqtt
import pysparkplug as spb
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from domain.park import bundled_park_path, load_park
from ingest.acked_publisher import Publisher
from ingest.gateway import ReadingGateway
from ingest.mqtt_bridge import MqttBridge
from ingest.registry_publisher import RegistryPublisher
from ingest.sparkplug_host import REBIRTH
from runtime.settings import Settings
from schemas.rejections import Rejection
from sinks.consumer import Sink
from tests.helpers import consume_all, isolated, scalar, wait_for
from tests.integration.test_integration_mqtt import broker  # noqa: F401 - the fixture

if not hasattr(mqtt.Client, "message_retry_set"):
    # pysparkplug 0.6.1 still calls paho 1's message_retry_set, which paho 2 dropped (QoS 1
    # retries are the broker session's job there); everything else it uses exists in paho 2.
    mqtt.Client.message_retry_set = lambda self, retry: None  # type: ignore[attr-defined]
from topics.kafka_admin import ensure_topics
from topics.registry_follower import RegistryFollower

pytestmark = pytest.mark.integration

COMPANY, SITE, METER = "kalundborg-refinery", "refinery", "refinery-fuel-gas"


@pytest.fixture(scope="module")
def bridge(broker: Settings) -> Iterator[tuple[Settings, MqttBridge]]:  # noqa: F811
    settings = isolated(broker, "sparkplug", sink_flush_s=0.2)
    host_id = f"host-{uuid.uuid4().hex[:6]}"
    update = {"sparkplug_reorder_timeout_s": 0.5, "sparkplug_host_id": host_id}
    settings = settings.model_copy(update=update)
    topics = settings.topics
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
    b = MqttBridge(ReadingGateway(settings, publisher, registry), host=settings.mqtt_host,
                   port=settings.mqtt_port, root="park",
                   client_id=f"bridge-{topics.readings.split('.')[0]}", flush_s=0.05)  # fmt: skip
    b.start()
    try:
        yield settings, b
    finally:
        b.stop()
        sink.stop()
        thread.join(30)
        registry.stop()
        publisher.close()


class Watcher:
    """A plain MQTT client recording what arrives on ``topic``."""

    def __init__(self, settings: Settings, topic: str) -> None:
        self.messages: queue.Queue[tuple[str, bytes, bool]] = queue.Queue()
        subscribed = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"w-{uuid.uuid4().hex}")
        self.client.on_message = lambda _c, _u, m: self.messages.put(
            (m.topic, bytes(m.payload), bool(m.retain))
        )
        self.client.on_subscribe = lambda *_: subscribed.set()
        self.client.connect(settings.mqtt_host, settings.mqtt_port)
        self.client.loop_start()
        self.client.subscribe(topic, qos=1)
        assert subscribed.wait(10)

    def next(self, timeout_s: float = 15) -> tuple[str, bytes, bool]:
        return self.messages.get(timeout=timeout_s)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _node(settings: Settings, t0: datetime, commands: queue.Queue[spb.Message]) -> spb.EdgeNode:
    metric = spb.Metric(timestamp=_ms(t0), name=METER, datatype=spb.DataType.DOUBLE, value=2900.0)
    node = spb.EdgeNode(COMPANY, SITE, metrics=[metric],
                        client=spb.Client(client_id=f"edge-{uuid.uuid4().hex[:8]}"),
                        cmd_callback=lambda _n, m: commands.put(m))  # fmt: skip
    node.connect(settings.mqtt_host, port=settings.mqtt_port, blocking=False)
    return node


def _count(settings: Settings, t0: datetime, quality: str = "good") -> int:
    return scalar(
        settings,
        f"SELECT count(*) FROM readings WHERE meter = '{METER}' AND quality = '{quality}'"
        f" AND ts >= '{t0.isoformat()}' AND ts < '{(t0 + timedelta(minutes=5)).isoformat()}'",
    )


def test_the_host_publishes_its_retained_state(bridge: tuple[Settings, MqttBridge]) -> None:
    settings, _ = bridge
    watcher = Watcher(settings, f"spBv1.0/STATE/{settings.sparkplug_host_id}")
    try:
        topic, payload, retained = watcher.next()
    finally:
        watcher.close()
    state = spb.State.decode(payload)
    assert (topic, retained, state.online) == (
        f"spBv1.0/STATE/{settings.sparkplug_host_id}",
        True,
        True,
    )


def test_birth_and_data_arrive_once_and_a_death_marks_the_meter_bad(
    bridge: tuple[Settings, MqttBridge],
) -> None:
    settings, b = bridge
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    commands: queue.Queue[spb.Message] = queue.Queue()
    node = _node(settings, t0, commands)
    try:
        wait_for(lambda: _count(settings, t0) == 1, 30, "the birth's reading stored")
        for i in range(1, 6):
            metric = spb.Metric(timestamp=_ms(t0 + timedelta(seconds=i)), name=METER,
                                datatype=spb.DataType.DOUBLE, value=2900.0 + i)  # fmt: skip
            node.update([metric])
        wait_for(lambda: _count(settings, t0) == 6, 30, "5 NDATA readings stored")
    finally:
        # The connection drops (as when a gateway loses power): the broker publishes the node's
        # Will, the NDEATH carrying its birth's bdSeq. (pysparkplug's clean disconnect() sends
        # an NDEATH with the *next* session's bdSeq, which a Sparkplug 3.0 host must ignore.)
        paho_client = node._client._client  # type: ignore[attr-defined]
        paho_client.loop_stop()
        sock = paho_client.socket()
        if sock is not None:
            sock.close()
    wait_for(lambda: scalar(settings, f"SELECT count(*) FROM readings WHERE meter = '{METER}'"
                            " AND quality = 'bad' AND ts > now() - interval '5 minutes'") >= 1,
             30, "the death's bad reading stored")  # fmt: skip
    assert _count(settings, t0) == 6, "each reading once"
    assert commands.empty(), "no rebirth asked of a node in sequence"
    assert b.stats.rejected == 0


def test_a_seq_gap_asks_the_node_for_a_rebirth(bridge: tuple[Settings, MqttBridge]) -> None:
    settings, _ = bridge
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    watcher = Watcher(settings, f"spBv1.0/{COMPANY}/NCMD/{SITE}")
    commands: queue.Queue[spb.Message] = queue.Queue()
    node = _node(settings, t0, commands)
    gap = spb.Client(client_id=f"gap-{uuid.uuid4().hex[:8]}")
    try:
        wait_for(lambda: _count(settings, t0) == 1, 30, "the birth's reading stored")
        gap.connect(settings.mqtt_host, port=settings.mqtt_port, blocking=False)
        metric = spb.Metric(timestamp=_ms(t0 + timedelta(seconds=1)), name=METER,
                            datatype=spb.DataType.DOUBLE, value=1.0)  # fmt: skip
        topic = spb.Topic(message_type=spb.MessageType.NDATA, group_id=COMPANY, edge_node_id=SITE)
        skipped = spb.NData(timestamp=_ms(datetime.now(UTC)), seq=9, metrics=(metric,))
        wait_for(lambda: _publish(gap, topic, skipped), 10, "the gap message sent")
        ncmd_topic, payload, _ = watcher.next()
        assert ncmd_topic == f"spBv1.0/{COMPANY}/NCMD/{SITE}"
        rebirth = spb.NCmd.decode(payload)
        assert [(m.name, m.value) for m in rebirth.metrics] == [(REBIRTH, True)]
        received = commands.get(timeout=15)  # the edge node library got it too
        assert str(received.topic) == ncmd_topic
    finally:
        gap.disconnect()
        node.disconnect()
        watcher.close()


def _publish(client: spb.Client, topic: spb.Topic, payload: spb.NData) -> bool:
    try:
        client.publish(spb.Message(topic=topic, payload=payload, qos=spb.QoS.AT_MOST_ONCE,
                                   retain=False), include_dtypes=True)  # fmt: skip
    except Exception:  # noqa: BLE001 - not connected yet
        return False
    return True


def test_metrics_that_map_to_no_meter_are_rejected_with_their_topic_and_reason(
    bridge: tuple[Settings, MqttBridge],
) -> None:
    settings, _ = bridge
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=4)
    metrics = [
        spb.Metric(timestamp=_ms(t0), name=METER, datatype=spb.DataType.DOUBLE, value=2900.0),
        spb.Metric(timestamp=_ms(t0), name="Line 3/no-such-meter", datatype=spb.DataType.DOUBLE,
                   value=1.0),
        spb.Metric(timestamp=_ms(t0), name="Line 3/Status", datatype=spb.DataType.STRING,
                   value="RUNNING"),
    ]  # fmt: skip
    node = spb.EdgeNode(COMPANY, SITE, metrics=metrics,
                        client=spb.Client(client_id=f"edge-{uuid.uuid4().hex[:8]}"))  # fmt: skip
    node.connect(settings.mqtt_host, port=settings.mqtt_port, blocking=False)
    try:
        wait_for(lambda: _count(settings, t0) == 1, 30, "the good metric stored")
        ours: list[Rejection] = []

        def both_rejected() -> bool:
            raw = consume_all(settings, settings.topics.rejected, 10_000, timeout_s=3)
            found = [Rejection.model_validate_json(v) for v in raw]
            ours[:] = [r for r in found if "no-such-meter" in r.source or "Status" in r.source]
            return len(ours) == 2

        wait_for(both_rejected, 30, "the two metrics on the rejected topic")
    finally:
        node.disconnect()
    assert all(r.source.startswith(f"mqtt spBv1.0/{COMPANY}/NBIRTH/{SITE}") for r in ours)
    reasons = " | ".join(r.reason for r in ours)
    assert "no-such-meter" in reasons
    assert "number" in reasons  # the string metric: not a number
