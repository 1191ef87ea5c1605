"""'Count is wrong' in a real headless Chromium against a live Daphne, with the real model on a real
frame: an operator flags an event from the camera page and the frame is kept for review."""

from __future__ import annotations

import sqlite3

import pytest

from tests.dashboard import live

pytestmark = pytest.mark.browser


def review_rows(sqlite_path) -> list[tuple]:
    with sqlite3.connect(sqlite_path) as db:
        return db.execute("SELECT event_id, reason, model_count, correct_count, note, image "
                          "FROM detection_reviewframe ORDER BY id").fetchall()


def test_an_operator_marks_a_count_wrong_from_the_camera_page(live_server_proc, new_page, real_images):
    url, key = live_server_proc.url, live_server_proc.keys["e2e-review"]
    frame = live.post_frame(url, key, real_images[3])
    page = new_page()
    live.log_in(page, url, "viewer", path="/cameras/e2e-review/")
    live.wait_live(page)

    row = page.locator(f"#camera-event-{frame['event_id']}")
    row.locator("[data-action=flag-count]").click()
    dialog = page.locator("[data-flag-dialog]")
    dialog.wait_for(timeout=10_000)
    # The dialog shows the frame being corrected (loaded, with the model's boxes), and Esc closes it.
    page.wait_for_function("(() => { const img = document.querySelector('[data-flag-dialog] [data-field=flag-frame] img');"
                           " return img && img.complete && img.naturalWidth > 0; })()", timeout=10_000)
    assert dialog.locator("[data-field=flag-frame] rect").count() == frame["count"]
    page.keyboard.press("Escape")
    assert page.locator("[data-flag-dialog]").count() == 0
    row.locator("[data-action=flag-count]").click()
    dialog.wait_for(timeout=10_000)
    field = dialog.locator("input[name=correct_count]")
    assert field.input_value() == str(frame["count"])  # starts at the model's count

    # A typo first: the server's message shows in the same dialog, nothing is kept.
    field.fill("-3")
    field.evaluate("input => input.removeAttribute('min')")  # past the browser's own check, to the server's
    dialog.locator("button[type=submit]").click()
    page.wait_for_selector("[data-flag-dialog] [role=alert]", timeout=10_000)
    assert "greater than or equal to 0" in page.inner_text("[data-flag-dialog]")
    assert review_rows(live_server_proc.sqlite_path) == []

    # A frame arriving meanwhile: the latest frame updates, but the event list holds still while the
    # dialog is open (it used to move every second under the pointer), and says so; the typing stays.
    page.locator("[data-flag-dialog] input[name=correct_count]").fill(str(frame["count"] + 2))
    page.locator("[data-flag-dialog] input[name=note]").fill("two hidden behind the pallet")
    newer = live.post_frame(url, key, real_images[4])
    page.wait_for_selector(f"#camera-latest figure[data-event-id='{newer['event_id']}']", timeout=10_000)
    assert page.locator(f"#camera-event-{newer['event_id']}").count() == 0
    assert "Paused while the dialog is open" in page.inner_text("#camera-events [data-field=events-paused]")
    assert page.locator("[data-flag-dialog] input[name=correct_count]").input_value() == str(frame["count"] + 2)

    page.locator("[data-flag-dialog] button[type=submit]").click()
    done = page.wait_for_selector("[data-flag-done]", timeout=10_000)
    assert f"right count {frame['count'] + 2}" in " ".join(done.inner_text().split())
    [(event_id, reason, model_count, correct_count, note, image)] = review_rows(live_server_proc.sqlite_path)
    assert (event_id, reason, model_count, correct_count, note) == (
        frame["event_id"], "flagged", frame["count"], frame["count"] + 2, "two hidden behind the pallet")
    assert image.startswith("review/e2e-review/")

    page.click("[data-flag-dialog] button:has-text('Close')")
    assert page.locator("[data-flag-dialog]").count() == 0
    # Closed: the held list catches up.
    page.wait_for_selector(f"#camera-event-{newer['event_id']}", timeout=10_000)
