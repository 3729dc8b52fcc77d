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
from psycopg import sql
from pyarrow import csv as pacsv

from core.errors import TerminalError, TransientError
from core.retry import retrying

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

    def __init__(self, url: str, *, schema: str = "public", attempts: int = 5):
        self.url = url
        self.schema = schema
        self.attempts = attempts
        self._connection: psycopg.Connection[Any] | None = None

    @property
    def name(self) -> str:
        """The source as named in lineage and messages (no credentials)."""
        return f"postgres:{self.schema}"

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
        names = [c.name for c in columns]
        if not data:
            return pa.table({name: pa.array([], pa.string()) for name in names})
        return _parse_csv(data, names)

    def keys(self, table: str, key: tuple[str, ...]) -> Iterator[pa.Table]:
        """Every primary key of the table, in chunks (text values), for hard-delete reconciliation."""
        statement = sql.SQL("COPY (SELECT {cols} FROM {table}) TO STDOUT (FORMAT csv, HEADER true)").format(
            cols=sql.SQL(", ").join(sql.Identifier(k) for k in key), table=sql.Identifier(self.schema, table)
        )
        data = self._run(table, lambda c: _copy_out(c, statement, None))
        if data:
            yield _parse_csv(data, list(key))

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


def _parse_csv(data: bytes, names: list[str]) -> pa.Table:
    """COPY's CSV as text columns: unquoted empty fields are NULL, quoted empty strings stay ''."""
    convert = pacsv.ConvertOptions(
        column_types=dict.fromkeys(names, pa.string()), strings_can_be_null=True, quoted_strings_can_be_null=False
    )
    return pacsv.read_csv(io.BytesIO(data), convert_options=convert)


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
