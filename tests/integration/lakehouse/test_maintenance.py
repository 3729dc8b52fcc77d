"""Expiring snapshots really removes the old files; time travel and schema evolution behave."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from core.errors import NotFoundError, SchemaEvolutionError
from lakehouse import maintenance, merge, write
from lakehouse.lake import Lake
from lakehouse.query import read_arrow
from lakehouse.tables import evolve_to
from schema.lake import ORDERS
from tests.integration.lakehouse.test_catalogs import one_order


def parquet_files(root: Path) -> set[Path]:
    return set(root.rglob("*.parquet"))


def test_expire_and_sweep_deletes_files_only_old_snapshots_referenced(lake: Lake, settings) -> None:  # type: ignore[no-untyped-def]
    table = lake.table(ORDERS)
    write.append(table, one_order("web:1", "1.00"))
    write.append(table, one_order("web:2", "2.00"))
    merge.delete_keys(table, pa.table({"order_id": ["web:1"]}))
    warehouse = Path(str(settings.catalog.warehouse)) / "conformed" / "orders"
    before = parquet_files(warehouse)
    first_snapshot = table.snapshots()[0]

    result = maintenance.expire_and_sweep(table, older_than=datetime.now(UTC) + timedelta(seconds=1), min_age_seconds=0)

    after = parquet_files(warehouse)
    assert result.snapshots_expired == 2, "the two older snapshots of three"
    assert after < before, "files of expired snapshots are gone"
    assert len(table.snapshots()) == 1
    assert table.snapshot_by_id(first_snapshot.snapshot_id) is None
    assert read_arrow(table).column("order_id").to_pylist() == ["web:2"]
    for path in after:
        assert path.exists()


def test_sweep_keeps_young_unreferenced_files(lake: Lake, settings) -> None:  # type: ignore[no-untyped-def]
    table = lake.table(ORDERS)
    write.append(table, one_order("web:1", "1.00"))
    stray = Path(str(settings.catalog.warehouse)) / "conformed" / "orders" / "data" / "in-flight.parquet"
    stray.write_bytes(b"not yet committed")
    assert maintenance.delete_unreferenced_files(table, min_age_seconds=3600).files_deleted == 0
    assert stray.exists()
    assert maintenance.delete_unreferenced_files(table, min_age_seconds=0).files_deleted == 1


def test_read_as_of_a_time_sees_that_snapshot(lake: Lake) -> None:
    table = lake.table(ORDERS)
    write.append(table, one_order("web:1", "1.00"))
    between = datetime.now(UTC)
    merge.upsert(table, one_order("web:1", "5.00"))
    past = read_arrow(table, as_of=between)
    assert past.column("total_amount").to_pylist() == [Decimal("1.00")]
    with pytest.raises(NotFoundError):
        read_arrow(table, as_of=datetime(2000, 1, 1, tzinfo=UTC))


def test_evolution_adds_and_widens_columns_and_refuses_incompatible_changes(lake: Lake) -> None:
    table = lake.table(ORDERS)
    incoming = pa.schema([("gift_note", pa.string()), ("user_id", pa.int64()), ("status", pa.int32())])
    evolution = evolve_to(table, incoming, refuse_incompatible=False)
    assert evolution.changes == ["added gift_note string"]
    assert evolution.refused == {"status": "int does not fit string"}
    with pytest.raises(SchemaEvolutionError, match="total_amount"):
        evolve_to(table, pa.schema([("total_amount", pa.string())]))
    widened = evolve_to(table, pa.schema([("total_amount", pa.decimal128(16, 2))]))
    assert widened.changes == ["widened total_amount to decimal(16, 2)"]
    assert "gift_note" in table.schema().column_names
    assert len(table.schemas()) == 3, "each change is a schema version in the table's history"


def test_overwrite_by_filter_replaces_exactly_the_matching_rows(lake: Lake) -> None:
    from pyiceberg.expressions import EqualTo

    table = lake.table(ORDERS)
    write.append(table, pa.concat_tables([one_order("web:1", "1.00"), one_order("web:2", "2.00")]))
    write.overwrite(table, one_order("web:3", "3.00"), overwrite_filter=EqualTo("order_id", "web:1"))
    assert sorted(read_arrow(table).column("order_id").to_pylist()) == ["web:2", "web:3"]
