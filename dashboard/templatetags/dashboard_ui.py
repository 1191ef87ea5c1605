"""Small presentation helpers for the dashboard templates: status colours, ISO times, sparklines.

Tailwind scans this file (tailwind.config.js), so every class name here must appear literally.
"""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils.html import format_html

register = template.Library()

# Colour always comes with the status word, so it never carries meaning alone (colour-blind users,
# grey-scale wall screens).
STATUS_STYLES = {
    "CRITICAL": {"badge": "bg-red-600 text-white", "bar": "bg-red-500", "ring": "ring-red-500/60", "line": "#ef4444"},
    "WARNING": {"badge": "bg-amber-400 text-slate-950", "bar": "bg-amber-400", "ring": "ring-amber-400/60",
                "line": "#f59e0b"},
    "FULL": {"badge": "bg-emerald-700 text-white", "bar": "bg-emerald-500", "ring": "ring-emerald-500/50",
             "line": "#10b981"},
    "WAITING": {"badge": "bg-slate-500 text-white", "bar": "bg-slate-500", "ring": "ring-slate-600/40",
                "line": "#94a3b8"},
    "OFFLINE": {"badge": "bg-slate-600 text-slate-100", "bar": "bg-slate-600", "ring": "ring-slate-500/60",
                "line": "#94a3b8"},
    # A camera problem, not a stock level: red text on dark red, the bar greyed like OFFLINE.
    "FAULT": {"badge": "bg-red-950 text-red-200", "bar": "bg-slate-600", "ring": "ring-red-500/60",
              "line": "#94a3b8"},
}


@register.filter
def status_class(status: str, part: str = "badge") -> str:
    return STATUS_STYLES.get(str(status), STATUS_STYLES["WAITING"])[part]


@register.filter
def iso(value: datetime | None) -> str:
    """Machine time for <time datetime>; the browser formats it in the viewer's own time zone."""
    return value.isoformat(timespec="seconds") if value else ""


@register.simple_tag
def sparkline(counts: list[int], status: str = "WAITING", *, target: int | None = None,
              width: int = 160, height: int = 36) -> str:
    """An inline SVG polyline of recent counts (oldest left), scaled to max(counts, target).

    Server-rendered so the wall screen needs no chart library and no CDN.
    """
    if len(counts) < 2:
        return format_html(
            '<svg class="sparkline" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
            'aria-label="Not enough frames for a trend yet"><line x1="0" y1="{y}" x2="{w}" y2="{y}" '
            'stroke="#334155" stroke-dasharray="3 3"/></svg>',
            w=width, h=height, y=height - 2,
        )
    top = max(max(counts), target or 0, 1)
    pad = 2
    step = (width - 2 * pad) / (len(counts) - 1)

    def y(value: float) -> float:
        return round(height - pad - (height - 2 * pad) * value / top, 1)

    points = " ".join(f"{round(pad + i * step, 1)},{y(c)}" for i, c in enumerate(counts))
    target_line = ""
    if target and target <= top:
        target_line = format_html(
            '<line x1="0" y1="{y}" x2="{w}" y2="{y}" stroke="#475569" stroke-dasharray="2 3"/>', y=y(target), w=width
        )
    return format_html(
        '<svg class="sparkline" viewBox="0 0 {w} {h}" width="{w}" height="{h}" role="img" '
        'aria-label="Last {n} counts: {label}">{target}<polyline fill="none" stroke="{color}" stroke-width="2" '
        'stroke-linejoin="round" stroke-linecap="round" points="{points}"/>'
        '<circle cx="{cx}" cy="{cy}" r="2.5" fill="{color}"/></svg>',
        w=width, h=height, n=len(counts), label=", ".join(map(str, counts)), target=target_line,
        color=status_class(status, "line"), points=points, cx=round(pad + (len(counts) - 1) * step, 1),
        cy=y(counts[-1]),
    )


@register.filter
def fill_percent(card) -> int:
    """Bar width: the smoothed count (the one the status follows) against the target, capped at 100."""
    count, target = card.smoothed_count, card.target_capacity
    if not count or target <= 0:
        return 0
    return min(100, round(100 * count / target))


@register.simple_tag
def view_query(view, **changes: str) -> str:
    """The dashboard's URL query for `view` with some parts changed (dashboard/triage.py)."""
    return view.query(**changes)


THRESHOLD_FIELDS = (
    ("critical_level", "Critical level (≤)"),
    ("target_capacity", "Target (≥)"),
    ("smoothing_window", "Smoothing (frames)"),
)


@register.simple_tag
def threshold_fields(card, form=None) -> list[tuple[str, str, object]]:
    """(name, label, value) for the settings form: what the user typed after an error, else the saved values."""
    bound = form if getattr(form, "is_bound", False) else None
    return [
        (name, label, bound.data.get(name) if bound is not None else getattr(card, name))
        for name, label in THRESHOLD_FIELDS
    ]


__all__ = ["fill_percent", "iso", "sparkline", "status_class", "threshold_fields", "view_query"]
