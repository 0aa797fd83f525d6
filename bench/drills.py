"""Fault drills: kill parts of the pipeline under a steady load and check that nothing is lost.

    python bench/drills.py [--rounds 3] [--faults worker,sink,api,mqtt-bridge,broker,postgres]
    SYMBIOSIS_KAFKA_PORT=29092 SYMBIOSIS_KAFKA_CONTROLLER_PORT=29093 \
        python bench/drills.py --brokers 3 --faults broker --rounds 3

What it does:
1. Starts the stack if needed (Kafka, PostgreSQL, Mosquitto); uses its own database
   (``symbiosis_drills``) and topics (``drills.*``), so it never touches other data.
2. Registers a small park: three companies pushing over HTTP, one over MQTT, two heat streams
   of two meters each per site, and one need that every stream can serve. Each stream's
   surplus swings above and below the need every 20 s, so alerts open and resolve throughout.
3. Starts the real processes: ``--workers`` stream workers (default 1), the sink, the API, the
   MQTT bridge.
4. Drives a steady load through the doors, as historians do: every 0.5 s each site pushes a
   reading of each of its meters, over HTTP (one request per site) or MQTT (QoS 1, one message
   per meter). A reading counts as acknowledged when the API answered 200 or the broker sent
   its PUBACK; an HTTP push that failed (refused connection, 503, time-out) is sent again,
   oldest first, as a store-and-forward historian does, so the same reading may arrive twice.
5. ``--rounds`` times, each fault in turn: ``kill -9`` and restart the stream worker, the sink,
   the API, the MQTT bridge or the Kafka broker, or stop PostgreSQL in immediate mode (a
   crash) and start it again. Recovery time: from the fault until readings and ledger entries
   stamped after the restart are stored.
6. Stops the load, waits until every acknowledged reading is stored and both consumer groups
   are caught up, then checks: readings stored = readings acknowledged (``lost``), no reading
   or alert event stored twice (``duplicated``), each stream's newest ledger entry equals the
   mean of its stored readings over the window (``ledger_mismatches``), and every alert's
   events are one ``opened``, then ``updated``, at most one ``resolved`` last, with sequence
   numbers 1, 2, 3... and no pair opened again before its previous episode resolved
   (``alert_lifecycle_errors``). Readings are keyed by meter and time in the database, so a
   reading can only be stored twice as two rows if its key changed: ``duplicated`` counts that
   (readings rows beyond their distinct keys, for a schema that lost its key) and, the real
   risk, one alert event (idempotency key) stored at two times. Repeats on the topics are
   expected (historians send again) and are not counted.

With ``--brokers 3`` the drill runs on a local three-node KRaft cluster (replication factor 3,
``min.insync.replicas=2``; started beside the single node when given other ports) and each
broker fault kills the next node in turn: producers and workers carry on with two nodes, and
at the end every partition must have its three replicas in sync again (``under_replicated``).

Prints a table per fault and, last, one JSON line: ``faults``, ``lost``, ``duplicated``,
``ledger_mismatches``, ``alert_lifecycle_errors``, ``max_recovery_s`` (and the counts behind
them). Exits 1 when any of the four checks is not 0. ``tests/integration/test_drills.py`` runs
one round of every fault in ``make test``.
"""

from __future__ import annotations

import argparse
import itertools
import sys
import threading
import time
import uuid
import zlib
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import paho.mqtt.client as mqtt
import psycopg
from kafka import KafkaAdminClient
from paho.mqtt.enums import CallbackAPIVersion

from ingest.api import tokens
from runtime.waiting import tail
from schemas.common import ResourceKind
from schemas.registry import Need, Park, Site, Stream
from symbiosis.local_kafka import LocalKafka
from symbiosis.local_mosquitto import LocalMosquitto
from symbiosis.local_postgres import LocalPostgres
from symbiosis.pipeline import LocalPipeline
from symbiosis.stack_settings import StackSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from scratch import delete_run_topics, scratch_run, wait_api  # bench/ runs as a script directory

