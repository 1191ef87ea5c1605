"""Installed detector files; one is active at a time (detection/serving/versions.py)."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ModelVersion(models.Model):
    """A detector file installed by `manage.py model install` (or the admin); one is active at a time.

    Workers load the active one within seconds of a switch (detection/serving/runtime.py); with
    none active they use settings.MODEL_PATH, the bundled file.
    """

    name = models.CharField(max_length=120, help_text="A label for people, e.g. 'site-3 fine-tune 2026-11'.")
    file = models.FileField(upload_to="models/", max_length=255)
    sha256 = models.CharField(max_length=64, unique=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    input_size = models.PositiveIntegerField()
    classes = models.JSONField(default=dict, help_text="Class id -> name, from the file's metadata.")
    metadata = models.JSONField(default=dict, blank=True, help_text="The ONNX file's metadata properties.")
    evaluation = models.JSONField(default=dict, blank=True, help_text="Figures from ml.evaluate, if given.")
    installed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    installed_at = models.DateTimeField()
    is_active = models.BooleanField(default=False, editable=False)
    activated_at = models.DateTimeField(null=True, blank=True, editable=False)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    class Meta:
        ordering = ["-installed_at"]
        constraints = [
            models.UniqueConstraint(fields=["is_active"], condition=models.Q(is_active=True), name="one_active_model")
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sha256[:12]})"
