"""``python -m ml.site_data DIR --name SITE``: corrected YOLO labels kept as a site dataset.

The checks and the import live in detection/detector/site_data.py (shared with ``manage.py
import_labels``); this is the command line for ml/ work without the server.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from detection.detector import site_data
from detection.detector.site_data import DEFAULT_ROOT, InvalidLabels, import_site, site_name_for


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m ml.site_data", description=site_data.__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dir", type=Path)
    parser.add_argument("--name", help="site name (default: the folder's name)")
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="where site datasets live")
    parser.add_argument("--replace", action="store_true")
    args = parser.parse_args(argv)
    try:
        done = import_site(args.dir, name=args.name or site_name_for(args.dir), root=args.root, replace=args.replace)
    except InvalidLabels as exc:
        print(f"error: {exc}")
        return 1
    print(f"{done.images} image(s), {done.boxes} box(es) -> {done.folder} (family {done.family})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
