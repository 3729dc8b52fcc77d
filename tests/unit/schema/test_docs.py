"""The generated schema docs (DDL, ERD) match `schema.lake`, and drift detection catches every kind of change."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
from pathlib import Path

import pytest
from PIL import Image
from PIL.PngImagePlugin import PngInfo

from schema import docs
from schema.lake import ALL_TABLES, ORDERS, RELATIONSHIPS, table_properties
from schema.model import Column, Layer, PartitionField, TableDef

SCHEMA_DIR = Path(__file__).parents[3] / "schema"
_ENTITY = re.compile(r"^    (\w+) \{$", re.MULTILINE)
_RELATION = re.compile(r'^    (\w+) \|\|--o\{ (\w+) : "[^"]+"$', re.MULTILINE)


@pytest.fixture(scope="module")
def rendered() -> dict[str, bytes]:
    return docs.render_all()


@pytest.fixture
def docs_copy(tmp_path: Path, rendered: dict[str, bytes]) -> Path:
    """A fresh copy of the generated docs, written by write_docs into a temporary schema folder."""
    assert docs.write_docs(tmp_path) == sorted(rendered)
    return tmp_path


def test_committed_docs_do_not_drift() -> None:
    assert docs.drift(SCHEMA_DIR) == [], "schema docs are stale: run `python -m schema.docs`"


def test_drift_reports_edited_files(docs_copy: Path) -> None:
    assert docs.drift(docs_copy) == []
    ddl = docs_copy / "ddl" / "conformed.orders.sql"
    ddl.write_text(ddl.read_text().replace("months(order_ts)", "days(order_ts)"))
    (docs_copy / "erd.mmd").write_text((docs_copy / "erd.mmd").read_text() + "    %% hand edit\n")

    assert docs.drift(docs_copy) == ["ddl/conformed.orders.sql", "erd.mmd"]


def test_drift_reports_stale_and_missing_files_and_write_docs_fixes_them(docs_copy: Path) -> None:
    (docs_copy / "ddl" / "raw.dropped_table.sql").write_text("-- old\n")
    (docs_copy / "ddl" / "gold.customers.sql").unlink()
    (docs_copy / "erd.png").unlink()

    expected = ["ddl/gold.customers.sql", "ddl/raw.dropped_table.sql", "erd.png"]
    assert docs.drift(docs_copy) == expected
    assert docs.write_docs(docs_copy) == expected
    assert not (docs_copy / "ddl" / "raw.dropped_table.sql").exists()
    assert docs.drift(docs_copy) == []
    assert docs.write_docs(docs_copy) == []


def _reencode(png: bytes, *, pixels: Image.Image | None = None, sha: str | None = None) -> bytes:
    with Image.open(io.BytesIO(png)) as image:
        info = PngInfo()
        info.add_text(docs.PNG_HASH_KEY, sha or image.info[docs.PNG_HASH_KEY])
        out = io.BytesIO()
        (image if pixels is None else pixels).save(out, format="PNG", compress_level=1, pnginfo=info)
    return out.getvalue()


def test_png_drift_compares_pixels_and_hash_not_bytes(docs_copy: Path) -> None:
    png = docs_copy / "erd.png"
    original = png.read_bytes()
    png.write_bytes(_reencode(original))
    assert png.read_bytes() != original
    assert docs.drift(docs_copy) == [], "a different zlib encoding of the same picture is not drift"

    png.write_bytes(_reencode(original, sha="0" * 64))
    assert docs.drift(docs_copy) == ["erd.png"]

    with Image.open(io.BytesIO(original)) as image:
        edited = image.copy()
    edited.putpixel((0, 0), (0, 0, 0))
    png.write_bytes(_reencode(original, pixels=edited))
    assert docs.drift(docs_copy) == ["erd.png"]

    png.write_bytes(b"not a png")
    assert docs.drift(docs_copy) == ["erd.png"]


def test_orders_ddl_has_layout_key_and_pii_properties() -> None:
    sql = docs.ddl_sql(ORDERS)

    assert sql.startswith("-- conformed.orders\n")
    assert "do not edit" in sql
    assert "CREATE TABLE IF NOT EXISTS conformed.orders (\n" in sql
    assert "  order_id STRING NOT NULL COMMENT 'platform:id, e.g. shopsphere:100042, amazon:114-39...',\n" in sql
    assert "  total_amount DECIMAL(12,2),\n" in sql
    assert "  order_ts TIMESTAMP NOT NULL,\n" in sql
    assert "USING iceberg\nPARTITIONED BY (months(order_ts))\nTBLPROPERTIES (\n" in sql
    assert "'write.metadata.metrics.column.email' = 'counts'" in sql
    assert "'format-version' = '2'" in sql
    assert "ALTER TABLE conformed.orders WRITE ORDERED BY order_ts, order_id;" in sql
    assert "ALTER TABLE conformed.orders SET IDENTIFIER FIELDS order_id;" in sql


def test_ddl_properties_are_sorted_and_match_the_lakehouse() -> None:
    for table in ALL_TABLES:
        block = docs.ddl_sql(table).split("TBLPROPERTIES (\n")[1].split("\n);")[0]
        keys = [line.split("'")[1] for line in block.splitlines()]
        assert keys == sorted(table_properties(table)), table.full_name


def test_ddl_escapes_quotes_and_quotes_reserved_names() -> None:
    table = TableDef(
        layer=Layer.OPS,
        name="notes",
        doc="A table's doc.",
        columns=(
            Column(1, "id", "long", required=True, doc="it's the key \\ id"),
            Column(2, "order", "string"),
            Column(3, "bucketed", "string"),
        ),
        key=("id",),
        partition=(PartitionField("bucketed", "bucket[16]"), PartitionField("order", "truncate[4]")),
    )
    sql = docs.ddl_sql(table)

    assert r"  id BIGINT NOT NULL COMMENT 'it\'s the key \\ id'," in sql
    assert "  `order` STRING,\n" in sql
    assert "PARTITIONED BY (bucket(16, bucketed), truncate(4, `order`))" in sql
    assert "WRITE ORDERED BY" not in sql
    assert "-- A table's doc." in sql


@pytest.mark.parametrize(
    ("transform", "expected"),
    [
        ("identity", "order_ts"),
        ("year", "years(order_ts)"),
        ("month", "months(order_ts)"),
        ("day", "days(order_ts)"),
        ("hour", "hours(order_ts)"),
        ("bucket[8]", "bucket(8, order_ts)"),
        ("truncate[10]", "truncate(10, order_ts)"),
    ],
)
def test_partition_transforms_map_to_spark(transform: str, expected: str) -> None:
    assert docs.spark_transform(PartitionField("order_ts", transform)) == expected


def test_every_table_has_a_ddl_file_and_an_erd_entity(rendered: dict[str, bytes]) -> None:
    entities = _ENTITY.findall(rendered["erd.mmd"].decode())

    assert sorted(p for p in rendered if p.startswith("ddl/")) == sorted(f"ddl/{t.full_name}.sql" for t in ALL_TABLES)
    assert entities == [f"{t.layer.value}_{t.name}" for t in ALL_TABLES]


def test_mermaid_parses_minimally(rendered: dict[str, bytes]) -> None:
    text = rendered["erd.mmd"].decode()
    entities = set(_ENTITY.findall(text))
    relations = _RELATION.findall(text)

    assert text.startswith("erDiagram\n")
    assert text.count("{\n") == text.count("\n    }\n") == len(ALL_TABLES)
    assert len(relations) == len(RELATIONSHIPS)
    assert {end for pair in relations for end in pair} <= entities
    assert ("conformed_users", "conformed_orders") in relations
    assert '        string order_id PK "platform:id, e.g. shopsphere:100042, amazon:114-39..."\n' in text
    assert "        string customer_id PK, FK\n" in text
    assert "        decimal total_amount" in text


def test_erd_png_is_deterministic_and_carries_the_mermaid_hash(rendered: dict[str, bytes]) -> None:
    mermaid = rendered["erd.mmd"].decode()
    first, second = docs.erd_png(mermaid), rendered["erd.png"]

    with Image.open(io.BytesIO(first)) as one, Image.open(io.BytesIO(second)) as two:
        assert one.format == "PNG"
        assert one.size == two.size
        assert one.tobytes() == two.tobytes()
        assert one.info[docs.PNG_HASH_KEY] == hashlib.sha256(mermaid.encode()).hexdigest()
        assert one.width >= 1000 and one.height >= 1000
    assert len(first) < 2_000_000


def test_main_check_exits_1_listing_drift_then_0_after_writing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    shutil.copytree(SCHEMA_DIR / "ddl", tmp_path / "ddl")
    (tmp_path / "ddl" / "ops.quarantine.sql").write_text("-- edited\n")

    assert docs.main(["--check", "--schema-dir", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"drifted: {tmp_path / 'ddl' / 'ops.quarantine.sql'}" in out
    assert f"drifted: {tmp_path / 'erd.png'}" in out

    assert docs.main(["--schema-dir", str(tmp_path)]) == 0
    assert docs.main(["--check", "--schema-dir", str(tmp_path)]) == 0
