"""run.sh installs requirements/base.txt only: everything the product and its simulator import
must be listed there (the test environment has more installed, so a gap would not show up
anywhere else)."""

import ast
import re
import sys
from importlib.metadata import PackageNotFoundError, packages_distributions, requires

from tests.conftest import REPO

SERVED = ["inventory_monitor", "devices", "detection", "dashboard", "simulation"]
LOCAL = {*SERVED, "ml", "tests", "benchmarks"}


def imported_roots() -> set[str]:
    roots = set()
    for folder in SERVED:
        for path in (REPO / folder).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.Import):
                    roots |= {alias.name.split(".")[0] for alias in node.names}
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    roots.add(node.module.split(".")[0])
    return {r for r in roots if r not in LOCAL and r not in sys.stdlib_module_names and r != "__future__"}


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def with_dependencies(names: set[str]) -> set[str]:
    """The listed distributions and everything they install (e.g. Django brings asgiref)."""
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            needs = requires(name) or []
        except PackageNotFoundError:
            continue
        todo += [normalise(re.split(r"[\[=<>~!; (]", need, maxsplit=1)[0]) for need in needs if "extra ==" not in need]
    return seen


def test_everything_served_imports_is_in_base_requirements():
    listed = with_dependencies({normalise(re.split(r"[\[=<>~; ]", line, maxsplit=1)[0])
                                for line in (REPO / "requirements" / "base.txt").read_text().splitlines()
                                if line.strip() and not line.startswith(("#", "-"))})
    distributions = packages_distributions()
    missing = {}
    for root in imported_roots():
        names = {normalise(d) for d in distributions.get(root, [root])}
        if not names & listed:
            missing[root] = sorted(names)
    assert missing == {}
