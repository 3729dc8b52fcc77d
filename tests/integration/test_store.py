"""The operational store: migrations match the models on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.exc import OperationalError
from sqlmodel import Session, SQLModel

import schema.store  # noqa: F401 - registers the tables
from core.db import lock_for_writing, make_engine
from migrations import upgrade_head
from schema.store import ServingBuild


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


def test_on_postgresql_a_serving_swap_and_an_erasure_take_turns(postgres_url: str) -> None:
    """The second writer waits for the first's transaction (here it gives up after 200 ms)."""
    upgrade_head(postgres_url)
    engine = make_engine(postgres_url)
    try:
        with Session(engine) as first, first.begin():
            lock_for_writing(first, ServingBuild.__tablename__)
            with Session(engine) as second, second.begin():
                second.execute(text("SET LOCAL lock_timeout = '200ms'"))
                with pytest.raises(OperationalError, match="lock timeout"):
                    lock_for_writing(second, ServingBuild.__tablename__)
                second.rollback()
        with Session(engine) as after, after.begin():
            lock_for_writing(after, ServingBuild.__tablename__)  # free again once the first ended
    finally:
        engine.dispose()
