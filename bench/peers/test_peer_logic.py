"""The peers' per-record logic, without Kafka.

Run with the main venv: ``.venv/bin/pytest bench/peers/test_peer_logic.py -p no:cacheprovider``.
"""

from __future__ import annotations

import copy

import orjson
import pytest
from peer_logic import (
    Tally,
    apply_batch,
    count_readings,
    cpu_seconds,
    ledger_step,
    record_batches,
    record_readings,
)


def reading(meter: str, ts: str, value: float, quality: str | None = None) -> dict[str, object]:
    r: dict[str, object] = {"meter": meter, "ts": ts, "value": value, "unit": "MW"}
    if quality is not None:
        r["quality"] = quality
    return r


def batch(stream: str, *readings: dict[str, object]) -> dict[str, object]:
    return {"schema_version": 1, "batch_id": f"b-{stream}", "stream": stream,
            "readings": list(readings)}  # fmt: skip


T0 = "2026-01-01T00:00:00+00:00"
T1 = "2026-01-01T00:00:01+00:00"
T2 = "2026-01-01T00:00:02+00:00"

SITE_RECORD = {
    "schema_version": 2,
    "site": "site-1",
    "batches": [
        batch("s1", reading("s1-m0", T0, 1.0), reading("s1-m1", T0, 2.0)),
        batch("s2", reading("s2-m0", T0, 3.0)),
    ],
}
LONE_BATCH = batch("s3", reading("s3-m0", T0, 1.0), reading("s3-m0", T1, 2.0),
                   reading("s3-m1", T1, 4.0))  # fmt: skip


def test_counts_readings_of_both_shapes() -> None:
    assert count_readings(orjson.dumps(SITE_RECORD)) == 3
    assert count_readings(orjson.dumps(LONE_BATCH)) == 3
    assert record_readings(SITE_RECORD) == 3
    assert [b["stream"] for b in record_batches(SITE_RECORD)] == ["s1", "s2"]
    assert record_batches(LONE_BATCH) == [LONE_BATCH]


def test_counts_a_teda_record() -> None:
    """A record as bench/teda.py makes it (2 streams of 4 meters, quality set)."""
    ts = "2026-01-01T00:00:00+00:00"
    batches = [
        batch(f"st{s}", *(reading(f"st{s}-m{k}", ts, 0.5, "good") for k in range(4)))
        for s in range(2)
    ]
    record = orjson.dumps({"schema_version": 2, "site": "site-0001", "batches": batches})
    assert count_readings(record) == 8


def test_first_batch_sums_the_meters_latest_values() -> None:
    state, out = apply_batch(None, LONE_BATCH)
    assert out == {"stream": "s3", "available": pytest.approx(6.0), "ts": T1}
    assert state["available"] == pytest.approx(6.0)
    assert {m: v for m, (_, v) in state["meters"].items()} == {"s3-m0": 2.0, "s3-m1": 4.0}
    assert orjson.loads(orjson.dumps(state)) == state  # what the RocksDB store keeps


def test_later_batches_replace_meters_and_keep_the_others() -> None:
    state, _ = apply_batch(None, LONE_BATCH)
    before = copy.deepcopy(state)
    new_state, out = apply_batch(state, batch("s3", reading("s3-m1", T2, 1.0)))
    assert out == {"stream": "s3", "available": pytest.approx(3.0), "ts": T2}
    assert new_state["ts"] == T2
    assert state == before  # the input state is not modified


def test_an_older_reading_does_not_replace_a_newer_one() -> None:
    state, _ = apply_batch(None, batch("s", reading("m", T2, 5.0)))
    state, out = apply_batch(state, batch("s", reading("m", T1, 1.0)))
    assert out == {"stream": "s", "available": pytest.approx(5.0), "ts": T2}


def test_instants_are_compared_across_offsets() -> None:
    # 01:00:00+01:00 is 00:00:00 UTC: older than T1 although its string sorts after
    state, _ = apply_batch(None, batch("s", reading("m", T1, 5.0)))
    state, out = apply_batch(state, batch("s", reading("m", "2026-01-01T01:00:00+01:00", 9.0)))
    assert out["available"] == pytest.approx(5.0)
    assert out["ts"] == T1


def test_only_good_readings_count() -> None:
    _, out = apply_batch(
        None,
        batch("s", reading("m0", T0, 1.0, "good"), reading("m1", T0, 7.0, "bad"),
              reading("m2", T0, 8.0, "uncertain")),
    )  # fmt: skip
    assert out == {"stream": "s", "available": pytest.approx(1.0), "ts": T0}
    state, out = apply_batch(None, batch("s", reading("m1", T0, 7.0, "bad")))
    assert out == {"stream": "s", "available": 0, "ts": None}
    state = orjson.loads(orjson.dumps(state))  # as the store keeps it
    _, out = apply_batch(state, batch("s", reading("m1", T1, 2.0)))
    assert out == {"stream": "s", "available": pytest.approx(2.0), "ts": T1}


def test_tally_figures_cover_first_to_last() -> None:
    tally = Tally(target=10)
    with pytest.raises(ValueError, match="first and last"):
        tally.result("bare")
    tally.first()
    tally.records, tally.readings = 2, 6
    assert not tally.done
    tally.readings = 10
    assert tally.done
    tally.last()
    assert tally.t_first is not None
    tally.t_first -= 2.0  # as if the first record came 2 s earlier
    result = tally.result("bare")
    assert list(result) == [
        "peer", "records", "readings", "seconds", "records_per_s", "readings_per_s", "cpu_s",
    ]  # fmt: skip
    assert result["peer"] == "bare"
    assert result["seconds"] == pytest.approx(2.0, abs=0.01)
    assert result["readings_per_s"] == pytest.approx(5.0, abs=0.05)
    assert result["cpu_s"] >= 0
    assert cpu_seconds() > 0


class DictState:
    """Quix's ``State`` as :func:`ledger_step` uses it (one key's scope)."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def get(self, key: str, default: object = None) -> object:
        return orjson.loads(self.data[key]) if key in self.data else default

    def set(self, key: str, value: object) -> None:
        self.data[key] = orjson.dumps(value)  # the store keeps JSON, as Quix's RocksDB store


def test_ledger_step_keeps_one_state_per_stream_and_counts() -> None:
    state, tally = DictState(), Tally(target=6)
    outputs = ledger_step(SITE_RECORD, state, tally)
    assert outputs == [
        {"stream": "s1", "available": pytest.approx(3.0), "ts": T0},
        {"stream": "s2", "available": pytest.approx(3.0), "ts": T0},
    ]
    assert sorted(state.data) == ["s1", "s2"]
    assert (tally.records, tally.readings, tally.done) == (1, 3, False)
    assert ledger_step(LONE_BATCH, state, tally) == [
        {"stream": "s3", "available": pytest.approx(6.0), "ts": T1}
    ]
    assert (tally.records, tally.readings, tally.done) == (2, 6, True)


def test_command_line_defaults() -> None:
    from run_peer import parse_args  # needs neither confluent-kafka nor quixstreams to import

    args = parse_args(["quix", "--bootstrap", "h:9092", "--topic", "t", "--readings", "5"])
    assert args.group.startswith("peer-quix-")
    assert args.output_topic == f"{args.group}-out"
    assert args.output_topic_is_default
    other = parse_args(["bare", "--bootstrap", "h:9092", "--topic", "t", "--readings", "5"])
    assert other.group.startswith("peer-bare-")
    assert other.group != args.group  # a fresh group per run
    with pytest.raises(SystemExit):
        parse_args(["bare", "--bootstrap", "h:9092", "--topic", "t", "--readings", "0"])
