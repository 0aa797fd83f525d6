"""Per-subscriber delivery queues: a slow webhook delays only itself; offsets never skip ahead."""

from __future__ import annotations

import asyncio

from delivery.subscriber_queues import OffsetTracker, SubscriberQueues


async def never(item: object) -> None:
    raise AssertionError(f"unexpected overflow of {item!r}")


def test_offsets_commit_up_to_the_oldest_unfinished() -> None:
    t: OffsetTracker[str] = OffsetTracker()
    for off in range(5):
        t.seen("p0", off)
    t.done("p0", 0)
    t.done("p0", 2)
    t.done("p0", 3)
    assert t.committable() == {"p0": 1}  # offset 1 is still out
    t.done("p0", 1)
    assert t.committable() == {"p0": 4}
    t.done("p0", 4)
    assert t.committable() == {"p0": 5}
    assert t.pending == 0


def test_a_slow_subscriber_delays_only_itself_and_keeps_its_order() -> None:
    async def scenario() -> tuple[list[str], dict[str, int], dict[str, int]]:
        handled: list[str] = []
        release_slow = asyncio.Event()

        async def handle(item: object) -> None:
            assert isinstance(item, str)
            if item.startswith("slow"):
                await release_slow.wait()
            handled.append(item)

        queues: SubscriberQueues[str] = SubscriberQueues(
            handle, overflow=never, max_pending=100, max_per_subscriber=100
        )
        await queues.put("https://slow.example", "p0", 0, "slow-1")
        await queues.put("https://slow.example", "p0", 1, "slow-2")
        for i in range(2, 6):
            await queues.put("https://fast.example", "p0", i, f"fast-{i}")
        await queues.put(None, "p0", 6, None)  # no webhook: done at once
        await asyncio.sleep(0.05)
        during = queues.offsets.committable()
        release_slow.set()
        await queues.drain(timeout_s=2)
        after = queues.offsets.committable()
        await queues.close()
        return handled, during, after

    handled, during, after = asyncio.run(scenario())
    assert handled[:4] == ["fast-2", "fast-3", "fast-4", "fast-5"]  # not behind the slow one
    assert handled[4:] == ["slow-1", "slow-2"]  # in order for its own subscriber
    assert during == {"p0": 0}  # nothing committed past the slow subscriber's first alert
    assert after == {"p0": 7}


def test_a_failing_handler_stops_the_queues_loudly() -> None:
    async def scenario() -> str:
        async def handle(item: object) -> None:
            raise RuntimeError("kafka down while dead-lettering")

        queues: SubscriberQueues[str] = SubscriberQueues(
            handle, overflow=never, max_pending=10, max_per_subscriber=10
        )
        await queues.put("https://a.example", "p0", 0, "x")
        await asyncio.sleep(0.05)
        try:
            queues.check()
        except RuntimeError as e:
            return str(e)
        finally:
            await queues.close()
        return "no error"

    assert asyncio.run(scenario()) == "kafka down while dead-lettering"


def test_a_dead_subscriber_overflows_into_dead_letters_and_never_blocks_the_others() -> None:
    async def scenario() -> tuple[list[object], list[str], dict[str, int]]:
        dead: list[object] = []
        delivered: list[str] = []
        hang = asyncio.Event()  # the dead endpoint never answers

        async def handle(item: object) -> None:
            assert isinstance(item, str)
            if item.startswith("dead"):
                await hang.wait()
            delivered.append(item)

        async def overflow(item: object) -> None:
            dead.append(item)

        queues: SubscriberQueues[str] = SubscriberQueues(
            handle, overflow=overflow, max_pending=6, max_per_subscriber=2
        )
        for i in range(10):  # far more than the global limit: must not block on the dead one
            await queues.put("https://dead.example", "p0", i, f"dead-{i}")
        await queues.put("https://alive.example", "p0", 10, "alive")
        await asyncio.sleep(0.05)
        offsets = queues.offsets.committable()
        await queues.close()
        return dead, delivered, offsets

    dead, delivered, offsets = asyncio.run(scenario())
    assert delivered == ["alive"]
    assert dead == [f"dead-{i}" for i in range(2, 10)]  # two held (one in flight), rest out
    assert offsets == {"p0": 0}  # the dead one's first alert is still out: nothing past it


def test_a_worker_failure_wakes_a_put_waiting_for_room() -> None:
    async def scenario() -> str:
        release = asyncio.Event()

        async def handle(item: object) -> None:
            await release.wait()
            raise RuntimeError("dead-lettering failed")

        queues: SubscriberQueues[str] = SubscriberQueues(
            handle, overflow=never, max_pending=1, max_per_subscriber=10
        )
        await queues.put("https://a.example", "p0", 0, "x")
        waiting = asyncio.create_task(queues.put("https://b.example", "p0", 1, "y"))
        await asyncio.sleep(0.05)
        assert not waiting.done()  # no room: it waits
        release.set()
        try:
            await asyncio.wait_for(waiting, timeout=2)
        except RuntimeError as e:
            return str(e)
        finally:
            await queues.close()
        return "no error"

    assert asyncio.run(scenario()) == "dead-lettering failed"


def test_revoked_partitions_are_forgotten() -> None:
    t: OffsetTracker[str] = OffsetTracker()
    t.seen("p0", 5)
    t.seen("p1", 7)
    t.forget(["p0"])
    assert t.committable() == {"p1": 7}
