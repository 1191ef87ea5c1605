"""Take corrected YOLO labels back as a site dataset for fine-tuning (detection/detector/site_data.py).

    python manage.py import_labels out/review --name dock-north          # -> ml/site_data/dock-north/
    python -m ml.train --name site-ft --model ml/reports/gpu512/best.pt --site ml/site_data/dock-north
"""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from detection.detector.site_data import DEFAULT_ROOT, InvalidLabels, import_site, site_name_for


class Command(BaseCommand):
    help = "Check corrected YOLO labels (class ids, coordinates, matching images) and keep them as a site dataset."

    def add_arguments(self, parser) -> None:
        parser.add_argument("dir", type=Path, help="Folder with images and YOLO label files (e.g. a CVAT export).")
        parser.add_argument("--name", help="Site name (default: the folder's name); family 'site:<name>'.")
        parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help=f"Where site datasets live ({DEFAULT_ROOT}).")
        parser.add_argument("--replace", action="store_true", help="Overwrite a site dataset of the same name.")

    def handle(self, *args, dir: Path, name: str | None, root: Path, replace: bool, **options) -> None:
        try:
            done = import_site(dir, name=name or site_name_for(dir), root=root, replace=replace)
        except InvalidLabels as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Imported {done.images} image(s) with {done.boxes} box(es) into {done.folder} "
                          f"(family {done.family}). Fine-tune with: python -m ml.train --site {done.folder} ...")
