"""Imports point down the layers only, and each client SDK lives in the one package allowed to use it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.support import REPO

# package -> project packages it may import (GUIDE.md: core <- schema <- lakehouse <- domain <- api <- cli)
ALLOWED: dict[str, set[str]] = {
    "core": set(),
    "schema": {"core"},
    "lakehouse": {"core", "schema"},
    "migrations": {"core", "schema"},
    "ingest": {"core", "schema", "lakehouse"},
    "identity": {"core", "schema", "lakehouse"},
    "risk": {"core", "schema", "lakehouse", "identity"},
    "privacy": {"core", "schema", "lakehouse", "identity"},
    "profiles": {"core", "schema", "lakehouse", "identity"},
    "api": {"core", "schema", "lakehouse", "identity", "risk", "privacy", "profiles"},
    "pipeline": {"core", "schema", "lakehouse", "migrations", "ingest", "identity", "risk", "privacy", "profiles"},
    "cli": {"core", "schema", "lakehouse", "migrations", "ingest", "identity", "risk", "privacy", "profiles", "api",
            "pipeline", "sample_data", "commands"},
    "commands": {"core", "schema", "lakehouse", "migrations", "ingest", "identity", "risk", "privacy", "profiles",
                 "api", "pipeline"},
    "sample_data": set(),
    "bench": {"core", "schema", "lakehouse", "migrations", "ingest", "identity", "risk", "privacy", "profiles", "api",
              "pipeline", "sample_data"},
}  # fmt: skip
PROJECT = set(ALLOWED)
# third-party SDK -> the only project modules that may import it
SDK_HOMES = {
    # the merge benchmark measures pyiceberg's own upsert and delete, so it calls them directly
    "pyiceberg": ("lakehouse/", "bench/lakehouse_merge.py"),
    # the ingest benchmark fills its source database and times a raw COPY as the baseline
    "psycopg": ("ingest/sources/postgres.py", "bench/ingest_postgres.py"),
    "pymongo": ("ingest/sources/mongo.py",),
    # the stream benchmark times a plain consume-and-discard loop as the baseline
    "confluent_kafka": ("ingest/sources/kafka.py", "bench/ingest_kafka.py"),
}


def python_files() -> list[Path]:
    files = []
    for name in PROJECT:
        path = REPO / name
        files.extend(path.rglob("*.py") if path.is_dir() else [REPO / f"{name}.py"])
    return sorted(f for f in files if f.exists())


def imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def owner(path: Path) -> str:
    relative = path.relative_to(REPO)
    return relative.parts[0].removesuffix(".py")


@pytest.mark.parametrize("path", python_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_imports_point_down_the_layers(path: Path) -> None:
    package = owner(path)
    wrong = {
        module
        for module in imported_modules(path)
        if (top := module.split(".")[0]) in PROJECT and top != package and top not in ALLOWED[package]
    }
    assert not wrong, f"{path.relative_to(REPO)} ({package}) must not import {sorted(wrong)}"


@pytest.mark.parametrize("path", python_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_each_sdk_is_imported_only_in_its_home(path: Path) -> None:
    relative = str(path.relative_to(REPO))
    for module in imported_modules(path):
        homes = SDK_HOMES.get(module.split(".")[0])
        if homes is not None:
            assert relative.startswith(homes), f"{relative} imports {module}; only {homes} may"
