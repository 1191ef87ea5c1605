"""The camera page and the zone editor in a real headless Chromium against a live Daphne, with the
real model on real frames."""

from __future__ import annotations

import pytest

from tests.dashboard import live

pytestmark = pytest.mark.browser

IMAGE_LOADED = "(img) => img.complete && img.naturalWidth > 0"


def test_the_camera_page_shows_frames_with_boxes_and_updates_live(live_server_proc, new_page, real_images):
    url, key = live_server_proc.url, live_server_proc.keys["e2e-camera"]
    first = live.post_frame(url, key, real_images[0])
    page = new_page()
    live.log_in(page, url, "viewer")
    live.wait_live(page)
    page.click("#camera-e2e-camera [data-field=camera-page]")  # from the dashboard card
    page.wait_for_url(f"{url}/cameras/e2e-camera/")
    live.wait_live(page)
    # The latest frame is served (behind the login) and its boxes are drawn over it.
    image = page.locator("#camera-latest img")
    assert image.evaluate(IMAGE_LOADED)
    assert page.locator("#camera-latest rect.box-counted").count() == first["count"] > 0
    assert page.inner_text("#camera-summary [data-field=count]") == str(first["count"])
    page.evaluate("window.__sameDocument = true")

    second = live.post_frame(url, key, real_images[1])
    page.wait_for_selector(f"#camera-event-{second['event_id']}", timeout=10_000)
    page.wait_for_selector(f"#camera-latest figure[data-event-id='{second['event_id']}']", timeout=10_000)
    assert page.locator("#camera-latest rect.box-counted").count() == second["count"]
    assert page.locator("#camera-event-rows tr").count() == 2
    assert page.locator("#event-history rect").count() == 2

    # Clicking the older event shows its frame, and the latest keeps following the camera.
    page.click(f"#camera-event-{first['event_id']} a.event-link")
    page.wait_for_selector(f"#camera-selected figure[data-event-id='{first['event_id']}']", timeout=10_000)
    assert page.locator("#camera-selected img").evaluate(IMAGE_LOADED)
    assert page.locator("#camera-selected rect.box-counted").count() == first["count"]
    assert page.evaluate("window.__sameDocument") is True  # no reload on the way


def test_a_manager_draws_a_zone_and_the_count_follows_at_once(live_server_proc, new_page, real_images):
    url, key = live_server_proc.url, live_server_proc.keys["e2e-zones"]
    frame = live.post_frame(url, key, real_images[2])
    page = new_page(viewport={"width": 1280, "height": 2400})  # the whole frame on screen, to click on it
    live.log_in(page, url, "manager", path="/cameras/e2e-zones/")
    live.wait_live(page)
    boxes = page.locator("#camera-latest rect.box-counted")
    assert boxes.count() == frame["count"] > 1
    # Which boxes have their centre in the left half of the frame (the zone about to be drawn).
    centres = page.eval_on_selector_all(
        "#camera-latest rect.box-counted",
        "rects => rects.map(r => (+r.getAttribute('x') + r.getAttribute('width') / 2) / 1000)")
    inside = sum(x < 0.5 for x in centres)
    assert 0 < inside < frame["count"], "the frame needs boxes on both sides of the middle"

    # A first try with two points: the server says why it is not a zone.
    canvas = page.locator("#zone-canvas")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 2400
    page.mouse.click(box["x"] + 2, box["y"] + 2)
    page.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + 2)
    page.click("#zone-tools [data-zone-action=finish]")
    page.click("#zone-editor button[type=submit]")
    page.wait_for_selector("[data-field=zone-errors]", timeout=10_000)
    assert "at least 3 points" in page.inner_text("[data-field=zone-errors]")

    # Now the left half, clicked corner by corner on the latest frame.
    page.click("#zone-tools [data-zone-action=clear]")
    canvas = page.locator("#zone-canvas")
    box = canvas.bounding_box()
    for fx, fy in ((0.0, 0.0), (0.5, 0.0), (0.5, 1.0), (0.0, 1.0)):
        page.mouse.click(box["x"] + min(fx * box["width"], box["width"] - 1),
                         box["y"] + min(fy * box["height"], box["height"] - 1))
    page.click("#zone-tools [data-zone-action=finish]")
    page.click("#zone-editor button[type=submit]")
    page.wait_for_selector("[data-field=zones-saved]", timeout=10_000)
    # The count, the greyed boxes and the zone itself change without a new frame.
    page.wait_for_function(
        f"() => document.querySelector('#camera-summary [data-field=count]').textContent.trim() === '{inside}'",
        timeout=10_000)
    assert page.locator("#camera-latest rect.box-counted").count() == inside
    assert page.locator("#camera-latest rect.box-outside").count() == frame["count"] - inside
    assert page.locator("#camera-latest polygon.zone").count() == 1
    assert page.inner_text("#camera-summary [data-field=zones]") == "1"
    # The next frame is counted with the zone too.
    after = live.post_frame(url, key, real_images[2])
    assert after["count"] == inside
    # The editor keeps the frame it opened with, and now says a newer one has arrived.
    stale = "#zone-editor [data-field=zone-stale-warning]"
    page.wait_for_selector(f"#camera-latest figure[data-event-id='{after['event_id']}']", timeout=10_000)
    page.wait_for_selector(f"{stale}:not([hidden])", timeout=10_000)
