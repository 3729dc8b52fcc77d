"""The MongoDB worker, run with the real pymongo extractor against SecantusDB, a MongoDB-wire-protocol
server standing in for MongoDB (none can be installed here), holding the sample's marketplace orders."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from pymongo import MongoClient

from core.config import Settings, load_settings
from core.errors import TransientError
from ingest.entities import MARKETPLACE_ORDERS, PRODUCTS
from ingest.sources.files import FileSource
from ingest.sources.mongo import MongoSource
from ingest.worker import EntityRun, Worker
from lakehouse.lake import Lake
from lakehouse.query import read_polars
from schema import lake as tables
from tests import servers
from tests.support import SAMPLE_DIR, csv_rows


def ingest(lake: Lake, url: str, database: str, *, reconcile: bool = False, batch_rows: int = 50) -> EntityRun:
    with MongoSource(url, database, "marketplace_orders", attempts=2, timeout_ms=1_000) as source:
        return Worker(lake, source, batch_rows=batch_rows).run((MARKETPLACE_ORDERS,), reconcile=reconcile)[0]


@pytest.fixture
def documents(source_mongo: tuple[str, str]) -> Iterator[Any]:
    """The source collection, to change between runs."""
    url, database = source_mongo
    with MongoClient(url, tz_aware=True) as client:
        yield client[database]["marketplace_orders"]


@pytest.fixture
def lake(settings: Settings) -> Lake:  # type: ignore[misc]
    with Lake.open(settings.catalog) as opened:
        opened.create()
        Worker(opened, FileSource(SAMPLE_DIR)).run((PRODUCTS,))  # the catalogue titles are matched against
        yield opened


def test_first_load_conforms_every_platform_and_quarantines_the_bad_documents(
    lake: Lake, source_mongo: tuple[str, str], documents: Any
) -> None:
    url, database = source_mongo
    documents.insert_one({"_id": "undated-1", "platform": "amazon", "AmazonOrderId": "x"})
    run = ingest(lake, url, database)
    assert run.read == 166 and all(batch.balanced for batch in run.batches)
    assert max(batch.read for batch in run.batches) <= 51, "bounded batches (plus the refused undated document)"
    details = read_polars(lake.table(tables.MARKETPLACE_ORDERS))
    assert set(details["platform"]) == {"amazon", "ebay", "walmart"}
    orders = read_polars(lake.table(tables.ORDERS)).filter(pl.col("source") == "marketplace")
    assert len(orders) == len(details) == 165 - 4
    quarantined = read_polars(lake.table(tables.QUARANTINE))
    injected = {
        r["record_key"]
        for r in csv_rows(SAMPLE_DIR / "truth" / "bad_records.csv")
        if r["source"] == "marketplace_orders"
    }
    assert set(quarantined.filter(pl.col("entity") == "conformed.marketplace_orders")["record_key"]) == injected
    undated = quarantined.filter(pl.col("record_key") == "undated-1")
    assert undated.select("reason_code", "column_name").row(0) == ("missing_field", "updated_at")


def test_incremental_runs_read_only_changed_documents(
    lake: Lake, source_mongo: tuple[str, str], documents: Any
) -> None:
    url, database = source_mongo
    ingest(lake, url, database)
    target = documents.find_one({"platform": "ebay"})
    assert target is not None
    later = datetime.now(UTC) + timedelta(seconds=1)
    documents.update_one({"_id": target["_id"]}, {"$set": {"orderFulfillmentStatus": "REFUNDED", "updated_at": later}})
    run = ingest(lake, url, database)
    assert run.read == 1
    order = read_polars(lake.table(tables.ORDERS)).filter(pl.col("source_order_id") == target["orderId"])
    assert order["status"].to_list() == ["REFUNDED"]
    assert ingest(lake, url, database).read == 0, "a rerun reads nothing"


def test_a_new_document_shape_lands_with_its_extra_fields(
    lake: Lake, source_mongo: tuple[str, str], documents: Any
) -> None:
    url, database = source_mongo
    ingest(lake, url, database)
    template = documents.find_one({"platform": "amazon", "IsPrime": {"$exists": True}})
    assert template is not None
    template.update(
        _id="new-shape-1", AmazonOrderId="999-0000000-0000001", GiftWrap={"message": "happy birthday"},
        updated_at=datetime.now(UTC) + timedelta(seconds=1),
    )  # fmt: skip
    documents.insert_one(template)
    assert ingest(lake, url, database).read == 1
    detail = read_polars(lake.table(tables.MARKETPLACE_ORDERS)).filter(pl.col("doc_id") == "new-shape-1")
    assert '"GiftWrap": {"message": "happy birthday"}' in detail["extra"][0]


def test_a_document_deleted_from_mongodb_is_found_by_reconcile(
    lake: Lake, source_mongo: tuple[str, str], documents: Any
) -> None:
    url, database = source_mongo
    ingest(lake, url, database)
    gone = documents.find_one({"platform": "walmart"})
    assert gone is not None
    documents.delete_one({"_id": gone["_id"]})
    assert ingest(lake, url, database, reconcile=True).deleted == 1
    order_id = f"walmart:{gone['purchaseOrderId']}"
    orders = read_polars(lake.table(tables.ORDERS)).filter(pl.col("order_id") == order_id)
    assert orders["is_deleted"].to_list() == [True]
    details = read_polars(lake.table(tables.MARKETPLACE_ORDERS))
    assert gone["purchaseOrderId"] not in details["marketplace_order_id"].to_list()


def test_a_server_that_goes_away_fails_clearly_and_a_new_one_resumes(lake: Lake, tmp_path: Path) -> None:
    storage = tmp_path / "mongo"
    server = servers.start_mongo(storage)
    url = server.uri
    servers.load_mongo_sample(url, "shop")
    ingest(lake, url, "shop", batch_rows=60)
    server.stop()
    with pytest.raises(TransientError, match="gave up reading mongo:shop.marketplace_orders"):
        ingest(lake, url, "shop", batch_rows=60)
    restarted = servers.start_mongo(storage)  # same data, new port
    try:
        with MongoClient(restarted.uri, tz_aware=True) as client:
            client["shop"]["marketplace_orders"].update_many({}, {"$set": {"updated_at": datetime.now(UTC)}})
        run = ingest(lake, restarted.uri, "shop", batch_rows=60)
        assert run.read == 165
    finally:
        restarted.stop()
    assert read_polars(lake.table(tables.MARKETPLACE_ORDERS))["doc_id"].n_unique() == 161


def test_the_same_batches_land_whatever_the_batch_size(source_mongo: tuple[str, str], tmp_path: Path) -> None:
    url, database = source_mongo
    results = []
    for size in (7, 1000):
        with Lake.open(load_settings(home=tmp_path / str(size)).catalog) as lake:
            lake.create()
            ingest(lake, url, database, batch_rows=size)
            frame = read_polars(lake.table(tables.MARKETPLACE_ORDERS)).drop("_batch_id", "_ingested_at")
            results.append(frame.sort("doc_id").to_dicts())
    assert results[0] == results[1]
