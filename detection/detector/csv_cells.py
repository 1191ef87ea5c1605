"""CSV cells that a spreadsheet will not run as formulas (OWASP's CSV-injection rule).

A text cell starting with = + - @ tab or carriage return is opened by Excel/LibreOffice/Sheets as a
formula (`=HYPERLINK("http://evil.example/","click")`); a leading apostrophe makes it plain text.
Numbers are written as they are (a negative number is not a formula). No Django: the review export
(detection.review.export) and the site datasets (detection.detector.site_data, shared with ml/) use
this one rule."""

from __future__ import annotations

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> object:
    if value is None:
        return ""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return value
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
