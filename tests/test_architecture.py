"""The architecture, measured from the code's own imports (ARCHITECTURE.md, "Who owns what").

Every import in the project is read with `ast` (nothing is imported), each module is placed in its
room, and these rules are checked:

- at module level, no room imports a room above it (and rooms on one floor do not import each
  other); inside functions too, for the app boundaries: detection never imports dashboard or
  inventory_monitor, devices never imports detection, ml imports only detection.detector, and the
  product never imports ml, simulation or benchmarks;
- the detector imports no Django and nothing of the project outside itself;
- no import circle between modules (at module level) or between rooms (any import);
- no sub-package of detection holds more than about a fifth of the app's lines.

The checker is tested on made-up code too, so a rule that stopped seeing anything would fail here.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

PACKAGES = ("devices", "detection", "dashboard", "inventory_monitor", "ml", "simulation", "benchmarks")
SKIP = ("ml/runs/", "/migrations/")

# Floors, lowest first. A module may import its own room and the rooms on lower floors, never higher,
# and never another room on its own floor.
FLOORS: list[tuple[str, ...]] = [
    ("devices",),
    ("detection.detector",),
    ("detection.root",),  # hooks, metrics, rest, background, admin_base, addresses, rows
    ("detection.history", "detection.alerts", "detection.serving"),
    ("detection.stock",),
    ("detection.review",),
    ("detection.ingest",),
    ("detection.pull",),  # fetches frames from cameras and hands them to ingest like a posted one
    ("detection.app",),  # models.py and admin.py (what Django collects), apps.py, management commands
    ("dashboard",),
    ("inventory_monitor",),
]
FLOOR = {room: number for number, rooms in enumerate(FLOORS) for room in rooms}
DETECTION_ROOMS = ("detector", "ingest", "stock", "serving", "review", "history", "alerts", "pull")
PRODUCT = ("devices", "detection", "dashboard", "inventory_monitor")
TOOLS = ("ml", "simulation", "benchmarks")
MAX_ROOM_SHARE = 0.21  # "about a fifth" of detection's lines (migrations not counted)


@dataclass(frozen=True)
class Import:
    source: str  # the importing module
    target: str  # the imported module (a project module, as precise as the code names it)
    line: int
    module_level: bool  # False: inside a function (a lazy import)


def room(module: str) -> str:
    parts = module.split(".")
    if parts[0] != "detection":
        return parts[0]
    if len(parts) > 1 and parts[1] in DETECTION_ROOMS:
        return f"detection.{parts[1]}"
    if len(parts) > 1 and parts[1] in ("hooks", "metrics", "rest", "background", "admin_base", "addresses", "rows"):
        return "detection.root"
    return "detection.app"


def module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def read_sources(root: Path) -> dict[str, str]:
    sources = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            relative = path.relative_to(root).as_posix()
            if any(skip in f"/{relative}" for skip in SKIP):
                continue
            sources[module_name(path, root)] = path.read_text()
    return sources


def imports_of(module: str, source: str, known: set[str]) -> list[Import]:
    """Project imports of one module; `from a.b import c` names a.b.c when that is a module."""
    tree = ast.parse(source)
    is_package = any(name.startswith(module + ".") for name in known)
    found: list[Import] = []

    def visit(node: ast.AST, module_level: bool) -> None:
        for child in ast.iter_child_nodes(node):
            nested = module_level and not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.Import):
                for alias in child.names:
                    add(alias.name, child.lineno, module_level)
            elif isinstance(child, ast.ImportFrom):
                base = child.module or ""
                if child.level:
                    anchor = module.split(".")[: len(module.split(".")) - child.level + (1 if is_package else 0)]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in child.names:
                    candidate = f"{base}.{alias.name}"
                    add(candidate if candidate in known else base, child.lineno, module_level)
            visit(child, nested)

    def add(target: str, line: int, module_level: bool) -> None:
        if target.split(".")[0] in PACKAGES and target != module:
            found.append(Import(module, target, line, module_level))

    visit(tree, True)
    return found


def all_imports(sources: dict[str, str]) -> list[Import]:
    known = set(sources)
    return [imp for module, source in sources.items() for imp in imports_of(module, source, known)]


def upward_imports(imports: list[Import]) -> list[str]:
    problems = []
    for imp in imports:
        source, target = room(imp.source), room(imp.target)
        if source == target or source not in FLOOR or target not in FLOOR:
            continue
        if imp.module_level and FLOOR[target] >= FLOOR[source]:
            where = "above it" if FLOOR[target] > FLOOR[source] else "on its own floor"
            problems.append(f"{imp.source}:{imp.line} imports {imp.target} ({target} is {where})")
    return problems


def boundary_crossings(imports: list[Import], sources: dict[str, str]) -> list[str]:
    """Rules that hold for every import, lazy ones included."""
    problems = []
    for imp in imports:
        source_app, target_app = imp.source.split(".")[0], imp.target.split(".")[0]
        said = f"{imp.source}:{imp.line} imports {imp.target}"
        if source_app == "detection" and target_app in ("dashboard", "inventory_monitor"):
            problems.append(f"{said}: detection never imports {target_app}")
        if source_app == "devices" and target_app in ("detection", "dashboard", "inventory_monitor"):
            problems.append(f"{said}: devices knows nothing of {target_app}")
        if source_app in PRODUCT and target_app in TOOLS:
            problems.append(f"{said}: the product never imports {target_app}")
        if source_app == "ml" and target_app in PRODUCT and room(imp.target) != "detection.detector":
            problems.append(f"{said}: ml imports only detection.detector")
        if room(imp.source) == "detection.detector" and room(imp.target) != "detection.detector":
            problems.append(f"{said}: the detector is the pure engine")
    for module, source in sources.items():
        if room(module) == "detection.detector" and ("import django" in source or "from django" in source):
            problems.append(f"{module}: the detector imports Django")
    return problems


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = [0]

    def strongconnect(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(edges.get(node, ())):
            if succ not in index:
                strongconnect(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            strongconnect(node)
    return found


def module_cycles(imports: list[Import]) -> list[list[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for imp in imports:
        if imp.module_level:
            edges[imp.source].add(imp.target)
    return cycles(edges)


def room_cycles(imports: list[Import]) -> list[list[str]]:
    edges: dict[str, set[str]] = defaultdict(set)
    for imp in imports:
        if room(imp.source) != room(imp.target):
            edges[room(imp.source)].add(room(imp.target))
    return cycles(edges)


def room_lines(root: Path) -> dict[str, int]:
    lines: dict[str, int] = defaultdict(int)
    for path in (root / "detection").rglob("*.py"):
        if "migrations" in path.parts:
            continue
        lines[room(module_name(path, root))] += len(path.read_text().splitlines())
    return lines


# --- the project -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def project() -> tuple[dict[str, str], list[Import]]:
    sources = read_sources(REPO)
    return sources, all_imports(sources)


def test_no_room_imports_a_room_above_it(project):
    _, imports = project
    assert upward_imports(imports) == []


def test_the_app_boundaries_hold_for_every_import(project):
    sources, imports = project
    assert boundary_crossings(imports, sources) == []


def test_no_import_circle_between_modules(project):
    _, imports = project
    assert module_cycles(imports) == []


def test_no_import_circle_between_rooms_even_through_lazy_imports(project):
    _, imports = project
    assert room_cycles(imports) == []


def test_every_module_of_detection_has_a_room(project):
    sources, _ = project
    # A new top-level module lands in "detection.app" (the top) unless it is named as shared here:
    # check that the app's own modules are only what Django collects and the commands.
    app = sorted(m for m in sources if room(m) == "detection.app" and ".management" not in m)
    assert app == ["detection", "detection.admin", "detection.apps", "detection.models"]


def test_no_room_of_detection_is_above_a_fifth_of_the_app():
    lines = room_lines(REPO)
    total = sum(lines.values())
    shares = {name: round(count / total, 3) for name, count in lines.items()}
    assert max(shares.values()) <= MAX_ROOM_SHARE, shares


def test_the_ingest_path_reads_top_to_bottom(project):
    # endpoint -> ingest service -> stock -> history/alerts -> hook, each step importing the next.
    _, imports = project
    edges = {(imp.source, imp.target) for imp in imports if imp.module_level}
    path = [("detection.ingest.api", "detection.ingest.services"),
            ("detection.ingest.services", "detection.stock.services"),
            ("detection.stock.services", "detection.history.services"),
            ("detection.stock.services", "detection.stock.notify"),
            ("detection.stock.notify", "detection.alerts"),
            ("detection.stock.services", "detection.hooks")]
    assert [step for step in path if step not in edges] == []


# --- the checker itself, on made-up code ------------------------------------------------------

def made_up(modules: dict[str, str]) -> tuple[dict[str, str], list[Import]]:
    return modules, all_imports(modules)


def test_the_checker_sees_a_service_telling_the_dashboard_directly():
    sources, imports = made_up({
        "detection.stock.services": "def _broadcast():\n    from dashboard.broadcasts import stock_updated\n",
        "dashboard.broadcasts": "",
    })
    assert boundary_crossings(imports, sources) == [
        "detection.stock.services:2 imports dashboard.broadcasts: detection never imports dashboard"]


def test_the_checker_sees_devices_reaching_up_into_detection():
    sources, imports = made_up({
        "devices.admin": "from detection.stock.admin import StockStateInline\n",
        "detection.stock.admin": "",
    })
    assert upward_imports(imports) == [
        "devices.admin:1 imports detection.stock.admin (detection.stock is above it)"]
    assert len(boundary_crossings(imports, sources)) == 1


def test_the_checker_sees_a_lower_room_importing_a_higher_one_and_siblings():
    _, imports = made_up({
        "detection.history.services": "from detection.stock.models import StockState\n"
                                      "from detection.alerts import alerts_enqueue\n",
        "detection.stock.models": "",
        "detection.alerts": "",
    })
    assert upward_imports(imports) == [
        "detection.history.services:1 imports detection.stock.models (detection.stock is above it)",
        "detection.history.services:2 imports detection.alerts (detection.alerts is on its own floor)"]


def test_the_checker_allows_lazy_imports_only_where_no_boundary_is_crossed():
    sources, imports = made_up({
        "detection.serving.runtime": "def f():\n    from detection.ingest.services import frame_analyze\n",
        "detection.ingest.services": "from detection.serving.runtime import serving\n",
    })
    assert upward_imports(imports) == []  # lazy: not at module level
    assert room_cycles(imports) == [["detection.ingest", "detection.serving"]]  # but a circle all the same


def test_the_checker_sees_module_circles_in_the_detector():
    sources, imports = made_up({
        "detection.detector.base": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                   "    from detection.detector.decode import DecodedImage\n",
        "detection.detector.decode": "from detection.detector.base import ImageTooLarge\n",
    })
    assert module_cycles(imports) == [["detection.detector.base", "detection.detector.decode"]]


def test_the_checker_sees_ml_reaching_past_the_detector_and_the_product_into_ml():
    sources, imports = made_up({
        "ml.site_data": "from detection.serving.versions import file_sha256\n",
        "detection.management.commands.import_labels": "from ml.site_data import import_site\n",
        "detection.serving.versions": "",
    })
    problems = boundary_crossings(imports, sources)
    assert any("ml imports only detection.detector" in p for p in problems)
    assert any("the product never imports ml" in p for p in problems)


def test_the_checker_resolves_from_package_import_module():
    _, imports = made_up({
        "detection.stock.selectors": "",
        "dashboard.views": "from detection.stock import selectors\n",
        "detection.stock": "",
    })
    assert [imp.target for imp in imports] == ["detection.stock.selectors"]
