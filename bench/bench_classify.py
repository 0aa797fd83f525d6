"""Classification speed on one core: descriptions per second, cold start, two workloads.

Run: ``.venv/bin/python bench/bench_classify.py [--n 200000] [--rounds 3]``

* ``stream``: an ERP export's shape, the evaluation set's descriptions (ten languages) with other
  figures on every row ("Flugasche 1 250 t/a", "... 980 t/a"). Rows that differ only in their
  figures share one classification (the answer never depends on a figure's value), so this is
  what an import of a real export costs.
* ``distinct``: every description different in its words (a made-up three-letter tag added to
  each, as a batch number or a supplier's abbreviation would be), so no whole-text cache helps.
  A word no language knows cannot change an answer, so the classifier answers such a text from
  that of a text differing only in that word (``engine._ANSWERS``) once it has seen one.
* ``mixed``: a word of another evaluation description added to each (``"Flugasche sludge"``),
  words the classifier knows, so most rows are new combinations read in full: the cost of the
  classifier itself, with its per-word caches warm.

Prints a table and, last, one JSON line: ``cold_start_s``, ``stream_per_s``, ``distinct_per_s``,
``mixed_per_s`` (medians of the rounds).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import statistics
import string
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from classify_eval import load

from domain.classify import classify
from domain.errors import ClassificationError


def _rate(texts: Sequence[str], run: Callable[[str], object]) -> float:
    started = time.perf_counter()
    for text in texts:
        with contextlib.suppress(ClassificationError):
            run(text)
    return len(texts) / (time.perf_counter() - started)


def main(argv: Sequence[str] | None = None) -> int:
    """Measure and print; the last line is JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=200_000, help="descriptions per workload")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    base = [row.text for row in load("all")]
    started = time.perf_counter()
    classify(base[0])
    cold = time.perf_counter() - started
    known = sorted({w for text in base for w in text.split() if w.isalpha() and len(w) > 2})
    rng = random.Random(7)
    stream_rates: list[float] = []
    distinct_rates: list[float] = []
    mixed_rates: list[float] = []
    for _ in range(args.rounds):
        stream = [f"{rng.choice(base)} {rng.randint(1, 99_999)} t/a" for _ in range(args.n)]
        distinct = [
            f"{rng.choice(base)} {''.join(rng.choices(string.ascii_lowercase, k=3))}"
            for _ in range(min(args.n, 50_000))
        ]
        mixed = [f"{rng.choice(base)} {rng.choice(known)}" for _ in range(min(args.n, 20_000))]
        stream_rates.append(_rate(stream, classify))
        distinct_rates.append(_rate(distinct, classify))
        mixed_rates.append(_rate(mixed, classify))
    medians = {
        name: statistics.median(rates)
        for name, rates in (
            ("stream", stream_rates),
            ("distinct", distinct_rates),
            ("mixed", mixed_rates),
        )
    }
    print(f"cold start (load texts, lexicons, indexes): {cold:.2f} s")
    print(f"{'workload':10} {'median /s':>10}  rounds")
    for name, rates in (
        ("stream", stream_rates),
        ("distinct", distinct_rates),
        ("mixed", mixed_rates),
    ):
        shown = ", ".join(f"{r:,.0f}" for r in rates)
        print(f"{name:10} {medians[name]:10,.0f}  {shown}")
    print(
        json.dumps(
            {"cold_start_s": round(cold, 2)}
            | {f"{name}_per_s": round(rate) for name, rate in medians.items()}
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
