"""The import-linter contracts name their modules, so they cover a new one only once it is
listed: a new ml package, or a new module beside an ml package that it must not import, would
otherwise go unchecked (docs/ARCHITECTURE.md)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def contracts() -> dict[str, dict]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
    return {contract["type"]: contract for contract in config["contracts"]}


def ml_packages() -> list[str]:
    return sorted(
        f"{path.parent.parent.name}.ml"
        for path in ROOT.glob("*/ml/__init__.py")
        if path.parent.parent.name != ".venv"
    )


def test_every_ml_package_is_in_both_ml_contracts():
    found = ml_packages()

    assert found, "no */ml/ package found: the glob is wrong"
    assert sorted(contracts()["forbidden"]["source_modules"]) == found
    assert sorted(contracts()["independence"]["modules"]) == found


def test_every_other_module_of_an_app_with_an_ml_package_is_forbidden_to_it():
    forbidden = set(contracts()["forbidden"]["forbidden_modules"])
    missing = []
    for package in ml_packages():
        app = ROOT / package.split(".")[0]
        siblings = {
            path.stem if path.suffix == ".py" else path.name
            for path in app.iterdir()
            if (path.suffix == ".py" and path.stem != "__init__")
            or (path.is_dir() and (path / "__init__.py").exists() and path.name != "ml")
        }
        missing += [f"{app.name}.{name}" for name in sorted(siblings)]
    assert [module for module in missing if module not in forbidden] == []
