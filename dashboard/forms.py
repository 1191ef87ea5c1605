from __future__ import annotations

from django import forms
from django.conf import settings


class ThresholdsForm(forms.Form):
    """Shape checks only; the business rule (critical < target) lives in stock_thresholds_update."""

    critical_level = forms.IntegerField(min_value=0, label="Critical level")
    target_capacity = forms.IntegerField(min_value=1, label="Target capacity")
    smoothing_window = forms.IntegerField(min_value=1, max_value=settings.ACTIVITY_LOG_SIZE, label="Smoothing (frames)")
