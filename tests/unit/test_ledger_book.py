import re
from datetime import timedelta

import pytest

from domain.errors import InvalidRecordError, UnitError
from schemas.ledger import LedgerEntry
from schemas.readings import Reading, ReadingBatch
from schemas.registry import Exchange, Site, Stream
from streams.ledger_state import LedgerBook
from tests.helpers import T0

SITE = Site(
    id="plant", name="Plant", company="co", lat=55.0, lon=11.0,
    streams=[Stream(id="heat", kind="heat", unit="MW", nominal=10, temperature_c=90,
                    meters=["a", "b"])],
)  # fmt: skip


def batch(
    *readings: tuple[str, float, float], unit: str = "MW", quality: str = "good"
) -> ReadingBatch:
    return ReadingBatch(
        batch_id="b",
        stream="heat",
        readings=[
            Reading(meter=m, ts=T0 + timedelta(seconds=s), value=v, unit=unit, quality=quality)
            for m, s, v in readings
        ],
    )


def book() -> LedgerBook:
    b = LedgerBook(window_s=10)
    b.update_site(SITE)
    return b


def test_meters_are_summed_and_units_converted() -> None:
    entry, _ = book().apply(batch(("a", 0, 4.0), ("b", 0, 6.0)), None)
    assert entry.measured == pytest.approx(10.0)
    entry, _ = book().apply(batch(("a", 0, 4000.0), ("b", 0, 6000.0), unit="kW"), None)
    assert entry.measured == pytest.approx(10.0)


def test_a_meter_that_went_quiet_stops_counting_after_a_window() -> None:
    b = book()
    snap = None
    entry, snap = b.apply(batch(("a", 0, 5.0), ("b", 0, 5.0)), snap)
    assert entry.measured == pytest.approx(10.0)
    entry, snap = b.apply(batch(("a", 5, 5.0)), snap)
    assert entry.measured == pytest.approx(10.0)  # b still inside the window
    entry, snap = b.apply(batch(("a", 11, 5.0)), snap)
    assert entry.measured == pytest.approx(5.0)  # b's newest is now a window old


def test_unlisted_meter_is_rejected_with_the_field() -> None:
    with pytest.raises(InvalidRecordError, match=r"readings\[1\]\.meter: 'c'"):
        book().apply(batch(("a", 0, 1.0), ("c", 0, 1.0)), None)


def test_rejected_batch_leaves_no_trace() -> None:
    b = book()
    entry, snap = b.apply(batch(("a", 0, 5.0)), None)
    with pytest.raises(UnitError):
        b.apply(batch(("a", 1, 500.0), ("b", 1, 1.0), unit="t/h"), snap)
    entry, _ = b.apply(batch(("a", 2, 5.0)), snap)
    assert entry.measured == pytest.approx(5.0)
    assert entry.samples == 2


def test_committed_exchange_is_subtracted_and_available_never_negative() -> None:
    b = book()
    b.set_exchange(Exchange(id="x", stream="heat", need="n", quantity=3000, unit="kW"))
    entry, _ = b.apply(batch(("a", 0, 5.0), ("b", 0, 3.0)), None)
    assert (entry.committed, entry.available) == (pytest.approx(3.0), pytest.approx(5.0))
    b.set_exchange(Exchange(id="x", stream="heat", need="n", quantity=30, unit="MW"))
    entry, _ = b.apply(batch(("a", 1, 5.0)), None)
    assert entry.available == 0.0


def test_bad_readings_only_batch_gives_a_deterministic_entry() -> None:
    one, _ = book().apply(batch(("a", 3, 5.0), quality="bad"), None)
    two, _ = book().apply(batch(("a", 3, 5.0), quality="bad"), None)
    assert one == two
    assert one.updated_at == T0 + timedelta(seconds=3)
    assert one.samples == 0


def test_reading_from_the_future_is_refused() -> None:
    from datetime import UTC, datetime

    future = ReadingBatch(
        batch_id="f",
        stream="heat",
        readings=[
            Reading(meter="a", ts=datetime.now(UTC) + timedelta(hours=2), value=1, unit="MW")
        ],
    )
    with pytest.raises(InvalidRecordError, match=r"readings\[0\]\.ts: .* in the future"):
        book().apply(future, None)


def test_a_stream_removed_from_its_site_is_forgotten() -> None:
    b = book()
    b.update_site(SITE.model_copy(update={"streams": []}))
    assert not b.knows("heat")


