"""Soak: the TEDA park's historians for minutes while Kafka and PostgreSQL turn slow and stop.

    python bench/soak.py [--minutes 20] [--clients 48] [--buffer-s 300] [--scale 1.0]

The question it answers: does the pipeline push back instead of collapsing when what it
writes to is slow? Memory of every process stays flat, every door answer comes within the
door's own timeout, every 503/429 says when to come back (``Retry-After``), and nothing a
door acknowledged is lost.

What it does:
1. Starts the stack if needed (one Kafka node, PostgreSQL); uses its own database
   (``symbiosis_soak``, dropped at the end) and topics (``soak-<id>.*``, deleted at the end).
   Registers the TEDA park (``bench/teda.py``: 1,000 companies, 20,000 meters in 5,000 streams,
   5,000 needs) and issues a token per company.
2. Starts the real processes: the API, a stream worker, the sink.
3. Historians at the TEDA rate: every second each company's meters take a reading (20,000
   readings/s in all). Each company's historian buffers its readings (store-and-forward, up
   to ``--buffer-s`` seconds; beyond that its oldest are dropped, and counted) and pushes all
   it holds, at most 200 seconds' worth, in one ``POST /v1/readings`` when one of ``--clients``
   client threads comes to it. A 200 empties that part of the buffer; a 503 or 429 keeps it
   and the company waits ``Retry-After``; a failed request (time-out, refused) is tried again
   a second later. A door slower than 1,000 pushes/s so gets fewer, larger pushes, as from
   real historians.
4. Faults, a five-minute cycle repeated: normal 60 s; **Kafka slow** 60 s (the broker paused
   for 0.5 s of every second, SIGSTOP/SIGCONT); **Kafka stopped** 30 s (paused throughout);
   normal 30 s; **PostgreSQL slow** 60 s (every PostgreSQL process paused for 0.5 s of every
   second); **PostgreSQL stopped** 30 s; normal 30 s.
5. Every 5 s: the resident memory (VmRSS) of the API, the worker and the sink.
6. Stops the load, lets the historians empty their buffers, waits until the sink has stored
   what was acknowledged, then checks and prints a table per phase and one JSON line:
   ``rss_mb`` (per process: the peak over each fault cycle), ``rss_flat`` (every process's
   peak over the last cycle within 10 % + 32 MB of its peak over the one before: the same
   faults again need no more memory; the first cycles also fill the worker's state, its
   windows and alert pairs, so it is ``null``, not judged, for a run of fewer than three
   cycles), ``answers`` (by status),
   ``missing_retry_after`` (503/429 without it), ``slowest_answer_s`` (vs
   ``SYMBIOSIS_API_ACK_TIMEOUT_S``), ``client_timeouts``, ``acked_readings_per_s``, ``lost``
   (acknowledged but not stored), ``dropped_by_historians``, ``worker_lag`` and ``sink_lag``
   at the end of the load. Exits 1 when memory is not flat, an answer lacked Retry-After or
   came after the door's timeout, or a reading was lost.

``tests/unit/test_soak_checks.py`` checks the schedule, the memory rule and the pauses; the run behind the figures in
docs/operations.md#soak-slow-kafka-and-postgresql is this script with its defaults.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import itertools
import os
import platform
import signal
import statistics
import sys
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
import orjson
import psycopg

from ingest.api import tokens
from symbiosis.local_kafka import LocalKafka
from symbiosis.local_postgres import LocalPostgres
from symbiosis.pipeline import LocalPipeline
from symbiosis.stack_settings import StackSettings

sys.path.insert(0, str(Path(__file__).resolve().parent))
from procstat import descendants, rss_mb  # bench/ runs as a script directory
from scratch import delete_run_topics, drop_run_database, scratch_run, wait_api
from teda import MeterPlan, meter_plans, teda_park

API_PORT = 18_290
CYCLE: tuple[tuple[str, float], ...] = (
    ("normal", 60.0),
    ("kafka slow", 60.0),
    ("kafka stopped", 30.0),
    ("normal", 30.0),
    ("postgres slow", 60.0),
    ("postgres stopped", 30.0),
    ("normal", 30.0),
)
"""The fault cycle: (phase, seconds), repeated for the soak's length."""
MAX_TICKS_PER_PUSH = 200
ROLES = ("api", "streams", "sink")


