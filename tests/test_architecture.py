"""The shape of the code: imports go one way between the top-level packages, boto3 lives in the AWS
adapter only, the policy engine is pure, and no production module outgrows 400 lines."""

import ast
from collections import defaultdict
from pathlib import Path

import pytest

from tests.support import ROOT

# Not production code: the tests, the benchmarks and the generated migrations.
NOT_PRODUCTION = {"tests", "bench"}
# Top to bottom: a package may import any package below it, never one above it.
LAYERS = [
    "portal",
    "sso",
    "api",
    "access_requests",
    "provisioning",
    "notifications",
    "accounts",
    "audit",
    "aws",
    "policy",
    "core",
]
LIBRARY = {"portal_cli"}  # the CLI: standard library only, talks to the API over HTTP
MAX_LINES = 400


def _packages() -> list[str]:
    return sorted(
        path.name
        for path in ROOT.iterdir()
        if (path / "__init__.py").exists() and path.name not in NOT_PRODUCTION
    )


def _modules(package: str) -> list[Path]:
    return [path for path in (ROOT / package).rglob("*.py") if "migrations" not in path.parts]


def _imported(path: Path) -> set[str]:
    """The top-level names of every module `path` imports, wherever the import statement is."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _imports_between_packages() -> dict[tuple[str, str], list[str]]:
    packages = set(_packages())
    edges: dict[tuple[str, str], list[str]] = defaultdict(list)
    for package in packages:
        for path in _modules(package):
            for name in _imported(path) & packages - {package}:
                edges[(package, name)].append(str(path.relative_to(ROOT)))
    return edges


def test_every_production_package_has_its_place_in_the_layers():
    assert set(_packages()) == set(LAYERS) | LIBRARY


def test_packages_import_only_packages_below_them():
    upward = {
        f"{importer} imports {imported} (above it) in {', '.join(sorted(set(paths)))}"
        for (importer, imported), paths in _imports_between_packages().items()
        if importer in LIBRARY
        or imported in LIBRARY
        or LAYERS.index(imported) < LAYERS.index(importer)
    }
    assert upward == set()


def test_no_two_packages_import_each_other():
    edges = _imports_between_packages()
    cycles = {tuple(sorted(pair)) for pair in edges if (pair[1], pair[0]) in edges}
    assert cycles == set()


@pytest.mark.parametrize("forbidden", ["boto3", "botocore"])
def test_only_the_aws_adapter_imports_boto3(forbidden):
    importers = {
        str(path.relative_to(ROOT))
        for package in _packages()
        if package != "aws"
        for path in _modules(package)
        if forbidden in _imported(path)
    }
    assert importers == set()


def test_the_policy_engine_imports_neither_django_nor_boto3_nor_the_apps():
    impure = {
        f"{path.relative_to(ROOT)}: {', '.join(sorted(names))}"
        for path in _modules("policy")
        if (names := _imported(path) & ({"django", "boto3", "botocore"} | set(LAYERS) - {"policy"}))
    }
    assert impure == set()


def test_the_aws_adapter_knows_no_models():
    knowing = {
        str(path.relative_to(ROOT))
        for path in _modules("aws")
        if _imported(path) & set(LAYERS[: LAYERS.index("aws")])
    }
    assert knowing == set()


def test_no_production_module_is_over_400_lines():
    long = {
        f"{path.relative_to(ROOT)}: {lines}"
        for package in _packages()
        for path in _modules(package)
        if (lines := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == set()


def test_the_scan_sees_an_upward_import(tmp_path):
    """The scan itself: a module with an import inside a function is read like any other."""
    module = tmp_path / "module.py"
    module.write_text("def f():\n    from access_requests.models import AccessRequest\n")
    assert _imported(module) == {"access_requests"}
