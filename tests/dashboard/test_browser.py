"""End to end in a real headless Chromium against a live Daphne, with the real model on real frames."""

from __future__ import annotations

import subprocess
import sys

import pytest
import requests

from dashboard.panels import ACTIVITY_LIMIT
from tests.dashboard import live

pytestmark = pytest.mark.browser


def card_text(page, slug: str, field: str) -> str:
    return page.inner_text(f"#camera-{slug} [data-field={field}]").strip()


def test_a_posted_frame_updates_the_card_without_a_reload(live_server_proc, new_page, real_images):
    page = new_page()
    live.log_in(page, live_server_proc.url, "viewer")
    live.wait_live(page)
    assert card_text(page, "e2e-live", "status") == "WAITING"
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    body = live.post_frame(live_server_proc.url, live_server_proc.keys["e2e-live"], real_images[0])
    page.wait_for_function(
        "([sel, text]) => document.querySelector(sel)?.textContent.trim() === text",
        arg=["#camera-e2e-live [data-field=count]", str(body["count"])], timeout=10_000,
    )
    assert card_text(page, "e2e-live", "status") == body["status"]
    assert page.evaluate("window.__sameDocument") is True
    # The log row arrived too, newest first.
    assert page.locator(f"#event-{body['event_id']}").count() == 1


def test_the_activity_log_shows_the_newest_rows_as_pushes_add_them(live_server_proc, new_page, real_images):
    # A push sends only its new rows (dashboard/panels.py): the page puts them on top and must still
    # show exactly what a reload shows, the newest ACTIVITY_LIMIT events, newest first.
    page = new_page()
    live.log_in(page, live_server_proc.url, "viewer")
    live.wait_live(page)
    key = live_server_proc.keys["e2e-log"]
    posted = [live.post_frame(live_server_proc.url, key, real_images[number % len(real_images)])["event_id"]
              for number in range(ACTIVITY_LIMIT + 3)]
    newest = posted[::-1][:ACTIVITY_LIMIT]
    rows = "() => Array.from(document.querySelectorAll('#activity-rows tr'), (row) => Number(row.dataset.eventId))"
    page.wait_for_function(f"(ids) => JSON.stringify(({rows})()) === JSON.stringify(ids)", arg=newest,
                           timeout=10_000)
    # Two workers' frames can arrive out of order: a row pushed after newer ones goes to its place.
    page.evaluate("""() => {
      document.getElementById('activity-new').content.append(document.querySelectorAll('#activity-rows tr')[3]);
      document.body.dispatchEvent(new CustomEvent('htmx:wsAfterMessage', {bubbles: true}));
    }""")
    assert page.evaluate(rows) == newest
    page.reload()
    live.wait_live(page)
    assert page.evaluate(rows) == newest


def test_a_covered_lens_shows_as_a_camera_fault_not_a_stock_out(live_server_proc, new_page, real_images, tmp_path):
    from PIL import Image, ImageEnhance

    page = new_page()
    live.log_in(page, live_server_proc.url, "viewer")
    live.wait_live(page)
    key = live_server_proc.keys["e2e-fault"]
    good = live.post_frame(live_server_proc.url, key, real_images[0])
    page.wait_for_function(
        "([sel, text]) => document.querySelector(sel)?.textContent.trim() === text",
        arg=["#camera-e2e-fault [data-field=count]", str(good["count"])], timeout=10_000,
    )
    # Someone hangs a jacket over the camera: the same scene at 2 % of its light.
    covered = tmp_path / "covered.jpg"
    ImageEnhance.Brightness(Image.open(real_images[0]).convert("RGB")).enhance(0.02).save(covered, "JPEG")
    dark = live.post_frame(live_server_proc.url, key, covered)
    assert dark["status"] == "FAULT"
    page.wait_for_function(
        "() => document.querySelector('#camera-e2e-fault [data-field=status]')?.textContent.trim() === 'FAULT'",
        timeout=10_000,
    )
    assert "too dark" in card_text(page, "e2e-fault", "fault")
    assert card_text(page, "e2e-fault", "count") == str(good["count"])  # last good reading, not 0
    assert "FAULT" in page.inner_text(f"#event-{dark['event_id']}")
    assert "with a fault" in page.inner_text("#system-status")


def test_a_threshold_change_in_one_browser_updates_another(live_server_proc, new_page, real_images):
    live.post_frame(live_server_proc.url, live_server_proc.keys["e2e-threshold"], real_images[1])
    watcher = new_page()
    live.log_in(watcher, live_server_proc.url, "viewer")
    live.wait_live(watcher)
    count = int(card_text(watcher, "e2e-threshold", "count"))

    manager = new_page()
    live.log_in(manager, live_server_proc.url, "manager")
    live.wait_live(manager)
    row = manager.locator("#thresholds-e2e-threshold")
    # Invalid first: the error shows inline and nothing changes.
    row.locator("input[name=critical_level]").fill("50")
    row.locator("input[name=target_capacity]").fill("10")
    row.locator("button[type=submit]").click()
    manager.wait_for_selector("#thresholds-e2e-threshold [data-field=errors]")
    assert "must be lower than the target" in manager.inner_text("#thresholds-e2e-threshold")

    # Then valid, with a critical level above the count: the watcher's card turns CRITICAL by itself.
    row = manager.locator("#thresholds-e2e-threshold")
    row.locator("input[name=critical_level]").fill(str(count + 5))
    row.locator("input[name=target_capacity]").fill(str(count + 50))
    row.locator("button[type=submit]").click()
    # Wait for the new target, not for CRITICAL: a frame the model counts as 0 is CRITICAL already.
    watcher.wait_for_function(
        "(text) => document.querySelector('#camera-e2e-threshold')?.textContent.includes(text)",
        arg=f"/ {count + 50}", timeout=10_000,
    )
    assert card_text(watcher, "e2e-threshold", "status") == "CRITICAL"
    assert watcher.inner_text("#thresholds-e2e-threshold [data-field=critical_level]") == str(count + 5)


