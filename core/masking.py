"""Masking personal values for callers without the `pii:read` scope."""

from __future__ import annotations


def mask(value: str | None, keep: int = 2) -> str | None:
    """'jane@x.com' -> 'ja***@x.com'; 'Elizabeth' -> 'El***th'; short values -> '***'."""
    if not value:
        return None
    if "@" in value:
        local, _, domain = value.partition("@")
        return f"{local[:keep]}***@{domain}"
    return f"{value[:keep]}***{value[-2:]}" if len(value) > keep + 4 else "***"


def mask_url(url: str | None) -> str | None:
    """A page address without its query and fragment, where searches and forms put typed values."""
    if not url:
        return url
    return url.split("?", 1)[0].split("#", 1)[0]
