"""Issue 14: a site travels as a header plus one record per stream, each record bounded.

Every follower (a directory through ``apply_record``, the stream worker's ``RegistryView``)
must see the same whole ``Site`` as before, whatever the order the records arrive in.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.directory import Directory
from domain.errors import ConfigurationError, InvalidRecordError
from domain.matching import Matcher
from domain.registry_records import apply_record, decode_record
from domain.site_records import MAX_RECORD_BYTES, SiteAssembler, WireRecord, split_site
from ingest import registry_publisher
from ingest.api.app import create_app
from ingest.api.auth import Principal
from ingest.api.services import Services
from ingest.gateway import ReadingGateway
from runtime.settings import Settings, Topics
from schemas.registry import (
    Exchange,
    Need,
    Site,
    SiteHeader,
    Stream,
    StreamRecord,
)
from streams.ledger_state import LedgerBook
from streams.registry import RegistryView
from topics.catalogue import topic_of
from topics.registry_follower import RegistryFollower

T = Topics()
KIB = 1024


def stream(sid: str, meters: list[str] | None = None, *, nominal: float = 10.0) -> Stream:
    return Stream(id=sid, kind="heat", unit="MW", nominal=nominal, temperature_c=120,
                  meters=meters or [])  # fmt: skip


def site(streams: list[Stream], tags: dict[str, str] | None = None, *, name: str = "Refinery",
         site_id: str = "refinery", company: str = "refco") -> Site:  # fmt: skip
    return Site(id=site_id, name=name, company=company, lat=55.68, lon=11.09, streams=streams,
                tag_map=tags or {})  # fmt: skip


def refinery(n_streams: int, meters_per_stream: int, *, tag_every: int = 1) -> Site:
    """A site of ``n_streams`` x ``meters_per_stream`` meters, a historian tag on every
    ``tag_every``-th meter (ids and tags as long as a refinery's: 13 and 28 characters)."""
    streams = [
        stream(f"u{i:04d}-heat", [f"u{i:04d}-ti-{k:04d}" for k in range(meters_per_stream)])
        for i in range(n_streams)
    ]
    meters = [m for s in streams for m in s.meters]
    tags = {f"\\\\PISRV01\\{m.upper()}.PV.VAL": m for m in meters[::tag_every]}
    return site(streams, tags)


FARM = Site(id="farm", name="Farm", company="veg-co", lat=55.7, lon=11.1)
HEAT_NEED = Need(id="farm-heat", site="farm", kind="heat", unit="MW", min_quantity=1,
                 min_temperature_c=60)  # fmt: skip


def topic(record: WireRecord) -> str:
    return topic_of(T, record.kind)


def to_directory(d: Directory, records: list[WireRecord]) -> None:
    for r in records:
        kind = "site" if r.kind == "site" else "stream"
        apply_record(d, kind, r.key, decode_record(kind, r.value))


def handed_out(assembler: SiteAssembler, records: list[WireRecord]) -> list[Site]:
    """The sites ``assembler`` hands out while taking ``records`` in order."""
    out = []
    for r in records:
        if r.kind == "site":
            record = decode_record("site", r.value)
            assert isinstance(record, SiteHeader)
            got = assembler.put_header(record)
        else:
            decoded = decode_record("stream", r.value)
            assert decoded is None or isinstance(decoded, StreamRecord)
            got = assembler.put_stream(r.key, decoded)
        if got is not None:
            out.append(got)
    return out


def interleave(rng: random.Random, *versions: list[WireRecord]) -> list[WireRecord]:
    """The records of successive versions as a follower may read them: each key's records
    in the order they were written (one partition), keys interleaved at random."""
    by_key: dict[tuple[str, str], list[WireRecord]] = {}
    for records in versions:
        for r in records:
            by_key.setdefault((r.kind, r.key), []).append(r)
    queues = list(by_key.values())
    out = []
    while queues:
        q = rng.choice(queues)
        out.append(q.pop(0))
        if not q:
            queues.remove(q)
    return out


# --- the split -------------------------------------------------------------------------------


def test_a_site_is_a_header_plus_one_record_per_stream_with_its_tags() -> None:
    s = site([stream("flue-gas", ["fg-1", "fg-2"]), stream("cooling", ["cw-1"])],
             {"PI:FG1": "fg-1", "PI:CW1": "cw-1", "PI:FG2": "fg-2"})  # fmt: skip
    out = split_site(s)
    assert [(r.kind, r.key) for r in out.records] == [
        ("stream", "flue-gas"), ("stream", "cooling"), ("site", "refinery"),
    ]  # fmt: skip
    assert out.removals == ()
    header = SiteHeader.model_validate_json(out.records[-1].value or b"")
    assert header.stream_ids == ["flue-gas", "cooling"]
    assert header.revision == out.revision
    fg = StreamRecord.model_validate_json(out.records[0].value or b"")
    assert (fg.site, fg.revision, fg.stream) == ("refinery", out.revision, s.streams[0])
    assert fg.tags == {"PI:FG1": "fg-1", "PI:FG2": "fg-2"}  # a tag travels with its meter
    # the same site, tags in another order: the same revision (a repeat is a no-op)
    again = site(list(s.streams), dict(reversed(list(s.tag_map.items()))))
    assert split_site(again).revision == out.revision
    assert split_site(site(list(s.streams), name="Other")).revision != out.revision


def test_a_site_of_ten_thousand_meters_makes_small_records_and_reassembles_identically() -> None:
    wide, tall = refinery(2_000, 5), refinery(1, 10_000, tag_every=10)
    assert len(wide.model_dump_json()) > 1024 * KIB  # as one record, over Kafka's default
    for s in (wide, tall, refinery(1, 10_000, tag_every=10_001)):
        assert sum(len(st.meter_ids) for st in s.streams) == 10_000
        out = split_site(s)
        sizes = [len(r.value or b"") for r in out.records]
        assert max(sizes) < 512 * KIB, max(sizes)
        d = Directory()
        to_directory(d, list(reversed(out.records)))  # the header first, then its streams
        assert d.sites["refinery"] == s
        assert d.meter(s.streams[-1].meter_ids[-1]) is not None
        assert d.tag("refinery", next(iter(s.tag_map))) == next(iter(s.tag_map.values()))
        v = RegistryView(T, Matcher(), LedgerBook(10))
        for r in out.records:  # the header first
            assert v.apply(topic(r), r.key.encode(), r.value) == []
        assert v.matcher.site("refinery") == s
        assert all(v.book.knows(st.id) for st in s.streams)


def test_the_schema_caps_keep_the_largest_stream_under_the_record_limit() -> None:
    long_ids = [f"{k:05d}-" + "m" * 58 for k in range(10_000)]  # 64 characters, the most
    s = site([stream("biggest", long_ids)])
    sizes = [len(r.value or b"") for r in split_site(s).records]
    assert 600 * KIB < max(sizes) < MAX_RECORD_BYTES
    with pytest.raises(ValidationError, match="at most 10000 items"):
        stream("too-many", [*long_ids, "one-more"])
    many = site([stream(f"s{k:05d}-" + "x" * 57) for k in range(10_000)])
    assert max(len(r.value or b"") for r in split_site(many).records) < MAX_RECORD_BYTES


def test_a_record_over_the_limit_is_refused_naming_the_stream() -> None:
    meters = [f"{k:05d}-" + "m" * 58 for k in range(10_000)]
    tags = {f"{m}-tag": m for m in meters}  # a long tag for every meter
    with pytest.raises(ConfigurationError, match="stream 'biggest' would be a registry record"):
        split_site(site([stream("biggest", meters)], tags))


def test_a_site_lists_a_stream_once() -> None:
    with pytest.raises(ValidationError, match="stream id 'a' is used more than once"):
        site([stream("a"), stream("a")])


# --- reassembly, in any order ----------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False))
def test_a_new_follower_ends_with_the_newest_version_whatever_the_order(rng: random.Random) -> None:
    v1 = site([stream("a", ["a1", "a2"]), stream("b"), stream("c", ["c1"])], {"T:A1": "a1"})
    v2 = site([stream("b", nominal=7), stream("a", ["a1"]), stream("d")], {"T:A1": "a1"})
    first, second = split_site(v1), split_site(v2, previous=v1)  # v2 drops c, adds d
    records = interleave(rng, list(first.all), list(second.all))
    d = Directory()
    to_directory(d, records)
    assert d.sites["refinery"] == v2
    assert d.stream("c") is None
    assert d.meter("c1") is None
    v = RegistryView(T, Matcher(), LedgerBook(10))
    for r in records:
        assert v.apply(topic(r), r.key.encode(), r.value) == []
    assert v.matcher.site("refinery") == v2
    assert not v.book.knows("c")
    assert v.book.knows("d")


@settings(max_examples=60, deadline=None)
@given(st.randoms(use_true_random=False))
def test_a_follower_switches_to_the_next_version_once_when_it_is_whole(rng: random.Random) -> None:
    v1 = site([stream(f"s{i}", [f"s{i}-m0", f"s{i}-m1"]) for i in range(6)])
    v2 = site([stream(f"s{i}", [f"s{i}-m0"], nominal=i + 1) for i in range(1, 8)])
    a = SiteAssembler()
    assert handed_out(a, list(split_site(v1).records)) == [v1]
    update = split_site(v2, previous=v1)
    records = list(update.records)
    rng.shuffle(records)
    out = handed_out(a, [*records, *update.removals])
    assert out == [v2]  # once, not once per stream record, and never a half-updated site
    assert handed_out(a, list(split_site(v2).records)) == []  # published again: no change


def test_a_stream_record_before_its_header_waits_and_so_do_needs_and_exchanges() -> None:
    plant = site([stream("heat", ["heat-m0", "heat-m1"])])
    *streams, header = split_site(plant).records
    v = RegistryView(T, Matcher(), LedgerBook(10))
    x = Exchange(id="x1", stream="heat", need="farm-heat", quantity=2, unit="MW")
    send = v.apply
    assert send(T.sites, b"farm", FARM.model_dump_json().encode()) == []  # old format
    assert send(T.needs, b"farm-heat", HEAT_NEED.model_dump_json().encode()) == []
    assert send(T.exchanges, b"x1", x.model_dump_json().encode()) == []
    for r in streams:
        assert send(T.streams, r.key.encode(), r.value) == []
    assert not v.book.knows("heat")
    assert v.pending_exchanges  # its stream's site is not whole yet
    assert send(T.sites, header.key.encode(), header.value) == []
    assert not v.pending_exchanges
    assert v.book.knows("heat")
    assert v.book.committed("heat", datetime.now(UTC)) == 2


def test_a_removed_stream_stops_counting_even_when_its_tombstone_comes_first() -> None:
    v1 = site([stream("keep", ["keep-m"]), stream("gone", ["gone-m"])], {"T:G": "gone-m"})
    v2 = site([stream("keep", ["keep-m"])])
    update = split_site(v2, previous=v1)
    assert update.removals == (WireRecord("stream", "gone", None),)
    d = Directory()
    to_directory(d, list(split_site(v1).records))
    v = RegistryView(T, Matcher(), LedgerBook(10))
    for r in [*split_site(v1).records, *update.removals, *update.records]:
        assert v.apply(topic(r), r.key.encode(), r.value) == []
    to_directory(d, list(update.removals))  # before the new header: v1 stays whole in use
    assert d.sites["refinery"] == v1
    to_directory(d, list(update.records))
    assert d.sites["refinery"] == v2
    assert d.meter("gone-m") is None
    assert d.tag("refinery", "T:G") is None
    with pytest.raises(ConfigurationError, match="already used"):  # retired: refco's
        d.check_site(site([stream("gone")], site_id="other", company="rival"))
    assert not v.book.knows("gone")
    assert v.matcher.site("refinery") == v2


def test_a_half_written_registration_keeps_the_last_whole_version() -> None:
    v1 = site([stream("a"), stream("b"), stream("c")])
    v2 = site([stream("a", nominal=1), stream("b", nominal=2), stream("c", nominal=3)])
    update = split_site(v2, previous=v1)
    a_v2, b_v2, _c_v2, header_v2 = update.records  # c's new record was never written
    running = SiteAssembler()
    assert handed_out(running, list(split_site(v1).records)) == [v1]
    assert handed_out(running, [a_v2, b_v2, header_v2]) == []  # keeps v1 whole
    fresh = SiteAssembler()  # compaction kept a, b of v2 and c of v1
    c_v1 = split_site(v1).records[2]
    [mixture] = handed_out(fresh, [header_v2, a_v2, b_v2, c_v1])
    assert [s.nominal for s in mixture.streams] == [1, 2, 10]  # each stream whole; not none
    assert handed_out(fresh, list(update.records)) == [v2]  # the retry makes it whole
    assert fresh.waiting() == {}


def test_an_old_format_site_record_still_applies_and_either_format_replaces_the_other() -> None:
    old = site([stream("heat", ["heat-m0"])], {"T:H": "heat-m0"})
    d = Directory()
    apply_record(d, "site", "refinery", decode_record("site", old.model_dump_json().encode()))
    assert d.sites["refinery"] == old
    assert d.meter("heat-m0") is not None
    new = site([stream("heat", ["heat-m0", "heat-m1"])], {"T:H": "heat-m1"})
    to_directory(d, list(split_site(new).records))
    assert d.sites["refinery"] == new
    apply_record(d, "site", "refinery", decode_record("site", old.model_dump_json().encode()))
    assert d.sites["refinery"] == old  # an older publisher's record, written last, wins
    to_directory(d, list(split_site(new).records))  # the same header again: whole again
    assert d.sites["refinery"] == new


def test_a_stream_record_under_another_key_or_of_another_kind_is_refused() -> None:
    [record, _] = split_site(site([stream("heat")])).records
    d = Directory()
    with pytest.raises(InvalidRecordError, match="is not its stream"):
        apply_record(d, "stream", "cold", decode_record("stream", record.value))
    with pytest.raises(ValidationError):
        decode_record("stream", site([]).model_dump_json().encode())
    assert decode_record("stream", None) is None  # a tombstone: the stream was removed
    with pytest.raises(ValidationError, match="is not a meter of this stream"):
        StreamRecord(site="s", revision="0" * 32, stream=stream("heat"), tags={"T": "other"})
    v = RegistryView(T, Matcher(), LedgerBook(10))
    [refused] = v.apply(T.streams, b"cold", record.value)
    assert refused.item_id == "cold"


# --- the publishers --------------------------------------------------------------------------


class FakeFuture:
    exception = None

    def failed(self) -> bool:
        return False


class FakeProducer:
    """kafka-python's producer as the registry publisher uses it."""

    def __init__(self, **_: Any) -> None:
        self.log: list[tuple[str, str, bytes | None] | str] = []

    def send(self, topic: str, *, key: bytes, value: bytes | None) -> FakeFuture:
        self.log.append((topic, key.decode(), value))
        return FakeFuture()

    def flush(self, timeout: float | None = None) -> None:
        self.log.append("flush")

    def close(self, timeout: float | None = None) -> None:
        pass


def test_the_registry_publisher_sends_the_split_site_and_withdraws_dropped_streams(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(registry_publisher, "KafkaProducer", FakeProducer)
    publisher = registry_publisher.RegistryPublisher("kafka:9092", T)
    producer = publisher._producer
    assert isinstance(producer, FakeProducer)
    big = refinery(2_000, 5)
    assert publisher.site(big) == 2_001
    assert [e[:2] for e in producer.log[-2:] if isinstance(e, tuple)] == [
        (T.streams, "u1999-heat"), (T.sites, "refinery"),
    ]  # fmt: skip
    assert "flush" not in producer.log  # nothing to withdraw: no flush in between
    producer.log.clear()
    smaller = site(big.streams[:1999])
    assert publisher.site(smaller, previous=big) == 2_000 + 1
    assert producer.log[-2:] == ["flush", (T.streams, "u1999-heat", None)]  # after the rest
    records = [e for e in producer.log if isinstance(e, tuple)]
    d = Directory()
    for t, key, value in records:
        kind = "site" if t == T.sites else "stream"
        apply_record(d, kind, key, decode_record(kind, value))
    assert d.sites["refinery"] == smaller


class FakeKafka:
    """The API's publisher: records what was sent, in the order of the waits."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str | None, bytes | None]] = []
        self.waits: list[int] = []

    def send(self, topic: str, key: str | None, value: bytes | None) -> object:
        self.sent.append((topic, key, value))
        return object()

    def wait(self, futures: Any, timeout_s: float) -> int:
        self.waits.append(len(list(futures)))
        return self.waits[-1]

    def close(self) -> None:
        pass


class FakeTokens:
    def verify(self, token: str) -> Principal | None:
        if token == "refco":
            return Principal(role="company", company="refco", prefix="refco")
        return None


@pytest.fixture
def api() -> Iterator[tuple[TestClient, FakeKafka, RegistryFollower]]:
    s = Settings()
    kafka = FakeKafka()
    follower = RegistryFollower(s.kafka_bootstrap, s.topics)  # not started
    services = Services(
        settings=s, publisher=kafka, registry=follower,  # type: ignore[arg-type]
        gateway=ReadingGateway(s, kafka, follower),  # type: ignore[arg-type]
        pool=None, tokens=FakeTokens(),  # type: ignore[arg-type]
    )  # fmt: skip
    services.store_retirements = lambda items: None  # type: ignore[method-assign]
    with TestClient(create_app(s, services)) as client:
        yield client, kafka, follower


def test_the_api_registers_a_site_of_ten_thousand_meters_in_bounded_records(
    api: tuple[TestClient, FakeKafka, RegistryFollower],
) -> None:
    client, kafka, follower = api
    auth = {"Authorization": "Bearer refco"}
    big = refinery(2_000, 5)
    assert len(big.model_dump_json()) > 1024 * KIB  # one record of it would not fit in Kafka
    r = client.put("/v1/sites/refinery", json=big.model_dump(mode="json"), headers=auth)
    assert r.status_code == 200, r.text
    assert {t for t, _, _ in kafka.sent} == {T.sites, T.streams}
    assert len(kafka.sent) == 2_001
    assert max(len(v or b"") for _, _, v in kafka.sent) < 512 * KIB
    with follower.locked() as d:  # read your writes
        assert d.sites["refinery"] == big
    fresh = RegistryFollower("unused:9092", T)  # another replica, reading the topics
    for t, key, value in sorted(kafka.sent, key=lambda _: random.random()):
        fresh.apply(t, key or "", value)
    assert fresh.directory.sites["refinery"] == big

    kafka.sent.clear()
    one = stream("u0000-heat", [*big.streams[0].meters, "u0000-ti-9999"])
    r = client.put("/v1/sites/refinery/streams/u0000-heat", json=one.model_dump(mode="json"),
                   headers=auth)  # fmt: skip
    assert r.status_code == 200, r.text
    assert len(kafka.sent) == 2_001  # a new revision: every stream again, and the header
    kafka.sent.clear()
    kafka.waits.clear()
    smaller = site(big.streams[1:], {t: m for t, m in big.tag_map.items() if "U0000" not in t})
    r = client.put("/v1/sites/refinery", json=smaller.model_dump(mode="json"), headers=auth)
    assert r.status_code == 200, r.text
    assert kafka.sent[-1] == (T.streams, "u0000-heat", None)  # withdrawn...
    assert kafka.waits == [2_000, 1]  # ...once the rest was acknowledged
    for t, key, value in kafka.sent:
        fresh.apply(t, key or "", value)
    with follower.locked() as d:
        assert d.sites["refinery"] == smaller
        assert d.meter("u0000-ti-9999") is None
    assert fresh.directory.sites["refinery"] == smaller


def test_the_api_refuses_a_stream_too_large_for_one_record(
    api: tuple[TestClient, FakeKafka, RegistryFollower],
) -> None:
    client, kafka, _ = api
    meters = [f"{k:05d}-" + "m" * 58 for k in range(10_000)]
    huge = site([stream("biggest", meters)], {f"{m}-tag": m for m in meters})
    r = client.put("/v1/sites/refinery", json=huge.model_dump(mode="json"),
                   headers={"Authorization": "Bearer refco"})  # fmt: skip
    assert r.status_code == 422, r.text
    assert "stream 'biggest' would be a registry record" in r.text
    assert kafka.sent == []
