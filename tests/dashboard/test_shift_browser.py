"""Issue 17 in Chromium: a browser in America/Chicago against a site in Asia/Kolkata sees the site's
times, labelled; at 390×844 no main page is wider than the screen, the menu is a toggle, an alert
is acknowledged in two taps, and a tapped event's frame comes into view."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.dashboard import live

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}
ALERT_SCRIPT = """
from datetime import datetime, timezone
from detection.alerts import StockAlert, alerts_enqueue
from devices.models import Camera
camera = Camera.objects.get(slug="shift-1")
alert = StockAlert(camera_slug=camera.slug, camera_name=camera.name, location="Bay 4", previous_status="WARNING",
                   status="CRITICAL", smoothed_count=2, critical_level=3, target_capacity=15)
for hour in (8, 9):
    alerts_enqueue(camera=camera, alert=alert, now=datetime(2026, 11, 2, hour, 0, 5, tzinfo=timezone.utc))
"""


@pytest.fixture(scope="module")
def site(tmp_path_factory, real_images):
    """A Daphne whose site zone is Asia/Kolkata (UTC+5:30, no DST), with two alerts and a few frames."""
    root = tmp_path_factory.mktemp("shift")
    sqlite_path = root / "db.sqlite3"
    keys = live.prepare_database(sqlite_path, ["shift-1"])
    env = live.server_env(sqlite_path, TIME_ZONE="Asia/Kolkata")
    subprocess.run([sys.executable, str(live.REPO / "manage.py"), "shell", "-c", ALERT_SCRIPT], cwd=live.REPO,
                   env=env, check=True)
    server = live.Daphne(sqlite_path=sqlite_path, log_path=root / "daphne.log",
                         extra_env={"TIME_ZONE": "Asia/Kolkata"}).start()
    for image in real_images[:3]:
        live.post_frame(server.url, keys["shift-1"], image)
    yield server
    server.stop()


@pytest.fixture
def page_in(browser):
    contexts = []

    def make(viewport: dict, timezone_id: str = "America/Chicago"):
        context = browser.new_context(viewport=viewport, timezone_id=timezone_id)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def test_a_browser_in_chicago_sees_the_sites_time_labelled(site, page_in):
    page = page_in({"width": 1440, "height": 900})
    live.log_in(page, site.url, "viewer", path="/alerts/")
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "America/Chicago"
    whens = page.locator("[data-field=when]").all_inner_texts()
    # 08:00:05 UTC is 13:30:05 in Kolkata (and 02:00:05 in Chicago, which must not appear).
    assert "2026-11-02 13:30:05 IST" in whens
    assert "All times in Asia/Kolkata" in page.inner_text("#site-time-zone")
    tooltip = page.get_attribute("[data-field=when] >> nth=0", "title")
    assert "Asia/Kolkata" in tooltip and "14:30:05" in tooltip  # the 09:00 UTC alert, newest first
    page.goto(site.url + "/cameras/shift-1/trends/?range=6h")
    assert page.inner_text("[data-field=zone]") == "Asia/Kolkata"
    page.wait_for_function("() => window.trendsPlot !== undefined", timeout=10_000)
    # The chart's time axis is drawn in the site zone (uPlot tzDate) and says so; so does the timeline.
    assert page.evaluate("window.trendsPlot.axes[0].label") == "time (Asia/Kolkata)"
    page.wait_for_selector("#status-timeline > div", state="attached")
    assert "(Asia/Kolkata)" in page.get_attribute("#status-timeline > div >> nth=-1", "title")


@pytest.mark.parametrize("path", ["/", "/alerts/", "/reports/stockouts/?empty=1", "/cameras/shift-1/",
                                  "/cameras/shift-1/trends/", "/inspector/"])
def test_no_main_page_is_wider_than_a_phone(site, page_in, path):
    page = page_in(PHONE)
    live.log_in(page, site.url, "manager", path=path)
    page.wait_for_load_state("load")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"{path} is {width}px wide"
    for card in page.locator("table").all():
        # Each table fits its card, whose last column is on the screen.
        box = card.bounding_box()
        if box and box["width"]:
            assert box["x"] + box["width"] <= 390 + 0.5, path


def test_the_phone_menu_is_a_toggle(site, page_in):
    page = page_in(PHONE)
    live.log_in(page, site.url, "viewer")
    assert not page.locator("#main-nav").is_visible()
    page.click("#nav-toggle")
    assert page.locator("#main-nav a", has_text="Stock-outs").is_visible()
    page.click("#main-nav a:has-text('Alerts')")
    page.wait_for_url("**/alerts/")


def test_an_alert_is_acknowledged_from_a_phone_in_two_taps(site, page_in):
    page = page_in(PHONE)
    live.log_in(page, site.url, "viewer", path="/alerts/")
    row = page.locator("#alert-log tbody tr[data-acknowledged=no]").first
    row_id = row.get_attribute("id")
    assert page.locator(f"#{row_id} [data-field=when]").is_visible()  # the date is on the card, not a tooltip
    page.click("#nav-toggle")  # tap 1 would be the notification; here: open the menu and go to Alerts
    page.click("#main-nav a:has-text('Alerts')")
    page.click(f"#{row_id} [data-action=acknowledge]")  # tap 2: "I'm on it"
    page.wait_for_selector(f"#{row_id}[data-acknowledged=yes]")
    assert "✓ viewer" in page.inner_text(f"#{row_id} [data-field=acknowledged]")


def test_a_tapped_event_brings_its_frame_into_view_on_a_phone(site, page_in):
    page = page_in(PHONE)
    live.log_in(page, site.url, "viewer", path="/cameras/shift-1/")
    page.locator("#camera-event-rows .event-link").last.click()
    page.wait_for_function("() => { const r = document.getElementById('selected-heading').getBoundingClientRect();"
                           " return r.top >= -1 && r.top < window.innerHeight; }", timeout=5_000)


def test_cards_turn_grey_while_the_live_connection_is_down(site, page_in):
    page = page_in({"width": 1440, "height": 900})
    live.log_in(page, site.url, "viewer")
    live.wait_live(page)
    assert page.evaluate("getComputedStyle(document.querySelector('.camera-card')).filter") == "none"
    page.evaluate("document.getElementById('connection').dataset.state = 'reconnecting'")  # as dashboard.js does
    assert page.evaluate("getComputedStyle(document.querySelector('.camera-card')).filter") == "grayscale(1)"
