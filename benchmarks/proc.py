"""What a process costs, read from /proc (Linux): CPU seconds, resident memory, the box's busy share.

Shared by the benchmarks that measure server processes from outside (ingest, pullers,
hostile_clients, watchers): reading /proc costs the measured process nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

CLK_TCK = os.sysconf("SC_CLK_TCK")


def _stat_fields(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name (which may hold spaces): field 3 (state) is [0]."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process so far, all its threads (stat fields 14 and 15)."""
    fields = _stat_fields(pid)
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


@dataclass(frozen=True)
class Memory:
    rss_kib: int  # VmRSS: resident now
    hwm_kib: int  # VmHWM: the highest VmRSS so far ("high water mark")

    @property
    def rss_mb(self) -> float:
        """In MB (10^6 bytes), the unit issue 18's "≤ 200 MB" goal is written in."""
        return self.rss_kib * 1024 / 1e6

    @property
    def hwm_mb(self) -> float:
        return self.hwm_kib * 1024 / 1e6


def memory(pid: int) -> Memory:
    """VmRSS and VmHWM of one process (/proc/<pid>/status reports them in KiB, labelled kB)."""
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            values[name] = int(rest.split()[0])
    return Memory(rss_kib=values.get("VmRSS", 0), hwm_kib=values.get("VmHWM", 0))


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (children, their children, ...), from each process's parent id."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int(_stat_fields(int(entry.name))[1])
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def cpu_seconds_of(pids: list[int]) -> float:
    """Summed CPU of these processes; one that has exited meanwhile counts as 0."""
    total = 0.0
    for pid in pids:
        try:
            total += cpu_seconds(pid)
        except OSError:
            pass
    return total


def box_jiffies() -> tuple[int, int]:
    """(busy, total) clock ticks of all cores since boot (/proc/stat "cpu" line; idle + iowait = not busy)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(values[:8])  # user nice system idle iowait irq softirq steal (guest is inside user)
    return total - values[3] - values[4], total
