"""File sources: the committed sample (CSV exports of PostgreSQL tables, JSONL of MongoDB documents
and Kafka events) read in bounded batches, every value as text for validation to type."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
from pyarrow import csv as pacsv

from core.errors import TerminalError

BLOCK_BYTES = 4 << 20


@dataclass(frozen=True)
class JsonLine:
    """One line of a JSONL file with its 1-based line number (its position in the source)."""

    line_no: int
    text: str


def checksum(path: Path) -> str:
    """sha256 of the file, the watermark of a file source: the same content is loaded once."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def csv_header(path: Path) -> list[str]:
    """Column names from the first line."""
    _require(path)
    with path.open(newline="", encoding="utf-8") as handle:
        try:
            return next(csv.reader(handle))
        except StopIteration as exc:
            raise TerminalError("file is empty, expected a header row", source=f"file:{path.name}") from exc


def read_csv_batches(path: Path) -> Iterator[pa.Table]:
    """Batches of rows with every column as a string; empty cells are empty strings."""
    names = csv_header(path)
    options = pacsv.ConvertOptions(column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=False)
    reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(block_size=BLOCK_BYTES), convert_options=options)
    for batch in reader:
        yield pa.Table.from_batches([batch])


def read_jsonl(path: Path, batch_lines: int = 10_000) -> Iterator[list[JsonLine]]:
    """Batches of non-empty lines, unparsed (parsing errors are the caller's to quarantine)."""
    _require(path)
    batch: list[JsonLine] = []
    with path.open(encoding="utf-8") as handle:
        for line_no, text in enumerate(handle, start=1):
            if text.strip():
                batch.append(JsonLine(line_no, text.rstrip("\n")))
            if len(batch) >= batch_lines:
                yield batch
                batch = []
    if batch:
        yield batch


def _require(path: Path) -> None:
    if not path.is_file():
        raise TerminalError(f"file not found: {path}", source=f"file:{path.name}")
