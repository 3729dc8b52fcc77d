"""The same lakehouse behaviour on every supported SQL catalog backend: SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pytest

from core.config import CatalogSettings, load_settings
from core.errors import ConfigurationError
from lakehouse import merge, write
from lakehouse.lake import Lake
from lakehouse.snapshots import last_property
from schema.lake import ALL_TABLES, ORDERS
from tests.support import duckdb_with_iceberg


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_settings(request: pytest.FixtureRequest, tmp_path: Path) -> CatalogSettings:
    """Catalog settings for each backend; the warehouse is a local folder either way."""
    if request.param == "sqlite":
        return load_settings(home=tmp_path / "c360").catalog
    url = request.getfixturevalue("postgres_url")
    return CatalogSettings(uri=url, warehouse=str(tmp_path / "warehouse"))


def one_order(order_id: str, amount: str) -> pa.Table:
    ts = pa.array([datetime(2026, 5, 4, 12, tzinfo=UTC)], pa.timestamp("us", tz="UTC"))
    return pa.table(
        {
            "order_id": [order_id],
            "source": ["web"],
            "platform": ["shopsphere"],
            "source_order_id": [order_id.split(":")[1]],
            "total_amount": pa.array([Decimal(amount)], pa.decimal128(12, 2)),
            "order_ts": ts,
            "updated_at": ts,
            "is_deleted": [False],
            "_batch_id": ["b1"],
            "_ingested_at": ts,
        }
    )


def test_every_table_is_created_with_the_declared_field_ids(catalog_settings: CatalogSettings) -> None:
    with Lake.open(catalog_settings) as lake:
        lake.create()
        lake.create()  # idempotent
        for definition in ALL_TABLES:
            schema = lake.table(definition).schema()
            assert {f.name: f.field_id for f in schema.fields} == {c.name: c.field_id for c in definition.columns}
            assert [schema.find_column_name(i) for i in schema.identifier_field_ids] == list(definition.key)


def test_writes_round_trip_through_pyiceberg_and_duckdb(catalog_settings: CatalogSettings) -> None:
    with Lake.open(catalog_settings) as lake:
        lake.create((ORDERS,))
        table = lake.table(ORDERS)
        merge.upsert(table, one_order("web:1", "10.00"), properties={"c360.watermark": "w1"})
        merge.upsert(table, one_order("web:1", "12.50"))
        write.append(table, one_order("web:2", "3.00"))
    with Lake.open(catalog_settings) as lake:
        reopened = lake.table(ORDERS)
    assert last_property(reopened, "c360.watermark") == "w1"
    con = duckdb_with_iceberg()
    rows = con.execute(
        f"SELECT order_id, total_amount FROM iceberg_scan('{reopened.metadata_location}') ORDER BY order_id"
    ).fetchall()
    assert rows == [("web:1", Decimal("12.50")), ("web:2", Decimal("3.00"))]


def test_an_unreachable_catalog_is_a_configuration_error_naming_the_variable(tmp_path: Path) -> None:
    settings = CatalogSettings(uri="postgresql+psycopg://nobody@127.0.0.1:1/none", warehouse=str(tmp_path))
    with pytest.raises(ConfigurationError, match="C360_CATALOG__URI"):
        Lake.open(settings)
