"""Access and portability: every row the lakehouse holds about a subject, as one JSON document.

The rows are found by the same keys erasure deletes by (`privacy.erase.deletions`), so what a
subject can see is exactly what an erasure would remove.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timedelta
from pathlib import Path

import polars as pl

from lakehouse.lake import Lake
from lakehouse.query import is_in, read_polars
from privacy.erase import deletions, quarantined_rows
from privacy.subject import Subject


def rows_about(lake: Lake, subject: Subject) -> dict[str, list[dict[str, object]]]:
    """Each table's rows of the subject, by table name (tables holding none are left out)."""
    found: dict[str, pl.DataFrame] = {}
    for definition, keys in deletions(subject, quarantined_rows(lake, subject)):
        if not len(keys):
            continue
        wanted = pl.DataFrame(keys)
        narrowest = max(wanted.columns, key=lambda c: wanted[c].n_unique())  # the filter that prunes most files
        rows = read_polars(lake.table(definition), row_filter=is_in(narrowest, wanted[narrowest].unique().to_list()))
        matched = rows.join(wanted.cast(rows.select(wanted.columns).schema), on=wanted.columns, how="semi")
        previous = found.get(definition.full_name)
        found[definition.full_name] = matched if previous is None else pl.concat([previous, matched]).unique()
    return {name: frame.to_dicts() for name, frame in sorted(found.items()) if len(frame)}


def export(lake: Lake, subject: Subject, path: Path) -> Path:
    """Write the subject's rows to `path` (readable by the service's user only); the path."""
    document = {"customer_ids": subject.customer_ids, "tables": rows_about(lake, subject)}
    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w", encoding="utf-8") as file:
        json.dump(document, file, default=str, indent=1)
    return path


def forget_exports(folder: Path, customer_ids: list[str]) -> int:
    """Delete the access exports about any of these customers (an erasure reaches them too); how many."""
    wanted, deleted = set(customer_ids), 0
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        try:
            about = set(json.loads(path.read_text(encoding="utf-8")).get("customer_ids", []))
        except (OSError, ValueError):
            continue  # not an export of ours
        if about & wanted:
            path.unlink(missing_ok=True)
            deleted += 1
    return deleted


def expire_exports(folder: Path, *, now: datetime, retention: timedelta) -> int:
    """Delete the access exports written more than `retention` before `now`; how many.

    An export is a copy of the subject's data outside the lake, so it is kept only long enough to be
    downloaded; a download after that answers 404.
    """
    cutoff, deleted = (now - retention).timestamp(), 0
    for path in sorted(folder.glob("*.json")) if folder.exists() else []:
        try:
            if path.stat().st_mtime < cutoff:
                path.unlink()
                deleted += 1
        except FileNotFoundError:
            continue  # deleted meanwhile, by an erasure or another worker
    return deleted
