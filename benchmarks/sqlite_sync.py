"""What SQLite's `synchronous=FULL` costs per stored frame, against `NORMAL` (both in WAL mode).

    python -m benchmarks.sqlite_sync [--frames 300] [--rounds 5] [--dir .]

NORMAL (WAL): a commit is durable once the WAL is checkpointed; a crash of the *process* loses
nothing, but a power loss or kernel crash can lose the last commits, frames already answered 201.
FULL (WAL): every commit fsyncs the WAL first, so a 201 means the frame is on disk.

Runs the product's own persist step (detection.ingest.services.frame_record: insert the event, trim the
log to 20, update the state, in one IMMEDIATE transaction; the dashboard broadcast, which writes
nothing, is left out) on a throwaway SQLite file in --dir (the
disk the database would live on; default the current folder), alternating the two modes in rounds
so background load hits both alike, and prints per-frame milliseconds and the raw fsync cost.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

MODES = ("NORMAL", "FULL")


def _setup(db_path: Path) -> None:
    os.environ.update(DJANGO_SETTINGS_MODULE="inventory_monitor.settings", DEBUG="1", SQLITE_PATH=str(db_path),
                      DETECTOR_PRELOAD="0", OFFLINE_CHECK_INTERVAL_S="0", LOG_LEVEL="WARNING")
    os.environ.pop("DATABASE_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    # Only the disk is under test: the dashboard broadcast after commit touches no file.
    from dashboard import broadcasts

    broadcasts.stock_updated = lambda **kwargs: None


def _fsync_ms(folder: Path, count: int = 50) -> float:
    """Median cost of appending 4 KiB and fsyncing, on this disk: the floor of what FULL adds."""
    times = []
    with tempfile.NamedTemporaryFile(dir=folder) as handle:
        for _ in range(count):
            handle.write(b"\0" * 4096)
            handle.flush()
            start = time.perf_counter()
            os.fsync(handle.fileno())
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _round(camera, mode: str, frames: int) -> list[float]:
    from django.db import connection

    from detection.detector import Detection, DetectionResult
    from detection.ingest.services import frame_record

    with connection.cursor() as cursor:
        cursor.execute(f"PRAGMA synchronous={mode}")
        cursor.execute("PRAGMA synchronous")
        assert cursor.fetchone()[0] == {"NORMAL": 1, "FULL": 2}[mode]
    times = []
    for i in range(frames):
        result = DetectionResult([Detection(0, 0, 9, 9, 0.9, 0)] * (i % 20), 1280, 720, 20.0)
        start = time.perf_counter()
        frame_record(camera=camera, result=result)
        times.append((time.perf_counter() - start) * 1000)
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sqlite_sync", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=300, help="frames per mode per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--dir", type=Path, default=Path.cwd(), help="folder on the disk under test")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(dir=args.dir, prefix="sqlite-sync-") as folder:
        _setup(Path(folder) / "bench.sqlite3")
        from django.conf import settings

        from devices.services import camera_create

        camera, _ = camera_create(slug="bench-sync")
        init = settings.DATABASES["default"]["OPTIONS"]["init_command"]
        print(f"SQLite file in {args.dir.resolve()} ({os.statvfs(folder).f_bsize} B blocks); connection: {init}")
        print(f"raw fsync of a 4 KiB append: {_fsync_ms(Path(folder)):.2f} ms (median of 50)")
        _round(camera, "NORMAL", 20)  # warm: tables, statements, page cache
        per_mode: dict[str, list[float]] = {mode: [] for mode in MODES}
        for index in range(args.rounds):
            for mode in MODES if index % 2 == 0 else MODES[::-1]:
                per_mode[mode] += _round(camera, mode, args.frames)
        print(f"{args.rounds} rounds x {args.frames} frames per mode, persist step only (frame_record):")
        print(f"{'mode':<8}{'p50 ms':>9}{'p95 ms':>9}{'mean ms':>9}{'frames/s':>10}")
        medians = {}
        for mode, times in per_mode.items():
            p95 = statistics.quantiles(times, n=20)[-1]
            medians[mode] = statistics.median(times)
            mean = statistics.fmean(times)
            print(f"{mode:<8}{medians[mode]:>9.2f}{p95:>9.2f}{mean:>9.2f}{1000 / mean:>10.0f}")
        extra = medians["FULL"] - medians["NORMAL"]
        print(f"FULL costs {extra:+.2f} ms per frame at the median ({100 * extra / medians['NORMAL']:+.0f} %).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
