"""ml.check_dataset finds each kind of defect, and passes a clean dataset."""

from __future__ import annotations

import shutil

import pytest

from ml.check_dataset import main


def run(capsys, root) -> tuple[int, str]:
    code = main([str(root)])
    return code, capsys.readouterr().out


def test_clean_dataset_passes_with_a_summary(tiny_dataset, capsys):
    code, out = run(capsys, tiny_dataset)
    assert code == 0 and "OK: no errors" in out
    assert "train: 8 images" in out and "boxes per image" in out and "box size" in out


@pytest.mark.parametrize(
    ("defect", "message"),
    [
        ("missing_label", "no label file"),
        ("orphan_label", "label without an image"),
        ("malformed", "malformed line"),
        ("non_numeric", "non-numeric"),
        ("outside", "outside [0, 1]"),
        ("bad_class", "class id 3"),
        ("zero_size", "zero-size"),
        ("empty_image", "empty file"),
        ("corrupt_image", "not a readable image"),
        ("duplicate", "duplicate images"),
    ],
)
def test_each_defect_is_reported_and_fails(tiny_dataset, capsys, defect, message):
    images, labels = tiny_dataset / "images" / "train", tiny_dataset / "labels" / "train"
    if defect == "missing_label":
        (labels / "train_0.txt").unlink()
    elif defect == "orphan_label":
        (labels / "ghost.txt").write_text("0 0.5 0.5 0.1 0.1\n")
    elif defect == "malformed":
        (labels / "train_0.txt").write_text("0 0.5 0.5 0.1\n")
    elif defect == "non_numeric":
        (labels / "train_0.txt").write_text("0 0.5 abc 0.1 0.1\n")
    elif defect == "outside":
        (labels / "train_0.txt").write_text("0 0.98 0.5 0.1 0.1\n")  # right edge at 1.03
    elif defect == "bad_class":
        (labels / "train_0.txt").write_text("3 0.5 0.5 0.1 0.1\n")
    elif defect == "zero_size":
        (labels / "train_0.txt").write_text("0 0.5 0.5 0 0.1\n")
    elif defect == "empty_image":
        (images / "train_0.jpg").write_bytes(b"")
    elif defect == "corrupt_image":
        (images / "train_0.jpg").write_bytes(b"\xff\xd8 not really a jpeg")
    elif defect == "duplicate":
        shutil.copy(images / "train_0.jpg", tiny_dataset / "images" / "val" / "copy.jpg")
        shutil.copy(labels / "train_0.txt", tiny_dataset / "labels" / "val" / "copy.txt")
    code, out = run(capsys, tiny_dataset)
    assert code == 1
    assert message in out
