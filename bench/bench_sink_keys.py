"""What the readings table's unique key costs a binary COPY, by the key's column order.

The sink's write path is one binary COPY into ``readings``, whose primary key ``(meter, ts)``
keeps each reading once (docs/performance.md, "The sink"). A TEDA-shaped load writes one tick of
20,000 meters after another: with ``meter`` first each row goes to its meter's place in the
btree, with ``ts`` first to its right edge. A third layout keys each meter by a small integer
(``meter_id``, as a ``meters`` table would number them; the text column stays in the row):
meter first, so one meter's readings stay together in the index, but compared as integers.
This measures, in one run and on the same rows, a COPY into a plain table without any index
(raw) and into tables with each key, alternating the layouts each round (medians; the machine
is shared, compare the ratios). Prints one JSON line at the end. Uses its own table
``bench_sink_keys`` in the stack's benchmark database.

Usage::

    .venv/bin/python bench/bench_sink_keys.py [--ticks 10] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Final

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scratch import scratch_run

from symbiosis.stack_settings import StackSettings

Row = tuple[str, datetime, str, float, str, str, str]
COLUMNS = (
    "meter text, ts timestamptz, stream text, value float8, unit text, quality text, batch_id text"
)
TYPES = ["text", "timestamptz", "text", "float8", "text", "text", "text"]
METER_ID: Final = "meter_id"
"""A layout whose DDL names this column gets each row's meter number in it (COPY appends it)."""
LAYOUTS: dict[str, list[str]] = {
    "raw (no index)": [],
    "primary key (meter, ts)": ["ALTER TABLE bench_sink_keys ADD PRIMARY KEY (meter, ts)"],
    "primary key (ts, meter)": ["ALTER TABLE bench_sink_keys ADD PRIMARY KEY (ts, meter)"],
    "primary key (meter_id int4, ts)": [
        f"ALTER TABLE bench_sink_keys ADD COLUMN {METER_ID} int4 NOT NULL",
        f"ALTER TABLE bench_sink_keys ADD PRIMARY KEY ({METER_ID}, ts)",
    ],
    'primary key (ts, meter), meter "C"': [
        'ALTER TABLE bench_sink_keys ALTER COLUMN meter TYPE text COLLATE "C"',
        "ALTER TABLE bench_sink_keys ADD PRIMARY KEY (ts, meter)",
    ],
}


def teda_rows(ticks: int) -> list[Row]:
    """TEDA's 20,000 meters (1,000 sites x 5 streams x 4 meters), tick after tick."""
    start = datetime(2026, 12, 6, tzinfo=UTC)
    return [
        (f"site-{s:04d}-s{st}-m{m}", start + timedelta(seconds=k), f"site-{s:04d}-s{st}",
         1.0 + m, "MW", "good", f"push-{s}-{k}")
        for k in range(ticks)
        for s in range(1000)
        for st in range(5)
        for m in range(4)
    ]  # fmt: skip


def copy_rate(
    conn: psycopg.Connection[tuple[object, ...]], ddl: list[str], rows: list[Row]
) -> float:
    """Rows/s of one binary COPY of ``rows`` into a fresh table of the layout ``ddl``.

    A layout with a :data:`METER_ID` column gets each row's meter number appended, numbered in
    the order the meters first appear (what a ``meters`` table would give them)."""
    conn.execute("DROP TABLE IF EXISTS bench_sink_keys")
    conn.execute(f"CREATE TABLE bench_sink_keys ({COLUMNS})")
    for statement in ddl:
        conn.execute(statement)
    conn.commit()
    numbered = any(METER_ID in statement for statement in ddl)
    ids: dict[str, int] = {}
    t0 = time.perf_counter()
    with conn.cursor() as cur, cur.copy("COPY bench_sink_keys FROM STDIN (FORMAT BINARY)") as copy:
        copy.set_types([*TYPES, "int4"] if numbered else TYPES)
        if numbered:  # the numbering is part of the write path: timed
            for row in rows:
                copy.write_row((*row, ids.setdefault(row[0], len(ids))))
        else:
            for row in rows:
                copy.write_row(row)
    conn.commit()
    return len(rows) / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ticks", type=int, default=10, help="park seconds (20,000 rows each)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    settings = scratch_run(StackSettings(), "bench")
    rows = teda_rows(args.ticks)
    rates: dict[str, list[float]] = {name: [] for name in LAYOUTS}
    with psycopg.connect(settings.database_url) as conn:
        for _ in range(args.rounds):
            for name, ddl in LAYOUTS.items():
                rates[name].append(copy_rate(conn, ddl, rows))
        conn.execute("DROP TABLE IF EXISTS bench_sink_keys")
        conn.commit()
    raw = statistics.median(rates["raw (no index)"])
    print(f"{len(rows):,} TEDA-shaped rows, {args.rounds} rounds, layouts alternating")
    for name, found in rates.items():
        median = statistics.median(found)
        print(f"  {name:38s} {median:>12,.0f} rows/s  {median / raw:.2f}x raw")
    print(json.dumps({name: round(statistics.median(found)) for name, found in rates.items()}))


if __name__ == "__main__":
    main()
