"""Zones are validated as they are stored (6 decimals): whatever is accepted can be sent back as it
is, and a stored zone never makes a threshold save fail."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from detection.models import StockState
from detection.stock.services import stock_thresholds_update
from detection.stock.zones import zones_validate
from tests.roles import role_group

pytestmark = pytest.mark.django_db

NEAR_DUPLICATE = [[[0.1, 0.1], [0.10000001, 0.1], [0.9, 0.9], [0.1, 0.9]]]


def test_points_that_round_to_the_same_stored_point_are_refused():
    with pytest.raises(ValidationError) as caught:
        zones_validate(NEAR_DUPLICATE)
    assert "points 1 and 2 are the same point" in caught.value.messages[0]


@pytest.mark.parametrize("zone, reason", [
    ([[0.2, 0.2], [0.20005, 0.2], [0.5, 0.8]], "same point"),  # 0.05 px apart on a 1000 px frame
    ([[0.2, 0.2], [0.2000001, 0.2000001], [0.2000002, 0.2]], "same point"),  # all three one point when stored
    ([[0.2, 0.2], [0.6, 0.2], [0.4, 0.2000000001]], "one line"),  # a triangle only before rounding
    ([[0.2, 0.2], [10 ** 400, 0.2], [0.4, 0.6]], "within 0..1"),  # no OverflowError
])
def test_degenerate_zones_are_refused_with_a_reason(zone, reason):
    with pytest.raises(ValidationError) as caught:
        zones_validate([zone])
    assert reason in " ".join(caught.value.messages)


def test_what_a_manager_gets_back_can_be_put_back_as_it_is(client, django_user_model, camera_with_key):
    camera_with_key(slug="round-trip")
    user = django_user_model.objects.create_user("mara", password="x")
    user.groups.add(role_group("Managers"))
    client.force_login(user)
    url = "/api/v1/cameras/round-trip/zones/"
    sent = [[[0.1234567, 0.1], [0.9, 0.1000004], [0.9, 0.9], [0.1, 0.9]]]
    assert client.put(url, {"zones": sent}, content_type="application/json").status_code == 200
    got = client.get(url).json()["zones"]
    assert client.put(url, {"zones": got}, content_type="application/json").status_code == 200
    assert client.put(url, {"zones": NEAR_DUPLICATE}, content_type="application/json").status_code == 400


def test_a_stored_zone_never_makes_a_threshold_save_fail(camera_with_key):
    camera, _ = camera_with_key(slug="old-zone")
    # A zone stored before validation ran on rounded points: a duplicate point.
    StockState.objects.filter(camera=camera).update(zones=[[[0.1, 0.1], [0.1, 0.1], [0.9, 0.9], [0.1, 0.9]]])
    state = stock_thresholds_update(camera=camera, critical_level=2, target_capacity=9)
    assert (state.critical_level, state.target_capacity) == (2, 9)


def test_a_new_smoothing_window_smooths_over_the_kept_counts_at_once(camera_with_key):
    from detection.ingest.services import frame_record
    from tests.detection.test_zones import frame

    camera, _ = camera_with_key(slug="window", critical=3, target=15, window=1)
    for count in (4, 4, 4, 4, 0):
        frame_record(camera=camera, result=frame(left=count, right=0))
    assert (StockState.objects.get(camera=camera).smoothed_count, StockState.objects.get(camera=camera).count_status) \
        == (0, "CRITICAL")
    state = stock_thresholds_update(camera=camera, critical_level=3, target_capacity=15, smoothing_window=5)
    # The median of the last 5 kept counts, now, not the old window's 0 until the next frame.
    assert (state.smoothed_count, state.count_status) == (4, "WARNING")
    stored = StockState.objects.get(camera=camera)
    assert (stored.smoothed_count, stored.count_status) == (4, "WARNING")
