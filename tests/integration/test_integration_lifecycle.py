"""Issue 4 acceptance on the real stack: live registry, hysteresis, crashes and restarts."""

from __future__ import annotations

import math
import threading
import time
import uuid
from datetime import timedelta

import psycopg
import pytest

from ingest.batch_producer import ReadingsProducer
from ingest.registry_publisher import RegistryPublisher
from runtime.settings import Settings
from schemas.readings import Reading, ReadingBatch
from schemas.registry import Need, Park, Site, Stream
from symbiosis.local_postgres import LocalPostgres
from symbiosis.pipeline import LocalPipeline
from tests.helpers import T0, produce

pytestmark = pytest.mark.integration

SUPPLIER = Site(
    id="smelter",
    name="Smelter",
    company="metal-co",
    lat=55.0,
    lon=11.0,
    streams=[
        Stream(
            id=f"heat-{i}",
            kind="heat",
            unit="MW",
            nominal=10,
            temperature_c=120,
            meters=[f"heat-{i}", f"heat-{i}-m0", f"heat-{i}-m1"],
        )
        for i in range(3)
    ],
)
TAKER = Site(id="greenhouse", name="Greenhouse", company="veg-co", lat=55.01, lon=11.0)


def heat_need(need_id: str = "greenhouse-heat", min_mw: float = 5) -> Need:
    return Need(
        id=need_id, site="greenhouse", kind="heat", unit="MW", min_quantity=min_mw,
        min_temperature_c=60, max_distance_km=5,
    )  # fmt: skip


def batches(
    stream: str, values: list[float], start_s: float, hz: float = 1.0
) -> list[ReadingBatch]:
    """One batch per reading, event time T0 + start_s + i/hz."""
    return [
        ReadingBatch(
            batch_id=f"{stream}-{start_s}-{i}",
            stream=stream,
            readings=[
                Reading(
                    meter=stream, ts=T0 + timedelta(seconds=start_s + i / hz), value=v, unit="MW"
                )
            ],
        )
        for i, v in enumerate(values)
    ]


def alert_events(p: LocalPipeline) -> list[tuple[str, str, str, str]]:
    with psycopg.connect(p.settings.database_url) as conn:
        rows = conn.execute(
            "SELECT stream, need, event, alert_id FROM alerts ORDER BY ts, idempotency_key"
        ).fetchall()
    return [tuple(r) for r in rows]


def test_need_registered_mid_run_gets_its_alert(pipeline: LocalPipeline) -> None:
    pipeline.publish(Park(park="p", sites=[SUPPLIER, TAKER]))
    pipeline.start("streams")
    pipeline.start("sink")
    produced = produce(pipeline, batches("heat-0", [10.0] * 10, start_s=0))
    pipeline.wait_caught_up(produced)
    assert alert_events(pipeline) == []

    publisher = RegistryPublisher(pipeline.settings.kafka_bootstrap, pipeline.settings.topics)
    publisher.need(heat_need())
    publisher.flush()
    publisher.close()
    time.sleep(2)  # the registry follower polls every 0.5 s
    produced += produce(pipeline, batches("heat-0", [10.0] * 10, start_s=10))
    pipeline.wait_caught_up(produced)
    events = alert_events(pipeline)
    assert [(s, n, e) for s, n, e, _ in events] == [("heat-0", "greenhouse-heat", "opened")]


def test_noisy_meter_does_not_flap_and_alert_resolves_when_surplus_goes(
    pipeline: LocalPipeline,
) -> None:
    pipeline.settings = pipeline.settings.model_copy(update={"ledger_window_s": 1.0})
    pipeline.publish(Park(park="p", sites=[SUPPLIER, TAKER], needs=[heat_need(min_mw=10)]))
    pipeline.start("streams")
    pipeline.start("sink")
    # 1 Hz with a 1 s window: each reading is the measured surplus. It opens at 12 MW, then
    # hovers around the need's 10 MW minimum (+-4 %, inside the 10 % hysteresis band), then stops.
    noisy = [12.0] * 5 + [9.6, 10.4] * 15 + [0.0] * 5
    produced = produce(pipeline, batches("heat-0", noisy, start_s=0))
    pipeline.wait_caught_up(produced)
    events = [e for _, _, e, _ in alert_events(pipeline)]
    assert events[0] == "opened"
    assert events[-1] == "resolved"
    assert events.count("opened") == 1
    assert events.count("resolved") == 1


