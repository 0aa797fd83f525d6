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

``--shape teda`` instead drives the TEDA park (``bench/teda.py``: 1,000 companies, 20,000
meters) through the HTTP door as its historians would: each company pushes its own 20 meters
once a park second, with its own token, one request each, paced at ``--teda-rate`` pushes/s
(1,000 = 1x TEDA) for ``--teda-seconds``, to ``symbiosis api --workers`` ``--api-workers``
in processes of its own; reports pushes/s and readings/s acknowledged by Kafka
and the p50/p99 latency of one push, then one JSON line. ``--door mqtt`` drives the same
historians through the MQTT bridge (``symbiosis mqtt-bridge`` in a process of its own) instead:
``--mqtt-format umh`` publishes one United Manufacturing Hub ``_historian`` message per
company per park second with all its meters (the MQTT form of one push), ``uns`` one message
per meter (``park/<company>/<site>/<meter>``, the plain Unified-Namespace form: 20 times the
messages); both QoS 1 from ``--clients`` connections, timestamped when published. It reports
messages/s and readings/s that reached Kafka, the latency from publish to the Kafka record
(p50/p99), and CPU and peak RSS of the bridge and of the load generator, then one JSON line.
"""

from __future__ import annotations

import argparse
import gzip
import os
import platform
import random
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
from schemas.registry import Park
from sinks.migrate import migrate
from symbiosis.local_mosquitto import LocalMosquitto
from symbiosis.local_postgres import LocalPostgres
from symbiosis.stack import stack_up
from symbiosis.stack_settings import StackSettings
from topics.kafka_admin import ensure_topics

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from procstat import ProcWatch
from teda import MeterPlan, meter_plans, teda_park  # bench/ runs as a script directory

from ingest.erp.samples import COMPANY as ERP_COMPANY
from ingest.erp.samples import MAPPING, write_erp_file, write_sample_park

PORT = 28095
METER, COMPANY, SITE = "refinery-fuel-gas", "kalundborg-refinery", "refinery"


def setup(park: Park | None = None) -> Settings:
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
    publisher.park(park or load_park(bundled_park_path()))
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


def bench_http_teda(
    plans: dict[str, list[MeterPlan]], company_of: dict[str, str], tokens_of: dict[str, str],
    seconds: int, rate: float, clients: int,
) -> dict[str, float]:  # fmt: skip
    """The TEDA park's historians over HTTP: one push per site per park second, paced.

    Each push carries the site's meters (20 on TEDA) with its company's token; pushes are sent
    by ``clients`` threads at ``rate`` pushes/s. Returns pushes/s and readings/s acknowledged,
    latency p50/p99 (ms) and how late the last push started (s; > 0: the door fell behind).
    """
    rng = random.Random(14)
    start = datetime.now(UTC) - timedelta(seconds=seconds + 60)
    jobs: list[tuple[str, bytes]] = []
    for tick in range(seconds):
        ts = (start + timedelta(seconds=tick)).isoformat()
        for site, meters in plans.items():
            rows = [{"meter": m.meter, "ts": ts, "value": round(rng.gauss(m.mean, m.noise), 4),
                     "unit": m.unit} for m in meters]  # fmt: skip
            jobs.append((tokens_of[company_of[site]], orjson.dumps({"readings": rows})))
    latencies: list[float] = []
    late: list[float] = []
    busy: list[str] = []
    accepted = 0
    lock = threading.Lock()

    def push(client: httpx.Client, i: int) -> None:
        nonlocal accepted
        token, body = jobs[i]
        due = t0 + i / rate
        wait = due - time.perf_counter()
        if wait > 0:
            time.sleep(wait)
        t = time.perf_counter()
        while True:  # as a historian does: a 503 is retried after its Retry-After, for 2 min
            r = client.post(f"http://127.0.0.1:{PORT}/v1/readings", content=body,
                            headers={"Authorization": f"Bearer {token}",
                                     "Content-Type": "application/json"})  # fmt: skip
            if r.status_code != 503 or time.perf_counter() - t > 120:
                break
            with lock:
                busy.append(r.text[:200])
            after = r.headers.get("Retry-After", "1")
            time.sleep(float(after) if after.isdigit() else 1.0)
        took = time.perf_counter() - t
        assert r.status_code == 200, r.text
        with lock:
            latencies.append(took)
            late.append(t - due)
            accepted += int(r.json()["accepted"])

    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    with httpx.Client(timeout=60, limits=limits) as client, ThreadPoolExecutor(clients) as pool:
        t0 = time.perf_counter()
        list(pool.map(lambda i: push(client, i), range(len(jobs))))
        took = time.perf_counter() - t0
    latencies.sort()
    return {
        "pushes_per_s": len(jobs) / took,
        "readings_per_s": accepted / took,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(0.99 * (len(latencies) - 1))] * 1000,
        "last_push_late_s": max(late[-clients:], default=0.0),
        "pushes": len(jobs),
        "accepted": accepted,
        "answers_503": len(busy),
    }


def service_env(settings: Settings, **extra: str) -> dict[str, str]:
    """This process's environment with ``settings``' Kafka, database and topics, plus ``extra``
    (``SYMBIOSIS_`` variables)."""
    return {**os.environ, "SYMBIOSIS_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "SYMBIOSIS_DATABASE_URL": settings.database_url,
            **{f"SYMBIOSIS_TOPICS__{f.upper()}": getattr(settings.topics, f)
               for f in Topics.model_fields},
            **{f"SYMBIOSIS_{k.upper()}": v for k, v in extra.items()}}  # fmt: skip


def service_process(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """``symbiosis <command>`` in a process of its own; returns once it answers on
    ``http://127.0.0.1:<port>/healthz``.

    Raises:
        SystemExit: it exited, or did not answer within 120 s.
    """
    exe = Path(sys.executable).with_name("symbiosis")
    proc = subprocess.Popen([str(exe), *command], env=env)
    name = f"symbiosis {command[0]}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise SystemExit(f"{name} exited with {proc.returncode}")
        time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"{name} did not answer within 120 s")


def api_process(settings: Settings, workers: int) -> subprocess.Popen[bytes]:
    """``symbiosis api`` on :data:`PORT` in processes of its own (not sharing the load
    generator's interpreter), configured for ``settings``; returns once it answers."""
    env = service_env(settings, api_port=str(PORT))
    return service_process(["api", "--workers", str(workers)], env, PORT)


def process_rows(watch: ProcWatch, count: float, per: str, scale: float) -> dict[str, object]:
    """Print each watched process's CPU (also per ``count`` items, as ``per``) and peak RSS as
    table rows; return them for the JSON line."""
    for name in watch.roots:
        print(f"| {name}: CPU / peak RSS | {watch.cpu_s[name]:,.1f} s "
              f"({watch.cpu_s[name] / max(count, 1) * scale:,.2f} {per}) / "
              f"{watch.peak_rss_mb[name]:,.0f} MB |")  # fmt: skip
    return {"cpu_s": {k: round(v, 1) for k, v in watch.cpu_s.items()},
            "peak_rss_mb": {k: round(v) for k, v in watch.peak_rss_mb.items()}}  # fmt: skip


def main_teda(args: argparse.Namespace) -> None:
    """``--shape teda``: the TEDA park's historians through the HTTP door; see the docstring."""
    park = teda_park()
    settings = setup(park)
    company_of = {site.id: site.company for site in park.sites}
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        tokens_of = {c: tokens.issue(conn, c, label="bench") for c in set(company_of.values())}
    server = api_process(settings, args.api_workers)
    watch = ProcWatch({"api": server.pid, "load generator (this process)": os.getpid()},
                      alone=frozenset({"load generator (this process)"}))  # fmt: skip
    try:
        watch.start()
        got = bench_http_teda(meter_plans(park.sites), company_of, tokens_of, args.teda_seconds,
                              args.teda_rate, args.clients)  # fmt: skip
        watch.stop()
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"\nmachine: {platform.node()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}")  # fmt: skip
    print(
        f"TEDA over HTTP: {len(company_of):,} companies, {args.teda_seconds} park seconds, "
        f"target {args.teda_rate:,.0f} pushes/s, {args.clients} client threads, "
        f"`symbiosis api --workers {args.api_workers}` in its own process(es)"
    )
    print("| measure | value |\n|---|---:|")
    print(f"| pushes acknowledged | {got['pushes_per_s']:,.0f} /s ({got['pushes']:,} pushes) |")
    print(f"| readings acknowledged by Kafka | {got['readings_per_s']:,.0f} /s |")
    print(f"| one push (503s retried after Retry-After): p50 / p99 | {got['p50_ms']:,.0f} ms / "
          f"{got['p99_ms']:,.0f} ms |")  # fmt: skip
    print(f"| 503 answers (busy), retried | {got['answers_503']:,.0f} |")
    print(f"| last pushes started behind schedule by | {got['last_push_late_s']:.1f} s |")
    processes = process_rows(watch, got["pushes"], "ms/push", 1e3)
    print(orjson.dumps({"shape": "teda", "door": "http", "rate_target": args.teda_rate,
                        **{k: round(v, 1) for k, v in got.items()}, **processes}).decode())  # fmt: skip


