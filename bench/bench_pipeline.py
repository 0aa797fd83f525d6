"""Pipeline benchmark on the local stack: sustained readings/s end to end, alert latency, consumer
lag, CPU and memory per process, and raw binary COPY of the same rows, measured in the same run.

    python bench/bench_pipeline.py --shape teda [--rate 20000] [--readings 6000000]
    python bench/bench_pipeline.py --shape batched [--readings 1000000] [--batch 500]

Shapes:
- ``teda`` (a park as its plants send it): 1,000 companies, 20,000 meters in 5,000 streams of
  4 meters, 5,000 needs of the realistic mix of :mod:`domain.generate`; each company pushes all
  its meters once per (park) second, split into Kafka records as the doors split them
  (``bench/teda.py``).
- ``batched`` (the earlier figure): ``--streams`` heat streams of 50 meters, ``--batch``
  readings of one stream per Kafka message.

What it does:
1. Starts the stack if needed; uses its own database (``symbiosis_bench``) and topics
   (``bench.*``), so it never touches the demo's or the tests' data.
2. Publishes the park plus ``--probes`` probe streams, each with its own need, that start
   without surplus.
3. Starts ``--workers`` stream workers and one sink (the real processes), warms them up, then
   produces ``--readings`` readings, paced at ``--rate`` readings/s (0: as fast as the producer
   can), with an idempotent ``acks=all`` producer. Each tick's records go in ``--spread``
   slices, a company always in the same one: paced, the park's historians push at their own
   phase of each second (``--spread 1``: all 1,000 at the same instant, the worst case).
4. While the load runs, one probe stream at a time gets a reading above its need's minimum,
   spread evenly over the load's readings (so a 5-minute run measures all of it, not its first
   seconds), each sent right behind the records of a slice (it waits for them), at most one
   per slice: alert latency = wall time the ``opened`` alert is read from the alerts topic
   minus the wall time that reading was sent. Consumer lag of the workers and the sink is sampled every 2 s.
5. Measures: producer rate; worker rate (readings topic fully committed by the workers);
   end-to-end rate (all readings stored in PostgreSQL); CPU seconds and peak RSS of every
   process (workers, sink, Kafka, PostgreSQL, this load generator); then, on the same rows, raw
   binary COPY into an index-less table and the sink's write paths without Kafka (median of 3).
Prints markdown tables for the docs and, last, one JSON line of the figures.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import psycopg
from kafka import KafkaConsumer, KafkaProducer
from procstat import ProcWatch, find_pid  # bench/ runs as a script directory
from scratch import scratch_run
from teda import meter_plans, teda_park, teda_pushes

from schemas.readings import Reading, ReadingBatch
from schemas.registry import Need, Park, Site, Stream
from sinks.writer import Batch, PostgresWriter
from streams.ledger_state import LedgerBook
from symbiosis.pipeline import LocalPipeline
from symbiosis.stack_settings import StackSettings

METERS_PER_STREAM = 50
LOAD_GENERATOR = "load generator (this process)"


PROBE_EVERY_S = 0.25
"""Time between the probes left when the load ended (a load with fewer slices than probes)."""


def build_park(streams: int, probes: int) -> Park:
    load = Site(
        id="load-plant", name="Load plant", company="load-co", lat=55.0, lon=11.0,
        streams=[
            Stream(id=f"load-{i}", kind="heat", unit="MW", nominal=10, temperature_c=90,
                   meters=[f"load-{i}-m{m}" for m in range(METERS_PER_STREAM)])
            for i in range(streams)
        ],
    )  # fmt: skip
    probe = Site(
        id="probe-plant", name="Probe plant", company="probe-co", lat=55.0, lon=11.01,
        streams=[Stream(id=f"probe-{i}", kind="heat", unit="MW", nominal=0, temperature_c=90)
                 for i in range(probes)],
    )  # fmt: skip
    taker = Site(id="taker", name="Taker", company="taker-co", lat=55.01, lon=11.0)
    needs = [
        Need(id=f"need-{i}", site="taker", kind="heat", unit="MW", min_quantity=1_000_000,
             min_temperature_c=60)  # load never matches: every update is a full match() call
        for i in range(20)
    ] + [
        Need(id=f"probe-need-{i}", site="taker", kind="heat", unit="MW", min_quantity=50 + i,
             max_quantity=60 + i, min_temperature_c=60)
        for i in range(probes)
    ]  # fmt: skip
    return Park(park="bench", sites=[load, probe, taker], needs=needs)


def load_messages(
    streams: int, total: int, batch: int, start: datetime
) -> list[tuple[bytes, bytes]]:
    """Pre-encoded readings messages: each a batch of one stream, ``batch`` readings."""
    out: list[tuple[bytes, bytes]] = []
    per_tick = METERS_PER_STREAM
    ticks_per_msg = max(batch // per_tick, 1)
    n_msgs = total // (ticks_per_msg * per_tick)
    for j in range(n_msgs):
        s = j % streams
        base_tick = (j // streams) * ticks_per_msg
        readings = [
            {"meter": f"load-{s}-m{m}", "ts": (start + timedelta(seconds=base_tick + k)).isoformat(),
             "value": 0.2 + 0.01 * ((m + k) % 5), "unit": "MW"}
            for k in range(ticks_per_msg)
            for m in range(per_tick)
        ]  # fmt: skip
        body = {
            "schema_version": 1,
            "batch_id": f"b{j}",
            "stream": f"load-{s}",
            "readings": readings,
        }
        out.append((f"load-{s}".encode(), orjson.dumps(body)))
    return out


def probe_message(i: int) -> tuple[bytes, bytes]:
    body = {
        "schema_version": 1, "batch_id": f"probe-{i}-{uuid.uuid4().hex[:6]}", "stream": f"probe-{i}",
        "readings": [{"meter": f"probe-{i}", "ts": datetime.now(UTC).isoformat(), "value": 100.0,
                      "unit": "MW"}],
    }  # fmt: skip
    return b"probe-plant", orjson.dumps(body)  # keyed by site, as the doors do


def copy_baselines(url: str, rows: list[tuple[object, ...]], repeats: int) -> dict[str, float]:
    """Median rows/s, same rows, same run: raw binary COPY into an index-less table, and the
    sink's write paths into the real ``readings`` table (optimistic direct COPY; staging +
    ON CONFLICT) - plus a replay through the optimistic writer, which falls back to staging."""
    results: dict[str, list[float]] = {"raw": [], "optimistic": [], "staging": [], "replay": []}
    with psycopg.connect(url) as conn:
        # a regular (WAL-logged) table like readings, without keys or indexes
        conn.execute("DROP TABLE IF EXISTS bench_raw_copy")
        conn.execute("CREATE TABLE bench_raw_copy (LIKE readings)")
        conn.commit()
        writers = {
            "optimistic": PostgresWriter(conn),
            "staging": PostgresWriter(conn, optimistic=False),
        }
        batch = Batch(readings=list(rows))  # type: ignore[arg-type]
        for _ in range(repeats):
            conn.execute("TRUNCATE bench_raw_copy")
            conn.commit()
            t0 = time.perf_counter()
            with (
                conn.cursor() as cur,
                cur.copy(
                    "COPY bench_raw_copy (meter, ts, stream, value, unit, quality, batch_id) "
                    "FROM STDIN (FORMAT BINARY)"
                ) as copy,
            ):
                copy.set_types(["text", "timestamptz", "text", "float8", "text", "text", "text"])
                for r in rows:
                    copy.write_row(r)
            conn.commit()
            results["raw"].append(len(rows) / (time.perf_counter() - t0))
            for name, writer in writers.items():
                conn.execute("TRUNCATE readings")
                conn.commit()
                t0 = time.perf_counter()
                result = writer.write(batch)
                results[name].append(len(rows) / (time.perf_counter() - t0))
                assert result.readings == len(rows)
            t0 = time.perf_counter()
            again = writers["optimistic"].write(batch)  # every row a duplicate
            results["replay"].append(len(rows) / (time.perf_counter() - t0))
            assert again.readings == 0
        conn.execute("DROP TABLE bench_raw_copy")
        conn.commit()
    return {k: statistics.median(v) for k, v in results.items()}


@dataclass
class Load:
    """The park to publish and the records to send, tick by tick."""

    shape: str
    park: Park
    ticks: Iterator[list[tuple[bytes, bytes]]]
    tick_count: int
    readings: int
    describe: str


def batched_load(args: argparse.Namespace) -> Load:
    park = build_park(args.streams, args.probes)
    messages = load_messages(
        args.streams, args.readings, args.batch, datetime.now(UTC) - timedelta(days=1)
    )
    produced = sum(len(orjson.loads(v)["readings"]) for _, v in messages)
    return Load(
        "batched", park, iter([[m] for m in messages]), len(messages), produced,
        f"{produced:,} readings in batches of {args.batch} ({args.streams} streams x {METERS_PER_STREAM} meters)",
    )  # fmt: skip


def teda_load(args: argparse.Namespace) -> Load:
    park = teda_park()
    probe = build_park(0, args.probes)
    park = Park(
        park=park.park, sites=[*park.sites, *(s for s in probe.sites if s.id != "load-plant")],
        needs=[*park.needs, *(n for n in probe.needs if n.id.startswith("probe-"))],
    )  # fmt: skip
    plans = meter_plans([s for s in park.sites if s.id.startswith("site-")])
    per_tick = sum(len(m) for m in plans.values())
    ticks = max(args.readings // per_tick, 1)
    # readings of the past, so a run faster than real time never reads ahead of the clock
    start = datetime.now(UTC) - timedelta(seconds=ticks + 5)
    streams = sum(len({p.stream for p in m}) for m in plans.values())
    return Load(
        "teda", park, teda_pushes(plans, ticks, start), ticks, ticks * per_tick,
        f"{ticks * per_tick:,} readings: {ticks} ticks of {len(plans):,} company pushes "
        f"({per_tick:,} meters in {streams:,} streams; one record of "
        f"{per_tick / len(plans):.0f} readings per push)",
    )  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (nearest rank) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    """Long because: one benchmark run, start to end; the steps are numbered in the module
    docstring and each is a few lines here."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shape", choices=["teda", "batched"], default="teda")
    ap.add_argument("--readings", type=int, default=1_000_000)
    ap.add_argument(
        "--batch", type=int, default=500, help="batched shape: readings per Kafka message"
    )
    ap.add_argument("--streams", type=int, default=200, help="batched shape: streams")
    ap.add_argument("--probes", type=int, default=40)
    ap.add_argument("--workers", type=int, default=2,
                    help="stream worker processes sharing the readings partitions (default: "
                    "one per core of the 2-core reference machine)")  # fmt: skip
    ap.add_argument("--spread", type=int, default=20, metavar="N",
                    help="send each tick's records in N slices, each company in the same slice "
                    "every tick (paced: spread over the tick, as independent historians push "
                    "at their own phase of the second); 1: every company at the same instant, "
                    "the worst case")  # fmt: skip
    ap.add_argument(
        "--warmup-ticks",
        type=int,
        default=3,
        metavar="N",
        help="ticks sent and processed before the measured run (not counted)",
    )
    ap.add_argument("--copy-rows", type=int, default=300_000)
    ap.add_argument(
        "--rate", type=float, default=0,
        help="target readings/s (0: as fast as the producer can); latency is only meaningful "
        "below the pipeline's capacity",
    )  # fmt: skip
    ap.add_argument("--no-peers", action="store_true",
                    help="skip the peers (bench/peers: bare consumer, Quix Streams stage) run "
                    "on the same topic after the pipeline")  # fmt: skip
    ap.add_argument("--profile-worker", metavar="PATH", help="run the first worker under py-spy")
    args = ap.parse_args()
    if args.spread < 1 or args.warmup_ticks < 1 or args.workers < 1:
        ap.error("--spread, --warmup-ticks and --workers take 1 or more")

    settings = scratch_run(StackSettings(), "bench", topics="bench", ledger_window_s=10.0,
                           partitions=4)  # fmt: skip
    t = settings.topics
    load = teda_load(args) if args.shape == "teda" else batched_load(args)
    if load.tick_count <= args.warmup_ticks:
        ap.error(f"--readings {args.readings:,} makes {load.tick_count} tick(s), all of them "
                 f"warm-up (--warmup-ticks {args.warmup_ticks}): ask for more")  # fmt: skip
    pipeline = LocalPipeline(settings)
    pipeline.reset()
    pipeline.publish(load.park)
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True,
        linger_ms=5, batch_size=1024 * 1024, max_request_size=16 * 1024 * 1024,
    )  # fmt: skip
    probe_log: list[tuple[float, float]] = []  # (sent at, alert latency) of each probe
    sent_at: dict[str, float] = {}
    lag_samples: list[tuple[float, int, int]] = []
    stop = threading.Event()

    def watch_alerts() -> None:
        consumer = KafkaConsumer(
            t.alerts, bootstrap_servers=settings.kafka_bootstrap, auto_offset_reset="earliest",
            enable_auto_commit=False, group_id=None,
        )  # fmt: skip
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=100).values():
                now = time.time()
                for rec in records:
                    alert = orjson.loads(rec.value)
                    if alert["event"] == "opened" and alert["stream"] in sent_at:
                        at = sent_at.pop(alert["stream"])
                        probe_log.append((at, now - at))
        consumer.close()

    def watch_lag(t0: float) -> None:
        while not stop.wait(2.0):
            try:
                streams_lag, sink_lag = pipeline.lag()
            except Exception:  # noqa: BLE001 - a missed sample is not a failed run
                continue
            lag_samples.append((time.perf_counter() - t0, streams_lag, sink_lag))

    def send_probe(i: int) -> None:
        k, v = probe_message(i)
        sent_at[f"probe-{i}"] = time.time()
        producer.send(t.readings, key=k, value=v)

    wrap = (
        [
            str(Path(sys.executable).with_name("py-spy")),
            "record",
            "-r",
            "100",
            "-f",
            "raw",
            "-o",
            args.profile_worker,
            "--",
        ]
        if args.profile_worker
        else None
    )
    try:
        for w in range(args.workers):
            pipeline.start("streams", f"streams-{w}", wrap=wrap if w == 0 else None)
        pipeline.start("sink")
        # warm-up: registry read, consumer groups joined, every stream's first entries (the
        # alert decision's quiet bands start from them) and first writes done
        first = [record for _ in range(args.warmup_ticks) for record in next(load.ticks, [])]
        for key, value in first:
            producer.send(t.readings, key=key, value=value)
        producer.flush()
        warm = sum(v.count(b'"meter"') for _, v in first)
        pipeline.wait_caught_up(warm, timeout_s=300)
        watch = ProcWatch(process_roots(pipeline), alone=frozenset({LOAD_GENERATOR}))
        watcher = threading.Thread(target=watch_alerts)
        watcher.start()
        time.sleep(1)

        t0 = time.perf_counter()
        lagger = threading.Thread(target=watch_lag, args=(t0,))
        lagger.start()
        watch.start()
        probe_i, sent, n_records = 0, 0, 0
        probe_every = (load.readings - warm) / max(args.probes, 1)  # readings between probes
        slices = (tick[i :: args.spread] for tick in load.ticks for i in range(args.spread))
        for part in slices:
            if not part:  # a batched tick is one record
                continue
            for key, value in part:
                producer.send(t.readings, key=key, value=value)
            n_records += len(part)
            sent += sum(value.count(b'"meter"') for _, value in part)
            if probe_i < args.probes and sent >= probe_i * probe_every:
                send_probe(probe_i)  # right behind this slice: it waits for it
                probe_i += 1
            if args.rate > 0:
                time.sleep(max(t0 + sent / args.rate - time.perf_counter(), 0.0))
        producer.flush()
        t_produced = time.perf_counter() - t0
        while probe_i < args.probes:  # load was shorter than the probe schedule
            send_probe(probe_i)
            producer.flush()
            probe_i += 1
            time.sleep(PROBE_EVERY_S)
        total = warm + sent + args.probes
        t_worker = t_stored = None
        while t_stored is None or t_worker is None:
            pipeline.check()
            now = time.perf_counter() - t0
            streams_lag, _ = pipeline.lag()
            if t_worker is None and streams_lag == 0:
                t_worker = now
            if t_stored is None and pipeline.stored_readings() >= total:
                t_stored = now
            if now > 1800:
                raise SystemExit("pipeline did not catch up in 1800 s")
            time.sleep(0.25)
        watch.stop()
        time.sleep(2)
        stop.set()
        watcher.join()
        lagger.join()
        stored = pipeline.stored_readings()
    finally:
        stop.set()
        try:
            if args.profile_worker:  # py-spy writes its profile on SIGINT
                with contextlib.suppress(ProcessLookupError):  # it exited (a failed start)
                    os.kill(pipeline.children["streams-0"].proc.pid, signal.SIGINT)
                pipeline.children["streams-0"].proc.wait(timeout=60)
        finally:  # the sink and workers never outlive the run (a stray sink writes on)
            pipeline.stop()
            producer.close()

    # before the COPY baselines, which rewrite the readings table with a sample of its rows
    ledger = ledger_check(settings.database_url, load.park, settings.ledger_window_s)
    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(
            "SELECT meter, ts, stream, value, unit, quality, batch_id FROM readings LIMIT %s",
            (args.copy_rows,),
        ).fetchall()
    copy = copy_baselines(settings.database_url, rows, repeats=3)
    peers = {} if args.no_peers else run_peers(settings.kafka_bootstrap, t.readings, total)
    if probe_log:  # when the slow ones came
        began = min(at for at, _ in probe_log)
        print(
            "probes (s into the run: latency ms): "
            + ", ".join(f"{at - began:.1f}: {lat * 1000:.0f}" for at, lat in sorted(probe_log)),
            file=sys.stderr,
        )
    latencies = [latency for _, latency in probe_log]
    report(args, load, sent, n_records, t_produced, t_worker, t_stored, latencies, lag_samples,
           watch, copy, stored - total, ledger, peers)  # fmt: skip


