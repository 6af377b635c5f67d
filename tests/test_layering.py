"""The one-way dependency rule, checked on the source: lower packages never import upper ones.

storage, inference and provisioning never import appliance or webadmin (provisioning's command
line lives in appliance.provision_cli, and the unit's config schema is passed in to
`provision()`; the hotlist file format both sides share lives in provisioning.hotlist_format);
benchmarks never import the test suite.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(package: str) -> dict[str, set[str]]:
    """module file -> every module it imports (top level or inside functions)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / package).rglob("*.py")):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                names.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


@pytest.mark.parametrize("package, forbidden", [
    ("storage", ("appliance", "webadmin", "provisioning")),
    ("inference", ("appliance", "webadmin")),
    ("provisioning", ("appliance", "webadmin")),
])
def test_lower_packages_do_not_import_upper_ones(package, forbidden):
    bad = [f"{mod} imports {name}" for mod, names in imported_modules(package).items()
           for name in names if any(name == f or name.startswith(f + ".") for f in forbidden)]
    assert not bad, bad


def test_benchmarks_do_not_import_tests():
    test_modules = {p.stem for p in (ROOT / "tests").glob("*.py")}
    bad = [f"{mod} imports {name}" for mod, names in imported_modules("bench").items()
           for name in names if name.split(".")[0] in {"tests", *test_modules}]
    assert not bad, bad
