"""The read-only history API: who may read it, pagination, the schema, and 400s that say why."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth.models import Permission
from rest_framework.test import APIClient

from detection.history.models import Reading, StatusChange

D = datetime(2026, 11, 2, tzinfo=UTC)
DAY = {"start": "2026-11-02", "end": "2026-11-02"}


@pytest.fixture
def person(django_user_model):
    user = django_user_model.objects.create_user("olga", password="x")
    user.user_permissions.add(Permission.objects.get(codename="view_stockstate"))
    client = APIClient()
    client.force_login(user)
    return client


@pytest.fixture
def dock(camera_with_key):
    camera, _ = camera_with_key()
    Reading.objects.bulk_create(
        Reading(camera=camera, minute=D + timedelta(minutes=i), median_count=i, min_count=i, max_count=i,
                first_count=i, last_count=i, frames=2, status="WARNING", seconds_warning=60)
        for i in range(5)
    )
    StatusChange.objects.create(camera=camera, at=D + timedelta(hours=1), from_status="WARNING", to_status="CRITICAL")
    return camera


def test_readings_come_oldest_first_a_page_at_a_time(person, dock):
    first = person.get("/api/v1/history/readings/", {"camera": "dock-1", "page_size": 2, **DAY}).json()
    assert [row["median_count"] for row in first["results"]] == [0, 1]
    assert first["results"][0]["minute"].startswith("2026-11-02T00:00:00")
    rest = []
    page = first
    while page["next"]:
        page = person.get(page["next"]).json()
        rest += [row["median_count"] for row in page["results"]]
    assert rest == [2, 3, 4]


def test_status_changes_and_the_stockout_report_are_served(person, dock):
    changes = person.get("/api/v1/history/status-changes/", DAY).json()["results"]
    assert changes == [{"camera": "dock-1", "at": "2026-11-02T01:00:00Z", "from_status": "WARNING",
                        "to_status": "CRITICAL"}]
    report = person.get("/api/v1/history/stockouts/", {"period": "week", **DAY}).json()
    assert report["count"] == 1
    assert report["results"][0] | {"minutes_critical": None} == {
        "camera": "dock-1", "camera_name": "Dock 1", "period_start": "2026-11-02", "minutes_critical": None,
        "stockouts": 1, "longest_min": 23 * 60.0, "median_recover_min": None}


@pytest.mark.parametrize("path", ["readings", "status-changes", "stockouts"])
def test_it_needs_a_person_with_the_dashboard_role(path, dock, django_user_model, camera_with_key):
    anonymous = APIClient().get(f"/api/v1/history/{path}/", {"camera": "dock-1"})
    assert anonymous.status_code == 403
    nobody = APIClient()
    nobody.force_login(django_user_model.objects.create_user("nora", password="x"))
    refused = nobody.get(f"/api/v1/history/{path}/", {"camera": "dock-1"})
    assert refused.status_code == 403 and "dashboard role" in refused.json()["detail"]


@pytest.mark.parametrize("path,params,reason", [
    ("readings", {"camera": "dock-1", "start": "2026-11-09", "end": "2026-11-01"}, "end must be after start"),
    ("readings", {"camera": "dock-1", "start": "2025-01-01", "end": "2026-11-01"}, "at most 92 days"),
    ("readings", {"camera": "dock-1", "start": "2026-13-45", "end": "2026-11-01"}, "not an ISO 8601"),
    ("readings", {"camera": "nope"}, "Unknown camera 'nope'"),
    ("readings", {}, "camera is required"),
    ("status-changes", {"camera": "nope"}, "Unknown camera"),
    ("stockouts", {"period": "month"}, "not day or week"),
    ("stockouts", {"range": "forever"}, "not one of 1h, 6h, 24h, 7d, 30d, custom"),
])
def test_bad_input_is_a_400_that_says_why(person, dock, path, params, reason):
    response = person.get(f"/api/v1/history/{path}/", params)
    assert response.status_code == 400
    assert reason in response.json()["detail"]


def test_the_schema_documents_the_history_endpoints(client):
    schema = client.get("/api/schema/?format=json").json()
    readings = schema["paths"]["/api/v1/history/readings/"]["get"]
    assert {p["name"] for p in readings["parameters"]} >= {"camera", "range", "start", "end", "cursor", "page_size"}
    assert "/api/v1/history/status-changes/" in schema["paths"]
    stockouts = schema["paths"]["/api/v1/history/stockouts/"]["get"]
    assert "period" in {p["name"] for p in stockouts["parameters"]}
