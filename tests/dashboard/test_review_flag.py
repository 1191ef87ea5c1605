"""'Count is wrong' on the camera page, the flag API, and the review set in the admin."""

from __future__ import annotations

import pytest
from django.core.files.storage import default_storage

from detection.models import ReviewFrame
from tests.detection.test_review import media, stored_event  # noqa: F401  (fixture)

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def dock(media, camera_with_key):  # noqa: F811
    camera, _ = camera_with_key("dock-1")
    return camera


def flag_url(slug: str, event_id: int) -> str:
    return f"/cameras/{slug}/events/{event_id}/flag/"


@pytest.mark.django_db
class TestFlagForm:
    def test_an_operator_flags_a_count_and_sees_the_confirmation(self, client, viewer, dock):
        event = stored_event(dock, raw_count=2)
        client.force_login(viewer)
        form = client.get(flag_url("dock-1", event.pk), **HTMX)
        assert form.status_code == 200
        assert 'name="correct_count"' in form.content.decode() and "data-flag-dialog" in form.content.decode()
        done = client.post(flag_url("dock-1", event.pk), {"correct_count": "5", "note": "two behind"}, **HTMX)
        assert done.status_code == 200
        assert "kept for review with the right count" in done.content.decode()
        frame = ReviewFrame.objects.get()
        assert (frame.correct_count, frame.model_count, frame.note, frame.flagged_by) == (5, 2, "two behind", viewer)

    def test_a_manager_may_flag_too(self, client, manager, dock):
        client.force_login(manager)
        response = client.post(flag_url("dock-1", stored_event(dock).pk), {"correct_count": "0"}, **HTMX)
        assert response.status_code == 200 and ReviewFrame.objects.count() == 1

    def test_without_javascript_the_form_posts_and_redirects_to_the_camera_page(self, client, viewer, dock):
        event = stored_event(dock)
        client.force_login(viewer)
        assert "<main" in client.get(flag_url("dock-1", event.pk)).content.decode()  # a page of its own
        response = client.post(flag_url("dock-1", event.pk), {"correct_count": "4"})
        assert response.status_code == 302 and response["Location"].startswith("/cameras/dock-1/")

    @pytest.mark.parametrize("count, message", [("-2", "greater than or equal to 0"), ("abc", "whole number"),
                                                ("10001", "less than or equal to 10000")])
    def test_a_bad_count_is_answered_422_with_the_form_and_its_error(self, client, viewer, dock, count, message):
        client.force_login(viewer)
        response = client.post(flag_url("dock-1", stored_event(dock).pk), {"correct_count": count}, **HTMX)
        assert response.status_code == 422 and message in response.content.decode()
        assert not ReviewFrame.objects.exists()

    def test_an_event_without_a_kept_frame_is_refused_with_a_reason(self, client, viewer, dock):
        client.force_login(viewer)
        response = client.post(flag_url("dock-1", stored_event(dock, with_image=False).pk), {"correct_count": "3"},
                               **HTMX)
        assert response.status_code == 422 and "no stored frame" in response.content.decode()

    def test_an_event_of_another_camera_is_refused(self, client, viewer, dock, camera_with_key):
        camera_with_key("yard-1")
        client.force_login(viewer)
        response = client.post(flag_url("yard-1", stored_event(dock).pk), {"correct_count": "3"}, **HTMX)
        assert response.status_code == 422 and "another camera" in response.content.decode()

    def test_a_trimmed_event_is_a_404(self, client, viewer, dock):
        client.force_login(viewer)
        assert client.post(flag_url("dock-1", 999999), {"correct_count": "3"}, **HTMX).status_code == 404

    def test_people_without_the_permission_are_refused(self, client, nobody, auditor, dock):
        event = stored_event(dock)
        for user in (nobody, auditor):  # no role at all; a role that may look but not flag
            client.force_login(user)
            assert client.post(flag_url("dock-1", event.pk), {"correct_count": "3"}).status_code == 403
        client.logout()
        response = client.post(flag_url("dock-1", event.pk), {"correct_count": "3"})
        assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
        assert not ReviewFrame.objects.exists()

    def test_the_camera_page_offers_the_button_only_to_those_who_may_flag(self, client, viewer, auditor, dock):
        event = stored_event(dock)
        client.force_login(viewer)
        page = client.get("/cameras/dock-1/").content.decode()
        assert f'href="{flag_url("dock-1", event.pk)}"' in page and "Count is wrong" in page
        client.force_login(auditor)
        assert "Count is wrong" not in client.get("/cameras/dock-1/").content.decode()


