"""The ModelVersion admin: install a file through the add form (validated as by `manage.py model
install`), switch versions with actions. Only superusers install, switch or delete: a model decides
every count on every camera."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html

from detection.serving import versions as mv
from detection.serving.models import ModelVersion

FACT_FIELDS = ("file", "sha256", "size_bytes", "input_size", "classes", "metadata", "installed_by", "installed_at",
               "is_active", "activated_at", "activated_by")


class ModelVersionInstallForm(forms.ModelForm):
    upload = forms.FileField(label="ONNX file", help_text="Validated before it is stored (loads, one square "
                             "image input, class names, output shape, counts the sample frames); not activated.")

    class Meta:
        model = ModelVersion
        fields = ("name", "evaluation")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["name"].required = False
        self.fields["name"].help_text = "Default: the file name."
        self.facts: mv.ModelFacts | None = None
        self.candidate: Path | None = None

    def clean(self) -> dict:
        cleaned = super().clean()
        upload = cleaned.get("upload")
        if upload is None:
            return cleaned
        folder = Path(tempfile.mkdtemp(prefix="model-upload-"))
        path = folder / Path(upload.name).name
        with path.open("wb") as out:
            for chunk in upload.chunks():
                out.write(chunk)
        try:
            self.facts = mv.model_check(path)
        except mv.ModelRejected as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise forms.ValidationError({"upload": str(exc)}) from None
        self.candidate = path
        return cleaned

    def discard(self) -> None:
        if self.candidate is not None:
            shutil.rmtree(self.candidate.parent, ignore_errors=True)


def _bundled_summary() -> str:
    from detection.serving.runtime import ModelUnavailable, bundled_detector

    active = ModelVersion.objects.filter(is_active=True).first()
    try:
        detector = bundled_detector()
    except ModelUnavailable as exc:
        return f"Bundled model {mv.settings.MODEL_PATH.name}: {exc}"
    role = (f"served when no version is active (now: {mv.version_label(active)})" if active
            else "served now (no version is active)")
    return (f"Bundled model {mv.settings.MODEL_PATH.name}, version {detector.version}, {detector.input_size} px, "
            f"confidence {detector.conf:g} / NMS IoU {detector.iou:g} ({detector.threshold_source}): {role}. "
            "The action \"Serve the bundled model file\" switches back to it.")


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    list_display = ("name", "active", "tag", "short_sha", "input_size", "sample_error", "installed_at",
                    "installed_by", "activated_at", "activated_by")
    list_filter = ("is_active",)
    search_fields = ("name", "sha256")
    actions = ("activate", "rollback", "serve_bundled")

    def changelist_view(self, request, extra_context=None):
        # The bundled file is served whenever no version is active: say so above the list, with what it
        # counts with, so an empty list never reads as "no model".
        if request.method == "GET":
            messages.info(request, _bundled_summary())
        return super().changelist_view(request, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            kwargs["form"] = ModelVersionInstallForm
            kwargs["fields"] = ("name", "upload", "evaluation")
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request, obj=None):
        return ("name", "upload", "evaluation") if obj is None else ("name", *FACT_FIELDS, "evaluation")

    def get_readonly_fields(self, request, obj=None):
        return () if obj is None else FACT_FIELDS

    def save_model(self, request, obj, form, change) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        try:
            mv.model_install(path=form.candidate, name=obj.name, evaluation=obj.evaluation or None,
                             user=request.user, into=obj, facts=form.facts)
        finally:
            form.discard()

    # --- who may do what ---
    def has_add_permission(self, request) -> bool:
        return request.user.is_superuser

    def has_delete_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser and not (obj is not None and obj.is_active)

    def has_switch_permission(self, request) -> bool:
        return request.user.is_superuser

    def delete_model(self, request, obj) -> None:
        mv.model_delete(version=obj)

    def delete_queryset(self, request, queryset) -> None:
        for version in queryset:
            try:
                mv.model_delete(version=version)
            except mv.ModelRejected as exc:
                self.message_user(request, str(exc), messages.ERROR)

    # --- actions ---
    @admin.action(description="Activate the selected version (every worker within seconds)",
                  permissions=["switch"])
    def activate(self, request, queryset) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to activate.", messages.ERROR)
            return
        version = mv.model_activate(version=queryset.get(), user=request.user)
        self._switched(request, version)

    @admin.action(description="Roll back to the previously active version (selection ignored)",
                  permissions=["switch"])
    def rollback(self, request, queryset) -> None:
        try:
            self._switched(request, mv.model_rollback(user=request.user))
        except mv.ModelRejected as exc:
            self.message_user(request, str(exc), messages.ERROR)

    @admin.action(description="Serve the bundled model file (selection ignored)", permissions=["switch"])
    def serve_bundled(self, request, queryset) -> None:
        self._switched(request, mv.model_activate(version=None, user=request.user))

    def _switched(self, request, version: ModelVersion | None) -> None:
        label = mv.version_label(version) if version else "the bundled model file"
        self.message_user(request, f"Active: {label}. Workers switch within "
                          f"{mv.settings.MODEL_SWITCH_POLL_S:g} s.", messages.SUCCESS)

    # --- columns ---
    @admin.display(boolean=True, description="active", ordering="is_active")
    def active(self, obj: ModelVersion) -> bool:
        return obj.is_active

    @admin.display(description="version")
    def tag(self, obj: ModelVersion) -> str:
        return obj.metadata.get("version", "")

    @admin.display(description="sha256")
    def short_sha(self, obj: ModelVersion) -> str:
        return format_html('<span title="{}">{}</span>', obj.sha256, obj.sha256[:12])

    @admin.display(description="sample count MAE")
    def sample_error(self, obj: ModelVersion):
        return obj.evaluation.get("sample_count_mae", "")
