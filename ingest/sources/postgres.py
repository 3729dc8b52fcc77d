"""PostgreSQL source: keyset-paginated COPY batches, column types, and key listings for reconciliation.

Each batch is one `COPY (SELECT ... WHERE (position) > (last) ORDER BY position LIMIT n) TO STDOUT`
in CSV, parsed by Arrow: memory holds one batch, and the position columns (`updated_at` and the
primary key) make the next batch start exactly after the last row landed. This is the only module
that imports psycopg.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql
from pyarrow import csv as pacsv

from core.errors import TerminalError, TransientError
from core.retry import retrying
from ingest.entities import Entity
from ingest.landing import POSITION
from ingest.worker import Batch

logger = logging.getLogger(__name__)

_SIMPLE_TYPES: dict[str, pa.DataType] = {
    "smallint": pa.int32(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "real": pa.float32(),
    "double precision": pa.float64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    "timestamp without time zone": pa.timestamp("us", tz="UTC"),
}


@dataclass(frozen=True)
class SourceColumn:
    """A column of a source table with its PostgreSQL and Arrow types."""

    name: str
    pg_type: str
    arrow_type: pa.DataType


def arrow_type(data_type: str, precision: int | None, scale: int | None) -> pa.DataType:
    """The Arrow type a PostgreSQL column lands as (text for anything without a closer match)."""
    if data_type == "numeric":
        return pa.decimal128(precision, scale or 0) if precision else pa.decimal128(38, 10)
    return _SIMPLE_TYPES.get(data_type, pa.string())


def safe_url(url: str) -> str:
    """The URL without its password, for messages."""
    info = psycopg.conninfo.conninfo_to_dict(url)
    host = info.get("host", "localhost")
    return f"postgresql://{info.get('user', '')}@{host}:{info.get('port', 5432)}/{info.get('dbname', '')}"


class PostgresSource:
    """Reads ShopSphere's PostgreSQL tables; every call retries transient failures with backoff."""

    kind = "postgres"

    def __init__(self, url: str, *, schema: str = "public", attempts: int = 5):
        self.url = url
        self.schema = schema
        self.attempts = attempts
        self.name = f"postgres:{schema}"
        self._connection: psycopg.Connection[Any] | None = None
        self._columns: dict[str, list[SourceColumn]] = {}

    def next_batch(self, entity: Entity, after: list[object] | None, limit: int) -> Batch:
        """The next rows of the entity's table after `after`, with their positions and the table's types."""
        columns = self._table_columns(entity)
        start = None if after is None else [str(v) for v in after]
        rows = self.batch(entity.name, columns, entity.position, start, limit)
        if not len(rows):
            return Batch(rows=rows, last=list(after or []))
        positions = pc.binary_join_element_wise(*(_position_text(rows.column(p)) for p in entity.position), "|")
        last: list[object] = [_text(rows.column(p)[-1].as_py()) for p in entity.position]
        schema = pa.schema([(c.name, c.arrow_type) for c in columns])
        return Batch(rows=rows.append_column(POSITION, positions), last=last, source_schema=schema)

    def live_keys(self, entity: Entity) -> pa.Table:
        """Every primary key of the entity's table (text values)."""
        chunks = list(self.keys(entity.name, entity.key))
        return pa.concat_tables(chunks) if chunks else pa.table({k: pa.array([], pa.string()) for k in entity.key})

    def _table_columns(self, entity: Entity) -> list[SourceColumn]:
        """Columns of the entity's table, read once per run; its position and key columns must exist."""
        if entity.name not in self._columns:
            columns = self.columns(entity.name)
            missing = [c for c in (*entity.position, *entity.key) if c not in {col.name for col in columns}]
            if missing:
                message = f"table {self.schema}.{entity.name} lacks the column(s) {missing} it is read by"
                raise TerminalError(message, source=self.name)
            self._columns[entity.name] = columns
        return self._columns[entity.name]

    def close(self) -> None:
        """Close the connection."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def __enter__(self) -> PostgresSource:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def columns(self, table: str) -> list[SourceColumn]:
        """The table's columns in order; TerminalError if the table does not exist."""
        query = (
            "SELECT column_name, data_type, numeric_precision, numeric_scale FROM information_schema.columns "
            "WHERE table_schema = %s AND table_name = %s ORDER BY ordinal_position"
        )
        rows = self._run(table, lambda c: c.execute(query, (self.schema, table)).fetchall())
        if not rows:
            raise TerminalError(f"table {self.schema}.{table} does not exist", source=self.name)
        return [SourceColumn(name, kind, arrow_type(kind, precision, scale)) for name, kind, precision, scale in rows]

    def batch(
        self, table: str, columns: list[SourceColumn], position: tuple[str, ...], after: list[str] | None, limit: int
    ) -> pa.Table:
        """The next `limit` rows after position `after` (text values; NULL as null), in position order."""
        kinds = {c.name: c.pg_type for c in columns}
        statement = sql.SQL(
            "COPY (SELECT {cols} FROM {table} {where} ORDER BY {order} LIMIT {limit}) "
            "TO STDOUT (FORMAT csv, HEADER true)"
        ).format(
            cols=sql.SQL(", ").join(sql.Identifier(c.name) for c in columns),
            table=sql.Identifier(self.schema, table),
            where=_after_clause(position, kinds) if after is not None else sql.SQL(""),
            order=sql.SQL(", ").join(sql.Identifier(p) for p in position),
            limit=sql.Literal(limit),
        )  # fmt: skip
        data = self._run(table, lambda c: _copy_out(c, statement, after))
        if not data:
            return pa.table({c.name: pa.array([], c.arrow_type) for c in columns})
        return _parse_csv(data, columns)

    def keys(self, table: str, key: tuple[str, ...]) -> Iterator[pa.Table]:
        """Every primary key of the table, in chunks (text values), for hard-delete reconciliation."""
        statement = sql.SQL("COPY (SELECT {cols} FROM {table}) TO STDOUT (FORMAT csv, HEADER true)").format(
            cols=sql.SQL(", ").join(sql.Identifier(k) for k in key), table=sql.Identifier(self.schema, table)
        )
        data = self._run(table, lambda c: _copy_out(c, statement, None))
        if data:
            yield _parse_csv(data, [SourceColumn(k, "text", pa.string()) for k in key])

    def _run(self, table: str, action: Any) -> Any:
        """Run `action(connection)`; reconnect and retry on connection failures, name the failure otherwise."""

        def attempt() -> Any:
            try:
                return action(self._connect())
            except psycopg.OperationalError as exc:
                self.close()
                raise TransientError(
                    f"PostgreSQL at {safe_url(self.url)}: {_first_line(exc)}", source=self.name
                ) from exc
            except psycopg.errors.UndefinedTable as exc:
                raise TerminalError(f"table {self.schema}.{table} does not exist", source=self.name) from exc
            except psycopg.Error as exc:
                raise TerminalError(
                    f"PostgreSQL refused a query on {table}: {_first_line(exc)}", source=self.name
                ) from exc

        return retrying(attempt, attempts=self.attempts, what=f"reading {self.schema}.{table}")

    def _connect(self) -> psycopg.Connection[Any]:
        if self._connection is None or self._connection.closed:
            self._connection = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            self._connection.execute("SET TIME ZONE 'UTC'")
            self._connection.execute("SET DateStyle = 'ISO, YMD'")
        return self._connection


