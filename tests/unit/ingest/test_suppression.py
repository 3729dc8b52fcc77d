"""Which identifiers each kind of source batch hands the suppressor, and what is dropped."""

from __future__ import annotations

import json

import polars as pl
import pyarrow as pa

from ingest.quarantine import QuarantinedRecord
from ingest.suppression import identifiers_of, refusals_without_suppressed, text_identifiers, without_suppressed
from tests.support import SAMPLE_DIR


class Suppressing:
    """A suppressor holding some raw (kind, value) pairs."""

    def __init__(self, *pairs: tuple[str, str]):
        self.pairs = set(pairs)

    def active(self) -> bool:
        return bool(self.pairs)

    def hits(self, candidates: pl.DataFrame) -> set[int]:
        return {row for row, kind, value in triples(candidates) if (kind, value) in self.pairs}


def triples(candidates: pl.DataFrame) -> list[tuple[int, str, str]]:
    return candidates.select("row", "kind", "value").rows()


def test_account_and_order_columns_are_candidates_and_a_suppressed_row_is_dropped() -> None:
    rows = pa.table({"user_id": ["1", "2", "3"], "email": ["a@x.com", None, "c@x.com"], "city": ["x", "y", "z"]})
    candidates = identifiers_of(rows)
    assert sorted(triples(candidates)) == [(0, "email", "a@x.com"), (0, "user_id", "1"), (1, "user_id", "2"),
                                         (2, "email", "c@x.com"), (2, "user_id", "3")]  # fmt: skip
    kept, dropped = without_suppressed(rows, Suppressing(("email", "c@x.com")))
    assert dropped == 1 and kept.column("user_id").to_pylist() == ["1", "2"]
    assert without_suppressed(rows, None) == (rows, 0)
    assert without_suppressed(rows, Suppressing()) == (rows, 0), "nothing suppressed: nothing dropped"


def test_a_records_country_comes_with_its_identifiers_so_its_phone_is_read_there() -> None:
    rows = pa.table(
        {"order_id": ["o1", "o2"], "phone": ["07457 416937", "(415) 555-0134"], "ship_country": ["GB", None]}
    )
    candidates = identifiers_of(rows)
    assert sorted(candidates.rows()) == [(0, "phone", "07457 416937", "GB"), (1, "phone", "(415) 555-0134", None)]


def test_event_payloads_name_their_account_and_device() -> None:
    payloads = [json.dumps({"event_id": "e1", "user_id": 7, "device_id": "Dev-1"}), "not json", json.dumps({"x": 1})]
    candidates = identifiers_of(pa.table({"payload": payloads}))
    assert sorted(triples(candidates)) == [(0, "device_id", "Dev-1"), (0, "user_id", "7")]


def test_marketplace_documents_name_the_buyer() -> None:
    lines = (SAMPLE_DIR / "marketplace_orders.jsonl").read_text().splitlines()[:3] + ["{not a document"]
    candidates = identifiers_of(pa.table({"doc_id": ["a", "b", "c", "d"], "document": lines}))
    first = json.loads(lines[0])
    kinds = set(candidates.filter(pl.col("row") == 0)["kind"])
    assert {"email", "marketplace_buyer_id"} <= kinds, first["platform"]
    assert 3 not in set(candidates["row"]), "an unreadable document offers nothing to match (the conformer refuses it)"


def test_records_a_source_could_not_parse_are_looked_at_through_their_text() -> None:
    texts = ['5,Ann@Example.com,"(415) 555-0134",broken"quote', '{"user_id": 9, "device_id": "D-1", "event_ts": "x"}']
    candidates = text_identifiers(texts)
    assert ("email", "Ann@Example.com") in {(k, v) for _, k, v in triples(candidates)}
    assert {(r, k, v) for r, k, v in triples(candidates) if r == 1} == {(1, "user_id", "9"), (1, "device_id", "D-1")}
    refused = [
        QuarantinedRecord("files", "raw.pg_users", "b", f"line:{i}", "malformed", "bad", t) for i, t in enumerate(texts)
    ]
    kept, dropped = refusals_without_suppressed(refused, Suppressing(("email", "Ann@Example.com")))
    assert dropped == 1 and [r.position for r in kept] == ["line:1"]
