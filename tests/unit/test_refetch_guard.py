"""Which readings partitions a worker reads again (streams.refetch)."""

from __future__ import annotations

from streams.refetch import BUFFERED_BATCHES, Gap, GapCheck, RefetchGuard, StageActivity


def test_a_partition_fetched_to_its_end_but_never_processed_is_read_from_its_start() -> None:
    # the restart seen in the lifecycle test: p1 processed to 599, p0 fetched to 300, never seen
    guard = RefetchGuard()
    assert guard.decide({0: 300, 1: 600}, {1: 599}, {1: 600}, quiet={0, 1}) == {0: 0}


def test_the_next_offset_is_the_later_of_processed_and_committed() -> None:
    # processed in this process up to 40; another worker had committed 70 before a reassignment
    assert RefetchGuard().decide({0: 100}, {0: 40}, {0: 70}, quiet={0}) == {0: 70}
    assert RefetchGuard().decide({0: 100}, {0: 80}, {0: 70}, quiet={0}) == {0: 81}


def test_a_partition_that_is_not_quiet_is_left_alone() -> None:
    assert RefetchGuard().decide({0: 300, 1: 600}, {}, {}, quiet={1}) == {1: 0}
    assert RefetchGuard().decide({0: 300}, {}, {}, quiet=set()) == {}


def test_a_partition_whose_position_matches_the_stage_is_left_alone() -> None:
    guard = RefetchGuard()
    assert guard.decide({0: 300, 1: None}, {0: 299}, {0: 300}, quiet={0, 1}) == {}
    assert guard.decide({0: 300}, {}, {0: 300}, quiet={0}) == {}  # committed, nothing new


def test_the_same_gap_is_not_read_again_once_a_seek_there_was_made() -> None:
    # e.g. a transaction marker at the end: the position stays one past the last record
    guard = RefetchGuard()
    assert guard.decide({0: 101}, {0: 99}, {}, quiet={0}) == {0: 100}
    # the seek failed (not confirmed): proposed again at the next tick
    assert guard.decide({0: 101}, {0: 99}, {}, quiet={0}) == {0: 100}
    guard.confirm(0)
    assert guard.decide({0: 101}, {0: 99}, {}, quiet={0}) == {}
    # new records arrive and again are not delivered: a new gap is a new decision
    assert guard.decide({0: 150}, {0: 99}, {}, quiet={0}) == {0: 100}


def test_an_idle_worker_asks_for_the_committed_offsets_once_per_position() -> None:
    guard = RefetchGuard()
    # a partition with nothing new since the worker started: never processed here
    assert guard.doubtful({0: 300}, {})
    assert guard.decide({0: 300}, {}, {0: 300}, quiet={0}) == {}
    assert not guard.doubtful({0: 300}, {})
    assert guard.doubtful({0: 301}, {})  # a new record and nothing processed: ask again
    # everything fetched was processed: no question
    assert not guard.doubtful({1: 50}, {1: 49})
    assert not guard.doubtful({1: None}, {})


def test_an_idle_stage_makes_every_partition_quiet_after_quiet_s() -> None:
    activity = StageActivity()
    activity.start(now=100.0)
    assert activity.quiet({0, 1}, 15, now=114.9) == set()
    assert activity.quiet({0, 1}, 15, now=115.0) == {0, 1}
    activity.begin({0}, now=120.0)
    activity.end(batch=True, now=121.0)
    assert activity.quiet({0, 1}, 15, now=130.0) == set()
    assert activity.quiet({0, 1}, 15, now=136.0) == {0, 1}


def test_work_waiting_for_the_lock_or_a_sweep_is_never_idleness() -> None:
    activity = StageActivity()
    activity.start(now=0.0)
    activity.begin(now=1.0)  # a sweep holding the lock, Kafka slow
    activity.begin({0}, now=2.0)  # a batch waiting behind it
    assert activity.quiet({0, 1}, 15, now=100.0) == set()
    activity.end(batch=False, now=100.0)
    assert activity.quiet({0, 1}, 15, now=110.0) == set()  # the batch still runs
    activity.end(batch=True, now=111.0)
    assert activity.quiet({0, 1}, 15, now=126.0) == {0, 1}


def test_a_stuck_partition_is_quiet_while_the_others_keep_the_stage_busy() -> None:
    activity = StageActivity()
    activity.start(now=0.0)
    activity.begin({0, 1}, now=1.0)
    activity.end(batch=True, now=1.5)
    # partition 1 keeps flowing, partition 0 never again
    t = 2.0
    for _ in range(BUFFERED_BATCHES):
        activity.begin({1}, now=t)
        activity.end(batch=True, now=t + 0.5)
        t += 1.0
    activity.begin({1}, now=t)  # the stage is busy right now
    assert activity.quiet({0, 1}, 15, now=15.0) == set()  # not long enough
    assert activity.quiet({0, 1}, 15, now=16.0) == {0}