def _produce_in_background(
    p: LocalPipeline, seconds: int, hz: int
) -> tuple[threading.Thread, list[int]]:
    """3 streams x 2 meters, ``hz`` readings per meter per event-second, paced ~40 event-s/s."""
    acked: list[int] = []

    def run() -> None:
        producer = ReadingsProducer(p.settings.kafka_bootstrap, p.settings.topics.readings)
        try:
            for s in range(seconds):
                for i in range(3):
                    stream = f"heat-{i}"
                    readings = [
                        Reading(
                            meter=f"{stream}-m{m}",
                            ts=T0 + timedelta(seconds=s + k / hz),
                            value=5.0 + m + (s % 7) * 0.1,
                            unit="MW",
                        )
                        for m in range(2)
                        for k in range(hz)
                    ]
                    producer.send(
                        ReadingBatch(batch_id=f"b{s}-{i}", stream=stream, readings=readings),
                        key=stream,
                    )
                time.sleep(0.025)
            acked.append(producer.flush())
        finally:
            producer.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, acked


def _check_exactly_once_and_ledger(p: LocalPipeline, produced: int, window_s: float) -> None:
    with psycopg.connect(p.settings.database_url) as conn:
        stored, distinct = conn.execute(
            "SELECT count(*), count(DISTINCT (meter, ts)) FROM readings"
        ).fetchone() or (0, 0)
        assert (stored, distinct) == (produced, produced)
        for i in range(3):
            stream = f"heat-{i}"
            row = conn.execute(
                "SELECT measured, updated_at FROM ledger WHERE stream = %s "
                "ORDER BY updated_at DESC LIMIT 1",
                (stream,),
            ).fetchone()
            assert row is not None
            measured, newest = row
            (recomputed,) = conn.execute(
                "SELECT coalesce(sum(m), 0) FROM (SELECT avg(value) AS m FROM readings "
                "WHERE stream = %s AND ts > %s - make_interval(secs => %s) AND ts <= %s "
                "GROUP BY meter) per_meter",
                (stream, newest, window_s, newest),
            ).fetchone() or (math.nan,)
            assert measured == pytest.approx(recomputed, rel=1e-9), stream
        opened = conn.execute(
            "SELECT stream, need, count(*) FROM alerts WHERE event = 'opened' GROUP BY 1, 2"
        ).fetchall()
    # the surplus never went away: exactly one episode per pair, even across the crash
    assert sorted((s, n, c) for s, n, c in opened) == [
        (f"heat-{i}", "greenhouse-heat", 1) for i in range(3)
    ]


def test_kill_9_of_the_worker_mid_stream_loses_and_duplicates_nothing(
    pipeline: LocalPipeline,
) -> None:
    pipeline.publish(Park(park="p", sites=[SUPPLIER, TAKER], needs=[heat_need()]))
    pipeline.start("streams")
    pipeline.start("sink")
    thread, acked = _produce_in_background(pipeline, seconds=300, hz=5)
    time.sleep(4)
    pipeline.kill("streams")
    time.sleep(1)
    pipeline.restart("streams")
    thread.join(120)
    assert acked, "producer did not finish"
    # a worker whose lag stops falling is restarted again, as a liveness probe would
    # (docs/operations.md: faust-streaming 0.15 can stall restoring its tables); the guarantees
    # below still hold
    pipeline.wait_caught_up(acked[0], timeout_s=600, restart_stalled="streams")
    _check_exactly_once_and_ledger(pipeline, acked[0], pipeline.settings.ledger_window_s)


def test_database_restart_mid_run_loses_and_duplicates_nothing(
    pipeline: LocalPipeline, stack: Settings
) -> None:
    pipeline.publish(Park(park="p", sites=[SUPPLIER, TAKER], needs=[heat_need()]))
    pipeline.start("streams")
    pipeline.start("sink")
    thread, acked = _produce_in_background(pipeline, seconds=300, hz=5)
    time.sleep(3)
    postgres = LocalPostgres(stack)
    assert postgres.down()
    time.sleep(3)
    postgres.up()
    thread.join(120)
    assert acked, "producer did not finish"
    pipeline.wait_caught_up(acked[0], timeout_s=180)
    _check_exactly_once_and_ledger(pipeline, acked[0], pipeline.settings.ledger_window_s)