FAULTS = ("worker", "sink", "api", "mqtt-bridge", "broker", "postgres")
TICK_S = 0.5
SWING_S = 20.0
WINDOW_S = 3.0
HTTP_SITES = 3
API_PORT = 18_280

Key = tuple[str, int]
"""A reading's identity: meter, timestamp in Unix milliseconds."""


def drill_park() -> Park:
    """Four supplier sites (the last pushes over MQTT) and one taker with a heat need."""
    sites = [
        Site(id=f"drill-site-{i}", name=f"Drill site {i}", company=f"drill-co-{i}",
             lat=55.0 + i * 0.001, lon=11.0, streams=[
                 Stream(id=f"drill-s{i}-heat-{j}", kind=ResourceKind.HEAT, unit="MW", nominal=10,
                        temperature_c=120,
                        meters=[f"drill-s{i}-heat-{j}-m{k}" for k in range(2)])
                 for j in range(2)
             ])
        for i in range(HTTP_SITES + 1)
    ]  # fmt: skip
    taker = Site(id="drill-taker", name="Drill taker", company="drill-taker-co", lat=55.01,
                 lon=11.0)  # fmt: skip
    need = Need(id="drill-need", site="drill-taker", kind=ResourceKind.HEAT, unit="MW", min_quantity=5,
                min_temperature_c=60, max_distance_km=10)  # fmt: skip
    return Park(park="drills", sites=[*sites, taker], needs=[need])


def meter_value(meter: str, t_s: float) -> float:
    """Per meter MW: a stream of two meters measures 8 MW (above the 5 MW need) or 2 MW,
    swinging every ``SWING_S`` with a phase of its own."""
    phase = (zlib.crc32(meter.rsplit("-m", 1)[0].encode()) % 7) * SWING_S / 7
    return 4.0 if int((t_s + phase) / SWING_S) % 2 == 0 else 1.0


@dataclass
class Load:
    """The historians: HTTP pushes per site and MQTT messages per meter, with what was acked."""

    park: Park
    api_url: str
    tokens: dict[str, str]
    mqtt_host: str
    mqtt_port: int
    acked: set[Key] = field(default_factory=set)
    refused: list[str] = field(default_factory=list)
    retries: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> list[threading.Thread]:
        """Start the HTTP and MQTT historians; they push until :attr:`stop` is set."""
        threads = [threading.Thread(target=self._http, daemon=True, name="drill-http"),
                   threading.Thread(target=self._mqtt, daemon=True, name="drill-mqtt")]  # fmt: skip
        for t in threads:
            t.start()
        return threads

    def _readings(self, site: Site, now_ms: int) -> list[dict[str, object]]:
        ts = datetime.fromtimestamp(now_ms / 1000, UTC).isoformat()
        return [
            {"meter": m, "ts": ts, "value": meter_value(m, now_ms / 1000), "unit": "MW"}
            for st in site.streams
            for m in st.meter_ids
        ]

    def _http(self) -> None:
        sites = self.park.sites[:HTTP_SITES]
        queues: dict[str, deque[dict[str, object]]] = {s.id: deque() for s in sites}
        with httpx.Client(base_url=self.api_url, timeout=5.0) as client:
            while not self.stop.is_set():
                tick = time.monotonic()
                now_ms = int(time.time() * 1000)
                for site in sites:
                    queues[site.id].extend(self._readings(site, now_ms))
                    self._push(client, site, queues[site.id])
                self.stop.wait(max(TICK_S - (time.monotonic() - tick), 0.0))

    def _push(self, client: httpx.Client, site: Site, queue: deque[dict[str, object]]) -> None:
        """Send the site's oldest buffered readings; drop them from the buffer once acked."""
        rows = list(queue)[:2_000]
        headers = {"Authorization": f"Bearer {self.tokens[site.company]}"}
        try:
            answer = client.post("/v1/readings", json={"readings": rows}, headers=headers)
        except httpx.HTTPError:
            self.retries += 1
            return
        if answer.status_code in (429, 502, 503, 504):
            self.retries += 1
            return
        for _ in rows:
            queue.popleft()
        if answer.status_code != 200:
            self.refused.append(f"{answer.status_code} {answer.text[:200]}")
            return
        keys = {(str(r["meter"]), _ms(str(r["ts"]))) for r in rows}
        with self.lock:
            self.acked |= keys

    def _mqtt(self) -> None:
        site = self.park.sites[HTTP_SITES]
        client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"drill-{uuid.uuid4().hex[:6]}")
        client.max_inflight_messages_set(1_000)
        client.connect(self.mqtt_host, self.mqtt_port)
        client.loop_start()
        try:
            while not self.stop.is_set():
                tick = time.monotonic()
                now_ms = int(time.time() * 1000)
                sent = []
                for r in self._readings(site, now_ms):
                    topic = f"park/{site.company}/{site.id}/{r['meter']}"
                    body = {"ts": r["ts"], "value": r["value"], "unit": "MW"}
                    sent.append((client.publish(topic, orjson.dumps(body), qos=1), r))
                for info, r in sent:
                    info.wait_for_publish(timeout=10)
                    if info.is_published():
                        with self.lock:
                            self.acked.add((str(r["meter"]), now_ms))
                    else:
                        self.refused.append(f"mqtt {r['meter']}: no PUBACK in 10 s")
                self.stop.wait(max(TICK_S - (time.monotonic() - tick), 0.0))
        finally:
            client.loop_stop()
            client.disconnect()


