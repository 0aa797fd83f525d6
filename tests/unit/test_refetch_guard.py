"""Which readings partitions a worker reads again (streams.refetch.RefetchGuard)."""

from __future__ import annotations

from streams.refetch import RefetchGuard


def test_a_partition_fetched_to_its_end_but_never_processed_is_read_from_its_start() -> None:
    # the restart seen in the lifecycle test: p1 processed to 599, p0 fetched to 300, never seen
    guard = RefetchGuard(quiet_s=15)
    seek = guard.decide({0: 300, 1: 600}, {1: 599}, {1: 600}, idle_s=20)
    assert seek == {0: 0}


def test_the_next_offset_is_the_later_of_processed_and_committed() -> None:
    guard = RefetchGuard(quiet_s=15)
    # processed in this process up to 40; another worker had committed 70 before a reassignment
    assert guard.decide({0: 100}, {0: 40}, {0: 70}, idle_s=20) == {0: 70}
    guard = RefetchGuard(quiet_s=15)
    assert guard.decide({0: 100}, {0: 80}, {0: 70}, idle_s=20) == {0: 81}


def test_nothing_is_read_again_while_the_stage_is_busy_or_only_briefly_idle() -> None:
    guard = RefetchGuard(quiet_s=15)
    assert guard.decide({0: 300}, {}, {}, idle_s=0) == {}
    assert guard.decide({0: 300}, {}, {}, idle_s=14.9) == {}
    assert guard.decide({0: 300}, {}, {}, idle_s=15) == {0: 0}


def test_a_partition_whose_position_matches_the_stage_is_left_alone() -> None:
    guard = RefetchGuard(quiet_s=15)
    assert guard.decide({0: 300, 1: None}, {0: 299}, {0: 300}, idle_s=60) == {}
    assert guard.decide({0: 300}, {}, {0: 300}, idle_s=60) == {}  # committed, nothing new


def test_the_same_gap_is_not_read_again_forever() -> None:
    # e.g. a transaction marker at the end: the position stays one past the last record
    guard = RefetchGuard(quiet_s=15)
    assert guard.decide({0: 101}, {0: 99}, {}, idle_s=20) == {0: 100}
    assert guard.decide({0: 101}, {0: 99}, {}, idle_s=40) == {}
    # new records arrive and again are not delivered: a new gap is a new decision
    assert guard.decide({0: 150}, {0: 99}, {}, idle_s=40) == {0: 100}
