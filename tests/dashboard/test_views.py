"""Dashboard pages and HTMX endpoints: who may see and change what, and what the partials show."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from detection.models import StockState
from devices.models import Camera
from devices.services import camera_create

pytestmark = pytest.mark.django_db


def thresholds_url(slug: str) -> str:
    return f"/cameras/{slug}/thresholds/"


class TestLoginRequired:
    @pytest.mark.parametrize("url", ["/", "/inspector/", "/partials/status/", "/partials/inventory/",
                                     "/partials/activity/", thresholds_url("dock-1")])
    def test_it_sends_anonymous_users_to_the_login_page(self, client, url):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/?next=")

    def test_the_login_page_renders(self, client):
        response = client.get("/accounts/login/")
        assert response.status_code == 200
        assert b'name="username"' in response.content


class TestRoleRequired:
    @pytest.mark.parametrize("url", ["/", "/partials/status/", "/partials/inventory/", "/partials/activity/",
                                     thresholds_url("dock-1")])
    def test_a_user_in_no_group_is_refused_and_told_why(self, client, nobody, camera_with_key, url):
        camera_with_key("dock-1")
        client.force_login(nobody)
        response = client.get(url)
        assert response.status_code == 403
        html = response.content.decode()
        assert "Operators" in html and "administrator" in html  # what to ask for
        assert 'id="camera-dock-1"' not in html and "thresholds-dock-1" not in html

    @pytest.mark.parametrize("role", ["viewer", "manager", "auditor"])
    def test_every_role_sees_the_dashboard(self, client, request, role):
        client.force_login(request.getfixturevalue(role))
        assert client.get("/").status_code == 200


class TestDashboardPage:
    def test_it_shows_a_card_per_active_camera_with_the_testability_contract(self, client, viewer,
                                                                           camera_with_key):
        camera_with_key("dock-1")
        hidden, _ = camera_create(slug="retired")
        Camera.objects.filter(pk=hidden.pk).update(is_active=False)
        client.force_login(viewer)
        html = client.get("/").content.decode()
        assert 'id="camera-dock-1"' in html
        assert 'id="camera-retired"' not in html  # inactive cameras are hidden
        assert 'data-field="status"' in html and ">WAITING<" in html
        assert 'data-field="count"' in html
        # One page, all parts: live socket, CSRF for htmx, vendored htmx (no CDN).
        assert 'ws-connect="/ws/dashboard/"' in html
        assert '"X-CSRFToken"' in html
        assert "/static/vendor/htmx-2." in html and "https://" not in html.split("<body")[0]

    def test_it_shows_offline_without_a_new_frame(self, client, viewer, camera_with_key):
        camera, _ = camera_with_key("dock-1")
        StockState.objects.filter(camera=camera).update(raw_count=9, smoothed_count=9, count_status="WARNING",
                                                        last_frame_at=timezone.now())
        Camera.objects.filter(pk=camera.pk).update(last_seen_at=timezone.now() - timedelta(hours=1))
        client.force_login(viewer)
        # The inventory partial is what the page polls every 30 s.
        html = client.get("/partials/inventory/", HTTP_HX_REQUEST="true").content.decode()
        assert ">OFFLINE<" in html and 'data-status="OFFLINE"' in html

    def test_a_camera_fault_shows_on_the_card_the_summary_and_the_log(self, client, viewer, camera_with_key):
        from detection.models import DetectionEvent

        camera, _ = camera_with_key("dock-1")
        reason = "Image too dark (brightness 3 of 255): lens covered or lights off?"
        now = timezone.now()
        StockState.objects.filter(camera=camera).update(raw_count=9, smoothed_count=9, count_status="WARNING",
                                                        last_frame_at=now, fault=reason, fault_since=now)
        Camera.objects.filter(pk=camera.pk).update(last_seen_at=now)
        DetectionEvent.objects.create(camera=camera, created_at=now, raw_count=0, smoothed_count=9, status="FAULT",
                                      fault=reason, inference_ms=1)
        client.force_login(viewer)
        html = client.get("/").content.decode()
        card = html.split('id="camera-dock-1"', 1)[1].split("</article>", 1)[0]
        assert 'data-status="FAULT"' in card and ">FAULT<" in card
        assert "lens covered" in card and "last good reading" in card
        assert 'data-field="count" class="text-5xl font-bold tabular-nums">9<' in card  # the stock reading stands
        assert 'data-field="faults">1 with a fault<' in html
        row = html.split('data-camera="dock-1"', 1)[1].split("</tr>", 1)[0]
        assert ">FAULT<" in row and "not counted" in row

    def test_it_renders_the_status_partial_alone_for_htmx(self, client, viewer, camera_with_key):
        camera_with_key("dock-1")
        client.force_login(viewer)
        html = client.get("/partials/status/", HTTP_HX_REQUEST="true").content.decode()
        assert html.lstrip().startswith('<div id="system-status"')
        assert "<html" not in html

    def test_activity_log_filters_by_camera(self, client, viewer, camera_with_key):
        from detection.models import DetectionEvent

        one, _ = camera_with_key("dock-1")
        two, _ = camera_with_key("dock-2")
        now = timezone.now()
        for camera, count in ((one, 11), (two, 22)):
            DetectionEvent.objects.create(camera=camera, created_at=now, raw_count=count, smoothed_count=count,
                                          status="WARNING", inference_ms=1)
        client.force_login(viewer)
        html = client.get("/partials/activity/?camera=dock-2").content.decode()
        assert 'data-camera="dock-2"' in html and 'data-camera="dock-1"' not in html
        html = client.get("/partials/activity/").content.decode()
        assert 'data-camera="dock-2"' in html and 'data-camera="dock-1"' in html

    def test_page_queries_do_not_grow_with_cameras(self, client, viewer, camera_with_key,
                                                   django_assert_max_num_queries):
        for index in range(6):
            camera_with_key(f"dock-{index}")
        client.force_login(viewer)
        client.get("/")  # session, permission caches
        with django_assert_max_num_queries(14):
            client.get("/")


class TestThresholds:
    def test_a_viewer_sees_read_only_values_and_cannot_post(self, client, viewer, camera_with_key):
        camera, _ = camera_with_key("dock-1", critical=3, target=15)
        client.force_login(viewer)
        html = client.get("/").content.decode()
        assert f'hx-post="{thresholds_url("dock-1")}"' not in html
        assert 'data-field="critical_level">3<' in html and 'data-field="target_capacity">15<' in html
        response = client.post(thresholds_url("dock-1"), {"critical_level": 1, "target_capacity": 2,
                                                          "smoothing_window": 1}, HTTP_HX_REQUEST="true")
        assert response.status_code == 403
        state = StockState.objects.get(camera=camera)
        assert (state.critical_level, state.target_capacity) == (3, 15)

    def test_a_manager_changes_thresholds_and_the_status_is_re_evaluated(self, client, manager, camera_with_key):
        camera, _ = camera_with_key("dock-1", critical=3, target=15)
        StockState.objects.filter(camera=camera).update(raw_count=8, smoothed_count=8, count_status="WARNING")
        client.force_login(manager)
        response = client.post(thresholds_url("dock-1"), {"critical_level": 10, "target_capacity": 30,
                                                          "smoothing_window": 5}, HTTP_HX_REQUEST="true")
        assert response.status_code == 200
        html = response.content.decode()
        assert 'id="thresholds-dock-1"' in html and "Saved" in html
        state = StockState.objects.get(camera=camera)
        assert (state.critical_level, state.target_capacity, state.smoothing_window) == (10, 30, 5)
        assert state.count_status == "CRITICAL"  # 8 <= 10 now

    @pytest.mark.parametrize("data,message", [
        ({"critical_level": 20, "target_capacity": 10, "smoothing_window": 3}, "must be lower than the target"),
        ({"critical_level": -1, "target_capacity": 10, "smoothing_window": 3}, "greater than or equal to 0"),
        ({"critical_level": 2, "target_capacity": 10, "smoothing_window": 99}, "less than or equal to 20"),
        ({"critical_level": "", "target_capacity": 10, "smoothing_window": 3}, "This field is required"),
    ])
    def test_invalid_values_come_back_inline_and_change_nothing(self, client, manager, camera_with_key,
                                                                 data, message):
        camera, _ = camera_with_key("dock-1", critical=3, target=15)
        client.force_login(manager)
        response = client.post(thresholds_url("dock-1"), data, HTTP_HX_REQUEST="true")
        assert response.status_code == 422
        html = response.content.decode()
        assert 'data-field="errors"' in html and message in html
        assert f'value="{data["target_capacity"]}"' in html  # what the user typed stays in the form
        state = StockState.objects.get(camera=camera)
        assert (state.critical_level, state.target_capacity) == (3, 15)

    def test_without_htmx_a_valid_post_redirects_back_to_the_dashboard(self, client, manager, camera_with_key):
        camera_with_key("dock-1")
        client.force_login(manager)
        response = client.post(thresholds_url("dock-1"), {"critical_level": 1, "target_capacity": 9,
                                                          "smoothing_window": 1})
        assert response.status_code == 302 and response["Location"] == "/#thresholds-dock-1"

    def test_unknown_camera_is_404(self, client, manager):
        client.force_login(manager)
        assert client.post(thresholds_url("nope"), {}).status_code == 404


class TestInspectorPage:
    def test_a_non_auditor_gets_403(self, client, viewer, manager):
        for user in (viewer, manager):
            client.force_login(user)
            assert client.get("/inspector/").status_code == 403

    def test_an_auditor_gets_the_page(self, client, auditor):
        client.force_login(auditor)
        response = client.get("/inspector/")
        assert response.status_code == 200
        assert b'id="dropzone"' in response.content and b"/static/dashboard/inspector.js" in response.content