def _ms(iso: str) -> int:
    return round(datetime.fromisoformat(iso).timestamp() * 1000)


@dataclass
class Drill:
    """The stack, the pipeline's processes and the faults."""

    settings: StackSettings
    pipeline: LocalPipeline
    broker_kills: int = 0

    def inject(self, fault: str) -> None:
        """Cause one fault and recover from it as a supervisor (or an operator) would."""
        if fault in ("worker", "sink", "api", "mqtt-bridge"):
            name = "streams" if fault == "worker" else fault
            self.pipeline.kill(name)
            time.sleep(1.0)
            self.pipeline.restart(name)  # at once, as a supervisor without back-off would
        elif fault == "broker":
            kafka = LocalKafka(self.settings)
            victim = self.broker_kills % len(kafka.nodes)  # a cluster: each node in turn
            self.broker_kills += 1
            if kafka.kill(victim) is None:
                raise SystemExit(f"Kafka node {victim} is not running")
            time.sleep(2.0)
            kafka.up()
        elif fault == "postgres":
            pg = LocalPostgres(self.settings)
            pg.crash()
            time.sleep(2.0)
            pg.up()
        else:
            raise ValueError(fault)

    def wait_flowing(self, since_ms: int, timeout_s: float = 300.0) -> None:
        """Until a reading and a ledger entry stamped after ``since_ms`` are stored."""
        since = datetime.fromtimestamp(since_ms / 1000, UTC)
        deadline = time.monotonic() + timeout_s
        seen: tuple[object, ...] | None = None
        while time.monotonic() < deadline:
            self.pipeline.check()
            try:
                with psycopg.connect(self.settings.database_url, connect_timeout=3) as conn:
                    seen = conn.execute(
                        "SELECT EXISTS (SELECT 1 FROM readings WHERE ts > %s),"
                        " EXISTS (SELECT 1 FROM ledger WHERE updated_at > %s)",
                        (since, since),
                    ).fetchone()
                if seen is not None and seen[0] and seen[1]:
                    return
            except psycopg.Error:
                pass
            time.sleep(0.25)
        # what was missing, and the logs of the two children that store it (the run's stdout
        # is all a CI failure shows; the logs stay on the machine that ran it)
        readings, ledger = seen if seen is not None else ("unknown", "unknown")
        logs = "".join(
            f"\n--- last lines of {child.log_path} ---\n{tail(child.log_path, 60)}"
            for name, child in self.pipeline.children.items()
            if name in ("streams", "sink")
        )
        raise SystemExit(
            f"the pipeline did not recover in {timeout_s:.0f} s (new readings stored: "
            f"{readings}, new ledger entries stored: {ledger}){logs}"
        )


