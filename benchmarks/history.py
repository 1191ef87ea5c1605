"""Stock-history benchmark: fill a database with one-minute readings, time the reads people wait for.

    python -m benchmarks.history                                  # 200 cameras x 30 days, SQLite (temp file)
    scripts/with_postgres.sh .venv/bin/python -m benchmarks.history      # the same on PostgreSQL
    python -m benchmarks.history --cameras 20 --days 3 --ingest 80c1624^  # small fill + ingest before/after

What it does:
1. A fresh database (a temporary SQLite file, or DATABASE_URL's PostgreSQL, which must be empty),
   migrated; --cameras cameras (critical 3, target 15). For each, --days days of one reading per
   minute ending now (a sawtooth: stock drains, runs out for a while, is refilled; each camera at its
   own phase) and the matching exact status changes, bulk-loaded (executemany on SQLite, COPY on
   PostgreSQL), not through ingest: ingest's own cost is what --ingest measures.
2. Times, --repeat times each after one warm-up: the 30-day chart query for one (random) camera
   (detection.history.selectors.chart_series: its minutes through the (camera, minute) index,
   thinned to <= 1500 points), the whole trends payload (chart + timeline + CRITICAL per day), and
   the 7-day stock-out report for all cameras. Prints p50/p95/max against the targets
   (p95 < 100 ms chart, < 500 ms report).
3. Database size per camera-month of history (readings + status changes, indexes included), then
   prune_history with a retention one day shorter: total time and the longest batch transaction
   (what a camera's frame could wait behind).
4. With --ingest REV: runs benchmarks.ingest (4 cameras, closed loop) on a git worktree of REV (before
   history) and on this tree, alternately, --ingest-rounds times each, and prints frames/s and the
   persist stage's p50, before and after, and their ratios.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CRITICAL, TARGET = 3, 15
FRAMES_PER_MINUTE = 12  # a frame every 5 s
COLUMNS = ["camera_id", "minute", "first_count", "last_count", "min_count", "max_count", "median_count", "frames",
           "status", "seconds_critical", "seconds_warning", "seconds_full", "seconds_fault"]


def setup_django(sqlite_path: Path) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "inventory_monitor.settings")
    os.environ.setdefault("DEBUG", "1")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    if not os.environ.get("DATABASE_URL"):
        os.environ["SQLITE_PATH"] = str(sqlite_path)
    import django

    django.setup()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def status_of(count: int) -> str:
    return "CRITICAL" if count <= CRITICAL else "FULL" if count >= TARGET else "WARNING"


def pattern(minutes: int, rng: random.Random) -> list[int]:
    """Counts per minute: from 20, one package every 6-10 min; empty for 10-60 min; refilled."""
    counts: list[int] = []
    while len(counts) < minutes:
        count = 20
        while count > 0:
            counts.extend([count] * rng.randint(6, 10))
            count -= 1
        counts.extend([0] * rng.randint(10, 60))
    return counts[:minutes]


def fill(cameras: int, days: int, seed: int = 9) -> tuple[int, int, float]:
    """Cameras, readings and status changes; returns (readings, changes, seconds)."""
    from django.db import connection, transaction
    from django.utils import timezone

    from detection.models import StockState
    from devices.models import Camera

    started = time.perf_counter()
    rng = random.Random(seed)
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:  # loading only; main() reconnects with the defaults to measure
            cursor.execute("PRAGMA cache_size = -262144")  # 256 MiB
    Camera.objects.bulk_create(Camera(slug=f"cam-{i:03d}", name=f"Camera {i:03d}") for i in range(cameras))
    ids = list(Camera.objects.order_by("pk").values_list("pk", flat=True))
    StockState.objects.bulk_create(StockState(camera_id=pk, critical_level=CRITICAL, target_capacity=TARGET)
                                   for pk in ids)
    minutes = days * 1440
    end = timezone.now().replace(second=0, microsecond=0)
    moments = [end - timedelta(minutes=minutes - i) for i in range(minutes)]
    adapt = connection.ops.adapt_datetimefield_value
    stamps = [adapt(moment) for moment in moments]
    change_stamps = [adapt(moment + timedelta(seconds=30)) for moment in moments]
    base = pattern(minutes + 1440, rng)
    offsets = {pk: rng.randrange(1440) for pk in ids}
    previous = {pk: "WAITING" for pk in ids}
    readings = changes = 0
    # Time order, all cameras each hour, as ingest writes them: a camera's month is spread over the
    # whole table, not stored together (which would flatter the chart query).
    for hour in range(0, minutes, 60):
        rows, change_rows = [], []
        for pk in ids:
            offset, status_before = offsets[pk], previous[pk]
            for i in range(hour, min(hour + 60, minutes)):
                count = base[offset + i]
                status = status_of(count)
                seconds = {"CRITICAL": 0, "WARNING": 0, "FULL": 0}
                if status != status_before:
                    change_rows.append((pk, change_stamps[i], status_before, status))
                    if status_before in seconds:
                        seconds[status_before] += 30
                    seconds[status] += 30
                else:
                    seconds[status] = 60
                status_before = status
                rows.append((pk, stamps[i], count, count, count, count, float(count), FRAMES_PER_MINUTE, status,
                             seconds["CRITICAL"], seconds["WARNING"], seconds["FULL"], 0))
            previous[pk] = status_before
        rows.sort(key=lambda row: row[1])
        with transaction.atomic():
            _load(connection, "detection_reading", COLUMNS, rows)
            _load(connection, "detection_statuschange", ["camera_id", "at", "from_status", "to_status"],
                  change_rows)
        readings += len(rows)
        changes += len(change_rows)
    return readings, changes, time.perf_counter() - started


def _load(connection, table: str, columns: list[str], rows: list[tuple]) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            raw = cursor.cursor  # psycopg 3: COPY is the bulk path
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("%s" for _ in columns)
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows)


def timed(fn, repeat: int) -> list[float]:
    fn()  # warm-up: first-use costs (imports, statement cache) are not what a user waits for each time
    out = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        out.append((time.perf_counter() - started) * 1000)
    return out


def size_bytes(sqlite_path: Path) -> tuple[int, str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_total_relation_size('detection_reading') + "
                           "pg_total_relation_size('detection_statuschange')")
            return cursor.fetchone()[0], "readings + status changes, with indexes (pg_total_relation_size)"
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try:
            cursor.execute("SELECT SUM(pgsize) FROM dbstat WHERE name IN (SELECT name FROM sqlite_master "
                           "WHERE tbl_name IN ('detection_reading', 'detection_statuschange'))")
            return cursor.fetchone()[0], "readings + status changes, with indexes (dbstat)"
        except Exception:
            return sqlite_path.stat().st_size, "whole SQLite file (dbstat not available)"


def prune_one_day(days: int) -> None:
    """Retention one day shorter than the fill: prune_history deletes every camera's oldest day."""
    from django.conf import settings

    from detection.history.services import history_prune

    settings.HISTORY_RETENTION_DAYS = days - 1
    batches: list[float] = []
    started = time.perf_counter()
    readings, changes = history_prune(on_batch=batches.append)
    took = time.perf_counter() - started
    print(f"prune_history, oldest day of every camera: {readings:,} readings + {changes:,} changes in {took:.1f} s, "
          f"{len(batches)} batches, longest transaction {max(batches, default=0) * 1000:.0f} ms "
          f"(p95 {pct(batches, 95) * 1000 if batches else 0:.0f} ms)", flush=True)


