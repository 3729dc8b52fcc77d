"""MongoDB source: marketplace order documents in (updated_at, _id) order, in bounded batches.

The landing process that writes marketplace orders into MongoDB stamps each document with a BSON
`updated_at`; that field and `_id` are the position. A document without `updated_at` could never
be reached by position, so it is refused (quarantined) rather than silently skipped. Documents land
raw as relaxed extended JSON. This is the only module that imports pymongo.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pyarrow as pa
import pymongo
from bson import json_util
from pymongo.errors import ConfigurationError as MongoConfigurationError
from pymongo.errors import OperationFailure, PyMongoError

from core.errors import TerminalError, TransientError
from core.retry import retrying
from ingest.entities import Entity
from ingest.landing import POSITION
from ingest.quarantine import QuarantinedRecord
from ingest.validate import MISSING_FIELD
from ingest.worker import Batch

logger = logging.getLogger(__name__)

RAW_SCHEMA = pa.schema(
    [
        ("doc_id", pa.string()),
        ("platform", pa.string()),
        ("updated_at", pa.timestamp("us", tz="UTC")),
        ("document", pa.string()),
        (POSITION, pa.string()),
    ]
)
JSON_OPTIONS = json_util.JSONOptions(json_mode=json_util.JSONMode.RELAXED, tz_aware=True, tzinfo=UTC)


def _id_text(value: Any) -> str:
    return str(value)


def _id_position(value: Any) -> str:
    """An _id as kept in the watermark: extended JSON, so an ObjectId and a string stay apart."""
    return json_util.dumps(value)


def _id_value(position: str) -> Any:
    """The _id of a watermark, with its BSON type."""
    return json_util.loads(position)


class MongoSource:
    """Reads the marketplace order collection; every call retries transient failures with backoff."""

    kind = "mongo"

    def __init__(
        self,
        url: str,
        database: str,
        collection: str,
        *,
        attempts: int = 5,
        timeout_ms: int = 5_000,
        client: pymongo.MongoClient[dict[str, Any]] | None = None,
    ):
        """`client` replaces the one made from `url` (tests inject an in-memory one)."""
        self.url = url
        self.database = database
        self.collection = collection
        self.attempts = attempts
        self.name = f"mongo:{database}.{collection}"
        self._undated_checked = False
        self._client: pymongo.MongoClient[dict[str, Any]] = client or pymongo.MongoClient(
            url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms, tz_aware=True
        )

    def close(self) -> None:
        """Close the client."""
        self._client.close()

    def __enter__(self) -> MongoSource:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def next_batch(self, entity: Entity, after: list[object] | None, limit: int) -> Batch:
        """Documents after (updated_at, _id) `after`, in that order; undated documents are refused."""
        query: dict[str, Any] = {"updated_at": {"$exists": True}}
        if after is not None:
            at = datetime.fromisoformat(str(after[0]))
            query = {"$or": [{"updated_at": {"$gt": at}}, {"updated_at": at, "_id": {"$gt": _id_value(str(after[1]))}}]}
        docs = self._run(lambda c: list(c.find(query).sort([("updated_at", 1), ("_id", 1)]).limit(limit)))
        rows = [_raw_row(doc) for doc in docs]
        last = after if not docs else [docs[-1]["updated_at"].isoformat(), _id_position(docs[-1]["_id"])]
        refused = [] if self._undated_checked else self._undated(entity)
        self._undated_checked = True
        return Batch(
            rows=pa.Table.from_pylist(rows, schema=RAW_SCHEMA), last=list(last or []), text=False, refused=refused
        )

    def live_keys(self, entity: Entity) -> pa.Table:
        """Every document id in the collection."""
        ids = self._run(lambda c: [_id_text(d["_id"]) for d in c.find({}, {"_id": 1})])
        return pa.table({"doc_id": pa.array(ids, pa.string())})

    def _undated(self, entity: Entity) -> list[QuarantinedRecord]:
        """Documents without `updated_at`: refused once per run, with their whole body (same id every run)."""
        docs = self._run(lambda c: list(c.find({"updated_at": {"$exists": False}})))
        return [
            QuarantinedRecord(
                source=self.name, entity=entity.raw.full_name, batch_id="undated",
                position=f"_id:{_id_text(doc['_id'])}",
                reason_code=MISSING_FIELD, message="the document has no updated_at, so it cannot be read by position",
                payload=json_util.dumps(doc, json_options=JSON_OPTIONS), record_key=_id_text(doc["_id"]),
                column="updated_at",
            )
            for doc in docs
        ]  # fmt: skip

    def _run(self, action: Any) -> Any:
        def attempt() -> Any:
            try:
                return action(self._client[self.database][self.collection])
            except (MongoConfigurationError, OperationFailure) as exc:
                raise TerminalError(f"MongoDB refused {self.name}: {exc}", source=self.name) from exc
            except PyMongoError as exc:
                raise TransientError(f"MongoDB at {self.name}: {type(exc).__name__}", source=self.name) from exc

        return retrying(attempt, attempts=self.attempts, what=f"reading {self.name}")


def _raw_row(doc: dict[str, Any]) -> dict[str, Any]:
    updated = doc["updated_at"]
    return {
        "doc_id": _id_text(doc["_id"]),
        "platform": doc.get("platform") if isinstance(doc.get("platform"), str) else None,
        "updated_at": updated if isinstance(updated, datetime) else None,
        "document": json_util.dumps(doc, json_options=JSON_OPTIONS),
        POSITION: f"{updated.isoformat() if isinstance(updated, datetime) else updated}|{_id_text(doc['_id'])}",
    }
