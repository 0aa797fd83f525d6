"""Issue 14 on the real stack: a site of 10,000 meters registers and every stage follows it.

A site travels as a header plus one record per stream (:mod:`domain.site_records`). As one
record, the 2,000-stream site below is 1.3 MB, over Kafka's default ``message.max.bytes``
(1 MiB): it could not be registered. Here every record on the registry topics stays under
512 KiB, and each follower sees the whole site: the stream worker (its ledger and matcher),
the API's directory (its pushes), and a fresh directory follower as the MQTT bridge and
webhook delivery run it. Removing a stream publishes its tombstone, and every follower drops
it.
"""

from __future__ import annotations

import time
from datetime import timedelta

import psycopg
import pytest
from kafka import KafkaConsumer

from ingest.registry_publisher import RegistryPublisher
from runtime.settings import Settings
from schemas.readings import Reading, ReadingBatch
from schemas.registry import Need, Park, Site, Stream
from schemas.rejections import Rejection
from symbiosis.pipeline import LocalPipeline
from tests.api_env import SUPPLIER, api_env
from tests.helpers import T0, consume_all, isolated, produce, scalar, wait_for
from topics.registry_follower import RegistryFollower

pytestmark = pytest.mark.integration

MAX_RECORD_BYTES = 512 * 1024
LAST_STREAM, LAST_METER = "u1999-heat", "u1999-ti-0004"


def wide_site(site_id: str = "refinery", company: str = "refco") -> Site:
    """2,000 heat streams of 5 meters each (10,000 meters), a historian tag on every meter."""
    streams = [
        Stream(
            id=f"u{i:04d}-heat",
            kind="heat",
            unit="MW",
            nominal=10,
            temperature_c=120,
            meters=[f"u{i:04d}-ti-{k:04d}" for k in range(5)],
        )
        for i in range(2_000)
    ]
    tags = {f"\\\\PISRV01\\{m.upper()}.PV": m for st in streams for m in st.meters}
    return Site(id=site_id, name="Refinery", company=company, lat=55.0, lon=11.0,
                streams=streams, tag_map=tags)  # fmt: skip


def tall_site(site_id: str, company: str) -> Site:
    """One water stream measured by 10,000 meters (the schema's most), a tag on every 10th."""
    meters = [f"tank-{k:05d}" for k in range(10_000)]
    stream = Stream(id="tank-farm-water", kind="water", unit="m^3/h", nominal=500, meters=meters)
    tags = {f"TF/{m}/level": m for m in meters[::10]}
    return Site(id=site_id, name="Tank farm", company=company, lat=55.68, lon=11.09,
                streams=[stream], tag_map=tags)  # fmt: skip


TAKER = Site(id="greenhouse", name="Greenhouse", company="veg-co", lat=55.01, lon=11.0)
NEED = Need(id="greenhouse-heat", site="greenhouse", kind="heat", unit="MW", min_quantity=5,
            min_temperature_c=60, max_distance_km=5)  # fmt: skip


def registry_records(settings: Settings, expect: int) -> list[tuple[str, str, bytes | None]]:
    """``(topic, key, value)`` of every record on the sites and streams topics."""
    t = settings.topics
    consumer = KafkaConsumer(
        t.sites, t.streams, bootstrap_servers=settings.kafka_bootstrap,
        auto_offset_reset="earliest", enable_auto_commit=False, group_id=None,
    )  # fmt: skip
    out: list[tuple[str, str, bytes | None]] = []
    deadline = time.monotonic() + 60
    try:
        while len(out) < expect and time.monotonic() < deadline:
            for tp, records in consumer.poll(timeout_ms=500).items():
                out += [(tp.topic, r.key.decode(), r.value) for r in records]
    finally:
        consumer.close()
    assert len(out) == expect, f"{len(out)} registry records, expected {expect}"
    return out


def directory_site(settings: Settings, site_id: str) -> Site | None:
    """The site as a fresh directory follower (MQTT bridge, delivery) reads it from Kafka."""
    follower = RegistryFollower(settings.kafka_bootstrap, settings.topics)
    follower.start()
    try:
        follower.wait_ready(60)
        with follower.locked() as d:
            return d.sites.get(site_id)
    finally:
        follower.stop()


def readings(stream: str, meter: str, n: int, start_s: float) -> list[ReadingBatch]:
    return [
        ReadingBatch(
            batch_id=f"{meter}-{start_s}-{i}",
            stream=stream,
            readings=[
                Reading(meter=meter, ts=T0 + timedelta(seconds=start_s + i), value=10.0, unit="MW")
            ],
        )
        for i in range(n)
    ]