def _after_clause(position: tuple[str, ...], kinds: dict[str, str]) -> sql.Composed:
    """WHERE (p1, p2) > (%s::type1, %s::type2): a keyset predicate served by an index on the position."""
    left = sql.SQL(", ").join(sql.Identifier(p) for p in position)
    right = sql.SQL(", ").join(sql.SQL("%s::{}").format(sql.SQL(kinds[p])) for p in position)
    return sql.SQL("WHERE ({}) > ({})").format(left, right)


def _copy_out(connection: psycopg.Connection[Any], statement: sql.Composed, params: list[str] | None) -> bytes:
    buffer = io.BytesIO()
    with connection.cursor() as cursor, cursor.copy(statement, params) as copy:
        for chunk in copy:
            buffer.write(chunk)
    return buffer.getvalue()


def _parse_csv(data: bytes, columns: list[SourceColumn]) -> pa.Table:
    """COPY's CSV, typed as the source declares it; if a value defeats Arrow's parser, all as text.

    Only COPY's own NULL (an unquoted empty field) is null: a quoted '' stays an empty string and
    a value such as 'N/A' stays text (Arrow's default null list would silently drop it).
    """

    def options(types: dict[str, pa.DataType]) -> pacsv.ConvertOptions:
        return pacsv.ConvertOptions(
            column_types=types, null_values=[""], strings_can_be_null=True, quoted_strings_can_be_null=False,
            true_values=["t", "true"], false_values=["f", "false"],
        )  # fmt: skip

    try:
        return pacsv.read_csv(io.BytesIO(data), convert_options=options({c.name: c.arrow_type for c in columns}))
    except pa.ArrowInvalid:
        return pacsv.read_csv(io.BytesIO(data), convert_options=options({c.name: pa.string() for c in columns}))


def _position_text(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """A position column as text, null as ''.

    Arrow formats zone-aware timestamps through the time-zone database, value by value (about ten
    times slower than the rest of the batch's parsing); positions are UTC, so they are formatted as
    naive timestamps and marked 'Z', the text the zone-aware cast gives.
    """
    if pa.types.is_timestamp(column.type) and column.type.tz is not None:
        naive = column.cast(pa.timestamp(column.type.unit)).cast(pa.string())
        text = pc.binary_join_element_wise(naive, pa.scalar("Z"), "")
    else:
        text = column.cast(pa.string())
    return pc.fill_null(text, "")


def _text(value: object) -> str:
    """A position value as PostgreSQL reads it back (timestamps in ISO form)."""
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
