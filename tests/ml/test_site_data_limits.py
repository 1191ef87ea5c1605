"""import_labels refuses what it could not write back faithfully or should not take at all."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from detection.detector.site_data import MAX_BOXES_PER_IMAGE, InvalidLabels, check_label_text, collect, import_site
from tests.ml.conftest import make_dataset


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    source = make_dataset(tmp_path / "gen", train=2, val=0)
    out = tmp_path / "site"
    out.mkdir()
    for image in (source / "images" / "train").iterdir():
        shutil.copyfile(image, out / image.name)
        (out / "labels").mkdir(exist_ok=True)
        shutil.copyfile(source / "labels" / "train" / f"{image.stem}.txt", out / "labels" / f"{image.stem}.txt")
    return out


def test_a_box_too_small_to_be_written_is_refused():
    lines, errors = check_label_text("0 0.5 0.5 1e-30 0.2\n", "a.txt")
    assert not lines and "would be written as 0" in errors[0]


def test_what_it_writes_it_can_read_again(folder: Path, tmp_path: Path):
    (folder / "labels" / "train_0.txt").write_text("0 0.5 0.5 0.0000004 0.2\n0 0.5 0.5 0.2 0.2\n")
    with pytest.raises(InvalidLabels, match="would be written as 0"):
        import_site(folder, name="tiny", root=tmp_path / "sites")


def test_a_million_boxes_on_one_image_is_refused_at_once():
    text = "0 0.5 0.5 0.2 0.2\n" * 1_000_000
    lines, errors = check_label_text(text, "a.txt")
    assert errors == [f"a.txt: more than {MAX_BOXES_PER_IMAGE} boxes on one image"]


def test_an_image_linked_from_outside_the_folder_is_refused(folder: Path, tmp_path: Path):
    outside = tmp_path / "elsewhere.jpg"
    shutil.copyfile(folder / "train_0.jpg", outside)
    (folder / "train_0.jpg").unlink()
    (folder / "train_0.jpg").symlink_to(outside)
    with pytest.raises(InvalidLabels, match="train_0.jpg: a link to a file outside the folder"):
        collect(folder)