def phase_at(elapsed_s: float, scale: float = 1.0) -> tuple[int, str]:
    """(cycle number from 0, phase) ``elapsed_s`` seconds into the soak, the cycle's phases
    ``scale`` times as long as :data:`CYCLE` says."""
    length = sum(s for _, s in CYCLE) * scale
    cycle, into = divmod(elapsed_s, length)
    for name, seconds in CYCLE:
        if into < seconds * scale:
            return int(cycle), name
        into -= seconds * scale
    return int(cycle), CYCLE[-1][0]


def rss_flat(first: float, last: float) -> bool:
    """Whether a process's peak memory over the last cycle stays within 10 % + 32 MB of its
    peak over the first (the same faults again need no more memory: nothing accumulates)."""
    return last <= first * 1.10 + 32.0


@dataclass(frozen=True)
class Sample:
    """Resident memory (MB) of each process, ``elapsed`` seconds into the soak."""

    elapsed: float
    cycle: int
    phase: str
    rss: dict[str, float]


@dataclass
class Historian:
    """One company's historian: readings buffered per second until the door takes them."""

    company: str
    token: str
    meters: list[MeterPlan]
    ticks: deque[int] = field(default_factory=deque)
    not_before: float = 0.0
    queued: bool = False
    dropped: int = 0
    """Readings this historian dropped (its buffer full)."""


@dataclass
class Door:
    """What the historians saw at the door, per phase."""

    answers: dict[str, dict[str, int]] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    acked: int = 0
    acked_by_phase: dict[str, int] = field(default_factory=dict)
    missing_retry_after: int = 0
    timeouts: int = 0
    dropped: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def saw(self, phase: str, status: str, took: float, acked: int = 0) -> None:
        """Count one answer (``status``: the HTTP code, or ``timeout``/``error``)."""
        with self.lock:
            by = self.answers.setdefault(phase, {})
            by[status] = by.get(status, 0) + 1
            self.latencies.setdefault(phase, []).append(took)
            self.acked += acked
            self.acked_by_phase[phase] = self.acked_by_phase.get(phase, 0) + acked


