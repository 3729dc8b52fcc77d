"""Customer ids survive a rebuild of the gold layer (maximum overlap), and changes are logged in the lake."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from core.config import load_settings
from identity.job import run_identity
from lakehouse import write
from lakehouse.lake import Lake
from lakehouse.query import read_polars
from schema import lake as tables
from tests.conftest import BUILD_TIME
from tests.support import SAMPLE_DIR, duckdb_with_iceberg


def test_a_rebuild_keeps_the_ids_customers_already_had_and_logs_merges(tmp_path: Path) -> None:
    from pipeline import run_pipeline

    settings = load_settings(home=tmp_path / "c360")
    run_pipeline(settings, SAMPLE_DIR, now=BUILD_TIME)
    with Lake.open(settings.catalog) as lake:
        links = read_polars(lake.table(tables.IDENTITY_LINKS))
        # Ids an earlier engine handed out (not derived from the anchor record), and two customers
        # that were one before: the next build must keep those ids and log the merge it undoes.
        legacy = {c: f"C-legacy-{i:04d}" for i, c in enumerate(links["customer_id"].unique().sort().to_list())}
        first, second = sorted(legacy)[:2]
        legacy[second] = legacy[first]
        write.replace_all(
            lake.table(tables.IDENTITY_LINKS), links.with_columns(pl.col("customer_id").replace(legacy)).to_arrow()
        )
        report, _ = run_identity(lake, settings.identity, build_id="rebuild")
        customers = read_polars(lake.table(tables.CUSTOMERS))["customer_id"].to_list()
        changes = read_polars(lake.table(tables.CUSTOMER_ID_CHANGES))
        location = lake.table(tables.CUSTOMER_ID_CHANGES).metadata_location
        by_duckdb = duckdb_with_iceberg().execute(f"SELECT old_customer_id FROM iceberg_scan('{location}')").fetchall()
    assert by_duckdb == [(legacy[first],)], "other engines read the change log too"
    assert sum(c.startswith("C-legacy-") for c in customers) == len(set(legacy.values())), "every old id kept"
    assert report.id_changes == 1
    assert changes.select("old_customer_id", "change", "build_id").rows() == [(legacy[first], "split", "rebuild")]
    assert changes["new_customer_id"].item() in customers
