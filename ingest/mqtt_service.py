"""The MQTT bridge as a process: Kafka topics, the registry, the bridge, metrics and health.

``symbiosis mqtt-bridge`` and ``python -m ingest.mqtt_service`` run :func:`run_bridge`; the
process serves ``/metrics`` and ``/healthz`` on ``SYMBIOSIS_METRICS_PORT`` like every other
process (never on the broker's or the API's port).
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable

from ingest.acked_publisher import Publisher
from ingest.gateway import ReadingGateway
from ingest.mqtt_bridge import BridgeStats, MqttBridge
from runtime import metrics
from runtime.logs import configure_logging
from runtime.settings import Settings, get_settings
from topics.kafka_admin import ensure_topics
from topics.kafka_security import kafka_client_options
from topics.registry_follower import RegistryFollower


def run_bridge(
    settings: Settings, stop: threading.Event, ready: Callable[[str], None] = lambda _: None
) -> BridgeStats:
    """Bridge the broker's trees to Kafka until ``stop`` is set; returns the totals.

    ``ready`` is told what is bridged once the bridge is subscribed.

    Raises:
        UnavailableError: Kafka or the broker cannot be reached at start.
        ConfigurationError: the broker refused the bridge's login.
        OSError: the metrics port is in use.
    """
    options = kafka_client_options(settings)
    ensure_topics(settings.kafka_bootstrap, settings.topics.configs(), settings.partitions, options,
                  replication_factor=settings.kafka_replication_factor)  # fmt: skip
    publisher = Publisher(settings.kafka_bootstrap, **options)
    registry = RegistryFollower(settings.kafka_bootstrap, settings.topics, options=options)
    try:
        registry.start()
        registry.wait_ready()
        bridge = MqttBridge(
            ReadingGateway(settings, publisher, registry),
            host=settings.mqtt_host,
            port=settings.mqtt_port,
            root=settings.mqtt_topic_root,
            client_id=f"{settings.app_id}-mqtt-bridge",
        )
        probes = metrics.serve(
            settings.metrics_port, process="mqtt-bridge", addr=settings.metrics_host,
            healthy=bridge.heartbeat.healthy,
        )  # fmt: skip
        try:
            bridge.start()
            broker = f"mqtt://{settings.mqtt_host}:{settings.mqtt_port}"
            ready(
                f"{broker}/{settings.mqtt_topic_root}/#, {broker}/umh/v1/# and "
                f"{broker}/spBv1.0/# -> {settings.topics.readings}"
            )
            stop.wait()
            bridge.stop()
        finally:
            if probes is not None:
                probes.close()
        return bridge.stats
    finally:
        registry.stop()
        publisher.close()


def main() -> None:
    """Run the bridge with this process's settings until SIGTERM/SIGINT."""
    configure_logging()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    run_bridge(get_settings(), stop)


if __name__ == "__main__":
    main()
