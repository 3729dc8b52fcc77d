"""How the MongoDB source walks a collection by (updated_at, _id) position (mongomock: query building only)."""

from __future__ import annotations

from datetime import UTC, datetime

import mongomock

from ingest.entities import MARKETPLACE_ORDERS
from ingest.sources.mongo import MongoSource

T1 = datetime(2026, 1, 1, tzinfo=UTC)
T2 = datetime(2026, 1, 2, tzinfo=UTC)


def source_over(documents: list[dict[str, object]]) -> MongoSource:
    client = mongomock.MongoClient(tz_aware=True)
    client["shop"]["marketplace_orders"].insert_many(documents)
    return MongoSource("mongodb://unused", "shop", "marketplace_orders", client=client)


def test_batches_follow_updated_at_then_id_and_resume_exactly_after_the_last_one() -> None:
    source = source_over(
        [{"_id": f"d{i}", "platform": "amazon", "updated_at": T1 if i < 3 else T2} for i in (4, 1, 3, 0, 2)]
    )
    first = source.next_batch(MARKETPLACE_ORDERS, None, 2)
    second = source.next_batch(MARKETPLACE_ORDERS, first.last, 2)
    third = source.next_batch(MARKETPLACE_ORDERS, second.last, 2)
    ids = [b.rows.column("doc_id").to_pylist() for b in (first, second, third)]
    assert ids == [["d0", "d1"], ["d2", "d3"], ["d4"]], "ties on updated_at are broken by _id, none skipped"
    assert source.next_batch(MARKETPLACE_ORDERS, third.last, 2).rows.num_rows == 0


def test_documents_without_updated_at_are_refused_once_per_run() -> None:
    source = source_over([{"_id": "a", "platform": "ebay"}, {"_id": "b", "platform": "ebay", "updated_at": T1}])
    first = source.next_batch(MARKETPLACE_ORDERS, None, 10)
    assert first.rows.column("doc_id").to_pylist() == ["b"]
    assert [(r.record_key, r.reason_code, r.batch_id) for r in first.refused] == [("a", "missing_field", "undated")]
    assert source.next_batch(MARKETPLACE_ORDERS, first.last, 10).refused == []


def test_object_ids_keep_their_type_in_the_watermark() -> None:
    from bson import ObjectId

    ids = sorted(ObjectId() for _ in range(3))
    source = source_over([{"_id": i, "platform": "walmart", "updated_at": T1} for i in ids])
    first = source.next_batch(MARKETPLACE_ORDERS, None, 1)
    rest = source.next_batch(MARKETPLACE_ORDERS, first.last, 5)
    assert rest.rows.column("doc_id").to_pylist() == [str(i) for i in ids[1:]]
