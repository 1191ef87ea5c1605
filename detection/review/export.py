"""Write the review set for a labelling tool, the model's boxes as pre-annotations
(`manage.py export_review`).

Three formats, each also with ``review.csv`` (the count a person gave, the note, the model's count):

- ``yolo``: Ultralytics YOLO detection layout (``data.yaml``, ``train.txt``, ``images/train``,
  ``labels/train``, ``classes.txt``), which CVAT imports as "Ultralytics YOLO Detection 1.0" and
  ``manage.py import_labels`` reads back; plus ``cvat_yolo_1.1/`` (``obj.data``, ``obj.names``,
  ``train.txt``, ``obj_train_data/*.txt``): zip that folder to upload the boxes as "YOLO 1.1"
  annotations into a CVAT task made from ``images/train``.
- ``coco``: ``annotations/instances_default.json`` (images, categories, annotations with pixel
  ``bbox`` [x, y, w, h] and the model's ``score``) beside ``images/``, as CVAT's "COCO 1.0" import
  expects.
- ``labelstudio``: ``tasks.json`` with ``predictions`` (``rectanglelabels`` results, x/y/width/height
  in percent of the image) and ``label_config.xml`` whose names match them (``label`` -> ``image``).
  Images are referenced as ``<image_url><file name>`` (default: Label Studio's local-files URL).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from django.utils import timezone
from PIL import Image

from detection.detector.csv_cells import csv_cell
from detection.review.models import ReviewFrame

CLASS_NAME = "package"
FORMATS = ("yolo", "coco", "labelstudio")
LS_FROM, LS_TO = "label", "image"
LS_DEFAULT_IMAGE_URL = "/data/local-files/?d=images/"
LABEL_CONFIG = f"""<View>
  <Image name="{LS_TO}" value="$image" zoom="true"/>
  <RectangleLabels name="{LS_FROM}" toName="{LS_TO}">
    <Label value="{CLASS_NAME}"/>
  </RectangleLabels>
  <Header value="Model counted $model_count; a person said $correct_count. $note"/>