@dataclass
class Load:
    """The park's historians, a ticker and the client threads that push for them."""

    historians: list[Historian]
    api_url: str
    clients: int
    buffer_s: int
    phase: list[str]
    door: Door = field(default_factory=Door)
    ready: list[tuple[float, int, Historian]] = field(default_factory=list)
    """Historians with readings to push: a heap by when they may push next (``Retry-After``),
    so one told to wait never holds up the others, as independent historians do not."""
    lock: threading.Condition = field(default_factory=threading.Condition)
    order: itertools.count[int] = field(default_factory=itertools.count)
    stop: threading.Event = field(default_factory=threading.Event)
    ticking: threading.Event = field(default_factory=threading.Event)

    def run(self, timeout_s: float) -> list[threading.Thread]:
        """Start the ticker and the client threads (requests time out after ``timeout_s``)."""
        self.ticking.set()
        threads = [threading.Thread(target=self._tick, daemon=True, name="soak-tick")]
        threads += [threading.Thread(target=self._client, args=(timeout_s,), daemon=True,
                                     name=f"soak-client-{i}") for i in range(self.clients)]  # fmt: skip
        for t in threads:
            t.start()
        return threads

    def pending(self) -> int:
        """Seconds of readings still buffered, over all historians."""
        with self.lock:
            return sum(len(h.ticks) for h in self.historians)

    def _tick(self) -> None:
        second = int(time.time())
        while self.ticking.is_set():
            with self.lock:
                for h in self.historians:
                    h.ticks.append(second)
                    while len(h.ticks) > self.buffer_s:
                        h.ticks.popleft()
                        h.dropped += len(h.meters)
                        self.door.dropped += len(h.meters)
                    if not h.queued:
                        self._queue(h)
                self.lock.notify_all()
            second += 1
            time.sleep(max(second - time.time(), 0.0))

    def _queue(self, h: Historian) -> None:
        """Put ``h`` in line (lock held): by when it may push, first come first served among
        those that may push now (an old ``not_before`` must not jump the queue)."""
        h.queued = True
        heapq.heappush(self.ready, (max(h.not_before, time.monotonic()), next(self.order), h))

    def _take(self) -> Historian | None:
        """The historian whose turn it is, once it may push; ``None`` when stopping."""
        with self.lock:
            while not self.stop.is_set():
                due = self.ready[0][0] - time.monotonic() if self.ready else 0.5
                if self.ready and due <= 0:
                    return heapq.heappop(self.ready)[2]
                self.lock.wait(min(due, 0.5))
            return None

    def _client(self, timeout_s: float) -> None:
        with httpx.Client(base_url=self.api_url, timeout=timeout_s) as client:
            while (h := self._take()) is not None:
                self._push(client, h)
                with self.lock:
                    if h.ticks:
                        self._queue(h)
                        self.lock.notify()
                    else:
                        h.queued = False

    def _push(self, client: httpx.Client, h: Historian) -> None:
        with self.lock:
            ticks = list(h.ticks)[:MAX_TICKS_PER_PUSH]
        rows = [{"meter": m.meter, "ts": datetime.fromtimestamp(t, UTC).isoformat(),
                 "value": round(m.mean + m.noise * (((t * 7919 + i) % 2001) / 1000 - 1), 4),
                 "unit": m.unit} for t in ticks for i, m in enumerate(h.meters)]  # fmt: skip
        phase = self.phase[0]
        started = time.monotonic()
        try:
            answer = client.post("/v1/readings", content=orjson.dumps({"readings": rows}),
                                 headers={"Authorization": f"Bearer {h.token}",
                                          "Content-Type": "application/json"})  # fmt: skip
        except httpx.TimeoutException:
            self.door.saw(phase, "timeout", time.monotonic() - started)
            with self.door.lock:
                self.door.timeouts += 1
            h.not_before = time.monotonic() + 1.0
            return
        except httpx.HTTPError:
            self.door.saw(phase, "error", time.monotonic() - started)
            h.not_before = time.monotonic() + 1.0
            return
        took = time.monotonic() - started
        if answer.status_code == 200:
            with self.lock:
                for _ in ticks:
                    if h.ticks and h.ticks[0] in ticks:
                        h.ticks.popleft()
            self.door.saw(phase, "200", took, int(answer.json()["accepted"]))
            return
        self.door.saw(phase, str(answer.status_code), took)
        retry_after = answer.headers.get("Retry-After")
        if answer.status_code in (429, 503):
            if retry_after is None or not retry_after.isdigit():
                with self.door.lock:
                    self.door.missing_retry_after += 1
            h.not_before = time.monotonic() + float(retry_after or 1)
        else:
            raise SystemExit(f"the door answered {answer.status_code}: {answer.text[:300]}")


@dataclass
class Faults:
    """Pauses Kafka or PostgreSQL (SIGSTOP/SIGCONT) as the schedule says."""

    kafka_pids: list[int]
    postgres_root: int
    paused: list[int] = field(default_factory=list)

    def set(self, phase: str, half_second: int) -> None:
        """Pause or resume for this half second of ``phase``."""
        pause = phase.endswith("stopped") or (phase.endswith("slow") and half_second % 2 == 0)
        if pause and not self.paused:
            root = self.kafka_pids if phase.startswith("kafka") else [self.postgres_root]
            self.paused = [p for r in root for p in descendants(r)]
            self._signal(self.paused, signal.SIGSTOP)
        elif not pause and self.paused:
            self.resume()

    def resume(self) -> None:
        """Resume whatever is paused."""
        self._signal(self.paused, signal.SIGCONT)
        self.paused = []

    @staticmethod
    def _signal(pids: list[int], sig: signal.Signals) -> None:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):  # it ended meanwhile
                os.kill(pid, sig)


def sample_rss(pipeline: LocalPipeline) -> dict[str, float]:
    """Resident memory (MB) of each pipeline process (with its children)."""
    return {role: sum(rss_mb(p) for p in descendants(pipeline.children[role].proc.pid))
            for role in ROLES}  # fmt: skip