@dataclass
class Verdict:
    """What the final checks found."""

    acknowledged: int
    stored: int
    lost: int
    duplicated: int
    ledger_mismatches: int
    alert_lifecycle_errors: int
    alert_events: int
    problems: list[str]
    under_replicated: int = 0
    """Partitions of the run's topics still short of a replica (a killed node not caught up)."""


def check(settings: StackSettings, acked: set[Key]) -> Verdict:
    """Compare the database with what was acknowledged; see the module docstring."""
    problems: list[str] = []
    with psycopg.connect(settings.database_url) as conn:
        stored = {
            (m, int(ms))
            for m, ms in conn.execute(
                "SELECT meter, round(extract(epoch FROM ts) * 1000)::bigint FROM readings"
            ).fetchall()
        }
        (rows,) = conn.execute("SELECT count(*) FROM readings").fetchone() or (0,)
        lost = acked - stored
        problems += [f"lost: {m} at {ms}" for m, ms in sorted(lost)[:5]]
        duplicated = int(rows) - len(stored)
        dup_alerts = conn.execute(
            "SELECT idempotency_key, count(*) FROM alerts GROUP BY 1 HAVING count(*) > 1"
        ).fetchall()
        duplicated += sum(int(n) - 1 for _, n in dup_alerts)
        problems += [f"alert event stored {n} times: {k}" for k, n in dup_alerts[:5]]
        mismatches = ledger_mismatches(conn, problems)
        events = conn.execute(
            "SELECT alert_id, stream, need, event, idempotency_key, ts FROM alerts"
            " ORDER BY ts, idempotency_key"
        ).fetchall()
    lifecycle = lifecycle_errors(events, problems)
    return Verdict(len(acked), len(stored), len(lost), duplicated, mismatches, lifecycle,
                   len(events), problems)  # fmt: skip


def ledger_mismatches(conn: psycopg.Connection[tuple[object, ...]], problems: list[str]) -> int:
    """Streams whose newest ledger entry differs from the mean of its stored readings, or
    is older than their newest stored reading (a ledger that stopped), or is missing."""
    found = 0
    behind = conn.execute(
        "SELECT r.stream, r.newest, l.newest FROM"
        " (SELECT stream, max(ts) AS newest FROM readings GROUP BY stream) r"
        " LEFT JOIN (SELECT stream, max(updated_at) AS newest FROM ledger GROUP BY stream) l"
        " USING (stream) WHERE l.newest IS NULL OR l.newest < r.newest"
    ).fetchall()
    for stream, reading, entry in behind:
        found += 1
        problems.append(f"ledger {stream}: newest entry {entry}, newest reading {reading}")
    newest = conn.execute(
        "SELECT DISTINCT ON (stream) stream, measured, updated_at, window_s FROM ledger"
        " WHERE NOT stale ORDER BY stream, updated_at DESC"
    ).fetchall()
    for stream, measured, updated_at, window_s in newest:
        (recomputed,) = conn.execute(
            "SELECT coalesce(sum(m), 0) FROM (SELECT avg(value) AS m FROM readings"
            " WHERE stream = %s AND ts > %s - make_interval(secs => %s) AND ts <= %s"
            " GROUP BY meter) per_meter",
            (stream, updated_at, window_s, updated_at),
        ).fetchone() or (None,)
        expected = float(str(recomputed)) if recomputed is not None else float("nan")
        stored = float(str(measured))
        if not abs(stored - expected) <= 1e-6 * max(1.0, abs(expected)):
            found += 1
            problems.append(f"ledger {stream}: {measured} stored, {recomputed} recomputed")
    return found