PEERS_PYTHON = Path(__file__).resolve().parents[1] / ".venv-peers" / "bin" / "python"


def run_peers(bootstrap: str, topic: str, readings: int) -> dict[str, dict[str, float]]:
    """The peers of ``bench/peers`` on the same topic, one at a time, nothing else running.

    Raises:
        SystemExit: the peers' venv is missing (``make bench-peers``) or a peer failed.
    """
    if not PEERS_PYTHON.exists():
        raise SystemExit(f"{PEERS_PYTHON} is missing: run `make bench-peers` (or pass --no-peers)")
    script = Path(__file__).resolve().parent / "peers" / "run_peer.py"
    out: dict[str, dict[str, float]] = {}
    for peer in ("bare", "quix"):
        print(f"peer {peer}: draining {readings:,} readings from {topic}", file=sys.stderr)
        done = subprocess.run(
            [str(PEERS_PYTHON), str(script), peer, "--bootstrap", bootstrap, "--topic", topic,
             "--readings", str(readings), "--timeout-s", "900"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise SystemExit(f"peer {peer} failed ({done.returncode}): {done.stderr[-2000:]}")
        out[peer] = orjson.loads(done.stdout.strip().splitlines()[-1])
    return out


def ledger_check(url: str, park: Park, window_s: float, sample: int = 300) -> dict[str, int]:
    """Sampled streams' newest stored ledger entry against a recomputation from stored readings.

    For each stream, a :class:`streams.ledger_state.LedgerBook` (the worker's own rules) that
    has seen nothing of it is given its stored readings up to the entry's ``updated_at``; its
    entry's ``measured`` must equal the stored one, to one unit of the sixth significant figure
    (the benchmark's parks have no exchanges).
    Returns the streams checked and how many disagree.
    """
    checked = mismatched = 0
    book = LedgerBook(window_s)
    meters: dict[str, list[str]] = {}
    for site in park.sites:
        book.update_site(site)
        meters.update((st.id, st.meter_ids) for st in site.streams)
    with psycopg.connect(url) as conn:
        newest = conn.execute(
            "SELECT DISTINCT ON (stream) stream, updated_at, measured FROM ledger "
            "WHERE stream NOT LIKE 'probe-%%' ORDER BY stream, updated_at DESC LIMIT %s",
            (sample,),
        ).fetchall()
        for stream, updated_at, measured in newest:
            rows = conn.execute(
                "SELECT meter, ts, value, unit, quality FROM readings WHERE meter = ANY(%s) "
                "AND ts <= %s AND ts > %s - make_interval(secs => %s) * 3 ORDER BY ts",
                (meters.get(stream, [stream]), updated_at, updated_at, window_s),  # primary key
            ).fetchall()
            readings = [
                Reading(meter=m, ts=ts, value=v, unit=u, quality=q) for m, ts, v, u, q in rows
            ]
            entry, _ = book.apply(
                ReadingBatch(batch_id="check", stream=stream, readings=readings), None
            )
            checked += 1
            # one unit in the sixth significant figure: both sides are published to six
            # (domain.figures.significant), and the worker's running window sums can round a
            # tie (readings of four decimals make them common) the other way than fresh sums
            unit = 10.0 ** (math.floor(math.log10(max(abs(measured), 1e-300))) - 5)
            if abs(entry.measured - measured) > unit * 1.000001:
                mismatched += 1
                print(f"ledger mismatch: {stream} at {updated_at.isoformat()}: stored "
                      f"{measured}, recomputed {entry.measured} from {len(readings)} readings "
                      f"({entry.samples} in the window)", file=sys.stderr)  # fmt: skip
    return {"streams": checked, "mismatched": mismatched}


def process_roots(pipeline: LocalPipeline) -> dict[str, int]:
    """The processes whose CPU and memory a run reports."""
    roots = {name: child.proc.pid for name, child in pipeline.children.items()}
    roots[LOAD_GENERATOR] = os.getpid()
    for name, needle in (("kafka", "kafka.Kafka"), ("postgresql", "bin/postgres")):
        pid = find_pid(needle)
        if pid is not None:
            roots[name] = pid
    return roots


def report(
    args: argparse.Namespace, load: Load, sent: int, n_records: int, t_produced: float,
    t_worker: float, t_stored: float, latencies: list[float],
    lag_samples: list[tuple[float, int, int]], watch: ProcWatch, copy: dict[str, float],
    lost: int, ledger: dict[str, int], peers: dict[str, dict[str, float]],
) -> None:  # fmt: skip
    """Markdown tables for the docs, then one JSON line of the figures.

    Long because: one print per row of the docs' tables, in the order they appear there.
    """
    raw = copy["raw"]
    p50, p99 = percentile(latencies, 0.5), percentile(latencies, 0.99)
    worker_rate, e2e_rate = sent / t_worker, sent / t_stored
    wall = max(t_worker, t_stored)  # the CPU counters ran until both had caught up
    print(f"\nmachine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}")  # fmt: skip
    mode = f"paced at {args.rate:,.0f} readings/s" if args.rate > 0 else "as fast as possible"
    if args.rate > 0 and load.shape == "teda":  # a batched tick is one record
        mode += (", each tick's records at once" if args.spread == 1
                 else f", each tick's records in {args.spread} slices over the tick")  # fmt: skip
    print(f"shape: {load.shape}, {mode}, {args.workers} worker(s)")
    print(f"load: {load.describe}, the first {args.warmup_ticks} tick(s) a warm-up (not "
          f"measured); probes: {len(latencies)}/{args.probes}")  # fmt: skip
    print("\n| measure | value |\n|---|---:|")
    print(
        f"| producer (kafka-python, acks=all, idempotent) | {sent / t_produced:,.0f} readings/s, {n_records / t_produced:,.0f} records/s |"
    )
    print(
        f"| stream worker(s) (readings committed) | {worker_rate:,.0f} readings/s ({worker_rate / raw:.2f} x raw COPY) |"
    )
    print(
        f"| end to end (stored in PostgreSQL) | {e2e_rate:,.0f} readings/s ({e2e_rate / raw:.2f} x raw COPY) |"
    )
    print(
        f"| alert latency p50 / p99 ({len(latencies)} probes, under load) | {p50 * 1000:,.0f} ms / {p99 * 1000:,.0f} ms |"
    )
    print(f"| readings stored - produced | {lost:+,} |")
    print(
        f"| ledger = recomputation from stored readings | "
        f"{ledger['streams'] - ledger['mismatched']:,} of {ledger['streams']:,} streams sampled |"
    )
    for name, label in (
        ("bare", "bare confluent-kafka consumer, decode + count (ceiling)"),
        ("quix", "Quix Streams 3.28 stage, state per stream, one output each"),
    ):
        if name in peers:
            rate = peers[name]["readings_per_s"]
            print(f"| peer: {label}, alone | {rate:,.0f} readings/s "
                  f"(worker = {worker_rate / rate:.2f} x) |")  # fmt: skip
    print(f"| raw binary COPY, same rows, median of 3 | {raw:,.0f} rows/s |")
    for name, label in (
        ("optimistic", "sink write path, new rows (direct COPY under a savepoint)"),
        ("staging", "sink write path, staging + ON CONFLICT"),
        ("replay", "sink write path, replayed rows (COPY fails, falls back)"),
    ):
        print(
            f"| {label}, median of 3 | {copy[name]:,.0f} rows/s ({copy[name] / raw:.2f} x raw COPY) |"
        )
    if lag_samples:
        print("\nconsumer lag (records) every ~10 s: t s, workers, sink")
        for ts, wl, sl in lag_samples[::5]:
            print(f"  {ts:6.0f} {wl:>9,} {sl:>9,}")
    print("\n| process | CPU s | CPU / wall | peak RSS MB |\n|---|---:|---:|---:|")
    for name, cpu in watch.cpu_s.items():
        print(f"| {name} | {cpu:,.1f} | {cpu / wall:.2f} | {watch.peak_rss_mb[name]:,.0f} |")
    print(
        orjson.dumps(
            {
                "shape": load.shape,
                "rate_target": args.rate,
                "workers": args.workers,
                "spread": args.spread,
                "worker_readings_per_s": round(worker_rate),
                "e2e_readings_per_s": round(e2e_rate),
                "records_per_s": round(n_records / t_produced),
                "alert_p50_ms": round(p50 * 1000, 1),
                "alert_p99_ms": round(p99 * 1000, 1),
                "probes": len(latencies),
                "raw_copy_rows_per_s": round(raw),
                "sink_new_rows_per_s": round(copy["optimistic"]),
                "max_worker_lag": max((w for _, w, _ in lag_samples), default=0),
                "max_sink_lag": max((s for _, _, s in lag_samples), default=0),
                **peer_figures(peers, worker_rate),
                "ledger_streams_checked": ledger["streams"],
                "ledger_mismatched": ledger["mismatched"],
                "lost": -lost if lost < 0 else 0,
                "extra": lost if lost > 0 else 0,
                "cpu_s": {k: round(v, 1) for k, v in watch.cpu_s.items()},
                "peak_rss_mb": {k: round(v) for k, v in watch.peak_rss_mb.items()},
            }
        ).decode()
    )


def peer_figures(peers: dict[str, dict[str, float]], worker_rate: float) -> dict[str, float]:
    """The peers' readings/s and the worker's ratio to each, for the JSON line."""
    out: dict[str, float] = {}
    for name, peer in peers.items():
        out[f"{name}_readings_per_s"] = round(peer["readings_per_s"])
        out[f"worker_over_{name}"] = round(worker_rate / peer["readings_per_s"], 3)
    return out


if __name__ == "__main__":
    main()
