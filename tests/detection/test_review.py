"""The review set (detection/review/services.py): a person marks a count wrong, the frame is copied and kept."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.utils import timezone
from PIL import Image

from detection.models import DetectionEvent, ReviewFrame, Status
from detection.review.services import is_low_confidence, review_flag, review_prune, review_sample

BOXES = [[0.1, 0.2, 0.3, 0.4, 0.91, True], [0.5, 0.5, 0.75, 0.9, 0.42, True]]


@pytest.fixture
def media(settings, tmp_path: Path) -> Path:
    """Storage in a folder of this test alone, so files can be counted. Files are deleted after
    commit: tests run the on_commit callbacks with django_capture_on_commit_callbacks."""
    root = tmp_path / "media"
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}}}
    settings.MEDIA_ROOT = root
    return root


def jpeg(width: int = 64, height: int = 48) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), (100, 90, 80)).save(out, "JPEG")
    return out.getvalue()


def stored_event(camera, *, raw_count: int = 2, boxes=None, with_image: bool = True, at=None) -> DetectionEvent:
    """An event as ingest leaves it: frame in storage, boxes normalised."""
    name = default_storage.save(f"frames/{camera.slug}/f.jpg", ContentFile(jpeg())) if with_image else ""
    return DetectionEvent.objects.create(
        camera=camera, created_at=at or timezone.now(), raw_count=raw_count, smoothed_count=raw_count,
        status=Status.CRITICAL, inference_ms=10, image=name, image_width=64, image_height=48,
        boxes=BOXES if boxes is None else boxes, model_label="package_detector.int8.onnx",
    )


def files_under(root: Path, folder: str) -> list[Path]:
    return sorted(p for p in (root / folder).rglob("*") if p.is_file()) if (root / folder).exists() else []


@pytest.mark.django_db
class TestFlag:
    def test_it_copies_the_frame_and_boxes_into_the_review_set(self, media, camera_with_key, django_user_model):
        camera, _ = camera_with_key()
        event = stored_event(camera)
        user = django_user_model.objects.create_user("olga")
        frame = review_flag(event=event, correct_count=5, note="two hidden behind", user=user, camera=camera)
        assert (frame.reason, frame.model_count, frame.correct_count, frame.flagged_by) == ("flagged", 2, 5, user)
        assert frame.boxes == BOXES and frame.model_label == "package_detector.int8.onnx"
        assert frame.image.name != event.image.name and frame.image.name.startswith(f"review/{camera.slug}/")
        assert (media / frame.image.name).read_bytes() == (media / event.image.name).read_bytes()

    @pytest.mark.parametrize("count, message", [(-1, "negative"), (10_001, "not a plausible"),
                                                ("many", "whole number"), (2.5, "whole number")])
    def test_it_refuses_counts_no_shelf_has(self, media, camera_with_key, count, message):
        camera, _ = camera_with_key()
        with pytest.raises(ValidationError, match=message):
            review_flag(event=stored_event(camera), correct_count=count)
        assert not ReviewFrame.objects.exists() and files_under(media, "review") == []

    def test_it_refuses_an_event_without_a_stored_frame(self, media, camera_with_key):
        camera, _ = camera_with_key()
        with pytest.raises(ValidationError, match="no stored frame"):
            review_flag(event=stored_event(camera, with_image=False), correct_count=3)

    def test_it_refuses_an_event_whose_file_is_already_gone(self, media, camera_with_key):
        # Trimmed from the log (file deleted) between opening the page and clicking.
        camera, _ = camera_with_key()
        event = stored_event(camera)
        default_storage.delete(event.image.name)
        with pytest.raises(ValidationError, match="could not be read"):
            review_flag(event=event, correct_count=3)
        assert not ReviewFrame.objects.exists()

    def test_it_refuses_an_event_of_another_camera(self, media, camera_with_key):
        dock, _ = camera_with_key("dock-1")
        yard, _ = camera_with_key("yard-1")
        with pytest.raises(ValidationError, match="another camera"):
            review_flag(event=stored_event(dock), correct_count=3, camera=yard)

    def test_flagging_again_keeps_one_copy_and_the_latest_count(self, media, camera_with_key):
        camera, _ = camera_with_key()
        event = stored_event(camera)
        review_flag(event=event, correct_count=5)
        review_flag(event=event, correct_count=6, note="recounted")
        frame = ReviewFrame.objects.get()
        assert (frame.correct_count, frame.note) == (6, "recounted")
        assert len(files_under(media, "review")) == 1

    def test_a_low_confidence_sample_is_upgraded_not_copied_twice(self, media, camera_with_key, settings):
        settings.REVIEW_SAMPLE_RATE, settings.REVIEW_LOW_CONFIDENCE = 1.0, 0.9
        camera, _ = camera_with_key()
        event = stored_event(camera)
        assert review_sample(event_id=event.pk).reason == "low_confidence"
        review_flag(event=event, correct_count=4)
        frame = ReviewFrame.objects.get()
        assert (frame.reason, frame.correct_count) == ("flagged", 4)
        assert len(files_under(media, "review")) == 1


@pytest.mark.django_db
class TestCap:
    def test_it_prunes_low_confidence_samples_first_with_their_files(self, media, camera_with_key, settings,
                                                                      django_capture_on_commit_callbacks):
        settings.REVIEW_SAMPLE_RATE, settings.REVIEW_LOW_CONFIDENCE, settings.REVIEW_MAX_FRAMES = 1.0, 0.9, 3
        camera, _ = camera_with_key()
        samples = [review_sample(event_id=stored_event(camera).pk) for _ in range(2)]
        with django_capture_on_commit_callbacks(execute=True):
            flags = [review_flag(event=stored_event(camera), correct_count=n) for n in (1, 2)]  # 4 > cap
        left = set(ReviewFrame.objects.values_list("id", flat=True))
        assert left == {samples[1].pk, *(f.pk for f in flags)}  # the oldest sample went
        assert not (media / samples[0].image.name).exists()
        assert len(files_under(media, "review")) == 3

    def test_unexported_flags_are_never_pruned_so_a_new_flag_is_refused(self, media, camera_with_key, settings,
                                                                         django_capture_on_commit_callbacks):
        settings.REVIEW_MAX_FRAMES = 2
        camera, _ = camera_with_key()
        first, second = (review_flag(event=stored_event(camera), correct_count=n) for n in (1, 2))
        with pytest.raises(ValidationError, match="review set is full"):
            review_flag(event=stored_event(camera), correct_count=3)
        assert ReviewFrame.objects.count() == 2 and len(files_under(media, "review")) == 2
        # Once exported, the oldest flag may go to make room.
        ReviewFrame.objects.filter(pk=first.pk).update(exported_at=timezone.now())
        with django_capture_on_commit_callbacks(execute=True):
            third = review_flag(event=stored_event(camera), correct_count=3)
        assert set(ReviewFrame.objects.values_list("id", flat=True)) == {second.pk, third.pk}
        assert not (media / first.image.name).exists()

    def test_prune_brings_a_lowered_cap_down(self, media, camera_with_key, settings,
                                             django_capture_on_commit_callbacks):
        settings.REVIEW_SAMPLE_RATE, settings.REVIEW_LOW_CONFIDENCE = 1.0, 0.9
        camera, _ = camera_with_key()
        for _ in range(4):
            review_sample(event_id=stored_event(camera).pk)
        settings.REVIEW_MAX_FRAMES = 1
        with django_capture_on_commit_callbacks(execute=True):
            assert review_prune() == 3
        assert ReviewFrame.objects.count() == 1 and len(files_under(media, "review")) == 1

    def test_a_camera_deleted_takes_its_review_files_along(self, media, camera_with_key,
                                                           django_capture_on_commit_callbacks):
        # A cascade no service sees (the admin deleting a camera): the receiver deletes the copies.
        camera, _ = camera_with_key()
        review_flag(event=stored_event(camera), correct_count=1)
        with django_capture_on_commit_callbacks(execute=True):
            camera.delete()
        assert files_under(media, "review") == [] and not ReviewFrame.objects.exists()


@pytest.mark.django_db
class TestSampling:
    def test_off_by_default_without_a_query(self, camera_with_key, django_assert_num_queries):
        camera, _ = camera_with_key()
        with django_assert_num_queries(0):
            assert review_sample(event_id=123) is None

    def test_only_frames_below_the_confidence_line_are_sampled(self, media, camera_with_key, settings):
        settings.REVIEW_SAMPLE_RATE, settings.REVIEW_LOW_CONFIDENCE = 1.0, 0.5
        camera, _ = camera_with_key()
        sure = stored_event(camera, boxes=[[0, 0, 0.1, 0.1, 0.9, True]])
        unsure = stored_event(camera, boxes=[[0, 0, 0.1, 0.1, 0.35, True], [0.2, 0.2, 0.3, 0.3, 0.4, True]])
        empty = stored_event(camera, boxes=[])
        assert review_sample(event_id=sure.pk) is None
        assert review_sample(event_id=empty.pk) is None  # no box says nothing about confidence
        assert review_sample(event_id=unsure.pk).reason == "low_confidence"

    def test_the_draw_decides_the_share(self, media, camera_with_key, settings):
        settings.REVIEW_SAMPLE_RATE, settings.REVIEW_LOW_CONFIDENCE = 0.25, 0.9
        camera, _ = camera_with_key()
        assert review_sample(event_id=stored_event(camera).pk, draw=0.3) is None
        assert review_sample(event_id=stored_event(camera).pk, draw=0.2) is not None

    def test_rule(self, settings):
        settings.REVIEW_LOW_CONFIDENCE = 0.5
        assert is_low_confidence([[0, 0, 1, 1, 0.4, True]]) and not is_low_confidence([[0, 0, 1, 1, 0.6, True]])
        assert not is_low_confidence([])


# --- Through the real ingest (real frames, the shipped model), locally and on S3 ------------------

from tests.detection.test_frames import frames, post, s3_storage  # noqa: E402,F401  (fixtures)


@pytest.mark.django_db
class TestWithIngest:
    def test_a_flagged_frame_survives_the_20_row_trim(self, camera_with_key, post, frames,  # noqa: F811
                                                      django_capture_on_commit_callbacks):
        camera, key = camera_with_key(slug="review-trim")
        body, = post(key, frames[:1], 1)
        event = DetectionEvent.objects.get(pk=body["event_id"])
        frame = review_flag(event=event, correct_count=body["count"] + 2, camera=camera)
        assert frame.boxes == event.boxes and len(frame.boxes) == body["count"] > 0
        post(key, frames[1:], 25)  # the flagged event and its own file leave the activity log
        assert not DetectionEvent.objects.filter(pk=event.pk).exists()
        assert not default_storage.exists(event.image.name)
        frame.refresh_from_db()
        assert frame.event is None and frame.correct_count == body["count"] + 2
        with default_storage.open(frame.image.name) as fh:
            assert fh.read() == frames[0]  # the copy, byte for byte

    def test_low_confidence_frames_are_sampled_during_ingest(self, camera_with_key, post, frames, settings):  # noqa: F811
        # Every frame with a box is below a line of 1.01, so with rate 1 every such frame is kept.
        settings.REVIEW_SAMPLE_RATE, settings.REVIEW_LOW_CONFIDENCE = 1.0, 1.01
        camera, key = camera_with_key(slug="review-sample")
        bodies = post(key, frames, 3)
        kept = ReviewFrame.objects.filter(camera=camera)
        assert sorted(kept.values_list("event_id", flat=True)) == sorted(b["event_id"] for b in bodies)
        assert {f.reason for f in kept} == {"low_confidence"} and all(f.boxes for f in kept)


@pytest.mark.django_db
def test_on_s3_the_copy_outlives_the_event_exports_and_is_deleted_with_its_row(
    s3_storage, camera_with_key, post, frames, tmp_path, django_capture_on_commit_callbacks,  # noqa: F811
):
    from django.core.management import call_command

    from detection.review.services import review_delete

    camera, key = camera_with_key(slug="review-s3")
    body, = post(key, frames[:1], 1)
    frame = review_flag(event=DetectionEvent.objects.get(pk=body["event_id"]), correct_count=7)
    post(key, frames[1:], 21)

    def keys(prefix: str) -> set[str]:
        listed = s3_storage.list_objects_v2(Bucket="frames-test", Prefix=f"site-1/{prefix}")
        return {item["Key"] for item in listed.get("Contents", [])}

    assert keys("review/") == {f"site-1/{frame.image.name}"}
    assert len(keys("frames/review-s3/")) == 20  # the flagged event's own file went with the trim
    call_command("export_review", str(tmp_path / "out"), "--format", "yolo")
    [image] = (tmp_path / "out" / "images" / "train").iterdir()
    assert image.read_bytes() == frames[0]
    with django_capture_on_commit_callbacks(execute=True):
        review_delete(frames=ReviewFrame.objects.all())
    assert keys("review/") == set()
