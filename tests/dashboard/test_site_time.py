"""One site time zone (TIME_ZONE) everywhere: pages say it, CSVs carry its offset, days end at its
midnight; history starts when the camera was installed; the report hides empty rows unless asked."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest

from detection.history.models import Reading, StatusChange

pytestmark = pytest.mark.django_db
D = datetime(2026, 11, 2, tzinfo=UTC)


@pytest.fixture
def berlin(settings):
    settings.TIME_ZONE = "Europe/Berlin"  # UTC+1 in November


@pytest.fixture
def dock(camera_with_key):
    """Installed on 2026-11-01 at 10:00 UTC; CRITICAL 08:02-08:04 UTC on the 2nd."""
    camera, _ = camera_with_key(slug="dock-3")
    camera.created_at = D - timedelta(hours=14)
    camera.save(update_fields=["created_at"])
    Reading.objects.create(camera=camera, minute=D + timedelta(hours=8), median_count=2, min_count=2, max_count=2,
                           first_count=2, last_count=2, frames=1, status="CRITICAL")
    StatusChange.objects.bulk_create([
        StatusChange(camera=camera, at=D + timedelta(hours=8, minutes=2), from_status="WARNING", to_status="CRITICAL"),
        StatusChange(camera=camera, at=D + timedelta(hours=8, minutes=4), from_status="CRITICAL", to_status="WARNING"),
    ])
    return camera


def test_every_page_names_the_site_zone(client, viewer, dock, berlin):
    client.force_login(viewer)
    for url in ["/", "/alerts/", "/reports/stockouts/", "/cameras/dock-3/", "/cameras/dock-3/trends/"]:
        page = client.get(url).content.decode()
        assert 'data-time-zone="Europe/Berlin"' in page, url
        assert "All times in Europe/Berlin" in page, url
    trends = client.get("/cameras/dock-3/trends/").content.decode()
    assert '<span data-field="zone">Europe/Berlin</span>' in trends


def test_the_admin_says_its_zone(admin_client, berlin):
    page = admin_client.get("/admin/").content.decode()
    assert 'id="admin-time-zone"' in page and "Times in Europe/Berlin" in page


def test_csv_times_are_in_the_site_zone_with_their_offset(client, viewer, dock, berlin):
    client.force_login(viewer)
    response = client.get("/cameras/dock-3/readings.csv", {"start": "2026-11-02", "end": "2026-11-02"})
    (row,) = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert row["minute"] == "2026-11-02T09:00:00+01:00"


def test_the_timeline_starts_when_the_camera_was_installed(client, viewer, dock):
    client.force_login(viewer)
    data = client.get("/cameras/dock-3/trends/data/", {"start": "2026-10-30", "end": "2026-11-02"}).json()
    assert data["timeline"][0]["start"] == dock.created_at.isoformat()
    assert [row["day"] for row in data["critical_per_day"]] == ["2026-11-01", "2026-11-02"]


@pytest.mark.parametrize("preset", ["1h", "6h"])
def test_short_ranges_are_offered(client, viewer, dock, preset):
    client.force_login(viewer)
    page = client.get("/cameras/dock-3/trends/", {"range": preset}).content.decode()
    assert f'aria-current="true">{preset}' in page
    assert client.get("/cameras/dock-3/trends/data/", {"range": preset}).json()["live"] is True


def test_the_report_hides_empty_days_and_days_before_the_camera(client, viewer, dock):
    client.force_login(viewer)
    week = {"camera": "dock-3", "start": "2026-10-28", "end": "2026-11-03"}
    page = client.get("/reports/stockouts/", week).content.decode()
    assert page.count('data-camera="dock-3"') == 1 and 'data-period="2026-11-02"' in page
    shown = client.get("/reports/stockouts/", {**week, "empty": "1"}).content.decode()
    assert 'data-period="2026-11-01"' in shown and 'data-period="2026-11-03"' in shown
    assert 'data-period="2026-10-31"' not in shown  # before it was installed: not a day of zeros
    csv_rows = list(csv.DictReader(io.StringIO(b"".join(
        client.get("/reports/stockouts/", {**week, "format": "csv"}).streaming_content).decode())))
    assert [row["period_start"] for row in csv_rows] == ["2026-11-02"]


def test_a_quiet_range_says_no_stock_outs(client, viewer, dock):
    client.force_login(viewer)
    page = client.get("/reports/stockouts/", {"camera": "dock-3", "start": "2026-11-03", "end": "2026-11-04"})
    assert "No stock-outs in this range" in page.content.decode()


def test_days_end_at_the_site_midnight(client, viewer, dock, berlin):
    # 23:30 UTC on the 2nd is 00:30 on the 3rd in Berlin: that stock-out belongs to the 3rd.
    StatusChange.objects.bulk_create([
        StatusChange(camera=dock, at=D + timedelta(hours=23, minutes=30), from_status="WARNING", to_status="CRITICAL"),
        StatusChange(camera=dock, at=D + timedelta(hours=23, minutes=40), from_status="CRITICAL", to_status="WARNING"),
    ])
    client.force_login(viewer)
    page = client.get("/reports/stockouts/", {"camera": "dock-3", "start": "2026-11-02", "end": "2026-11-03"})
    html = page.content.decode()
    assert 'data-period="2026-11-03"' in html and "days and weeks end at midnight in Europe/Berlin" in html