def test_a_snapshot_restores_the_windows_in_a_fresh_book_and_the_json_form_still_reads() -> None:
    # after a restart the table's bytes are all a book has: the same next entry as the book
    # that wrote them, from today's packed form and from the JSON form written before it
    import orjson

    first = book()
    _, snap = first.apply(batch(("a", 0, 4.0), ("b", 0, 6.0), ("a", 1, 5.0)), None)
    following = batch(("a", 2, 7.0), ("b", 2, 3.0))
    want, want_snap = first.apply(following, snap)
    got, got_snap = book().apply(following, bytes(snap))
    assert (got, got_snap) == (want, want_snap)
    t0 = T0.timestamp()
    legacy = orjson.dumps(
        {"m": {"a": [t0 + 1, [[t0, 4.0], [t0 + 1, 5.0]]], "b": [t0, [[t0, 6.0]]]},
         "s": t0 + 1, "z": None, "h": t0 + 1, "p": 0}
    )  # fmt: skip
    got, got_snap = book().apply(following, legacy)
    assert (got, got_snap) == (want, want_snap)
    damaged = book()
    damaged.apply(following, snap + b"\0" * 16)
    assert [d.reason for d in damaged.take_damaged()] == [
        "a ledger snapshot holds 16 bytes past its meters"
    ]


def test_a_meter_exactly_one_window_older_than_the_stream_stops_counting() -> None:
    b = book()
    entry, snap = b.apply(batch(("a", 0, 5.0), ("b", 0, 5.0)), None)
    entry, snap = b.apply(batch(("a", 10, 7.0)), snap)  # b's newest is 10 s (the window) older
    assert (entry.measured, entry.samples) == (7.0, 1)


def fresh_start(damaged: bytes, following: ReadingBatch) -> tuple[str, LedgerEntry]:
    """A new book's entry from a damaged table value, and the reason it reports (once)."""
    b = book()
    entry, snap = b.apply(following, damaged)
    reported = b.take_damaged()
    assert [(d.stream, d.snapshot) for d in reported] == [("heat", damaged)]
    assert b.take_damaged() == []
    assert (entry, snap) == book().apply(following, None)  # as if the stream were new
    return reported[0].reason, entry


def test_a_damaged_snapshot_starts_the_stream_afresh_and_is_reported_with_its_reason() -> None:
    import orjson

    b = book()
    _, snap = b.apply(batch(("b", 0, 6.0), ("a", 0, 4.0)), None)  # b first: header order
    header, _, body = snap.partition(b"\0")
    state = orjson.loads(header)
    assert [m for m, _, _ in state["m"]] == ["b", "a"]
    following = batch(("a", 1, 5.0))
    assert book().apply(following, snap)[0] == b.apply(following, snap)[0]
    for count, reason in ((-1, "readings"), (1.0, "readings"), (5, "short")):
        state["m"][0][2] = count
        got, _ = fresh_start(orjson.dumps(state) + b"\0" + body, following)
        assert reason in got
    # a header of another shape is damaged too
    headers = (b"[1, 2]", b'{"m": 5, "s": 0}', b'{"m": [["a", [1], 0]], "s": 0}',
               b'{"m": [["a"]], "s": 0}', b'{"m": []}', b'{"m": {"a": 5}, "s": 0}',
               b'{"m": [], "s": "0"}', b'{"m": [], "s": null, "z": true}',
               b'{"m": [], "s": null, "h": [1]}', b'{"m": [], "s": null, "p": -1}',
               b'{"m": [], "s": null, "p": 1.0}', b'{"m": [["a", 1e300, 0]], "s": null}',
               b'{"m": {"a": [1e300, []]}, "s": null}')  # fmt: skip
    for header in headers:
        for damaged in (header + b"\0" + body, header):
            got, _ = fresh_start(damaged, following)
            assert re.search(r"snapshot|newest|unpack|partition", got), got
    fresh_start(b"not json at all", following)


def test_a_damaged_value_met_again_is_not_reported_again_and_a_batch_heals_it() -> None:
    b = book()
    damaged = b"{broken"
    assert b.partition_of("heat", damaged) is None  # the sweep's question: not this worker's
    assert b.mark_stale("heat", damaged, T0.timestamp() + 1e6) is None
    assert len(b.take_damaged()) == 1  # once, though asked twice
    _, healed = b.apply(batch(("a", 0, 4.0)), damaged)
    assert b.take_damaged() == []
    assert healed != damaged
    assert book().apply(batch(("a", 1, 5.0)), healed)[0].samples == 2


@pytest.mark.parametrize("header", [b'{"m": [], "s": 1e300}', b'{"m": [], "s": null, "z": -1}'])
def test_a_header_time_out_of_the_readings_range_is_damaged(header: bytes) -> None:
    reason, _ = fresh_start(header, batch(("a", 1, 5.0)))
    assert "not a time" in reason


def test_a_refused_batch_heals_nothing_and_reports_nothing() -> None:
    b = book()
    with pytest.raises(InvalidRecordError):
        b.apply(batch(("zz", 0, 1.0)), b"{broken")  # a meter the stream does not have
    assert b.take_damaged() == []  # met again, and reported, with the next batch
    b.apply(batch(("a", 0, 1.0)), b"{broken")
    assert len(b.take_damaged()) == 1
