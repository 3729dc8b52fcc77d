"""Helpers shared by the tests: real services, offline DuckDB with the iceberg extension."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import duckdb_extension_avro
import duckdb_extension_iceberg

from ingest.sources.broker import free_port

REPO = Path(__file__).resolve().parents[1]
SAMPLE_DIR = REPO / "sample_data"


def _extension_file(package: object, name: str) -> str:
    folder = Path(package.__file__).parent / "extensions" / f"v{duckdb.__version__}"  # type: ignore[attr-defined]
    path = folder / f"{name}.duckdb_extension"
    if not path.is_file():
        raise RuntimeError(f"DuckDB {name} extension for DuckDB {duckdb.__version__} not found at {path}")
    return str(path)


def duckdb_with_iceberg() -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the pip-packaged avro and iceberg extensions loaded, never downloading."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    con.execute(f"LOAD '{_extension_file(duckdb_extension_avro, 'avro')}'")
    con.execute(f"LOAD '{_extension_file(duckdb_extension_iceberg, 'iceberg')}'")
    return con


def csv_rows(path: Path) -> list[dict[str, str]]:
    """Every row of a CSV file as a dict (the file is closed before returning)."""
    import csv

    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@contextmanager
def serving(app: Any) -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a free loopback port; yields the base URL; stops it after."""
    import uvicorn

    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the API server did not start within 20 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def copy_store(url: str, target: Path) -> str:
    """A private copy of a SQLite operational store (the backup API copies what the WAL holds too)."""
    import sqlite3

    with sqlite3.connect(url.removeprefix("sqlite:///")) as source, sqlite3.connect(target) as copy:
        source.backup(copy)
    return f"sqlite:///{target}"
