"""Open the Iceberg catalog named by the settings: SQL (SQLite or PostgreSQL) or REST."""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlparse

from pyiceberg.catalog import Catalog, load_catalog
from pyiceberg.exceptions import NamespaceAlreadyExistsError

from core.config import CatalogSettings
from core.errors import ConfigurationError
from schema.model import Layer

logger = logging.getLogger(__name__)


def warehouse_location(warehouse: str) -> str:
    """A warehouse setting as pyiceberg wants it: object-store URLs as they are, local paths as file:// URLs."""
    if urlparse(warehouse).scheme in {"s3", "s3a", "gs", "abfs", "abfss", "file"}:
        return warehouse
    path = Path(warehouse).expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path.as_uri()


def catalog_properties(settings: CatalogSettings) -> dict[str, str]:
    """pyiceberg properties for the configured catalog; SQLite parent folders are created."""
    if settings.uri is None or settings.warehouse is None:
        raise ConfigurationError("C360_CATALOG__URI and C360_CATALOG__WAREHOUSE must be resolved before use")
    scheme = urlparse(settings.uri).scheme.split("+")[0]
    props = {"uri": settings.uri, "warehouse": warehouse_location(settings.warehouse)}
    if scheme == "sqlite":
        Path(settings.uri.removeprefix("sqlite:///")).expanduser().parent.mkdir(parents=True, exist_ok=True)
        props["type"] = "sql"
    elif scheme == "postgresql":
        props["type"] = "sql"
    else:
        props["type"] = "rest"
    return {**props, **settings.properties}


def open_catalog(settings: CatalogSettings, *, ensure_namespaces: bool = True) -> Catalog:
    """Open the catalog; by default also make sure every layer's namespace exists (a write)."""
    try:
        catalog = load_catalog(settings.name, **catalog_properties(settings))
    except Exception as exc:  # driver errors vary by backend; the message must name the setting
        raise ConfigurationError(f"cannot open the Iceberg catalog at C360_CATALOG__URI: {exc}") from exc
    if not ensure_namespaces:
        return catalog
    try:
        for layer in Layer:
            try:
                catalog.create_namespace_if_not_exists(layer.value)
            except NamespaceAlreadyExistsError:  # a concurrent creator won the race
                pass
    except Exception as exc:
        catalog.close()
        raise ConfigurationError(f"cannot use the Iceberg catalog at C360_CATALOG__URI: {exc}") from exc
    return catalog
