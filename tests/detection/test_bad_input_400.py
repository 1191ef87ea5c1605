"""No input answers 500: dates at the calendar's ends and deeply nested JSON get a 400 that says why."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.test import Client

HISTORY = [
    ("/api/v1/history/readings/", {"camera": "dock-1"}),
    ("/api/v1/history/status-changes/", {"camera": "dock-1"}),
    ("/api/v1/history/stockouts/", {}),
    ("/cameras/dock-1/trends/", {}),
    ("/cameras/dock-1/trends/data/", {}),
    ("/cameras/dock-1/readings.csv", {}),
    ("/reports/stockouts/", {}),
    ("/reports/stockouts/", {"format": "csv"}),
]
EDGES = [
    ("9999-12-31", "9999-12-31"),
    ("9999-12-30", "9999-12-31"),
    ("0001-01-01", "0001-01-01"),
    ("0001-01-01", "0001-01-02"),
    ("0001-01-01T00:00:00+14:00", "0001-01-02T00:00:00+14:00"),
    ("9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59-11:00"),
    ("9999-12-31T23:00:00", "9999-12-31T23:59:59"),
]


@pytest.fixture
def viewer(django_user_model, camera_with_key):
    camera_with_key()
    user = django_user_model.objects.create_user("olga", password="x")
    user.user_permissions.add(Permission.objects.get(codename="view_stockstate"))
    client = Client(raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("url, params", HISTORY)
def test_dates_at_the_ends_of_the_calendar_answer_400_not_500(viewer, url, params):
    for start, end in EDGES:
        response = viewer.get(url, {**params, "start": start, "end": end})
        assert response.status_code == 400, (url, start, end, response.status_code)
        assert b"between" in response.content  # says why, as every other range error does


DEEP = "[" * 50000 + "]" * 50000
DEEPISH = "[" * 500 + "]" * 500  # parses, but nothing of ours nests that deep


@pytest.fixture
def manager(django_user_model, camera_with_key):
    from detection.models import StockState
    from detection.ingest.services import frame_record
    from tests.detection.test_zones import frame
    from tests.roles import role_group

    camera, _ = camera_with_key()
    StockState.objects.filter(camera=camera).update(critical_level=3, target_capacity=10)
    event = frame_record(camera=camera, result=frame(left=2, right=6))
    user = django_user_model.objects.create_user("mara", password="x")
    for role in ("Managers", "Operators"):
        user.groups.add(role_group(role))
    client = Client(raise_request_exception=False)
    client.force_login(user)
    client.event_id = event.pk
    return client


@pytest.mark.django_db
@pytest.mark.parametrize("body", [DEEP, DEEPISH, '{"zones": ' + DEEP + "}", '{"zones": ' + DEEPISH + "}"])
def test_deeply_nested_json_on_the_zones_api_is_a_400(manager, body):
    response = manager.put("/api/v1/cameras/dock-1/zones/", body, content_type="application/json")
    assert response.status_code == 400, response.content[:200]
    assert "detail" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("body", [DEEP, DEEPISH, '{"correct_count": 3, "note": ' + DEEP + "}"])
def test_deeply_nested_json_on_the_flag_api_is_a_400(manager, body):
    response = manager.post(f"/api/v1/events/{manager.event_id}/flag/", body, content_type="application/json")
    assert response.status_code == 400, response.content[:200]
    assert "detail" in response.json()


@pytest.mark.django_db
@pytest.mark.parametrize("zones", [DEEP, DEEPISH])
def test_deeply_nested_json_in_the_dashboards_zones_form_is_refused_with_a_reason(manager, zones):
    response = manager.post("/cameras/dock-1/zones/", {"zones": zones}, HTTP_HX_REQUEST="true")
    assert response.status_code == 422
    assert b"not valid JSON" in response.content