</View>
"""


@dataclass(frozen=True)
class Exported:
    """One review frame written out."""

    frame: ReviewFrame
    file_name: str  # e.g. dock-1_000042.jpg
    width: int
    height: int
    boxes: list[tuple[float, float, float, float, float]]  # x1, y1, x2, y2 normalised, score


def _clamp(value: float) -> float:
    return min(max(float(value), 0.0), 1.0)


def _boxes(raw: Iterable) -> list[tuple[float, float, float, float, float]]:
    """Every box the model drew (in or out of counting zones: both are packages), clamped to the frame."""
    out = []
    for box in raw or []:
        x1, y1, x2, y2 = (_clamp(v) for v in box[:4])
        if x2 > x1 and y2 > y1:
            out.append((x1, y1, x2, y2, float(box[4]) if len(box) > 4 else 1.0))
    return out


def _write_image(frame: ReviewFrame, folder: Path) -> Exported:
    suffix = PurePosixPath(frame.image.name).suffix.lower() or ".jpg"
    file_name = f"{frame.camera.slug}_{frame.pk:06d}{suffix}"
    with frame.image.storage.open(frame.image.name, "rb") as fh:
        data = fh.read()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / file_name).write_bytes(data)
    width, height = frame.image_width, frame.image_height
    if not width or not height:  # older rows without a size: read it from the file
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    return Exported(frame=frame, file_name=file_name, width=width, height=height, boxes=_boxes(frame.boxes))


def _yolo_lines(item: Exported) -> str:
    return "".join(f"0 {(x1 + x2) / 2:.6f} {(y1 + y2) / 2:.6f} {x2 - x1:.6f} {y2 - y1:.6f}\n"
                   for x1, y1, x2, y2, _ in item.boxes)


def write_yolo(items: list[Exported], out: Path) -> None:
    labels, cvat = out / "labels" / "train", out / "cvat_yolo_1.1"
    (cvat / "obj_train_data").mkdir(parents=True, exist_ok=True)
    labels.mkdir(parents=True, exist_ok=True)
    for item in items:
        stem = Path(item.file_name).stem
        (labels / f"{stem}.txt").write_text(_yolo_lines(item))
        (cvat / "obj_train_data" / f"{stem}.txt").write_text(_yolo_lines(item))
    (out / "train.txt").write_text("".join(f"images/train/{item.file_name}\n" for item in items))
    (out / "data.yaml").write_text(f"path: .\ntrain: train.txt\nnames:\n  0: {CLASS_NAME}\n")
    (out / "classes.txt").write_text(f"{CLASS_NAME}\n")
    (cvat / "obj.names").write_text(f"{CLASS_NAME}\n")
    (cvat / "obj.data").write_text("classes = 1\nnames = obj.names\ntrain = train.txt\n")
    (cvat / "train.txt").write_text("".join(f"obj_train_data/{item.file_name}\n" for item in items))


def write_coco(items: list[Exported], out: Path) -> None:
    images, annotations = [], []
    for image_id, item in enumerate(items, start=1):
        frame = item.frame
        images.append({"id": image_id, "file_name": item.file_name, "width": item.width, "height": item.height,
                       "camera": frame.camera.slug, "reason": frame.reason, "model_count": frame.model_count,
                       "correct_count": frame.correct_count, "review_id": frame.pk})
        for x1, y1, x2, y2, score in item.boxes:
            x, y = x1 * item.width, y1 * item.height
            w, h = (x2 - x1) * item.width, (y2 - y1) * item.height
            annotations.append({"id": len(annotations) + 1, "image_id": image_id, "category_id": 1,
                                "bbox": [round(x, 2), round(y, 2), round(w, 2), round(h, 2)],
                                "area": round(w * h, 2), "iscrowd": 0, "segmentation": [],
                                "score": round(score, 4)})
    doc = {"info": {"description": "Smart Inventory Monitor review set", "date_created": timezone.now().isoformat()},
           "licenses": [], "categories": [{"id": 1, "name": CLASS_NAME, "supercategory": ""}],
           "images": images, "annotations": annotations}
    (out / "annotations").mkdir(parents=True, exist_ok=True)
    (out / "annotations" / "instances_default.json").write_text(json.dumps(doc, indent=1) + "\n")


def write_labelstudio(items: list[Exported], out: Path, image_url: str = LS_DEFAULT_IMAGE_URL) -> None:
    tasks = []
    for item in items:
        frame = item.frame
        result = [{
            "id": f"r{frame.pk}-{n}", "type": "rectanglelabels", "from_name": LS_FROM, "to_name": LS_TO,
            "original_width": item.width, "original_height": item.height, "image_rotation": 0,
            "value": {"x": round(x1 * 100, 4), "y": round(y1 * 100, 4), "width": round((x2 - x1) * 100, 4),
                      "height": round((y2 - y1) * 100, 4), "rotation": 0, "rectanglelabels": [CLASS_NAME]},
            "score": round(score, 4),
        } for n, (x1, y1, x2, y2, score) in enumerate(item.boxes)]
        scores = [box[4] for box in item.boxes]
        tasks.append({
            "data": {"image": f"{image_url}{item.file_name}", "camera": frame.camera.slug,
                     "frame_at": frame.frame_at.isoformat(), "reason": frame.reason,
                     "model_count": frame.model_count,
                     "correct_count": "" if frame.correct_count is None else frame.correct_count,
                     "note": frame.note, "review_id": frame.pk},
            "predictions": [{"model_version": frame.model_label or "bundled",
                             "score": round(sum(scores) / len(scores), 4) if scores else 0.0, "result": result}],
        })
    (out / "tasks.json").write_text(json.dumps(tasks, indent=1) + "\n")
    (out / "label_config.xml").write_text(LABEL_CONFIG)


def write_review_csv(items: list[Exported], out: Path) -> None:
    with (out / "review.csv").open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["file", "review_id", "camera", "reason", "frame_at", "model_count", "correct_count",
                         "note", "model", "boxes"])
        for item in items:
            f = item.frame
            # People type the notes: every text cell is made safe to open in a spreadsheet.
            writer.writerow(csv_cell(value) for value in [
                item.file_name, f.pk, f.camera.slug, f.reason, f.frame_at.isoformat(), f.model_count,
                f.correct_count, f.note, f.model_label, len(item.boxes)])


def review_export(*, frames: Iterable[ReviewFrame], fmt: str, out: Path,
                  image_url: str = LS_DEFAULT_IMAGE_URL) -> tuple[list[Exported], list[tuple[ReviewFrame, str]]]:
    """Write ``frames`` to ``out`` in ``fmt``; returns (written, [(frame, why) for those skipped because
    their image could not be read])."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}")
    out.mkdir(parents=True, exist_ok=True)
    image_dir = out / "images" / "train" if fmt == "yolo" else out / "images"
    items, skipped = [], []
    for frame in frames:
        try:
            items.append(_write_image(frame, image_dir))
        except Exception as exc:  # a missing local file, an S3 error: skip it, say so, export the rest
            skipped.append((frame, f"{type(exc).__name__}: {exc}"))
    if fmt == "yolo":
        write_yolo(items, out)
    elif fmt == "coco":
        write_coco(items, out)
    else:
        write_labelstudio(items, out, image_url)
    write_review_csv(items, out)
    return items, skipped
