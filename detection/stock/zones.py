"""Counting zones: polygons on a camera's frame (coordinates normalised to 0..1); only boxes whose
centre lies inside one are counted. An empty list means the whole frame.

Pure functions, no models: the ingest (detection/stock/services.py) counts with them inside its
transaction, the zone update re-counts the stored boxes with them, forms and the admin validate
with them.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import ValidationError

from detection.detector import Detection

MAX_ZONES = 8
MAX_POINTS = 32
# Box coordinates are stored with 4 decimals: 0.1 px on a 1000 px frame, and small JSON.
DECIMALS = 4
# Zone points are stored with 6 decimals, and validated as stored: two points that differ only beyond
# the 6th decimal are one point once saved (and a polygon that is valid only before rounding is not).
ZONE_DECIMALS = 6
# Points closer than this (a tenth of a pixel on a 1000 px frame) count as the same point.
MIN_POINT_DISTANCE = 1e-4

Point = tuple[float, float]
Polygon = list[list[float]]


def zones_validate(value: Any) -> list[Polygon]:
    """The zones as stored ([[[x, y], ...], ...], floats), or ValidationError listing every problem.

    Each polygon needs 3 to MAX_POINTS points within 0..1, must not cross itself and must enclose
    an area; at most MAX_ZONES polygons.
    """
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise ValidationError("Zones must be a list of polygons, each a list of [x, y] points.")
    if len(value) > MAX_ZONES:
        raise ValidationError(f"At most {MAX_ZONES} zones per camera (got {len(value)}).")
    errors: list[str] = []
    zones: list[Polygon] = []
    for number, polygon in enumerate(value, start=1):
        try:
            zones.append(_polygon(polygon, number))
        except ValidationError as exc:
            errors.extend(exc.messages)
    if errors:
        raise ValidationError(errors)
    return zones


def _polygon(polygon: Any, number: int) -> Polygon:
    label = f"Zone {number}"
    if not isinstance(polygon, list):
        raise ValidationError(f"{label}: must be a list of [x, y] points.")
    if len(polygon) < 3:
        raise ValidationError(f"{label}: a zone needs at least 3 points (got {len(polygon)}).")
    if len(polygon) > MAX_POINTS:
        raise ValidationError(f"{label}: at most {MAX_POINTS} points (got {len(polygon)}).")
    points: list[Point] = []
    for index, point in enumerate(polygon, start=1):
        if (not isinstance(point, (list, tuple)) or len(point) != 2
                or not all(isinstance(c, (int, float)) and not isinstance(c, bool) for c in point)):
            raise ValidationError(f"{label}, point {index}: must be [x, y] with two numbers (got {point!r}).")
        try:
            x, y = float(point[0]), float(point[1])
        except OverflowError:  # an integer with hundreds of digits
            x = y = float("inf")
        if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
            raise ValidationError(
                f"{label}, point {index}: coordinates must lie within 0..1 of the frame (got [{x:g}, {y:g}])."
            )
        # Checked as it will be stored, so what is saved always passes this check again (GET -> PUT).
        points.append((round(x, ZONE_DECIMALS), round(y, ZONE_DECIMALS)))
    for i, a in enumerate(points):
        for j in range(i + 1, len(points)):
            if math.dist(a, points[j]) < MIN_POINT_DISTANCE:
                raise ValidationError(f"{label}: points {i + 1} and {j + 1} are the same point (closer than "
                                      f"{MIN_POINT_DISTANCE:g} of the frame); remove one.")
    crossing = _self_crossing(points)
    if crossing is not None:
        first, second = crossing
        raise ValidationError(f"{label}: the polygon crosses itself (edge {first} meets edge {second}); "
                              "draw the points in order around the zone.")
    if abs(_area(points)) < 1e-6:
        raise ValidationError(f"{label}: the points lie on one line; a zone must enclose an area.")
    return [[x, y] for x, y in points]


def _area(points: Sequence[Point]) -> float:
    return sum(x1 * y2 - x2 * y1 for (x1, y1), (x2, y2) in zip(points, [*points[1:], points[0]], strict=True)) / 2


def _orientation(a: Point, b: Point, c: Point) -> int:
    value = (b[1] - a[1]) * (c[0] - b[0]) - (b[0] - a[0]) * (c[1] - b[1])
    if abs(value) < 1e-12:
        return 0
    return 1 if value > 0 else 2


def _on_segment(a: Point, b: Point, c: Point) -> bool:
    """b lies on segment a-c (given the three are collinear)."""
    return min(a[0], c[0]) <= b[0] <= max(a[0], c[0]) and min(a[1], c[1]) <= b[1] <= max(a[1], c[1])


def _segments_meet(p1: Point, q1: Point, p2: Point, q2: Point) -> bool:
    o1, o2 = _orientation(p1, q1, p2), _orientation(p1, q1, q2)
    o3, o4 = _orientation(p2, q2, p1), _orientation(p2, q2, q1)
    if o1 != o2 and o3 != o4:
        return True
    return ((o1 == 0 and _on_segment(p1, p2, q1)) or (o2 == 0 and _on_segment(p1, q2, q1))
            or (o3 == 0 and _on_segment(p2, p1, q2)) or (o4 == 0 and _on_segment(p2, q1, q2)))


def _self_crossing(points: Sequence[Point]) -> tuple[int, int] | None:
    """The first pair of non-neighbouring edges (1-based) that meet, or None for a simple polygon.

    Neighbouring edges share a point by construction; two edges that only overlap along a line
    (collinear back-tracking) are caught as meeting non-neighbours or by the area check.
    """
    n = len(points)
    edges = [(points[i], points[(i + 1) % n]) for i in range(n)]
    for i in range(n):
        for j in range(i + 1, n):
            if j == i + 1 or (i == 0 and j == n - 1):
                if n == 3 or not _collinear_overlap(edges[i], edges[j]):
                    continue
                return i + 1, j + 1
            if _segments_meet(*edges[i], *edges[j]):
                return i + 1, j + 1
    return None


def _collinear_overlap(a: tuple[Point, Point], b: tuple[Point, Point]) -> bool:
    """Neighbouring edges folding back onto each other (a spike): they share more than their corner."""
    (p1, q1), (p2, q2) = a, b
    if _orientation(p1, q1, p2) or _orientation(p1, q1, q2):
        return False
    shared = {p1, q1} & {p2, q2}
    if not shared:
        return True
    corner = shared.pop()
    far_a = q1 if p1 == corner else p1
    far_b = q2 if p2 == corner else p2
    # Same direction from the shared corner: the second edge runs back along the first.
    return (far_a[0] - corner[0]) * (far_b[0] - corner[0]) + (far_a[1] - corner[1]) * (far_b[1] - corner[1]) > 0


def point_in_polygon(x: float, y: float, polygon: Sequence[Sequence[float]]) -> bool:
    """Even-odd ray casting; a point exactly on an edge may fall either way."""
    inside = False
    n = len(polygon)
    j = n - 1
    for i in range(n):
        xi, yi = polygon[i]
        xj, yj = polygon[j]
        if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def in_zones(x: float, y: float, zones: Sequence[Polygon]) -> bool:
    """Whether the point (normalised) is counted: inside any zone, or anywhere without zones."""
    return not zones or any(point_in_polygon(x, y, zone) for zone in zones)


def boxes_normalised(detections: Iterable[Detection], width: int, height: int) -> list[list[float]]:
    """[x1, y1, x2, y2, score] per box, scaled to 0..1 of the frame (as received)."""
    w, h = max(width, 1), max(height, 1)
    return [[round(min(max(d.x1 / w, 0.0), 1.0), DECIMALS), round(min(max(d.y1 / h, 0.0), 1.0), DECIMALS),
             round(min(max(d.x2 / w, 0.0), 1.0), DECIMALS), round(min(max(d.y2 / h, 0.0), 1.0), DECIMALS),
             round(float(d.score), 3)] for d in detections]


def boxes_count(boxes: Iterable[Sequence[float]], zones: Sequence[Polygon]) -> tuple[list[list], int]:
    """The boxes as stored ([x1, y1, x2, y2, score, counted]) and how many are counted."""
    counted_boxes, count = [], 0
    for box in boxes:
        x1, y1, x2, y2, score = box[:5]
        counted = in_zones((x1 + x2) / 2, (y1 + y2) / 2, zones)
        count += counted
        counted_boxes.append([x1, y1, x2, y2, score, counted])
    return counted_boxes, count