BRIDGE_METRICS_PORT = PORT + 1


def bridge_process(settings: Settings) -> subprocess.Popen[bytes]:
    """``symbiosis mqtt-bridge`` in a process of its own, configured for ``settings`` with a
    fresh client id (a persistent session of an earlier run would redeliver its messages);
    returns once it answers on its health endpoint."""
    env = service_env(settings, mqtt_host=settings.mqtt_host, mqtt_port=str(settings.mqtt_port),
                      app_id=f"bench-{uuid.uuid4().hex[:8]}",
                      metrics_port=str(BRIDGE_METRICS_PORT))  # fmt: skip
    return service_process(["mqtt-bridge"], env, BRIDGE_METRICS_PORT)


class _ReadingsCounter(threading.Thread):
    """Counts the readings reaching the readings topic (each (meter, ts) once, and how many
    came twice), and each record's latency: its Kafka timestamp (the time the bridge handed it
    to its producer) minus its newest reading's time (the load timestamps a reading when it
    publishes it)."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(daemon=True)
        from kafka import KafkaConsumer, TopicPartition

        self.consumer = KafkaConsumer(bootstrap_servers=settings.kafka_bootstrap,
                                      enable_auto_commit=False)  # fmt: skip
        parts = self.consumer.partitions_for_topic(settings.topics.readings) or set()
        self.consumer.assign([TopicPartition(settings.topics.readings, p) for p in parts])
        self.consumer.seek_to_beginning()
        self.readings = 0
        self.distinct: set[tuple[str, str]] = set()
        """Each (meter, ts) seen: readings that arrived, duplicates counted once."""
        self.records = 0
        self.latencies: list[float] = []
        self.last_at = 0.0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            for recs in self.consumer.poll(timeout_ms=200, max_records=5000).values():
                for rec in recs:
                    body = orjson.loads(rec.value)
                    batches = body.get("batches", [body])
                    newest = max(datetime.fromisoformat(b["readings"][-1]["ts"]) for b in batches)
                    self.latencies.append(rec.timestamp / 1000 - newest.timestamp())
                    for b in batches:
                        self.distinct.update((r["meter"], r["ts"]) for r in b["readings"])
                        self.readings += len(b["readings"])
                    self.records += 1
                    self.last_at = time.perf_counter()
        self.consumer.close()


def bench_mqtt_teda(
    settings: Settings, plans: dict[str, list[MeterPlan]], company_of: dict[str, str],
    seconds: int, rate: float, clients: int, fmt: str, watch: ProcWatch,
) -> dict[str, float]:  # fmt: skip
    """The TEDA park's historians over MQTT: one push per site per park second, paced.

    ``fmt`` ``umh``: one ``_historian`` message per push; ``uns``: one message per meter of
    the push (published together). Pushes are spread over ``clients`` connections at ``rate``
    pushes/s. Returns messages/s published, readings/s that reached Kafka, the latency from
    publish to the Kafka record (p50/p99, ms), and how late the last push started (s).
    """
    rng = random.Random(15)
    sites = list(plans)
    counter = _ReadingsCounter(settings)
    counter.start()
    conns = []
    for k in range(clients):
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"teda-{k}-{uuid.uuid4().hex[:6]}")
        c.max_inflight_messages_set(1000)
        c.max_queued_messages_set(0)
        c.connect(settings.mqtt_host, settings.mqtt_port)
        c.loop_start()
        conns.append(c)
    pushes = seconds * len(sites)
    late: list[float] = []
    published = [0] * clients
    sent_readings = [0] * clients

    def messages(site: str, now: float) -> list[tuple[str, bytes]]:
        company, meters = company_of[site], plans[site]
        values = [round(rng.gauss(m.mean, m.noise), 4) for m in meters]
        if fmt == "umh":
            body: dict[str, object] = {"timestamp_ms": int(now * 1000)}
            body.update((m.meter, v) for m, v in zip(meters, values, strict=True))
            return [(f"umh/v1/{company}/{site}/_historian", orjson.dumps(body))]
        ts = datetime.fromtimestamp(now, UTC).isoformat()
        return [(f"{settings.mqtt_topic_root}/{company}/{site}/{m.meter}",
                 orjson.dumps({"ts": ts, "value": v, "unit": m.unit}))
                for m, v in zip(meters, values, strict=True)]  # fmt: skip

    def publisher(k: int) -> None:
        infos = []
        for i in range(k, pushes, clients):
            due = t0 + i / rate
            wait = due - time.perf_counter()
            if wait > 0:
                time.sleep(wait)
            late.append(time.perf_counter() - due)
            for topic, payload in messages(sites[i % len(sites)], time.time()):
                infos.append(conns[k].publish(topic, payload, qos=1))
                published[k] += 1
            sent_readings[k] += len(plans[sites[i % len(sites)]])
        for info in infos:
            info.wait_for_publish(timeout=120)

    watch.start()
    t0 = time.perf_counter()
    threads = [threading.Thread(target=publisher, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    t_published = time.perf_counter() - t0
    deadline = time.monotonic() + 120
    while len(counter.distinct) < sum(sent_readings) and time.monotonic() < deadline:
        time.sleep(0.1)
    watch.stop()
    counter.stop.set()
    counter.join()
    for c in conns:
        c.disconnect()
        c.loop_stop()
    took = max(counter.last_at - t0, t_published)
    lat = sorted(counter.latencies) or [float("nan")]
    return {
        "messages_per_s": sum(published) / t_published,
        "readings_per_s": counter.readings / took,
        "p50_ms": statistics.median(lat) * 1000,
        "p99_ms": lat[int(0.99 * (len(lat) - 1))] * 1000,
        "last_push_late_s": max(late[-clients:], default=0.0),
        "messages": sum(published),
        "readings_sent": sum(sent_readings),
        "readings_in_kafka": len(counter.distinct),
        "duplicates_in_kafka": counter.readings - len(counter.distinct),
        "kafka_records": counter.records,
    }


def main_teda_mqtt(args: argparse.Namespace) -> None:
    """``--shape teda --door mqtt``: the TEDA park's historians through the MQTT bridge."""
    park = teda_park()
    settings = setup(park)
    company_of = {site.id: site.company for site in park.sites}
    bridge = bridge_process(settings)
    watch = ProcWatch({"mqtt bridge": bridge.pid, "load generator (this process)": os.getpid()},
                      alone=frozenset({"load generator (this process)"}))  # fmt: skip
    try:
        got = bench_mqtt_teda(settings, meter_plans(park.sites), company_of, args.teda_seconds,
                              args.teda_rate, args.clients, args.mqtt_format, watch)  # fmt: skip
    finally:
        bridge.terminate()
        bridge.wait(timeout=30)
    print(f"\nmachine: {platform.node()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}")  # fmt: skip
    print(
        f"TEDA over MQTT ({args.mqtt_format}): {len(company_of):,} companies, "
        f"{args.teda_seconds} park seconds, target {args.teda_rate:,.0f} pushes/s, "
        f"{args.clients} MQTT connections, QoS 1, `symbiosis mqtt-bridge` in its own process"
    )
    print("| measure | value |\n|---|---:|")
    print(f"| messages published | {got['messages_per_s']:,.0f} /s ({got['messages']:,.0f}) |")
    print(f"| readings in Kafka | {got['readings_per_s']:,.0f} /s "
          f"({got['readings_in_kafka']:,.0f} of {got['readings_sent']:,.0f} sent, "
          f"{got['kafka_records']:,.0f} records, {got['duplicates_in_kafka']:,.0f} duplicates) |")  # fmt: skip
    print(
        f"| publish -> the bridge's Kafka send: p50 / p99 | {got['p50_ms']:,.0f} ms / {got['p99_ms']:,.0f} ms |"
    )
    print(f"| last pushes started behind schedule by | {got['last_push_late_s']:.1f} s |")
    processes = process_rows(watch, got["readings_sent"], "us/reading", 1e6)
    print(orjson.dumps({"shape": "teda", "door": "mqtt", "format": args.mqtt_format,
                        "rate_target": args.teda_rate, **{k: round(v, 1) for k, v in got.items()},
                        **processes}).decode())  # fmt: skip


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
        park = write_sample_park(Path(tmp) / "park.yaml")
        with psycopg.connect(settings.database_url, autocommit=True) as conn:
            token = tokens.issue(conn, ERP_COMPANY, label="bench_ingest")
        cmd = [str(Path(sys.executable).parent / "symbiosis"), "import", str(export),
               "--mapping", str(mapping), "--company", ERP_COMPANY, "--park", str(park),
               "--token", token, *(["--dry-run"] if dry_run else [])]  # fmt: skip
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
    parser.add_argument(
        "--shape",
        choices=("doors", "teda"),
        default="doors",
        help="doors: each door with one meter's large pushes (default); teda: "
        "the TEDA park's historians over HTTP, one small push per company",
    )
    parser.add_argument(
        "--teda-rate", type=float, default=1000.0, help="teda: pushes per second (1,000 = 1x TEDA)"
    )
    parser.add_argument("--teda-seconds", type=int, default=30, help="teda: park seconds")
    parser.add_argument(
        "--clients", type=int, default=32, help="teda: client threads (HTTP) or connections (MQTT)"
    )
    parser.add_argument(
        "--door",
        choices=("http", "mqtt"),
        default="http",
        help="teda: the door the historians push through",
    )
    parser.add_argument(
        "--mqtt-format",
        choices=("umh", "uns"),
        default="umh",
        help="teda, mqtt: one UMH _historian message per push, or one "
        "Unified-Namespace message per meter",
    )
    parser.add_argument(
        "--api-workers", type=int, default=1, help="teda: processes of `symbiosis api --workers N`"
    )
    args = parser.parse_args()
    if args.shape == "teda":
        if args.door == "mqtt":
            main_teda_mqtt(args)
        else:
            main_teda(args)
        return
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
