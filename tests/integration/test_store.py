"""The operational store: migrations match the models on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect
from sqlmodel import SQLModel

import schema.store  # noqa: F401 - registers the tables
from core.db import make_engine
from migrations import upgrade_head


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return str(request.getfixturevalue("postgres_url"))


def test_upgrade_head_creates_exactly_the_model_schema_and_is_idempotent(store_url: str) -> None:
    upgrade_head(store_url)
    upgrade_head(store_url)
    engine = make_engine(store_url)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            assert compare_metadata(context, SQLModel.metadata) == []
            assert set(inspect(connection).get_table_names()) >= {
                "serving_customers",
                "serving_identifiers",
                "alembic_version",
            }
    finally:
        engine.dispose()
