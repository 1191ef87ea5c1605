"""The label round trip: export_review writes the review set with the model's boxes as
pre-annotations; import_labels takes corrected YOLO labels back as a site dataset."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.core.files.storage import default_storage

from detection.models import ReviewFrame
from detection.review.services import review_flag
from tests.detection.test_review import BOXES, media, stored_event  # noqa: F401  (fixture)


@pytest.fixture
def flagged(media, camera_with_key):  # noqa: F811
    """Two flagged frames of dock-1 (64x48, two model boxes each) and one sample of yard-1."""
    dock, _ = camera_with_key("dock-1")
    yard, _ = camera_with_key("yard-1")
    frames = [review_flag(event=stored_event(dock), correct_count=n, note="behind the pallet") for n in (3, 4)]
    sample = review_flag(event=stored_event(yard), correct_count=0)
    ReviewFrame.objects.filter(pk=sample.pk).update(reason=ReviewFrame.Reason.LOW_CONFIDENCE, correct_count=None)
    return frames


def export(tmp_path: Path, fmt: str, *args: str) -> Path:
    out = tmp_path / f"export-{fmt}"
    call_command("export_review", str(out), "--format", fmt, *args)
    return out


@pytest.mark.django_db
class TestExport:
    def test_yolo_writes_images_and_label_lines_from_the_model_boxes(self, flagged, tmp_path):
        out = export(tmp_path, "yolo", "--camera", "dock-1")
        images = sorted(p.name for p in (out / "images" / "train").iterdir())
        assert images == [f"dock-1_{f.pk:06d}.jpg" for f in flagged]
        lines = (out / "labels" / "train" / f"dock-1_{flagged[0].pk:06d}.txt").read_text().splitlines()
        # [0.1, 0.2, 0.3, 0.4] -> centre (0.2, 0.3), size (0.2, 0.2)
        assert lines == ["0 0.200000 0.300000 0.200000 0.200000", "0 0.625000 0.700000 0.250000 0.400000"]
        assert "names:\n  0: package" in (out / "data.yaml").read_text()
        assert (out / "train.txt").read_text().splitlines()[0] == f"images/train/{images[0]}"
        cvat = out / "cvat_yolo_1.1"
        assert (cvat / "obj.names").read_text() == "package\n"
        assert "names = obj.names" in (cvat / "obj.data").read_text()
        assert (cvat / "obj_train_data" / f"dock-1_{flagged[0].pk:06d}.txt").read_text().splitlines() == lines
        with (out / "review.csv").open() as fh:
            rows = list(csv.DictReader(fh))
        assert [(r["model_count"], r["correct_count"], r["note"]) for r in rows] == [
            ("2", "3", "behind the pallet"), ("2", "4", "behind the pallet")]

    def test_coco_is_valid_with_pixel_boxes_and_scores(self, flagged, tmp_path):
        out = export(tmp_path, "coco")
        doc = json.loads((out / "annotations" / "instances_default.json").read_text())
        assert doc["categories"] == [{"id": 1, "name": "package", "supercategory": ""}]
        assert len(doc["images"]) == 3 and len(doc["annotations"]) == 6
        ids = {image["id"] for image in doc["images"]}
        assert all(a["image_id"] in ids and a["category_id"] == 1 for a in doc["annotations"])
        assert len({a["id"] for a in doc["annotations"]}) == 6
        first = doc["annotations"][0]
        assert first["bbox"] == [6.4, 9.6, 12.8, 9.6] and first["score"] == 0.91  # 64x48 px frame
        for image in doc["images"]:
            assert (out / "images" / image["file_name"]).is_file()
            assert (image["width"], image["height"]) == (64, 48)

    def test_labelstudio_predictions_are_in_percent_and_match_the_label_config(self, flagged, tmp_path):
        out = export(tmp_path, "labelstudio", "--reason", "flagged")
        tasks = json.loads((out / "tasks.json").read_text())
        assert len(tasks) == 2
        task = tasks[0]
        assert task["data"]["image"] == f"/data/local-files/?d=images/dock-1_{flagged[0].pk:06d}.jpg"
        assert (task["data"]["correct_count"], task["data"]["model_count"]) == (3, 2)
        [prediction] = task["predictions"]
        box = prediction["result"][0]
        assert (box["type"], box["from_name"], box["to_name"]) == ("rectanglelabels", "label", "image")
        assert box["value"] == {"x": 10.0, "y": 20.0, "width": 20.0, "height": 20.0, "rotation": 0,
                                "rectanglelabels": ["package"]}
        assert (box["original_width"], box["original_height"]) == (64, 48)
        config = (out / "label_config.xml").read_text()
        assert '<RectangleLabels name="label" toName="image">' in config and '<Image name="image"' in config

    def test_export_marks_frames_exported_so_the_cap_may_drop_them(self, flagged, tmp_path):
        export(tmp_path, "yolo", "--since", "2000-01-01")
        assert not ReviewFrame.objects.filter(exported_at__isnull=True).exists()
        # --not-exported then finds nothing new.
        out = export(tmp_path, "coco", "--not-exported")
        assert json.loads((out / "annotations" / "instances_default.json").read_text())["images"] == []

    def test_a_frame_whose_image_is_gone_is_skipped_and_named(self, flagged, tmp_path, capsys):
        default_storage.delete(flagged[0].image.name)
        out = export(tmp_path, "yolo")
        assert f"skipped review frame {flagged[0].pk}" in capsys.readouterr().err
        assert len(list((out / "images" / "train").iterdir())) == 2
        assert ReviewFrame.objects.get(pk=flagged[0].pk).exported_at is None

    def test_it_refuses_a_folder_with_files_in_it(self, flagged, tmp_path):
        (tmp_path / "busy").mkdir()
        (tmp_path / "busy" / "x").write_text("")
        with pytest.raises(CommandError, match="not empty"):
            call_command("export_review", str(tmp_path / "busy"), "--format", "yolo")


@pytest.mark.django_db
class TestRoundTrip:
    def test_an_export_corrected_in_a_tool_comes_back_as_a_site_dataset(self, flagged, tmp_path):
        out = export(tmp_path, "yolo", "--camera", "dock-1")
        # The labeller adds the package the model missed.
        label = out / "labels" / "train" / f"dock-1_{flagged[0].pk:06d}.txt"
        label.write_text(label.read_text() + "0 0.9 0.9 0.1 0.1\n")
        call_command("import_labels", str(out), "--name", "dock-north", "--root", str(tmp_path / "sites"))
        site = tmp_path / "sites" / "dock-north"
        assert len(list((site / "images" / "train").iterdir())) == 2
        assert len((site / "labels" / "train" / label.name).read_text().splitlines()) == 3
        with (site / "manifest.csv").open() as fh:
            assert {row["family"] for row in csv.DictReader(fh)} == {"site:dock-north"}

    def test_bad_labels_are_refused_with_every_bad_file_named(self, flagged, tmp_path):
        out = export(tmp_path, "yolo", "--camera", "dock-1")
        first, second = sorted((out / "labels" / "train").iterdir())
        first.write_text("1 0.5 0.5 0.2 0.2\n")
        second.write_text("0 320 240 50 50\n")
        with pytest.raises(CommandError) as caught:
            call_command("import_labels", str(out), "--name", "dock-north", "--root", str(tmp_path / "sites"))
        message = str(caught.value)
        assert f"{first.name}: line 1: class id '1'" in message
        assert f"{second.name}: line 1: centre (320.0, 240.0) outside 0..1" in message
        assert not (tmp_path / "sites" / "dock-north").exists()
