"""The lakehouse as one object: a catalog plus the project's table definitions.

Jobs and workers take a `Lake` (the injectable seam to storage); tests build one on a SQLite
catalog in a temporary folder.
"""

from __future__ import annotations

from pyiceberg.catalog import Catalog
from pyiceberg.table import Table

from core.config import CatalogSettings
from lakehouse.catalog import open_catalog
from lakehouse.tables import create_tables, load_table
from schema.lake import ALL_TABLES
from schema.model import TableDef

__all__ = ["Lake", "Table"]  # Table re-exported so domain packages can annotate without importing pyiceberg


class Lake:
    """Loads tables by definition; `create()` makes every table the code defines."""

    def __init__(self, catalog: Catalog):
        self.catalog = catalog

    @classmethod
    def open(cls, settings: CatalogSettings, *, ensure_namespaces: bool = True) -> Lake:
        """Open the configured catalog (readers pass ensure_namespaces=False: no writes)."""
        return cls(open_catalog(settings, ensure_namespaces=ensure_namespaces))

    def create(self, tables: tuple[TableDef, ...] = ALL_TABLES) -> None:
        """Create missing tables and add columns the code gained to existing ones."""
        create_tables(self.catalog, tables)

    def table(self, definition: TableDef) -> Table:
        """The current state of one table (NoSuchTableError if it was never created)."""
        return load_table(self.catalog, definition)

    def ping(self) -> None:
        """Raise if the catalog cannot be reached (for readiness checks)."""
        self.catalog.list_namespaces()

    def close(self) -> None:
        """Release the catalog's connections (a SQL catalog keeps a pool)."""
        self.catalog.close()

    def __enter__(self) -> Lake:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()
