"""Encryption at rest for case-note text and tracker events (Fernet, with key rotation).

``CASE_NOTES_KEY`` holds one or more Fernet keys separated by commas, newest first.
Text is encrypted with the first key and decrypted with whichever key made it, so a key is
rotated by putting a new key in front and keeping the old ones until every row written
with them has been purged.

Development (``HELPLINE_ENV`` unset or not ``production``): without ``CASE_NOTES_KEY`` a
key is made once in ``var/casenotes.key`` (mode 0600) and reused, with a warning.
Production: a missing key is an error (:class:`MissingKeyError`). Keys never reach logs.
"""
from __future__ import annotations

import logging
import os
import threading
import time
import warnings
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from actions import settings

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]

__all__ = [
    "DevelopmentKeyWarning", "InvalidToken", "MissingKeyError", "decrypt", "encrypt",
    "generate_key", "get_fernet", "key_file", "production",
]


class MissingKeyError(RuntimeError):
    """No encryption key where one is required."""


class DevelopmentKeyWarning(UserWarning):
    """Note text is encrypted with a key kept on this machine (development only)."""


def production() -> bool:
    from actions import settings

    return settings.production()


def var_dir() -> Path:
    path = ROOT / "var"
    path.mkdir(parents=True, exist_ok=True)
    return path


def key_file() -> Path:
    return var_dir() / "casenotes.key"


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def _dev_key() -> str:
    """Create (once, 0600) or reuse the development key file."""
    path = key_file()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(generate_key() + "\n")
    os.chmod(path, 0o600)
    key = ""
    for _ in range(50):  # another process may have created the file and not written it yet
        key = path.read_text(encoding="ascii").strip()
        if key:
            break
        time.sleep(0.02)
    message = ("CASE_NOTES_KEY is not set: case notes and conversations are encrypted with "
               f"the development key in {path}. Set CASE_NOTES_KEY in production.")
    warnings.warn(message, DevelopmentKeyWarning, stacklevel=3)
    logger.warning(message)
    return key


def _parse_keys(raw: str) -> list[Fernet]:
    keys = [part.strip() for part in raw.split(",") if part.strip()]
    fernets = []
    for n, key in enumerate(keys, 1):
        try:
            fernets.append(Fernet(key.encode("ascii")))
        except (ValueError, UnicodeEncodeError) as exc:
            # never echo the key itself
            raise ValueError(f"CASE_NOTES_KEY: key #{n} is not a valid Fernet key "
                             "(32 url-safe base64-encoded bytes)") from exc
    if not fernets:
        raise MissingKeyError("CASE_NOTES_KEY holds no key")
    return fernets


_cache: dict[tuple[str, bool], MultiFernet] = {}
_lock = threading.Lock()


def get_fernet(key: str | None = None) -> MultiFernet:
    """The MultiFernet for ``key`` (comma-separated keys, newest first) or the environment.

    Read from the environment on every call (cached per value), so tests and key rotation
    need no restart of anything that asks again.
    """
    raw = key if key is not None else settings.env("CASE_NOTES_KEY", "")
    prod = production()
    with _lock:
        cached = _cache.get((raw, prod))
        if cached is not None:
            return cached
        if not raw:
            if prod:
                raise MissingKeyError("CASE_NOTES_KEY must be set when HELPLINE_ENV=production")
            raw_used = _dev_key()
        else:
            raw_used = raw
        fernet = MultiFernet(_parse_keys(raw_used))
        _cache[(raw, prod)] = fernet
        return fernet


def encrypt(text: str | None, fernet: MultiFernet | None = None) -> str | None:
    """Encrypt any Python string. A lone UTF-16 surrogate (JSON may carry "\\ud800") is
    kept as is ("surrogatepass"), so no text can make a write fail; valid text is UTF-8."""
    if text is None:
        return None
    return (fernet or get_fernet()).encrypt(text.encode("utf-8", "surrogatepass")).decode("ascii")


def decrypt(token: str | None, fernet: MultiFernet | None = None) -> str | None:
    """Decrypt a token; raises :class:`cryptography.fernet.InvalidToken` for a wrong key."""
    if token is None:
        return None
    return (fernet or get_fernet()).decrypt(token.encode("ascii")).decode("utf-8", "surrogatepass")
