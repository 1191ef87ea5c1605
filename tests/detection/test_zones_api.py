"""`/api/v1/cameras/<slug>/zones/`: managers replace a camera's zones and the count follows at once;
every other caller gets a clear refusal and nothing changes."""

from __future__ import annotations

import pytest

from detection.ingest.services import frame_record
from detection.models import StockState
from tests.detection.test_zones import LEFT_HALF, frame
from tests.roles import role_group

pytestmark = pytest.mark.django_db


@pytest.fixture
def dock(camera_with_key):
    camera, _ = camera_with_key(slug="zones-api")
    StockState.objects.update_or_create(camera=camera, defaults={"critical_level": 3, "target_capacity": 10,
                                                                 "smoothing_window": 1})
    frame_record(camera=camera, result=frame(left=2, right=6))  # 8 in the whole frame: WARNING
    return camera


def person(client, django_user_model, *roles: str):
    user = django_user_model.objects.create_user(f"user-{'-'.join(roles) or 'none'}", password="x")
    for role in roles:
        user.groups.add(role_group(role))
    client.force_login(user)
    return client


def url(slug: str = "zones-api") -> str:
    return f"/api/v1/cameras/{slug}/zones/"


def test_a_manager_replaces_the_zones_and_the_count_and_status_follow_at_once(client, django_user_model, dock):
    manager = person(client, django_user_model, "Managers")
    response = manager.put(url(), {"zones": LEFT_HALF}, content_type="application/json")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["camera"] == "zones-api" and body["zones"] == LEFT_HALF
    assert (body["raw_count"], body["smoothed_count"], body["status"]) == (2, 2, "CRITICAL")
    assert manager.get(url()).json()["zones"] == LEFT_HALF
    # ...and the next frame is counted in the zone too.
    frame_record(camera=dock, result=frame(left=5, right=6))
    assert manager.get(url()).json()["raw_count"] == 5
    # An empty list is the whole frame again.
    assert manager.put(url(), {"zones": []}, content_type="application/json").json()["raw_count"] == 11


@pytest.mark.parametrize("payload, reason", [
    ({"zones": [[[0.1, 0.1], [0.9, 0.1]]]}, "at least 3 points (got 2)"),
    ({"zones": [[[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]]}, "crosses itself"),
    ({"zones": [[[0.1, 0.1], [1.5, 0.1], [0.5, 0.9]]]}, "within 0..1"),
    ({"polygons": []}, 'Send {"zones": [...]}'),
])
def test_invalid_zones_get_a_400_with_the_reason_and_change_nothing(client, django_user_model, dock, payload,
                                                                     reason):
    manager = person(client, django_user_model, "Managers")
    response = manager.put(url(), payload, content_type="application/json")
    assert response.status_code == 400 and reason in response.json()["detail"], response.content
    state = StockState.objects.get(camera=dock)
    assert (state.zones, state.raw_count) == ([], 8)


def test_operators_may_read_but_not_change_zones(client, django_user_model, dock):
    operator = person(client, django_user_model, "Operators")
    assert operator.get(url()).json()["zones"] == []
    response = operator.put(url(), {"zones": LEFT_HALF}, content_type="application/json")
    assert response.status_code == 403 and "change stock state" in response.json()["detail"]
    assert StockState.objects.get(camera=dock).zones == []


def test_no_role_no_login_and_unknown_cameras_are_refused(client, django_user_model, dock):
    assert client.get(url()).status_code == 403  # not logged in
    nobody = person(client, django_user_model)
    assert nobody.get(url()).status_code == 403
    manager = person(client, django_user_model, "Managers")
    response = manager.get(url("no-such-dock"))
    assert response.status_code == 404 and "Unknown camera" in response.json()["detail"]