def test_a_partition_is_not_quiet_before_its_buffered_batches_could_pass() -> None:
    # slow batches (Kafka slow): a record of partition 0 may wait in faust's buffers
    activity = StageActivity()
    activity.start(now=0.0)
    activity.begin({0, 1}, now=1.0)
    activity.end(batch=True, now=2.0)
    for k in range(BUFFERED_BATCHES - 1):
        activity.begin({1}, now=10.0 + 20 * k)
        activity.end(batch=True, now=29.0 + 20 * k)
    activity.begin({1}, now=200.0)
    assert activity.quiet({0}, 15, now=300.0) == set()


# --- GapCheck: a partition's first record in a generation against where it should start ------


def test_a_first_record_past_the_committed_offset_is_a_gap_from_there() -> None:
    # the 20-restart drill: committed 500, faust delivered 612 first
    assert GapCheck.gaps({0: 612, 1: 300}, {}, {0: 500, 1: 300}) == [Gap(0, 500, 612)]


def test_a_partition_never_committed_nor_processed_starts_at_the_log_start() -> None:
    assert GapCheck.gaps({0: 40, 1: 0}, {}, {}) == [Gap(0, None, 40)]  # 1 starts at 0


def test_what_this_process_processed_counts_as_done() -> None:
    # a rebalance kept the partition here: processed to 99, committed 90 (not flushed yet)
    assert GapCheck.gaps({0: 100}, {0: 99}, {0: 90}) == []
    # moved away and back: another worker committed 700, this one had processed to 99
    assert GapCheck.gaps({0: 700}, {0: 99}, {0: 700}) == []
    assert GapCheck.gaps({0: 750}, {0: 99}, {0: 700}) == [Gap(0, 700, 750)]
    # processed here, never committed
    assert GapCheck.gaps({0: 800}, {0: 760}, {}) == [Gap(0, 761, 800)]


def test_a_replay_from_before_the_committed_offset_is_no_gap() -> None:
    assert GapCheck.gaps({0: 10}, {}, {0: 20}) == []


def test_the_group_is_asked_only_for_partitions_not_processed_up_to_their_first_record() -> None:
    check = GapCheck()
    assert not check.needs_committed({0: 100, 1: 50}, {0: 99, 1: 60}, 1)  # kept, or a replay
    assert check.needs_committed({0: 100, 1: 50}, {0: 99}, 1)  # 1 is new here
    assert check.needs_committed({0: 101}, {0: 99}, 1)  # 100 missing
    check.checked([0], 1)
    assert not check.needs_committed({0: 150}, {0: 99}, 1)  # a hole in a generation: from 100


def test_a_partition_is_checked_at_each_generation_and_at_each_hole() -> None:
    check = GapCheck()
    assert check.suspects({0: 50, 1: 5}, {}, generation=1) == {0: 50, 1: 5}
    check.checked([0, 1], 1)
    assert check.suspects({0: 51, 1: 6}, {0: 50, 1: 5}, generation=1) == {}
    # a batch acknowledged but never processed (interrupted): 0 resumes past a hole
    assert check.suspects({0: 52}, {0: 50}, generation=1) == {}  # one offset: a marker
    assert check.suspects({0: 80, 1: 6}, {0: 50, 1: 5}, generation=1) == {0: 80}
    assert GapCheck.gaps({0: 80}, {0: 50}, {}) == [Gap(0, 51, 80)]
    assert check.suspects({0: 51}, {0: 50}, generation=2) == {0: 51}  # a rebalance: again


def test_a_check_that_did_not_finish_is_made_again() -> None:
    check = GapCheck()
    assert check.suspects({0: 50}, {}, generation=1) == {0: 50}
    # the fill was interrupted (not marked checked): the next batch is checked again
    assert check.suspects({0: 90}, {}, generation=1) == {0: 90}


def test_the_partitions_of_a_failed_batch_are_checked_again_even_for_one_record() -> None:
    check = GapCheck()
    check.checked([0, 1], 1)
    assert check.suspects({0: 52, 1: 9}, {0: 50, 1: 8}, generation=1) == {}
    check.recheck([0])  # the batch holding 51 failed, and faust acknowledged it
    assert check.suspects({0: 52, 1: 9}, {0: 50, 1: 8}, generation=1) == {0: 52}
    assert not check.needs_committed({0: 51}, {0: 50}, 1)
    assert check.needs_committed({0: 52}, {0: 50}, 1)
    assert GapCheck.gaps({0: 52}, {0: 50}, {0: 40}) == [Gap(0, 51, 52)]
