"""File source: a folder of exports standing for the source systems (the committed sample).

`<entity>.csv` stands for a PostgreSQL table, `marketplace_orders.jsonl` for the MongoDB
collection, `events.jsonl` for the Kafka topic. A file is one batch; its position is its sha256,
so a file already landed is not landed again. Rows the CSV parser cannot split (wrong field count,
broken quoting) are refused with their line number instead of failing the file.
"""

from __future__ import annotations

import csv
import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
from pyarrow import csv as pacsv

from core.errors import TerminalError
from ingest.entities import Entity
from ingest.landing import POSITION
from ingest.quarantine import QuarantinedRecord
from ingest.validate import INVALID_JSON, MISSING_FIELD
from ingest.worker import Batch

MALFORMED_ROW = "malformed_row"


def checksum(path: Path) -> str:
    """sha256 of the file: the position of a file source."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class FileSource:
    """Reads the export files of one folder."""

    kind = "file"

    def __init__(self, directory: Path):
        self.directory = directory
        self.name = f"file:{directory.name}"

    def path(self, entity: Entity) -> Path:
        """The file standing for `entity`."""
        suffix = ".jsonl" if entity.name in ("marketplace_orders", "events") else ".csv"
        path = self.directory / f"{entity.name}{suffix}"
        if not path.is_file():
            raise TerminalError(f"file not found: {path}", source=self.name)
        return path

    def next_batch(self, entity: Entity, after: list[object] | None, limit: int) -> Batch:
        """The whole file, unless the file with this checksum was landed already (then nothing)."""
        path = self.path(entity)
        digest = checksum(path)
        if after == [digest]:
            return Batch(rows=pa.table({}), last=[digest])
        if entity.name == "marketplace_orders":
            return _documents(path, digest, self.name)
        if entity.name == "events":
            return _messages(path, digest)
        return _csv(path, digest, self.name, entity)

    def live_keys(self, entity: Entity) -> pa.Table:
        """Files are snapshots, not live systems: deletes are not reconciled against them."""
        raise TerminalError("reconciling deletes needs a live source (PostgreSQL or MongoDB)", source=self.name)


def _csv(path: Path, digest: str, source: str, entity: Entity) -> Batch:
    malformed: list[QuarantinedRecord] = []

    def refuse(row: Any) -> str:
        malformed.append(
            QuarantinedRecord(
                source=f"{source}.{entity.name}", entity=entity.raw.full_name, batch_id="",
                position=f"line:{row.number}",
                reason_code=MALFORMED_ROW, message=f"expected {row.expected_columns} fields, got {row.actual_columns}",
                payload=row.text,
            )
        )  # fmt: skip
        return "skip"

    names = _header(path)
    table = pacsv.read_csv(
        path,
        parse_options=pacsv.ParseOptions(invalid_row_handler=refuse),
        convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False),
    )
    positions = pa.array([f"row:{i}" for i in range(1, len(table) + 1)], pa.string())
    return Batch(rows=table.append_column(POSITION, positions), last=[digest], refused=malformed)


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as handle:
        first = handle.readline()
    if not first.strip():
        raise TerminalError(f"{path.name} is empty; expected a header row", source=f"file:{path.name}")
    return next(csv.reader([first]))


def _documents(path: Path, digest: str, source: str) -> Batch:
    """Marketplace documents as raw rows; lines that are not a JSON object with an _id are refused."""
    rows: list[dict[str, Any]] = []
    refused: list[QuarantinedRecord] = []
    for line_no, text in _lines(path):
        try:
            doc = json.loads(text)
        except json.JSONDecodeError as exc:
            refused.append(_refusal(source, line_no, INVALID_JSON, f"not JSON: {exc.msg}", text))
            continue
        if not isinstance(doc, dict) or "_id" not in doc:
            refused.append(_refusal(source, line_no, MISSING_FIELD, "a document needs an _id", text))
            continue
        rows.append({"doc_id": str(doc["_id"]), "platform": doc.get("platform"), "updated_at": _last_modified(doc),
                     "document": text, POSITION: f"line:{line_no}"})  # fmt: skip
    schema = pa.schema(
        [
            ("doc_id", pa.string()),
            ("platform", pa.string()),
            ("updated_at", pa.timestamp("us", tz="UTC")),
            ("document", pa.string()),
            (POSITION, pa.string()),
        ]
    )
    return Batch(rows=pa.Table.from_pylist(rows, schema=schema), last=[digest], text=False, refused=refused)


def _messages(path: Path, digest: str) -> Batch:
    """Event lines as raw messages of topic `file:events.jsonl`, partition 0, offset = line number."""
    lines = list(_lines(path))
    rows = pa.table(
        {
            "topic": pa.array([f"file:{path.name}"] * len(lines), pa.string()),
            "partition": pa.array([0] * len(lines), pa.int32()),
            "offset": pa.array([n for n, _ in lines], pa.int64()),
            "message_key": pa.nulls(len(lines), pa.string()),
            "payload": pa.array([t for _, t in lines], pa.string()),
            "received_at": pa.nulls(len(lines), pa.timestamp("us", tz="UTC")),
            POSITION: pa.array([f"line:{n}" for n, _ in lines], pa.string()),
        }
    )
    return Batch(rows=rows, last=[digest], text=False)


def _lines(path: Path) -> list[tuple[int, str]]:
    with path.open(encoding="utf-8") as handle:
        return [(number, text.rstrip("\n")) for number, text in enumerate(handle, start=1) if text.strip()]


def _refusal(source: str, line_no: int, reason: str, message: str, text: str) -> QuarantinedRecord:
    return QuarantinedRecord(
        source=f"{source}.marketplace_orders", entity="raw.mongo_marketplace_orders", batch_id="",
        position=f"line:{line_no}", reason_code=reason, message=message, payload=text,
    )  # fmt: skip


def _last_modified(doc: dict[str, Any]) -> datetime | None:
    """A document's last-modified time, whichever platform field holds it."""
    value = doc.get("updated_at") or doc.get("LastUpdateDate") or doc.get("lastModifiedDate") or doc.get("lastModified")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return datetime.fromtimestamp(value / 1000, UTC)
    try:
        return datetime.fromisoformat(str(value).replace("Z", "+00:00")) if value else None
    except ValueError:
        return None
