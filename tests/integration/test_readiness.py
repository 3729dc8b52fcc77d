"""Readiness reports each dependency; a catalog that cannot be reached is a 503 with the checks."""

from __future__ import annotations

from pathlib import Path

import httpx

from api.main import create_app
from core.config import CatalogSettings, load_settings
from migrations import upgrade_head
from tests.support import serving


def test_readyz_is_503_with_the_failing_check_when_the_catalog_is_down(tmp_path: Path) -> None:
    settings = load_settings(home=tmp_path / "c360")
    settings.catalog = CatalogSettings(uri="postgresql+psycopg://nobody@127.0.0.1:1/none", warehouse=str(tmp_path))
    upgrade_head(str(settings.store.url))
    with serving(create_app(settings)) as base:
        response = httpx.get(f"{base}/readyz", timeout=10)
        assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "checks": {"catalog": "unavailable", "store": "ok"}}