def ingest_compare(base_rev: str, rounds: int, seconds: float) -> None:
    """benchmarks.ingest on REV (a git worktree) and on this tree, alternately."""
    model = REPO / "detection" / "weights" / "package_detector.int8.onnx"
    args = ["-m", "benchmarks.ingest", "--cameras", "4", "--seconds", str(seconds), "--detector-seconds", "3",
            "--model", str(model)]
    results: dict[str, list[tuple[float, float]]] = {"before": [], "after": []}
    with tempfile.TemporaryDirectory(prefix="history-bench-") as tmp:
        worktree = Path(tmp) / "before"
        subprocess.run(["git", "worktree", "add", "--detach", str(worktree), base_rev], cwd=REPO, check=True,
                       capture_output=True)
        try:
            for _ in range(rounds):
                for label, cwd in (("before", worktree), ("after", REPO)):
                    out = subprocess.run([sys.executable, *args], cwd=cwd, capture_output=True, text=True,
                                         env={**os.environ, "DATABASE_URL": ""}).stdout
                    fps = re.search(r"4 camera\(s\), [^:]+: ([\d.]+) frames/s", out)
                    persist = re.search(r"persist ([\d.]+)/([\d.]+)", out)
                    if not fps or not persist:
                        print(f"  {label}: could not read benchmarks.ingest output:\n{out[-2000:]}")
                        continue
                    results[label].append((float(fps.group(1)), float(persist.group(1))))
                    print(f"  {label:6s} {fps.group(1)} frames/s, persist p50 {persist.group(1)} ms", flush=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=REPO, capture_output=True)
    if results["before"] and results["after"]:
        before_fps = statistics.median(r[0] for r in results["before"])
        after_fps = statistics.median(r[0] for r in results["after"])
        before_persist = statistics.median(r[1] for r in results["before"])
        after_persist = statistics.median(r[1] for r in results["after"])
        print(f"ingest (4 cameras, closed loop, medians of {rounds}): {before_fps:.1f} -> {after_fps:.1f} frames/s, "
              f"ratio after/before {after_fps / before_fps:.3f}; persist p50 {before_persist:.2f} -> "
              f"{after_persist:.2f} ms, ratio {after_persist / before_persist:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cameras", type=int, default=200)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=30, help="timed runs per query (default 30)")
    parser.add_argument("--sqlite", type=Path, help="keep the SQLite database at this (new) path")
    parser.add_argument("--ingest", metavar="REV", default="", help="also compare benchmarks.ingest at REV vs. now")
    parser.add_argument("--ingest-rounds", type=int, default=2)
    parser.add_argument("--ingest-seconds", type=float, default=15.0)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="history-db-") as tmp:
        sqlite_path = args.sqlite or Path(tmp) / "history.sqlite3"
        setup_django(sqlite_path)
        from django.core.management import call_command
        from django.db import connection
        from django.utils import timezone

        from dashboard.trends import trends_data
        from detection.history.ranges import TimeRange
        from detection.history.selectors import chart_series, stockout_report
        from devices.models import Camera

        call_command("migrate", verbosity=0)
        if Camera.objects.exists():
            sys.exit("the database is not empty: use a fresh one (scripts/with_postgres.sh makes one)")
        where = f" ({sqlite_path})" if connection.vendor == "sqlite" else ""
        print(f"history benchmark: {connection.vendor}{where}, {args.cameras} cameras x {args.days} days of "
              f"one-minute readings, {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}", flush=True)
        readings, changes, took = fill(args.cameras, args.days)
        with connection.cursor() as cursor:
            # Planner statistics, and on PostgreSQL the visibility map that index-only scans need, as
            # autovacuum keeps them on a database that has run a while (the first PostgreSQL run,
            # with ANALYZE alone, measured the chart at p95 114 ms).
            cursor.execute("VACUUM ANALYZE" if connection.vendor == "postgresql" else "ANALYZE")
        connection.close()  # measure on a fresh connection with the server's settings
        print(f"filled {readings:,} readings and {changes:,} status changes in {took:.0f} s", flush=True)

        rng = random.Random(1)
        cameras = list(Camera.objects.all())
        now = timezone.now()
        month = TimeRange(now - timedelta(days=30), now, preset="30d")
        week = TimeRange(now - timedelta(days=7), now, preset="7d")
        points = len(chart_series(camera=cameras[0], window=month)["t"])
        chart = timed(lambda: chart_series(camera=rng.choice(cameras), window=month), args.repeat)
        payload = timed(lambda: trends_data(rng.choice(cameras), month), args.repeat)
        report_rows = len(stockout_report(window=week, period="day"))
        report = timed(lambda: stockout_report(window=week, period="day"), max(5, args.repeat // 3))
        for name, values, target in (
            (f"30-day chart query, one camera ({points} points)", chart, 100.0),
            ("30-day trends payload (chart + timeline + per day)", payload, None),
            (f"7-day stock-out report, all cameras ({report_rows} rows)", report, 500.0),
        ):
            verdict = "" if target is None else (f"  target p95 < {target:.0f} ms: "
                                                 f"{'met' if pct(values, 95) < target else 'NOT met'}")
            print(f"{name}: p50 {pct(values, 50):.1f} ms  p95 {pct(values, 95):.1f} ms  max {max(values):.1f} ms "
                  f"({len(values)} runs){verdict}", flush=True)
        size, what = size_bytes(sqlite_path)
        camera_months = args.cameras * args.days / 30
        print(f"size: {size / 2**20:.0f} MiB for {camera_months:.0f} camera-months = "
              f"{size / camera_months / 2**20:.2f} MiB per camera-month ({what}); "
              f"{size / max(1, readings):.0f} bytes per reading", flush=True)
        prune_one_day(args.days)
        connection.close()
    if args.ingest:
        print(f"ingest before ({args.ingest}) / after (this tree):", flush=True)
        ingest_compare(args.ingest, args.ingest_rounds, args.ingest_seconds)


if __name__ == "__main__":
    main()
