"""Salted hashes of subjects' identifiers: what the service keeps about a person once they are erased.

An HMAC with a secret salt rather than a plain digest: e-mails and phone numbers are few enough to
guess, and a plain hash of one is as good as the value to anyone holding a list of them.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from core.config import Settings

SALT_FILE = "privacy.salt"


def salt(settings: Settings) -> bytes:
    """The configured salt, else the one kept under C360_HOME (made once, mode 600)."""
    if settings.privacy.salt is not None:
        return settings.privacy.salt.get_secret_value().encode()
    path = Path(settings.home).expanduser() / SALT_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as file:
                file.write(secrets.token_hex(32) + "\n")
        except FileExistsError:  # another process made it first
            pass
    return path.read_text().strip().encode()


def identifier_hash(key: bytes, kind: str, value: str) -> str:
    """The salted hash of one identifier value of a kind (values are hashed as normalised)."""
    return hmac.new(key, f"{kind}\x00{value}".encode(), hashlib.sha256).hexdigest()