def test_a_viewer_cannot_open_the_inspector(live_server_proc, new_page):
    page = new_page()
    live.log_in(page, live_server_proc.url, "viewer")
    response = page.goto(live_server_proc.url + "/inspector/")
    assert response.status == 403


def test_the_inspector_draws_boxes_and_refilters_without_uploading(live_server_proc, new_page, real_images):
    page = new_page()
    live.log_in(page, live_server_proc.url, "manager", path="/inspector/")
    uploads = []
    page.on("request", lambda request: uploads.append(request) if "/api/v1/inspect/" in request.url else None)
    page.set_input_files("#file-input", str(real_images[2]))
    page.wait_for_selector("#result-figure:not([hidden])", timeout=15_000)
    serving = int(page.inner_text("#serving-count"))
    shown = int(page.inner_text("#shown-count"))
    assert serving > 0 and shown == serving
    # Boxes are drawn on the canvas: some pixels carry the box colour (#10b981).
    drawn = page.evaluate("""() => {
        const c = document.getElementById('result-canvas');
        const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0;
        for (let i = 0; i < d.length; i += 4) if (d[i] === 16 && d[i + 1] === 185 && d[i + 2] === 129) n++;
        return n;
    }""")
    assert drawn > 100
    # Lowering the slider shows more (or as many) boxes, with no new upload.
    page.eval_on_selector("#conf-slider", "el => { el.value = el.min; el.dispatchEvent(new Event('input')); }")
    assert int(page.inner_text("#shown-count")) >= serving
    assert len(uploads) == 1
    with page.expect_download() as download:
        page.click("#download")
    assert download.value.suggested_filename.endswith("-annotated.jpg")

    # A file that is not an image: the API's human message is shown.
    page.set_input_files("#file-input", files=[{"name": "notes.txt", "mimeType": "text/plain",
                                                "buffer": b"hello"}])
    page.wait_for_selector("#inspect-error:not([hidden])")
    assert "decodable image" in page.inner_text("#inspect-error")


def test_the_page_reconnects_after_a_restart_and_catches_up(tmp_path, new_page, real_images):
    # Own server: this one is stopped and started again on the same port and database.
    keys = live.prepare_database(tmp_path / "db.sqlite3", ["restart-cam"])
    server = live.Daphne(sqlite_path=tmp_path / "db.sqlite3", log_path=tmp_path / "daphne.log").start()
    try:
        page = new_page()
        live.log_in(page, server.url, "viewer")
        live.wait_live(page)
        server.stop()
        page.wait_for_selector("#connection[data-state=reconnecting]", timeout=10_000)
        # A frame arrives while the page is cut off; it must show up after the reconnect.
        server.start()
        body = live.post_frame(server.url, keys["restart-cam"], real_images[3])
        live.wait_live(page, timeout=30_000)
        page.wait_for_function(
            "(text) => document.querySelector('#camera-restart-cam [data-field=count]').textContent.trim() === text",
            arg=str(body["count"]), timeout=10_000,
        )
    finally:
        server.stop()


def test_an_expired_session_says_signed_out_and_goes_to_the_login_page(tmp_path, new_page):
    live.prepare_database(tmp_path / "db.sqlite3", ["expiry-cam"])
    server = live.Daphne(sqlite_path=tmp_path / "db.sqlite3", log_path=tmp_path / "daphne.log").start()
    try:
        page = new_page()
        live.log_in(page, server.url, "viewer")
        live.wait_live(page)
        server.stop()
        # The session ends while the wall screen is cut off (expired, or ended by an admin).
        subprocess.run([sys.executable, "manage.py", "shell", "-c",
                        "from django.contrib.sessions.models import Session; Session.objects.all().delete()"],
                       cwd=live.REPO, env=live.server_env(tmp_path / "db.sqlite3"), check=True, capture_output=True)
        server.start()
        page.wait_for_selector("#connection[data-state=signed-out]", timeout=30_000)
        page.wait_for_url("**/accounts/login/?next=%2F", timeout=10_000)
    finally:
        server.stop()


def test_static_files_are_served_by_daphne(live_server_proc):
    for path in ("/static/dashboard/app.css", "/static/vendor/htmx-2.0.11.min.js",
                 "/static/vendor/htmx-ext-ws-2.0.4.min.js", "/static/vendor/uPlot-1.6.32.min.js",
                 "/static/vendor/uPlot-1.6.32.min.css",
                 # /api/docs/ (Swagger UI, vendored by drf-spectacular-sidecar): no CDN on a closed network.
                 "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js"):
        assert requests.get(live_server_proc.url + path, timeout=5).status_code == 200, path