def main() -> None:
    """Long because: one soak, start to end; the steps are numbered in the module docstring
    and each is a few lines here."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, default=20.0, help="length of the load")
    ap.add_argument("--clients", type=int, default=48, help="client threads pushing")
    ap.add_argument(
        "--scale",
        type=float,
        default=1.0,
        help="phase lengths times this (0.2: a one-minute fault cycle)",
    )
    ap.add_argument("--buffer-s", type=int, default=300,
                    help="seconds of readings a historian keeps before dropping its oldest")  # fmt: skip
    args = ap.parse_args()

    settings = scratch_run(StackSettings(), "soak", api_port=API_PORT, metrics_port=0)
    park = teda_park()
    pipeline = LocalPipeline(settings)
    pipeline.reset()
    print(f"registering {len(park.sites):,} sites, {len(park.needs):,} needs", flush=True)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        issued = {s.company: tokens.issue(conn, s.company, label="soak") for s in park.sites}
    pipeline.publish(park)
    for role in ROLES:
        pipeline.start(role)
    api_url = f"http://127.0.0.1:{API_PORT}"
    wait_api(api_url, pipeline)
    time.sleep(5.0)  # the worker joins its group and reads the registry

    plans = meter_plans(park.sites)
    historians = [Historian(s.company, issued[s.company], plans[s.id]) for s in park.sites]
    phase = ["normal"]
    load = Load(historians, api_url, args.clients, args.buffer_s, phase)
    kafka = LocalKafka(settings)
    faults = Faults([p for n in kafka.nodes if (p := n.pid()) is not None],
                    LocalPostgres(settings).pid() or 0)  # fmt: skip
    samples: list[Sample] = []
    timeout_s = settings.api_ack_timeout_s + 10.0
    started = time.monotonic()
    threads = load.run(timeout_s)
    try:
        next_sample = 0.0
        while (elapsed := time.monotonic() - started) < args.minutes * 60:
            cycle, phase[0] = phase_at(elapsed, args.scale)
            faults.set(phase[0], int(elapsed * 2))
            if elapsed >= next_sample:
                pipeline.check()
                samples.append(Sample(elapsed, cycle, phase[0], sample_rss(pipeline)))
                next_sample += 5.0
            time.sleep(0.05)
    finally:
        faults.resume()
    phase[0] = "drain"
    load.ticking.clear()
    drain_deadline = time.monotonic() + 120
    while load.pending() and time.monotonic() < drain_deadline:
        time.sleep(1.0)
    load.stop.set()
    for t in threads:
        t.join(timeout_s + 5)
    took_s = time.monotonic() - started
    try:
        worker_lag, sink_lag = pipeline.lag()
        stored = _wait_stored(pipeline, load.door.acked)
        last = samples[-1]
        samples.append(
            Sample(time.monotonic() - started, last.cycle, "drain", sample_rss(pipeline))
        )
    finally:
        pipeline.stop()
        delete_run_topics(settings)
        drop_run_database(settings)
    ok = report(
        samples, load, settings.api_ack_timeout_s, took_s, stored, worker_lag, sink_lag, args.scale
    )
    sys.exit(0 if ok else 1)


def _wait_stored(pipeline: LocalPipeline, acked: int, timeout_s: float = 900.0) -> int:
    """Readings stored once the sink has caught up (or ``timeout_s`` has passed)."""
    deadline = time.monotonic() + timeout_s
    stored = pipeline.stored_readings()
    while stored < acked and time.monotonic() < deadline:
        time.sleep(2.0)
        stored = pipeline.stored_readings()
    return stored


def report(
    samples: list[Sample], load: Load, ack_timeout_s: float,
    took_s: float, stored: int, worker_lag: int, sink_lag: int, scale: float = 1.0,
) -> bool:  # fmt: skip
    """Print the tables and the JSON line; whether every check passed."""
    door = load.door
    last_cycle = max(s.cycle for s in samples if s.phase != "drain")
    cycles = {role: [max((s.rss[role] for s in samples if s.cycle == c), default=0.0)
                     for c in range(last_cycle + 1)] for role in ROLES}  # fmt: skip
    peaks = {role: (c[-2] if len(c) > 1 else c[-1], c[-1]) for role, c in cycles.items()}
    # the first cycles fill the worker's state: memory is judged from three cycles on
    flat = all(rss_flat(a, b) for a, b in peaks.values()) if last_cycle >= 2 else None
    slowest = max((max(v) for v in door.latencies.values() if v), default=0.0)
    lost = max(door.acked - stored, 0)
    print(f"\nmachine: {platform.node()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}, {datetime.now(UTC):%Y-%m-%d}")  # fmt: skip
    print(f"{len(load.historians):,} historians, {took_s / 60:.1f} min, "
          f"{len(samples)} memory samples, {last_cycle + 1} fault cycles\n")  # fmt: skip
    print("| process | peak RSS per cycle (MB) | flat (last vs the one before) |")
    print("|---|---|---|")
    for role, c in cycles.items():
        first, last = peaks[role]
        per_cycle = " → ".join(f"{x:,.0f}" for x in c)
        verdict = "yes" if rss_flat(first, last) else "NO"
        print(f"| {role} | {per_cycle} | {verdict if flat is not None else 'too short to say'} |")
    print("\n| minute | phases | " + " | ".join(f"{r} RSS, max (MB)" for r in ROLES) + " |")
    print("|---:|---|" + "---:|" * len(ROLES))
    for minute in sorted({int(s.elapsed // 60) for s in samples}):
        these = [s for s in samples if int(s.elapsed // 60) == minute]
        phases = ", ".join(dict.fromkeys(s.phase for s in these))
        rss = " | ".join(f"{max(s.rss[r] for s in these):,.0f}" for r in ROLES)
        print(f"| {minute + 1} | {phases} | {rss} |")
    print("\n| phase | answers | readings acked/s | p50 / p99 / max answer (s) |")
    print("|---|---|---:|---:|")
    seconds = {name: 0.0 for name, _ in CYCLE}
    for name, s in CYCLE:
        seconds[name] += s * scale * (last_cycle + 1)
    for name in [*dict.fromkeys(n for n, _ in CYCLE), "drain"]:
        took = sorted(door.latencies.get(name, []))
        if not took:
            continue
        answers = ", ".join(f"{k}: {v:,}" for k, v in sorted(door.answers[name].items()))
        rate = door.acked_by_phase.get(name, 0) / seconds[name] if name in seconds else 0.0
        p99 = took[int(0.99 * (len(took) - 1))]
        print(f"| {name} | {answers} | {rate:,.0f} | "
              f"{statistics.median(took):.2f} / {p99:.2f} / {took[-1]:.2f} |")  # fmt: skip
    dropping = sum(1 for h in load.historians if h.dropped)
    print(f"\nacknowledged {door.acked:,}, stored {stored:,}, lost {lost:,}, dropped by "
          f"historians' full buffers {door.dropped:,} (by {dropping} historians); 503/429 "
          f"without Retry-After "
          f"{door.missing_retry_after}; slowest answer {slowest:.1f} s (door timeout "
          f"{ack_timeout_s:.0f} s); client time-outs {door.timeouts}; lag at the end of the "
          f"load: worker {worker_lag:,}, sink {sink_lag:,} records")  # fmt: skip
    all_answers: dict[str, int] = {}
    for by in door.answers.values():
        for k, v in by.items():
            all_answers[k] = all_answers.get(k, 0) + v
    print(orjson.dumps({
        "minutes": round(took_s / 60, 1), "rate_target_readings_per_s": 20_000,
        "acked_readings_per_s": round(door.acked / took_s), "rss_mb": {
            r: [round(x) for x in c] for r, c in cycles.items()}, "rss_flat": flat,
        "answers": all_answers, "missing_retry_after": door.missing_retry_after,
        "slowest_answer_s": round(slowest, 2), "client_timeouts": door.timeouts,
        "lost": lost, "dropped_by_historians": door.dropped, "worker_lag": worker_lag,
        "sink_lag": sink_lag,
    }).decode())  # fmt: skip
    in_time = slowest <= ack_timeout_s + 2.0
    return flat is not False and in_time and not door.missing_retry_after and not lost


if __name__ == "__main__":
    main()
