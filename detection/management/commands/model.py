"""Model versions from the command line (detection/serving/versions.py):

    python manage.py model install PATH [--name "site-3 fine-tune"] [--evaluation report.json] [--activate]
    python manage.py model list
    python manage.py model activate ID|SHA256-PREFIX|bundled
    python manage.py model rollback

A refused file (not ONNX, wrong input or output, no class names, blind on the sample frames, already
installed) prints one line on stderr and exits 1; nothing is stored and the served model is untouched.
Workers follow activate/rollback within MODEL_SWITCH_POLL_S seconds, without a restart.
"""

from __future__ import annotations

import json
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from detection.serving import versions as mv
from detection.serving.models import ModelVersion


class Command(BaseCommand):
    help = "Install, list, activate or roll back detector model versions."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        install = sub.add_parser("install", help="validate an ONNX file and store it as a version (not activated)")
        install.add_argument("path", type=Path)
        install.add_argument("--name", default="", help="a label for people (default: model name and version)")
        install.add_argument("--evaluation", type=Path, help="a JSON file of figures (e.g. from ml.evaluate)")
        install.add_argument("--activate", action="store_true", help="activate it once installed")
        install.add_argument("--by", default="", help="username recorded as installer/activator")
        sub.add_parser("list", help="installed versions, the active one marked *")
        activate = sub.add_parser("activate", help="serve a version (id, sha256 prefix, or 'bundled')")
        activate.add_argument("ref")
        activate.add_argument("--by", default="")
        rollback = sub.add_parser("rollback", help="serve the version that was active before the current one")
        rollback.add_argument("--by", default="")

    def handle(self, *args, action: str, **options) -> None:
        user = self._user(options.get("by", ""))
        try:
            getattr(self, f"_{action}")(user=user, **options)
        except mv.ModelRejected as exc:
            raise CommandError(str(exc)) from None

    @staticmethod
    def _user(username: str):
        if not username:
            return None
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user {username!r}")
        return user

    def _install(self, *, user, path: Path, name: str, evaluation: Path | None, activate: bool, **_) -> None:
        figures = None
        if evaluation is not None:
            try:
                figures = json.loads(evaluation.read_text())
            except (OSError, ValueError) as exc:
                raise CommandError(f"{evaluation}: not a readable JSON file ({exc})") from None
            if not isinstance(figures, dict):
                raise CommandError(f"{evaluation}: expected a JSON object")
        version = mv.model_install(path=path, name=name, evaluation=figures, user=user)
        self.stdout.write(f"Installed {mv.version_label(version)}: {version.input_size} px, "
                          f"classes {version.classes}, sha256 {version.sha256}, stored as {version.file.name}")
        self.stdout.write("Sample frames (labelled -> counted): " + ", ".join(
            f"{r['labelled']}->{r['counted']}" for r in version.evaluation.get("sample_frames", [])))
        if activate:
            self._activate(user=user, ref=str(version.pk))
        else:
            self.stdout.write(f"Not active yet: python manage.py model activate {version.pk}")

    def _list(self, **_) -> None:
        active = mv.active_version()
        self.stdout.write(f"{'  ' if active else '* '}bundled  {mv.settings.MODEL_PATH}")
        for version in ModelVersion.objects.order_by("pk"):
            mark = "* " if version.is_active else "  "
            activated = f"{version.activated_at:%Y-%m-%d %H:%M}" if version.activated_at else "-"
            self.stdout.write(f"{mark}{mv.version_label(version)}  sha256 {version.sha256[:12]}  "
                              f"installed {version.installed_at:%Y-%m-%d %H:%M} by {version.installed_by or '-'}"
                              f"  last activated {activated}")

    def _activate(self, *, user, ref: str, **_) -> None:
        version = mv.model_activate(version=mv.model_find(ref), user=user)
        self._switched(version)

    def _rollback(self, *, user, **_) -> None:
        self._switched(mv.model_rollback(user=user))

    def _switched(self, version: ModelVersion | None) -> None:
        label = mv.version_label(version) if version else f"bundled ({mv.settings.MODEL_PATH.name})"
        self.stdout.write(f"Active: {label} (committed {timezone.now().isoformat()}). "
                          f"Workers switch within {mv.settings.MODEL_SWITCH_POLL_S:g} s.")
