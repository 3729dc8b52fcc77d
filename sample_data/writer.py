"""File output: CSV/JSONL writers with row counts, and an on-disk sort so big runs stream.

Why a spool: order ids must increase with order time and the topic/collection should read in
time order, but people are generated one at a time. Rows go to sorted runs on disk and are
merged at the end, so memory stays flat however many customers are asked for.
"""

from __future__ import annotations

import csv
import heapq
import shutil
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO, Any

HEADERS: dict[str, list[str]] = {
    "users.csv": ["user_id", "email", "phone", "first_name", "last_name", "dob", "street", "city", "postcode",
                  "country", "loyalty_id", "marketing_opt_in", "created_at", "updated_at", "deleted_at"],
    "products.csv": ["product_id", "sku", "name", "category", "list_price", "currency", "updated_at"],
    "stores.csv": ["store_id", "name", "city", "postcode", "country", "kiosk_device_id", "opened_at",
                   "updated_at"],
    "orders.csv": ["order_id", "channel", "user_id", "store_id", "loyalty_id", "phone", "email", "device_id",
                   "status", "currency", "total_amount", "order_ts", "updated_at", "deleted_at"],
    "order_items.csv": ["order_id", "line_no", "product_id", "quantity", "unit_price", "updated_at"],
    "inventory_snapshots.csv": ["store_id", "product_id", "snapshot_ts", "on_hand", "reserved"],
    "truth/records.csv": ["source", "record_key", "person_id"],
    "truth/persons.csv": ["person_id", "first_name", "last_name", "email", "phone", "household_id"],
    "truth/devices.csv": ["device_id", "person_id"],
    "truth/fraud.csv": ["pattern", "person_id", "record_source", "record_key"],
    "truth/bad_records.csv": ["source", "record_key", "problem"],
}  # fmt: skip
JSONL_FILES = ("marketplace_orders.jsonl", "events.jsonl")
RUN_ROWS = 250_000


class Spool:
    """Collect (key, payload) rows and write them as key-sorted runs on disk; keys fixed-width and unique."""

    def __init__(self, tmp_dir: Path, name: str, run_rows: int = RUN_ROWS) -> None:
        self._tmp_dir = tmp_dir
        self._name = name
        self._run_rows = run_rows
        self._buffer: list[str] = []
        self._runs: list[Path] = []

    def add(self, key: str, payload: str) -> None:
        """Queue one row; payload must not contain a newline."""
        self._buffer.append(f"{key}\t{payload}\n")
        if len(self._buffer) >= self._run_rows:
            self._flush()

    def _flush(self) -> None:
        path = self._tmp_dir / f"{self._name}-{len(self._runs):04d}.run"
        self._buffer.sort()
        with path.open("w", encoding="utf-8", newline="\n") as fh:
            fh.writelines(self._buffer)
        self._runs.append(path)
        self._buffer = []

    def close(self) -> list[Path]:
        """Write what is left and return every run file, for merge_runs()."""
        if self._buffer or not self._runs:
            self._flush()
        return self._runs


def merge_runs(paths: list[Path]) -> Iterator[str]:
    """Yield the payloads of many sorted runs in key order, reading them lazily."""
    handles = [path.open(encoding="utf-8", newline="\n") for path in paths]
    try:
        for row in heapq.merge(*handles):
            yield row[row.index("\t") + 1 : -1]
    finally:
        for fh in handles:
            fh.close()


class Outputs:
    """Every output file of one run, opened lazily, with rows counted per file name."""

    def __init__(self, out_dir: Path) -> None:
        self.out_dir = out_dir
        self.counts: dict[str, int] = {}
        self._handles: dict[str, IO[str]] = {}
        self._writers: dict[str, Any] = {}

    def __enter__(self) -> Outputs:
        (self.out_dir / "truth").mkdir(parents=True, exist_ok=True)
        for name in (*HEADERS, *JSONL_FILES):
            self._open(name)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:  # fmt: skip
        for handle in self._handles.values():
            handle.close()

    def _open(self, name: str) -> None:
        handle = (self.out_dir / name).open("w", encoding="utf-8", newline="", buffering=1 << 20)
        self._handles[name] = handle
        self.counts[name] = 0
        if name in HEADERS:
            writer = csv.writer(handle, lineterminator="\n")
            writer.writerow(HEADERS[name])
            self._writers[name] = writer

    def row(self, name: str, values: list[str]) -> None:
        """Append one CSV row."""
        self._writers[name].writerow(values)
        self.counts[name] += 1

    def line(self, name: str, text: str) -> None:
        """Append one JSONL document that is already serialised."""
        self._handles[name].write(text + "\n")
        self.counts[name] += 1

    def append_truth(self, part: Path, rows: int) -> None:
        """Append truth/records.csv rows a worker already wrote (no header, rows of them) to the file."""
        with part.open(encoding="utf-8", newline="") as fh:
            shutil.copyfileobj(fh, self._handles["truth/records.csv"])
        self.counts["truth/records.csv"] += rows

    def lines(self, name: str, texts: Iterable[str]) -> None:
        """Append many serialised JSONL documents; the loop is kept tight because big runs have millions."""
        handle, count = self._handles[name], 0
        for text in texts:
            handle.write(text)
            handle.write("\n")
            count += 1
        self.counts[name] += count

    def truth(self, source: str, key: str, person_id: str) -> None:
        """One truth/records.csv row, written directly: generated keys never need CSV quoting."""
        self._handles["truth/records.csv"].write(f"{source},{key},{person_id}\n")
        self.counts["truth/records.csv"] += 1
