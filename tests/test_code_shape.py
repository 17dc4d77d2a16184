"""The code keeps the shape docs/ARCHITECTURE.md promises: small modules and functions."""

import ast
import statistics
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ["core", "partners", "catalog", "similarity", "behaviour", "experiments", "storefront"]
APPS += ["prodsim_site"]
MAX_MODULE_LINES = 400
MAX_P90_LINES = 150
MAX_FUNCTION_LINES = 60


def app_modules() -> list[Path]:
    return [
        path
        for app in APPS
        for path in sorted((ROOT / app).rglob("*.py"))
        if "migrations" not in path.parts
    ]


def test_no_module_is_long_and_most_are_short():
    sizes = {path: len(path.read_text().splitlines()) for path in app_modules()}

    assert [str(p) for p, n in sizes.items() if n > MAX_MODULE_LINES] == []
    assert statistics.quantiles(sizes.values(), n=10)[-1] <= MAX_P90_LINES


def test_no_function_is_over_60_lines():
    long = [
        f"{path.relative_to(ROOT)}:{node.name}"
        for path in app_modules()
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []
