"""Pipeline benchmark on the local stack: sustained readings/s end to end, alert latency, and
raw binary COPY of the same rows, measured in the same run.

    python bench/bench_pipeline.py [--readings 1000000] [--batch 500] [--probes 40]

What it does:
1. Starts the stack if needed; uses its own database (``symbiosis_bench``) and topics
   (``bench.*``), so it never touches the demo's or the tests' data.
2. Publishes a park: ``--streams`` load streams (heat, 50 meters each) with a few needs, plus
   ``--probes`` probe streams, each with its own need, that start without surplus.
3. Starts one stream worker and one sink (the real processes), warms them up, then produces
   ``--readings`` readings as fast as the producer can, in batches of ``--batch`` readings per
   Kafka message (one stream per message), with an idempotent ``acks=all`` producer.
4. While the load runs, every 0.25 s one probe stream gets a reading above its need's minimum:
   alert latency = wall time the ``opened`` alert is read from the alerts topic minus the wall
   time that reading was sent.
5. Measures: producer rate; worker rate (readings topic fully committed by the worker);
   end-to-end rate (all readings stored in PostgreSQL); then, on the same rows, raw binary COPY
   into an index-less table and the sink's idempotent write path (COPY into staging +
   INSERT ... ON CONFLICT) without Kafka, each three times (median).
Prints a markdown table for the README.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import orjson
import psycopg
from kafka import KafkaConsumer, KafkaProducer

from runtime.settings import Topics
from schemas.registry import Need, Park, Site, Stream
from sinks.writer import Batch, PostgresWriter
from symbiosis.local_postgres import LocalPostgres
from symbiosis.pipeline import LocalPipeline
from symbiosis.stack import stack_up
from symbiosis.stack_settings import StackSettings

METERS_PER_STREAM = 50


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
    return f"probe-{i}".encode(), orjson.dumps(body)


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--readings", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=500, help="readings per Kafka message")
    ap.add_argument("--streams", type=int, default=200)
    ap.add_argument("--probes", type=int, default=40)
    ap.add_argument("--copy-rows", type=int, default=300_000)
    ap.add_argument(
        "--rate", type=float, default=0,
        help="target readings/s (0: as fast as the producer can); latency is only meaningful "
        "below the pipeline's capacity",
    )  # fmt: skip
    args = ap.parse_args()

    base = StackSettings()
    stack_up(base)
    LocalPostgres(base).create_database("symbiosis_bench")
    run_id = uuid.uuid4().hex[:6]
    settings = base.model_copy(update={
        "app_id": f"bench-{run_id}",
        "database_url": base.database_url.rsplit("/", 1)[0] + "/symbiosis_bench",
        "topics": Topics(**{n: f"bench.{n}" for n in Topics.model_fields}),
        "ledger_window_s": 10.0,
        "partitions": 4,
    })  # fmt: skip
    t = settings.topics
    park = build_park(args.streams, args.probes)
    pipeline = LocalPipeline(settings)
    pipeline.reset()
    pipeline.publish(park)
    start = datetime.now(UTC) - timedelta(days=1)
    messages = load_messages(args.streams, args.readings, args.batch, start)
    produced = sum(len(orjson.loads(v)["readings"]) for _, v in messages)
    producer = KafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap, acks="all", enable_idempotence=True,
        linger_ms=5, batch_size=1024 * 1024, max_request_size=16 * 1024 * 1024,
    )  # fmt: skip
    latencies: list[float] = []
    sent_at: dict[str, float] = {}
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
                        latencies.append(now - sent_at.pop(alert["stream"]))
        consumer.close()

    try:
        pipeline.start("streams")
        pipeline.start("sink")
        # warm-up: registry read, consumer groups joined, first writes done
        producer.send(t.readings, key=b"load-0", value=messages[0][1]).get(30)
        warm = len(orjson.loads(messages[0][1])["readings"])
        pipeline.wait_caught_up(warm, timeout_s=180)
        watcher = threading.Thread(target=watch_alerts)
        watcher.start()
        time.sleep(1)

        t0 = time.perf_counter()
        next_probe, probe_i = t0, 0
        per_msg_s = args.batch / args.rate if args.rate > 0 else 0.0
        for n, (key, value) in enumerate(messages[1:]):
            producer.send(t.readings, key=key, value=value)
            now = time.perf_counter()
            if per_msg_s:
                time.sleep(max(t0 + (n + 1) * per_msg_s - now, 0.0))
                now = time.perf_counter()
            if now >= next_probe and probe_i < args.probes:
                k, v = probe_message(probe_i)
                sent_at[f"probe-{probe_i}"] = time.time()
                producer.send(t.readings, key=k, value=v)
                probe_i += 1
                next_probe = now + 0.25
        producer.flush()
        t_produced = time.perf_counter() - t0
        while probe_i < args.probes:  # load was shorter than the probe schedule
            k, v = probe_message(probe_i)
            sent_at[f"probe-{probe_i}"] = time.time()
            producer.send(t.readings, key=k, value=v).get(30)
            probe_i += 1
            time.sleep(0.25)
        total = produced + args.probes
        t_worker = t_stored = None
        while t_stored is None or t_worker is None:
            pipeline.check()
            now = time.perf_counter() - t0
            streams_lag, _ = pipeline.lag()
            if t_worker is None and streams_lag == 0:
                t_worker = now
            if t_stored is None and pipeline.stored_readings() >= total:
                t_stored = now
            if now > 900:
                raise SystemExit("pipeline did not catch up in 900 s")
            time.sleep(0.25)
        time.sleep(2)
        stop.set()
        watcher.join()
    finally:
        pipeline.stop()
        producer.close()

    with psycopg.connect(settings.database_url) as conn:
        rows = conn.execute(
            "SELECT meter, ts, stream, value, unit, quality, batch_id FROM readings LIMIT %s",
            (args.copy_rows,),
        ).fetchall()
    copy = copy_baselines(settings.database_url, rows, repeats=3)
    raw = copy["raw"]

    lat = sorted(latencies)
    p50 = statistics.median(lat) if lat else float("nan")
    p99 = lat[min(len(lat) - 1, int(0.99 * len(lat)))] if lat else float("nan")
    measured = produced - warm
    print(f"\nmachine: {platform.node()} {platform.machine()}, {__import__('os').cpu_count()} cores, "
          f"python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}")  # fmt: skip
    mode = f"paced at {args.rate:,.0f} readings/s" if args.rate > 0 else "as fast as possible"
    print(f"mode: {mode}")
    print(f"readings: {measured:,} in batches of {args.batch} "
          f"({args.streams} streams x {METERS_PER_STREAM} meters), probes: {len(lat)}/{args.probes}")  # fmt: skip
    print("\n| measure | value |\n|---|---:|")
    print(
        f"| producer (kafka-python, acks=all, idempotent) | {measured / t_produced:,.0f} readings/s |"
    )
    print(
        f"| stream worker (readings committed by faust) | {measured / t_worker:,.0f} readings/s |"
    )
    print(f"| end to end (stored in PostgreSQL) | {measured / t_stored:,.0f} readings/s |")
    print(
        f"| alert latency p50 / p99 ({len(lat)} probes, under load) | {p50 * 1000:,.0f} ms / {p99 * 1000:,.0f} ms |"
    )
    print(f"| raw binary COPY, same rows ({len(rows):,}), median of 3 | {raw:,.0f} rows/s |")
    for name, label in (
        ("optimistic", "sink write path, new rows (direct COPY under a savepoint)"),
        ("staging", "sink write path, staging + ON CONFLICT"),
        ("replay", "sink write path, replayed rows (COPY fails, falls back)"),
    ):
        print(
            f"| {label}, median of 3 | {copy[name]:,.0f} rows/s ({copy[name] / raw:.2f} x raw COPY) |"
        )
    print(f"| end to end vs raw COPY | {measured / t_stored / raw:.2f} x |")


if __name__ == "__main__":
    main()
