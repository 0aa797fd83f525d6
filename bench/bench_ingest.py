"""Ingest benchmark on the local stack: the three doors, measured in the same run.

    python bench/bench_ingest.py [--rounds 3] [--http-readings 200000] [--mqtt-readings 50000]
                                 [--erp-rows 100000]

What it measures (each door ``--rounds`` times; medians reported):
1. HTTP API: pushes of 1,000 readings (``POST /v1/readings``) from 4 concurrent clients to a
   real uvicorn server (one process, the same app ``symbiosis api`` serves); readings/s counted
   as acknowledged by Kafka (the answer says so), and the median/p99 latency of one push.
2. MQTT bridge: a plant publishes messages of 50 readings with QoS 1 to Mosquitto; readings/s
   until the bridge has forwarded all of them (acknowledged by Kafka).
3. OMF: a PI adapter's data messages of 1,000 values, gzip, to ``POST /omf`` from 4 clients
   (after its type and container messages); readings/s acknowledged.
4. Sparkplug B: an edge node's NDATA of 50 metrics (payloads encoded by pysparkplug, QoS 1)
   after its NBIRTH; readings/s until the bridge has forwarded them all.
5. ERP import: ``symbiosis import`` of a generated CSV, ``--dry-run`` (read, validate,
   classify) and publishing (plus Kafka acknowledgements).

Uses its own topics (``bench-ingest-*``) and the test database; prints a markdown table.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import orjson
import paho.mqtt.client as mqtt
import psycopg
import uvicorn
import yaml
from paho.mqtt.enums import CallbackAPIVersion

from domain.park import bundled_park_path, load_park
from ingest.api import tokens
from ingest.api.app import create_app
from ingest.api.services import Services
from ingest.gateway import ReadingGateway
from ingest.mqtt_bridge import MqttBridge
from ingest.registry_publisher import RegistryPublisher
from runtime.settings import Settings, Topics
from sinks.migrate import migrate
from symbiosis.local_mosquitto import LocalMosquitto
from symbiosis.local_postgres import LocalPostgres
from symbiosis.stack import stack_up
from symbiosis.stack_settings import StackSettings
from topics.kafka_admin import ensure_topics

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ingest.erp.samples import MAPPING, write_erp_file

PORT = 28095
METER, COMPANY, SITE = "refinery-fuel-gas", "kalundborg-refinery", "refinery"


def setup() -> Settings:
    base = StackSettings()
    stack_up(base)
    LocalMosquitto(base).up()
    LocalPostgres(base).create_database("symbiosis_bench")
    url = base.database_url.rsplit("/", 1)[0] + "/symbiosis_bench"
    migrate(url)
    prefix = f"bench-ingest-{uuid.uuid4().hex[:6]}"
    topics = Topics(**{f: f"{prefix}.{f}" for f in Topics.model_fields})
    settings = base.model_copy(update={"database_url": url, "topics": topics, "api_port": PORT})
    ensure_topics(settings.kafka_bootstrap, topics.configs(), settings.partitions)
    publisher = RegistryPublisher(settings.kafka_bootstrap, topics)
    publisher.park(load_park(bundled_park_path()))
    publisher.flush()
    publisher.close()
    return settings


def readings(n: int, start: datetime) -> list[dict[str, object]]:
    return [
        {"meter": METER, "ts": (start + timedelta(milliseconds=i)).isoformat(), "value": 2900.0,
         "unit": "m^3/h"}
        for i in range(n)
    ]  # fmt: skip


def bench_http(settings: Settings, total: int, token: str) -> tuple[float, float, float]:
    """Readings/s acknowledged, median and p99 latency (ms) of one push of 1,000."""
    start = datetime.now(UTC) - timedelta(days=1) - timedelta(seconds=total / 1000)
    bodies = [
        orjson.dumps({"readings": readings(1000, start + timedelta(seconds=i))})
        for i in range(total // 1000)
    ]
    latencies: list[float] = []
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def push(client: httpx.Client, body: bytes) -> None:
        t = time.perf_counter()
        r = client.post(f"http://127.0.0.1:{PORT}/v1/readings", content=body, headers=headers)
        latencies.append(time.perf_counter() - t)
        assert r.status_code == 200, r.text

    t0 = time.perf_counter()
    with httpx.Client(timeout=60) as client, ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda b: push(client, b), bodies))
    took = time.perf_counter() - t0
    latencies.sort()
    return (
        len(bodies) * 1000 / took,
        statistics.median(latencies) * 1000,
        latencies[int(0.99 * (len(latencies) - 1))] * 1000,
    )


def bench_mqtt(settings: Settings, total: int, services: Services) -> float:
    """Readings/s from the first publish until the bridge has forwarded them all."""
    gateway = ReadingGateway(settings, services.publisher, services.registry)
    bridge = MqttBridge(
        gateway, host=settings.mqtt_host, port=settings.mqtt_port, root="park",
        client_id=f"bench-{uuid.uuid4().hex[:6]}",
    )  # fmt: skip
    bridge.start()
    start = datetime.now(UTC) - timedelta(days=2)
    topic = f"park/{COMPANY}/{SITE}/{METER}"
    messages = [
        orjson.dumps([{k: v for k, v in r.items() if k != "meter"}
                      for r in readings(50, start + timedelta(seconds=i))])
        for i in range(total // 50)
    ]  # fmt: skip
    plant = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"plant-{uuid.uuid4().hex[:6]}")
    plant.max_inflight_messages_set(1000)
    plant.connect(settings.mqtt_host, settings.mqtt_port)
    plant.loop_start()
    t0 = time.perf_counter()
    infos = [plant.publish(topic, m, qos=1) for m in messages]
    for info in infos:
        info.wait_for_publish(timeout=60)
    while bridge.stats.accepted < len(messages) * 50:
        time.sleep(0.02)
    took = time.perf_counter() - t0
    plant.disconnect()
    plant.loop_stop()
    bridge.stop()
    return len(messages) * 50 / took


OMF_TYPE = {"id": "BenchFlow", "type": "object", "classification": "dynamic", "properties": {
    "Timestamp": {"type": "string", "format": "date-time", "isindex": True},
    "Flow": {"type": "number", "format": "float64", "uom": "m3/h"}}}  # fmt: skip


def bench_omf(settings: Settings, total: int, token: str) -> float:
    """Readings/s acknowledged of OMF data messages of 1,000 values (gzip, 4 clients)."""
    headers = {"Authorization": f"Bearer {token}", "messageformat": "json", "omfversion": "1.2",
               "action": "create", "compression": "gzip"}  # fmt: skip
    url = f"http://127.0.0.1:{PORT}/omf"
    with httpx.Client(timeout=60) as client:
        for kind, items in (
            ("type", [OMF_TYPE]),
            ("container", [{"id": METER, "typeid": "BenchFlow"}]),
        ):
            r = client.post(url, content=gzip.compress(orjson.dumps(items)),
                            headers={**headers, "messagetype": kind})  # fmt: skip
            assert r.status_code in (200, 202, 204), r.text
    start = datetime.now(UTC) - timedelta(days=3) - timedelta(seconds=total / 1000)
    bodies = [
        gzip.compress(orjson.dumps([{"containerid": METER, "values": [
            {"Timestamp": (start + timedelta(seconds=i, milliseconds=j)).isoformat(),
             "Flow": 2900.0} for j in range(1000)]}]))
        for i in range(total // 1000)
    ]  # fmt: skip

    def push(client: httpx.Client, body: bytes) -> None:
        r = client.post(url, content=body, headers={**headers, "messagetype": "data"})
        assert r.status_code in (200, 202, 204), r.text

    t0 = time.perf_counter()
    with httpx.Client(timeout=60) as client, ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda b: push(client, b), bodies))
    return len(bodies) * 1000 / (time.perf_counter() - t0)


def bench_sparkplug(settings: Settings, total: int, services: Services) -> float:
    """Readings/s from the NBIRTH until the bridge has forwarded every NDATA metric."""
    import pysparkplug as spb  # the tests' edge-node library (installed by the Makefile)

    gateway = ReadingGateway(settings, services.publisher, services.registry)
    bridge = MqttBridge(
        gateway, host=settings.mqtt_host, port=settings.mqtt_port, root="park",
        client_id=f"bench-{uuid.uuid4().hex[:6]}",
    )  # fmt: skip
    bridge.start()
    start = datetime.now(UTC) - timedelta(days=4)

    def ms(t: datetime) -> int:
        return int(t.timestamp() * 1000)

    def metric(t: datetime) -> spb.Metric:
        return spb.Metric(timestamp=ms(t), name=METER, datatype=spb.DataType.DOUBLE, value=2900.0)

    def topic(kind: spb.MessageType) -> str:
        return str(spb.Topic(message_type=kind, group_id=COMPANY, edge_node_id=SITE))

    bd_seq = spb.Metric(timestamp=ms(start), name="bdSeq", datatype=spb.DataType.INT64, value=0)
    birth = spb.NBirth(timestamp=ms(start), seq=0, metrics=(metric(start), bd_seq))
    data = [
        spb.NData(timestamp=ms(start), seq=(i + 1) % 256, metrics=tuple(
            metric(start + timedelta(seconds=1 + i, milliseconds=j)) for j in range(50)))
        for i in range(total // 50)
    ]  # fmt: skip
    node = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"node-{uuid.uuid4().hex[:6]}")
    node.max_inflight_messages_set(1000)
    node.connect(settings.mqtt_host, settings.mqtt_port)
    node.loop_start()
    t0 = time.perf_counter()
    infos = [node.publish(topic(spb.MessageType.NBIRTH), birth.encode(include_dtypes=True), qos=1)]
    infos += [node.publish(topic(spb.MessageType.NDATA), d.encode(), qos=1) for d in data]
    for info in infos:
        info.wait_for_publish(timeout=60)
    while bridge.stats.accepted < len(data) * 50 + 1:
        time.sleep(0.02)
    took = time.perf_counter() - t0
    node.disconnect()
    node.loop_stop()
    bridge.stop()
    return (len(data) * 50 + 1) / took


def bench_erp(settings: Settings, rows: int, dry_run: bool) -> float:
    """Rows/s of ``symbiosis import`` (one process, measured from outside)."""
    with tempfile.TemporaryDirectory() as tmp:
        export, mapping = Path(tmp) / "stock.csv", Path(tmp) / "mapping.yaml"
        write_erp_file(export, rows, "csv", bad_every=997)
        mapping.write_text(yaml.safe_dump(MAPPING))
        cmd = [str(Path(sys.executable).parent / "symbiosis"), "import", str(export),
               "--mapping", str(mapping), *(["--dry-run"] if dry_run else [])]  # fmt: skip
        t0 = time.perf_counter()
        done = subprocess.run(
            cmd, env={**os.environ, **settings.child_env()}, capture_output=True, check=False
        )
        took = time.perf_counter() - t0
        assert done.returncode == 1, done.stderr[-2000:]  # the bad rows
    return rows / took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--http-readings", type=int, default=200_000)
    parser.add_argument("--mqtt-readings", type=int, default=50_000)
    parser.add_argument("--erp-rows", type=int, default=100_000)
    args = parser.parse_args()
    settings = setup()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        token = tokens.issue(conn, COMPANY, label="bench")
    services = Services.open(settings)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, services), port=PORT,
                                           log_level="warning"))  # fmt: skip
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    results: dict[str, list[float]] = {}
    try:
        for _ in range(args.rounds):
            rate, p50, p99 = bench_http(settings, args.http_readings, token)
            results.setdefault("HTTP push, readings/s", []).append(rate)
            results.setdefault("HTTP push of 1,000: p50 ms", []).append(p50)
            results.setdefault("HTTP push of 1,000: p99 ms", []).append(p99)
            results.setdefault("MQTT bridge, readings/s", []).append(
                bench_mqtt(settings, args.mqtt_readings, services)
            )
            results.setdefault("OMF data (gzip, 1,000 values), readings/s", []).append(
                bench_omf(settings, args.http_readings, token)
            )
            results.setdefault("Sparkplug B NDATA (50 metrics), readings/s", []).append(
                bench_sparkplug(settings, args.mqtt_readings, services)
            )
            results.setdefault("ERP import --dry-run, rows/s", []).append(
                bench_erp(settings, args.erp_rows, dry_run=True)
            )
            results.setdefault("ERP import, rows/s", []).append(
                bench_erp(settings, args.erp_rows, dry_run=False)
            )
    finally:
        server.should_exit = True
        services.close()
    print(
        f"\nmachine: {platform.node()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print("| measure | median | all rounds |\n|---|---:|---|")
    for name, values in results.items():
        shown = ", ".join(f"{v:,.0f}" for v in values)
        print(f"| {name} | {statistics.median(values):,.0f} | {shown} |")
    http = statistics.median(results["HTTP push, readings/s"])
    for name in ("OMF data (gzip, 1,000 values), readings/s",
                 "Sparkplug B NDATA (50 metrics), readings/s"):  # fmt: skip
        ratio = statistics.median(results[name]) / http
        print(f"{name.removesuffix(', readings/s')} / HTTP push: {ratio:.2f}x")


if __name__ == "__main__":
    main()