def test_a_site_of_ten_thousand_meters_is_followed_by_the_worker_and_the_directory(
    pipeline: LocalPipeline,
) -> None:
    s = pipeline.settings
    big = wide_site()
    assert len(big.model_dump_json()) > 1024 * 1024  # as one record: over Kafka's 1 MiB
    # 2,000 stream records and a header, the taker's header, the need
    assert pipeline.publish(Park(park="p", sites=[big, TAKER], needs=[NEED])) == 2_003
    on_kafka = registry_records(s, 2_002)
    assert max(len(v or b"") for _, _, v in on_kafka) < MAX_RECORD_BYTES
    assert directory_site(s, "refinery") == big

    pipeline.start("streams")
    pipeline.start("sink")
    produced = produce(pipeline, readings(LAST_STREAM, LAST_METER, 10, start_s=0))
    pipeline.wait_caught_up(produced)
    with psycopg.connect(s.database_url) as conn:
        ledger = conn.execute(
            "SELECT count(*) FROM ledger WHERE stream = %s", (LAST_STREAM,)
        ).fetchone()
        opened = conn.execute("SELECT stream, need FROM alerts WHERE event = 'opened'").fetchall()
    assert ledger is not None
    assert ledger[0] > 0  # the worker knows the last meter's stream
    assert [tuple(r) for r in opened] == [(LAST_STREAM, NEED.id)]  # and matched it

    # Remove the last stream: the header no longer lists it, its record gets a tombstone.
    smaller = big.model_copy(
        update={"streams": big.streams[:-1],
                "tag_map": {t: m for t, m in big.tag_map.items() if not m.startswith("u1999")}}
    )  # fmt: skip
    publisher = RegistryPublisher(s.kafka_bootstrap, s.topics)
    try:
        assert publisher.site(smaller, previous=big) == 2_001
        publisher.flush()
    finally:
        publisher.close()
    after = registry_records(s, 2_002 + 2_001)
    assert (s.topics.streams, LAST_STREAM, None) in after
    assert max(len(v or b"") for _, _, v in after) < MAX_RECORD_BYTES
    assert directory_site(s, "refinery") == smaller

    time.sleep(3)  # the worker's registry task polls every 0.5 s
    produced += produce(pipeline, readings(LAST_STREAM, LAST_METER, 3, start_s=20))
    pipeline.wait_caught_up(produced)
    reasons = [
        Rejection.model_validate_json(v).reason
        for v in consume_all(s, s.topics.rejected, expect=3, timeout_s=30)
    ]
    assert any(f"{LAST_STREAM!r} is not a registered stream" in r for r in reasons), reasons


def test_the_api_registers_sites_of_ten_thousand_meters_and_takes_their_pushes(
    stack: Settings,
) -> None:
    settings = isolated(stack, "regsize")
    with api_env(settings) as env:
        for site in (tall_site("refinery-tank-farm", SUPPLIER),
                     wide_site("refinery-units", SUPPLIER)):  # fmt: skip
            put = env.client.put(
                f"/v1/sites/{site.id}",
                json=site.model_dump(mode="json"),
                headers=env.auth(SUPPLIER),
            )
            assert put.status_code == 200, put.text[:500]
            listed = env.client.get("/v1/sites", headers=env.auth(SUPPLIER)).json()
            [mine] = [Site.model_validate(x) for x in listed if x["id"] == site.id]
            assert mine == site  # the API's own directory (read your writes)
            assert directory_site(settings, site.id) == site  # another replica, from Kafka

            last = site.streams[-1].meter_ids[-1]
            unit = site.streams[-1].unit
            rows = env.readings(last, 5, value=42.0, unit=unit)
            r = env.client.post("/v1/readings", json={"readings": rows},
                                headers=env.auth(SUPPLIER))  # fmt: skip
            assert r.status_code == 200, r.text
            assert r.json()["accepted"] == 5
            count = f"SELECT count(*) FROM readings WHERE meter = '{last}'"
            wait_for(lambda q=count: scalar(env.settings, q) == 5, 30, f"readings of {last}")

        t = settings.topics
        demo = len(env.park.sites) + sum(len(x.streams) for x in env.park.sites)
        on_kafka = registry_records(settings, demo + 2 + 2_001)  # + tall's 2, wide's 2,001
        assert {topic for topic, _, _ in on_kafka} == {t.sites, t.streams}
        assert max(len(v or b"") for _, _, v in on_kafka) < MAX_RECORD_BYTES
