"""The trends page, its chart data and CSV, and the stock-out report page and CSV."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

import pytest
from channels.db import database_sync_to_async

from dashboard.broadcasts import stock_updated
from detection.history.models import Reading, StatusChange
from tests.dashboard.test_consumer import connect

D = datetime(2026, 11, 2, tzinfo=UTC)
DAY = {"start": "2026-11-02", "end": "2026-11-02"}


@pytest.fixture
def dock(camera_with_key):
    camera, _ = camera_with_key(slug="dock-3")
    camera.created_at = D - timedelta(days=30)  # installed before the history below (pages start there)
    camera.save(update_fields=["created_at"])
    Reading.objects.bulk_create(
        Reading(camera=camera, minute=D + timedelta(hours=8, minutes=i), median_count=c, min_count=c, max_count=c,
                first_count=c, last_count=c, frames=1, status="CRITICAL" if c <= 3 else "WARNING")
        for i, c in enumerate([9, 5, 2, 1, 8])
    )
    StatusChange.objects.bulk_create([
        StatusChange(camera=camera, at=D + timedelta(hours=8, minutes=2), from_status="WARNING", to_status="CRITICAL"),
        StatusChange(camera=camera, at=D + timedelta(hours=8, minutes=4), from_status="CRITICAL", to_status="WARNING"),
    ])
    return camera


def test_the_trends_page_links_its_data_and_csv_for_the_chosen_range(client, viewer, dock):
    client.force_login(viewer)
    page = client.get("/cameras/dock-3/trends/", {"range": "7d"}).content.decode()
    assert 'data-url="/cameras/dock-3/trends/data/?range=7d"' in page
    assert "/cameras/dock-3/readings.csv?range=7d" in page
    assert 'aria-current="true">7d' in page
    assert "vendor/uPlot-1.6.32.min.js" in page


def test_the_dashboard_card_links_to_the_camera_trends(client, viewer, dock):
    client.force_login(viewer)
    assert 'href="/cameras/dock-3/trends/"' in client.get("/").content.decode()


def test_chart_data_has_counts_levels_timeline_and_critical_minutes_per_day(client, viewer, dock):
    client.force_login(viewer)
    data = client.get("/cameras/dock-3/trends/data/", DAY).json()
    assert data["series"]["count"] == [9, 5, 2, 1, 8]
    assert (data["critical_level"], data["target_capacity"], data["live"]) == (3, 15, False)
    assert [s["status"] for s in data["timeline"]] == ["WARNING", "CRITICAL", "WARNING"]
    assert data["critical_per_day"] == [{"day": "2026-11-02", "minutes": 2.0, "stockouts": 1}]


def test_the_dashboard_shows_todays_stock_outs_longest_first(client, viewer, dock, camera_with_key, monkeypatch):
    other, _ = camera_with_key(slug="dock-9")
    now = D + timedelta(hours=12)  # a fixed noon: "today" must not depend on when the test runs
    monkeypatch.setattr("django.utils.timezone.now", lambda: now)
    StatusChange.objects.bulk_create([
        StatusChange(camera=dock, at=now - timedelta(minutes=5), from_status="WARNING", to_status="CRITICAL"),
        StatusChange(camera=other, at=now - timedelta(minutes=1), from_status="WARNING", to_status="CRITICAL"),
    ])
    client.force_login(viewer)
    assert 'hx-get="/reports/stockouts/today/"' in client.get("/").content.decode()
    html = client.get("/reports/stockouts/today/", HTTP_HX_REQUEST="true").content.decode()
    assert html.index('data-camera="dock-3"') < html.index('data-camera="dock-9"')  # 5 min before 1 min


def test_readings_download_as_csv(client, viewer, dock):
    client.force_login(viewer)
    response = client.get("/cameras/dock-3/readings.csv", DAY)
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [(row["minute"][:16], row["median_count"], row["status"]) for row in rows][:3] == [
        ("2026-11-02T08:00", "9.0", "WARNING"), ("2026-11-02T08:01", "5.0", "WARNING"),
        ("2026-11-02T08:02", "2.0", "CRITICAL")]


def test_the_stockout_report_page_and_its_csv_agree(client, viewer, dock):
    client.force_login(viewer)
    page = client.get("/reports/stockouts/", {"camera": "dock-3", **DAY}).content.decode()
    assert 'data-camera="dock-3" data-period="2026-11-02"' in page
    assert '<td class="py-1.5 text-right tabular-nums" data-field="minutes">2.0</td>' in page
    response = client.get("/reports/stockouts/", {"camera": "dock-3", "format": "csv", **DAY})
    (row,) = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert (row["period_start"], row["minutes_critical"], row["stockouts"], row["median_recover_min"]) == (
        "2026-11-02", "2.0", "1", "2.0")


def test_a_camera_name_cannot_become_a_spreadsheet_formula(client, viewer, dock):
    dock.name = "=HYPERLINK(\"http://evil\")"
    dock.save()
    client.force_login(viewer)
    response = client.get("/reports/stockouts/", {"camera": "dock-3", "format": "csv", **DAY})
    (row,) = csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode()))
    assert row["camera_name"].startswith("'=")


@pytest.mark.parametrize("url,params,reason", [
    ("/cameras/dock-3/trends/", {"start": "2026-11-09", "end": "2026-11-01"}, "end must be after start"),
    ("/cameras/dock-3/trends/data/", {"start": "2020-01-01", "end": "2026-11-01"}, "at most 92 days"),
    ("/cameras/dock-3/readings.csv", {"start": "soon", "end": "2026-11-01"}, "not an ISO 8601"),
    ("/reports/stockouts/", {"camera": "nope"}, "Unknown camera"),
    ("/reports/stockouts/", {"period": "year"}, "not day or week"),
])
def test_bad_input_is_a_400_that_says_why(client, viewer, dock, url, params, reason):
    client.force_login(viewer)
    response = client.get(url, params)
    assert response.status_code == 400
    assert reason in response.content.decode().replace("&#x27;", "'")


def test_an_unknown_camera_page_is_not_found(client, viewer, dock):
    client.force_login(viewer)
    assert client.get("/cameras/nope/trends/").status_code == 404


@pytest.mark.parametrize("url", ["/cameras/dock-3/trends/", "/cameras/dock-3/readings.csv", "/reports/stockouts/"])
def test_history_pages_need_the_dashboard_role(client, nobody, dock, url):
    client.force_login(nobody)
    assert client.get(url).status_code == 403


@pytest.mark.django_db(transaction=True)
async def test_the_trends_socket_says_when_its_camera_changed_and_nothing_else(viewer, camera_with_key):
    camera, _ = await database_sync_to_async(camera_with_key)(slug="dock-3")
    other, _ = await database_sync_to_async(camera_with_key)(slug="dock-4")
    communicator, connected = await connect(viewer, path="/ws/cameras/dock-3/trends/")
    assert connected
    await database_sync_to_async(stock_updated)(camera_id=other.pk, event_id=1)
    await database_sync_to_async(stock_updated)(camera_id=camera.pk, event_id=2)
    assert await communicator.receive_json_from(timeout=3) == {"camera": "dock-3", "event_id": 2}  # not dock-4's
    await communicator.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_the_trends_socket_closes_signed_out_users(camera_with_key):
    await database_sync_to_async(camera_with_key)(slug="dock-3")
    communicator, _ = await connect(None, path="/ws/cameras/dock-3/trends/")
    assert (await communicator.receive_output(timeout=3))["code"] == 4401
