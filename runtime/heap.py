"""The garbage collector's tuning for a process that allocates many short-lived objects.

A stream worker allocates short-lived objects for every record (validated readings, ledger
entries, snapshots) next to a large heap it keeps (the park, the matcher's per-stream caches).
CPython starts a collection of its youngest generation every 700 net allocations, and an older
one every ten of those: measured on the worker's stage alone (``bench/bench_stage.py``, TEDA
load), 7-13 % of its time went to collections that found next to nothing
(docs/performance.md). Rarer young collections take most of that back, and change nothing
about what is collected.
"""

from __future__ import annotations

import gc
from typing import Final

YOUNG_THRESHOLD: Final = 20_000
"""Net allocations between collections of the youngest generation (CPython's default: 700)."""


def collect_less_often() -> None:
    """Collect the youngest generation every :data:`YOUNG_THRESHOLD` net allocations.

    Guarantees: every unreachable object is still collected (later, at most
    :data:`YOUNG_THRESHOLD` allocations on); the older generations keep their thresholds.
    """
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)
