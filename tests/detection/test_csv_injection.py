"""CSV files the product writes open in a spreadsheet as plain text: a cell a person or a file name
controls never runs as a formula (OWASP's rule: a leading apostrophe before = + - @ tab CR)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from detection.detector.csv_cells import csv_cell
from detection.review.services import review_flag
from tests.detection.test_review import media, stored_event  # noqa: F401  (fixture)

EVIL = '=HYPERLINK("http://evil.example/","click")'


@pytest.mark.parametrize("text", [EVIL, "+1+2", "-2+3", "@SUM(A1)", "\t=1", "\r=1"])
def test_formula_starts_are_made_text(text):
    assert csv_cell(text) == "'" + text


def test_other_cells_are_written_as_they_are():
    assert [csv_cell(v) for v in ("behind the pallet", 3, -1, 0.5, None, "")] == ["behind the pallet", 3, -1, 0.5, "", ""]


@pytest.mark.django_db
def test_a_note_in_review_csv_is_not_a_formula(media, camera_with_key, tmp_path):  # noqa: F811
    dock, _ = camera_with_key("dock-1")
    review_flag(event=stored_event(dock), correct_count=3, note=EVIL)
    call_command("export_review", str(tmp_path / "out"), "--format", "yolo")
    with (tmp_path / "out" / "review.csv").open(newline="") as fh:
        row, = csv.DictReader(fh)
    assert row["note"] == "'" + EVIL
    assert row["correct_count"] == "3" and row["camera"] == "dock-1"


@pytest.mark.django_db
def test_file_names_in_import_labels_manifest_are_not_formulas(media, camera_with_key, tmp_path):  # noqa: F811
    dock, _ = camera_with_key("dock-1")
    review_flag(event=stored_event(dock), correct_count=3)
    out = tmp_path / "out"
    call_command("export_review", str(out), "--format", "yolo")
    # A labeller's tool renamed the pair to a formula.
    image, = (out / "images" / "train").iterdir()
    label, = (out / "labels" / "train").iterdir()
    shutil.move(image, image.with_name("=1+2.jpg"))
    shutil.move(label, label.with_name("=1+2.txt"))
    shutil.rmtree(out / "cvat_yolo_1.1", ignore_errors=True)
    call_command("import_labels", str(out), "--name", "dock-north", "--root", str(tmp_path / "sites"))
    with (tmp_path / "sites" / "dock-north" / "manifest.csv").open(newline="") as fh:
        row, = csv.DictReader(fh)
    assert row["stem"] == "'=1+2"
    assert row["file"] == "images/train/=1+2.jpg"  # read by the training mix: a path, and not a formula
    for value in row.values():
        assert not value.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert Path(tmp_path / "sites" / "dock-north" / row["file"]).is_file()
