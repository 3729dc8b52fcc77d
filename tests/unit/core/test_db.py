"""Point reads on held SQLite connections: fresh after every commit, one per thread, replaced after a failure."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, bindparam, column, select, table, text

from core.db import PointRead, ReadConnections, make_engine

NOTES = table("notes", column("id"), column("body"))


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path / 'store.db'}")
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))
        connection.execute(text("INSERT INTO notes VALUES (1, 'first')"))
    return engine


def body_of(engine: Engine, connections: ReadConnections) -> PointRead:
    return PointRead(engine, select(NOTES.c.body).where(NOTES.c.id == bindparam("id")), connections)


def test_a_held_connection_sees_each_later_commit(engine: Engine):
    read = body_of(engine, ReadConnections(engine))
    assert read.one(id=1) == ("first",)

    with engine.begin() as connection:
        connection.execute(text("UPDATE notes SET body = 'second' WHERE id = 1"))
        connection.execute(text("INSERT INTO notes VALUES (2, 'new')"))

    assert read.one(id=1) == ("second",)
    assert read.one(id=2) == ("new",)
    assert read.one(id=3) is None


def test_each_thread_holds_its_own_connection_and_keeps_it(engine: Engine):
    connections = ReadConnections(engine)
    mine = connections.take()
    connections.give_back(mine)
    assert connections.take() is mine
    theirs: list[object] = []
    worker = threading.Thread(target=lambda: theirs.append(connections.take()))
    worker.start()
    worker.join()
    assert theirs and theirs[0] is not mine


def test_a_failed_read_replaces_the_held_connection(engine: Engine):
    connections = ReadConnections(engine)
    broken = PointRead(engine, select(column("body")).select_from(table("missing")), connections)
    before = connections.take()
    connections.give_back(before)

    with pytest.raises(Exception, match="no such table"):
        broken.all()

    after = connections.take()
    assert after is not before
    assert body_of(engine, connections).one(id=1) == ("first",)


def test_other_databases_give_the_connection_back_to_the_pool(engine: Engine, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(engine.dialect, "name", "postgresql")
    connections = ReadConnections(engine)
    connection = connections.take()
    assert engine.pool.checkedout() == 1
    connections.give_back(connection)
    assert engine.pool.checkedout() == 0
    assert body_of(engine, connections).one(id=1) == ("first",)
    assert engine.pool.checkedout() == 0


def test_sqlite_connections_read_through_a_memory_map(engine: Engine):
    with engine.connect() as connection:
        assert connection.execute(text("PRAGMA mmap_size")).scalar_one() > 0
