"""Pull sources in the admin: the URL (credentials in it are taken out), a write-only password, and
the last failure in words. Saves go through pull_source_save (address checks, encryption)."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from detection.pull.models import PullSource
from detection.pull.services import pull_source_save


class PullSourceForm(forms.ModelForm):
    password = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False),
        help_text="Stored encrypted and never shown again; leave blank to keep the saved one.")

    class Meta:
        model = PullSource
        fields = ("camera", "url", "auth", "username", "password", "interval_s", "timeout_s", "tls_verify", "enabled")

    def clean(self):
        data = super().clean()
        if data.get("camera") is None or not data.get("url"):
            return data
        try:  # checked without saving; saved in save_model through the service
            from detection.pull.services import source_address_validate, source_url_parse

            source_address_validate(source_url_parse(data["url"]).url)
        except ValidationError as exc:
            self.add_error("url", exc)
        return data


@admin.register(PullSource)
class PullSourceAdmin(admin.ModelAdmin):
    form = PullSourceForm
    list_display = ("camera", "kind", "url", "interval_s", "enabled", "last_ok_at", "last_error", "failures")
    list_filter = ("kind", "enabled")
    search_fields = ("camera__slug", "camera__name", "url")
    readonly_fields = ("kind", "last_ok_at", "last_error", "last_error_at", "failures", "lease_owner", "lease_until")

    def save_model(self, request, obj, form, change) -> None:
        data = form.cleaned_data
        saved = pull_source_save(camera=data["camera"], url=data["url"], auth=data["auth"],
                                 username=data["username"], password=data["password"] or None,
                                 interval_s=data["interval_s"], timeout_s=data["timeout_s"],
                                 tls_verify=data["tls_verify"], enabled=data["enabled"])
        obj.pk = saved.pk
