"""The simulator against a real Daphne server with the real shipped model.

The server is the one the benchmark starts (benchmarks.ingest.running_server): temporary SQLite,
migrate, cameras with keys, Daphne on a free port. Slow-ish (a few seconds), so one test does it all.
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path


from benchmarks.ingest import SHIPPED_MODEL, running_server
from simulation import simulate

MODEL = Path(os.environ.get("MODEL_PATH") or SHIPPED_MODEL)


def test_it_posts_the_samples_to_a_live_server_and_stops_on_a_wrong_key() -> None:
    with running_server(model=MODEL, cameras=1, workers=1, detector_threads=1, extra_env={}) as server:
        base = server.url(0).removesuffix("/api/v1/frames/")
        out, err = io.StringIO(), io.StringIO()
        code = simulate.main(["--url", base, "--key", server.keys[0], "--fps", "0", "--count", "3", "--json"],
                             out=out, err=err)
        rows = [json.loads(line) for line in out.getvalue().splitlines()]
        assert code == simulate.EXIT_OK, err.getvalue()
        assert [row["http_status"] for row in rows] == [201, 201, 201]
        assert all(row["count"] >= 0 and row["status"] in {"CRITICAL", "WARNING", "FULL"} for row in rows)
        assert set(rows[0]["server_timing"]) >= {"decode", "detect", "persist"}

        err = io.StringIO()
        code = simulate.main(["--url", base, "--key", "not-a-key", "--count", "1"], out=io.StringIO(), err=err)
        assert code == simulate.EXIT_AUTH and "rejected the camera key" in err.getvalue()