def _scrape(port: int) -> dict[str, float]:
    """Prometheus text exposition -> {'name{labels}': value}."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    out: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            out[name] = float(value)
    return out


def _total(samples: dict[str, float], prefix: str, *labels: str) -> float:
    return sum(
        v for k, v in samples.items() if k.startswith(prefix) and all(x in k for x in labels)
    )


def test_every_process_serves_metrics_that_move(pipeline: LocalPipeline) -> None:
    base = 19480 + uuid.uuid4().int % 400
    pipeline.settings = pipeline.settings.model_copy(update={"metrics_port": base})
    pipeline.publish(Park(park="p", sites=[SUPPLIER, TAKER], needs=[heat_need()]))
    pipeline.start("streams")
    pipeline.start("sink")
    produced = produce(pipeline, batches("heat-0", [10.0] * 10, start_s=0))
    pipeline.wait_caught_up(produced)
    streams_port, sink_port = pipeline.metrics_port("streams"), pipeline.metrics_port("sink")
    first_streams, first_sink = _scrape(streams_port), _scrape(sink_port)
    assert _total(first_streams, "symbiosis_readings_total", 'stage="streams"') == 10
    assert _total(first_streams, "symbiosis_alerts_total", 'event="opened"') == 1
    assert _total(first_sink, "symbiosis_rows_written_total", 'table="readings"') == 10
    assert _total(first_sink, "symbiosis_db_write_duration_seconds_count") >= 1
    assert "symbiosis_data_freshness_seconds" in " ".join(first_sink)

    produced += produce(pipeline, batches("heat-0", [10.0] * 5, start_s=10))
    pipeline.wait_caught_up(produced)
    time.sleep(16)  # the lag gauges refresh every 15 s
    later_streams, later_sink = _scrape(streams_port), _scrape(sink_port)
    assert _total(later_streams, "symbiosis_events_in_total", 'topic="', "readings") == 15
    assert _total(later_sink, "symbiosis_rows_written_total", 'table="readings"') == 15
    group = pipeline.settings.sink_group
    assert _total(later_sink, "symbiosis_consumer_lag_records", f'group="{group}"') == 0
    assert f'symbiosis_consumer_lag_records{{group="{pipeline.settings.streams_group}"' in " ".join(
        later_streams
    )


def test_two_workers_share_the_partitions(pipeline: LocalPipeline) -> None:
    base = 19480 + uuid.uuid4().int % 400
    pipeline.settings = pipeline.settings.model_copy(update={"metrics_port": base})
    pipeline.publish(Park(park="p", sites=[SUPPLIER, TAKER], needs=[heat_need()]))
    pipeline.start("streams", "streams-a")
    pipeline.start("streams", "streams-b")
    pipeline.start("sink")
    thread, acked = _produce_in_background(pipeline, seconds=300, hz=5)
    thread.join(120)
    assert acked, "producer did not finish"
    # faust-streaming 0.15 can stall a member restoring its tables after a rebalance (the known
    # stall issue 16 is to fix at its root); a liveness probe would restart it, and so does this
    pipeline.wait_caught_up(acked[0], timeout_s=480, restart_stalled=("streams-a", "streams-b"))
    _check_exactly_once_and_ledger(pipeline, acked[0], pipeline.settings.ledger_window_s)

    # heat-2 hashes to partition 0, heat-0 and heat-1 to partition 1 (of 2): each worker owns
    # one. A restart above resets a worker's counters (and restarts both), so the share is read
    # from one more reading per stream, sent once everything has caught up.
    def handled() -> dict[str, float]:
        return {
            name: _total(
                _scrape(pipeline.metrics_port(name)), "symbiosis_readings_total", 'stage="streams"'
            )
            for name in ("streams-a", "streams-b")
        }

    before = handled()
    last = [
        ReadingBatch(batch_id=f"last-{i}", stream=f"heat-{i}", readings=[
            Reading(meter=f"heat-{i}-m0", ts=T0 + timedelta(seconds=400), value=5.0, unit="MW")])
        for i in range(3)
    ]  # fmt: skip
    pipeline.wait_caught_up(acked[0] + produce(pipeline, last))
    after = handled()
    assert all(after[n] > before[n] for n in after), (before, after)