def lifecycle_errors(events: list[tuple[object, ...]], problems: list[str]) -> int:
    """Alerts whose events are not opened, updated..., resolved (once, last), numbered 1..n,
    and pairs opened again before their previous episode resolved."""
    by_alert: dict[str, list[tuple[int, str]]] = {}
    first_ts: dict[str, datetime] = {}
    resolved_ts: dict[str, datetime] = {}
    episodes: dict[tuple[str, str], list[str]] = {}
    seen_keys: set[str] = set()
    for alert_id, stream, need, event, key, ts in events:
        if key in seen_keys:
            continue  # a duplicate, counted as such
        seen_keys.add(str(key))
        aid = str(alert_id)
        by_alert.setdefault(aid, []).append((int(str(key).rsplit(":", 1)[1]), str(event)))
        assert isinstance(ts, datetime)
        first_ts.setdefault(aid, ts)
        if event == "resolved":
            resolved_ts[aid] = ts
        episode_ids = episodes.setdefault((str(stream), str(need)), [])
        if aid not in episode_ids:
            episode_ids.append(aid)
    errors = 0
    for aid, steps in by_alert.items():
        steps.sort()
        names = [e for _, e in steps]
        ok = (
            [n for n, _ in steps] == list(range(1, len(steps) + 1))
            and names[0] == "opened"
            and names.count("opened") == 1
            and "resolved" not in names[:-1]
        )
        if not ok:
            errors += 1
            problems.append(f"alert {aid}: {steps}")
    for pair, ids in episodes.items():
        for aid, following in itertools.pairwise(ids):
            end = resolved_ts.get(aid)
            if by_alert[aid][-1][1] != "resolved" or end is None or end > first_ts[following]:
                errors += 1
                problems.append(f"pair {pair}: {aid} not resolved before {following} opened")
    return errors


