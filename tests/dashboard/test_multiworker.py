"""Several Daphne workers behind one address: a frame stored by worker A must reach a browser whose
WebSocket lives on worker B. Only a shared channel layer (Redis) makes that true; the in-memory layer
is per process."""

from __future__ import annotations

import pytest

from tests.dashboard import live

pytestmark = [pytest.mark.redis, pytest.mark.browser]


def test_a_frame_posted_to_worker_a_updates_a_browser_on_worker_b(tmp_path, redis_server, new_page, real_images):
    sqlite_path = tmp_path / "shared.sqlite3"  # both workers share one database
    keys = live.prepare_database(sqlite_path, ["multi-cam"])
    env = {"REDIS_URL": redis_server.url, "REDIS_PREFIX": f"test{redis_server.port}"}
    worker_a = live.Daphne(sqlite_path=sqlite_path, log_path=tmp_path / "a.log", extra_env=env)
    worker_b = live.Daphne(sqlite_path=sqlite_path, log_path=tmp_path / "b.log", extra_env=env)
    try:
        worker_a.start()
        worker_b.start()
        page = new_page()
        live.log_in(page, worker_b.url, "viewer")
        live.wait_live(page)
        assert page.inner_text("#camera-multi-cam [data-field=status]").strip() == "WAITING"

        body = live.post_frame(worker_a.url, keys["multi-cam"], real_images[0])
        page.wait_for_function(
            "(text) => document.querySelector('#camera-multi-cam [data-field=count]').textContent.trim() === text",
            arg=str(body["count"]), timeout=10_000,
        )
        assert page.inner_text("#camera-multi-cam [data-field=status]").strip() == body["status"]
        assert page.locator(f"#event-{body['event_id']}").count() == 1
    finally:
        worker_a.stop()
        worker_b.stop()
