"""Lock store chosen by the environment: Redis when ``REDIS_URL`` is set, else in-process.

Rasa serialises the handling of one conversation with a lock. One Rasa server can keep
its locks in memory; several servers behind a load balancer must share them in Redis.
Configured in endpoints.yml as ``type: actions.server.lock_store.EnvLockStore``.
"""
from __future__ import annotations

import os
from typing import Any
from urllib.parse import unquote, urlparse

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore


class EnvLockStore:
    """Factory that Rasa calls like a lock store class: ``EnvLockStore(endpoint_config=...)``."""

    def __new__(cls, endpoint_config: Any = None) -> LockStore:  # type: ignore[misc]
        url = os.environ.get("REDIS_URL", "").strip()
        if not url:
            return InMemoryLockStore()
        parsed = urlparse(url)
        db = parsed.path.lstrip("/")
        return RedisLockStore(
            host=parsed.hostname or "localhost",
            port=parsed.port or 6379,
            db=int(db) if db.isdigit() else 1,
            username=unquote(parsed.username) if parsed.username else None,
            password=unquote(parsed.password) if parsed.password else None,
            use_ssl=parsed.scheme == "rediss",
            key_prefix=os.environ.get("REDIS_KEY_PREFIX", "helpline"),
        )