def main() -> None:
    """Long because: one drill run, start to end; the steps are numbered in the module
    docstring and each is a few lines here."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3, help="times each fault is caused")
    ap.add_argument("--faults", default=",".join(FAULTS),
                    help=f"comma-separated, from: {', '.join(FAULTS)}")  # fmt: skip
    ap.add_argument("--brokers", type=int, default=None,
                    help="Kafka nodes (default: SYMBIOSIS_KAFKA_BROKERS, else 1); with 3, a "
                    "local KRaft cluster (replication 3, min.insync.replicas 2) whose nodes are "
                    "killed in turn")  # fmt: skip
    ap.add_argument("--workers", type=int, default=1,
                    help="stream workers; the worker fault kills the first, whose partitions "
                    "the others take (restored from the tables' changelogs) until it is back")  # fmt: skip
    ap.add_argument("--settle", type=float, default=5.0,
                    help="seconds of steady load before each fault")  # fmt: skip
    args = ap.parse_args()
    faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    unknown = sorted(set(faults) - set(FAULTS))
    if unknown:
        ap.error(f"unknown fault {unknown[0]!r}; choose from {', '.join(FAULTS)}")
    if not 1 <= args.workers <= 4:
        ap.error("--workers takes 1 to 4 (the drill's topics have 4 partitions)")

    base = StackSettings() if args.brokers is None else StackSettings(kafka_brokers=args.brokers)
    settings = scratch_run(base, "drills", ledger_window_s=WINDOW_S, sink_flush_s=0.2,
                           partitions=4, api_port=API_PORT, metrics_port=0)  # fmt: skip
    LocalMosquitto(base).up()
    park = drill_park()
    pipeline = LocalPipeline(settings)
    pipeline.reset()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        conn.execute("DELETE FROM api_tokens WHERE label = 'drills'")
        issued = {s.company: tokens.issue(conn, s.company, label="drills") for s in park.sites}
    pipeline.publish(park)
    for role in ("streams", "sink", "api", "mqtt-bridge"):
        pipeline.start(role)
    for i in range(1, args.workers):
        pipeline.start("streams", f"streams-{i}")
    api_url = f"http://127.0.0.1:{API_PORT}"
    wait_api(api_url, pipeline)
    time.sleep(3.0)  # the bridge subscribes, the worker joins its group

    load = Load(park, api_url, issued, settings.mqtt_host, settings.mqtt_port)
    drill = Drill(settings, pipeline)
    recoveries: dict[str, list[float]] = {f: [] for f in faults}
    try:
        threads = load.run()
        try:
            time.sleep(args.settle)
            for round_no in range(args.rounds):
                for fault in faults:
                    started = time.time()
                    drill.inject(fault)
                    drill.wait_flowing(int(time.time() * 1000))
                    took = time.time() - started
                    recoveries[fault].append(took)
                    print(f"round {round_no + 1}: {fault} recovered in {took:.1f} s", flush=True)
                    time.sleep(args.settle)
        finally:
            load.stop.set()
            for t in threads:
                t.join(30)
        pipeline.wait_caught_up(len(load.acked), timeout_s=600)
        verdict = check(settings, load.acked)
        verdict.under_replicated = wait_replicated(settings)
    finally:
        pipeline.stop()
        delete_run_topics(settings)
    report(recoveries, verdict, load, settings.kafka_brokers)
    bad = verdict.lost or verdict.duplicated or verdict.ledger_mismatches
    bad = bad or verdict.alert_lifecycle_errors or verdict.under_replicated
    sys.exit(1 if bad or load.refused else 0)


def wait_replicated(settings: StackSettings, timeout_s: float = 120.0) -> int:
    """Wait until every partition of the run's topics (and of the group offsets) has all its
    replicas in sync.

    Returns the partitions still short after ``timeout_s`` (0: a killed node caught up).
    """
    admin = KafkaAdminClient(bootstrap_servers=settings.kafka_bootstrap,
                             request_timeout_ms=20_000)  # fmt: skip
    deadline = time.monotonic() + timeout_s
    try:
        while True:
            ours = [t for t in admin.list_topics()
                    if t.startswith(settings.app_id) or t == "__consumer_offsets"]  # fmt: skip
            short = sum(
                len(p["isr_nodes"]) < len(p["replica_nodes"])
                for t in admin.describe_topics(ours)
                for p in t["partitions"]
            )
            if short == 0 or time.monotonic() > deadline:
                return short
            time.sleep(1.0)
    finally:
        admin.close()


def report(recoveries: dict[str, list[float]], v: Verdict, load: Load, brokers: int) -> None:
    """The table per fault, the problems found, and the JSON line."""
    print("\n| fault | times | recovery max (s) | recovery mean (s) |")
    print("|---|---:|---:|---:|")
    for fault, took in recoveries.items():
        if took:
            print(f"| {fault} | {len(took)} | {max(took):.1f} | {sum(took) / len(took):.1f} |")
    print(f"\nacknowledged {v.acknowledged}, stored {v.stored}, alert events {v.alert_events}, "
          f"HTTP pushes sent again {load.retries}, refused {len(load.refused)}")  # fmt: skip
    for p in [*v.problems, *load.refused][:20]:
        print(f"  {p}")
    all_took = [t for took in recoveries.values() for t in took]
    print(orjson.dumps({
        "faults": len(all_took), "kinds": [f for f, t in recoveries.items() if t],
        "lost": v.lost, "duplicated": v.duplicated, "ledger_mismatches": v.ledger_mismatches,
        "alert_lifecycle_errors": v.alert_lifecycle_errors,
        "max_recovery_s": round(max(all_took, default=0.0), 1),
        "acknowledged": v.acknowledged, "stored": v.stored, "alert_events": v.alert_events,
        "refused": len(load.refused), "http_retries": load.retries,
        "brokers": brokers, "under_replicated": v.under_replicated,
    }).decode())  # fmt: skip


if __name__ == "__main__":
    main()