@pytest.mark.django_db
class TestFlagApi:
    def test_an_operator_flags_through_the_api(self, client, viewer, dock):
        event = stored_event(dock, raw_count=2)
        client.force_login(viewer)
        response = client.post(f"/api/v1/events/{event.pk}/flag/", {"correct_count": 6, "note": "recount"},
                               content_type="application/json")
        assert response.status_code == 201, response.content
        assert response.json() | {"review_id": 0} == {
            "review_id": 0, "event_id": event.pk, "camera": "dock-1", "reason": "flagged", "model_count": 2,
            "correct_count": 6, "note": "recount"}

    def test_refusals_carry_a_detail(self, client, viewer, nobody, dock):
        event = stored_event(dock, with_image=False)
        client.force_login(viewer)
        bad = client.post(f"/api/v1/events/{event.pk}/flag/", {"correct_count": 3}, content_type="application/json")
        assert bad.status_code == 400 and "no stored frame" in bad.json()["detail"]
        negative = client.post(f"/api/v1/events/{event.pk}/flag/", {"correct_count": -1},
                               content_type="application/json")
        assert negative.status_code == 400 and "correct_count" in negative.json()["detail"]
        assert client.post("/api/v1/events/999999/flag/", {"correct_count": 1},
                           content_type="application/json").status_code == 404
        client.force_login(nobody)
        assert client.post(f"/api/v1/events/{event.pk}/flag/", {"correct_count": 3},
                           content_type="application/json").status_code == 403
        client.logout()
        assert client.post(f"/api/v1/events/{event.pk}/flag/", {"correct_count": 3},
                           content_type="application/json").status_code == 403

    def test_it_is_in_the_openapi_schema(self, client, viewer):
        client.force_login(viewer)
        schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
        operation = schema["paths"]["/api/v1/events/{event_id}/flag/"]["post"]
        assert operation["operationId"] == "event_flag" and {"201", "400", "403", "404"} <= set(operation["responses"])


@pytest.mark.django_db
class TestAdmin:
    def test_managers_see_the_listing_with_thumbnails_operators_do_not(self, client, manager, viewer, dock):
        from django.contrib.auth.models import Group

        frame = ReviewFrame.objects.get(pk=self._flag(dock))
        for user in (manager, viewer):
            user.is_staff = True
            user.save()
        client.force_login(manager)
        listing = client.get("/admin/detection/reviewframe/").content.decode()
        assert f'src="/review/{frame.pk}/image"' in listing and "behind" in listing
        image = client.get(f"/review/{frame.pk}/image")
        assert image.status_code == 200 and image.content == default_storage.open(frame.image.name).read()
        client.force_login(viewer)
        assert client.get("/admin/detection/reviewframe/").status_code == 403
        assert client.get(f"/review/{frame.pk}/image").status_code == 403
        assert Group.objects.get(name="Managers").permissions.filter(codename="delete_reviewframe").count() == 0

    def test_a_superuser_delete_removes_the_file(self, client, dock, media, django_user_model,  # noqa: F811
                                                 django_capture_on_commit_callbacks):
        frame = ReviewFrame.objects.get(pk=self._flag(dock))
        admin = django_user_model.objects.create_superuser("root", password="x")
        client.force_login(admin)
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/admin/detection/reviewframe/", {
                "action": "delete_selected", "_selected_action": [frame.pk], "post": "yes"})
        assert response.status_code == 302
        assert not ReviewFrame.objects.exists() and not (media / frame.image.name).exists()

    @staticmethod
    def _flag(camera) -> int:
        from detection.review.services import review_flag

        return review_flag(event=stored_event(camera), correct_count=3, note="behind the pallet").pk
