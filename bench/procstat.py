"""CPU seconds and peak RSS of the processes a benchmark runs, read from ``/proc`` (Linux).

:class:`ProcWatch` samples named process groups (a pid and its descendants, e.g. PostgreSQL's
backends) at start and end: CPU = user + system seconds spent in between (children that
exited in between are missed, which a benchmark's long-lived processes never do); peak RSS =
the largest ``VmHWM`` (high-water mark) of any process of the group.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

TICKS = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS  # utime, stime


def _status_mb(pid: int, key: str) -> float:
    """A memory figure of ``pid`` from ``/proc/<pid>/status`` in MB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _hwm_mb(pid: int) -> float:
    return _status_mb(pid, "VmHWM")


def rss_mb(pid: int) -> float:
    """Resident memory of ``pid`` now (``VmRSS``, MB; 0 when it is gone)."""
    return _status_mb(pid, "VmRSS")


def descendants(pid: int) -> list[int]:
    """``pid`` and every live process below it."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def find_pid(needle: str) -> int | None:
    """The oldest process whose command line contains ``needle`` (``None``: none)."""
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if needle in (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                    errors="replace"
                ):
                    found.append(int(entry.name))
            except OSError:
                continue
    return min(found) if found else None


@dataclass
class ProcWatch:
    """CPU and peak RSS per named group of processes, between :meth:`start` and :meth:`stop`."""

    roots: dict[str, int]
    alone: frozenset[str] = frozenset()
    """Names whose root is counted without its descendants (e.g. the benchmark itself, whose
    children are the pipeline processes it reports on their own)."""
    _start: dict[str, float] = field(default_factory=dict)
    cpu_s: dict[str, float] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)

    def _group(self, name: str) -> list[int]:
        root = self.roots[name]
        return [root] if name in self.alone else descendants(root)

    def start(self) -> None:
        """Take the starting CPU counters."""
        self._start = {name: sum(map(_cpu_s, self._group(name))) for name in self.roots}

    def stop(self) -> None:
        """CPU used since :meth:`start`, and each group's peak RSS so far."""
        for name in self.roots:
            group = self._group(name)
            self.cpu_s[name] = sum(map(_cpu_s, group)) - self._start.get(name, 0.0)
            self.peak_rss_mb[name] = max(map(_hwm_mb, group), default=0.0)


def main() -> None:
    """``python bench/procstat.py PID [PID ...]``: CPU seconds and peak RSS of each process
    and its descendants, as the benchmarks report them."""
    pids = [int(a) for a in sys.argv[1:]]
    watch = ProcWatch({str(p): p for p in pids})
    watch.start()
    watch.stop()
    for p in pids:
        cpu = sum(map(_cpu_s, descendants(p)))
        print(f"{p}: {cpu:,.1f} CPU s since start, peak RSS {watch.peak_rss_mb[str(p)]:,.0f} MB")


if __name__ == "__main__":
    main()
