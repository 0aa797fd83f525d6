"""The garbage collector's tuning for a process that holds a large, long-lived heap.

A stream worker holds the park (sites, needs, the matcher's per-stream caches: millions of
objects on a TEDA-size park) for its whole life, and allocates short-lived objects per record.
CPython's cyclic collector walks the long-lived objects again at every full collection, and
starts collections every 700 net allocations: measured on the worker's stage alone
(``bench/bench_stage.py``, TEDA load), 7-13 % of its time went to collections that found
nothing (docs/performance.md).
"""

from __future__ import annotations

import gc
from typing import Final

YOUNG_THRESHOLD: Final = 20_000
"""Net allocations between collections of the youngest generation (CPython's default: 700)."""


def settle_long_lived() -> int:
    """Collect once, then keep every object alive now out of later collections.

    Call it when the process has built what it keeps (the worker: once the registry is read to
    its end). Guarantees: nothing alive is freed; objects created later are collected as usual.
    What it costs: a reference cycle among today's objects that later becomes garbage is never
    collected (reference counting still frees everything else), so call it once, not per change.

    Returns:
        How many objects were frozen.
    """
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
    return gc.get_freeze_count()
