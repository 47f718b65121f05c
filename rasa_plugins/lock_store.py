"""Lock store chosen by the environment: Redis when ``REDIS_URL`` is set, else in-process.

Rasa serialises the handling of one conversation with a lock. One Rasa server can keep
its locks in memory; several servers behind a load balancer must share them in Redis.
Configured in endpoints.yml as ``type: rasa_plugins.lock_store.EnvLockStore``.

Rasa 3.6's own ``RedisLockStore`` is not safe across servers: it issues a ticket by
reading the lock, changing it in Python and writing it back (GET, then SET), so two
servers taking a message of the same conversation at the same moment can both get the
first ticket and run together, one overwriting the other's red flag (RasaHQ/rasa#9213;
the fix, ``ConcurrentRedisLockStore``, was reverted from open-source Rasa). The
two-server test in tests/e2e/test_scale.py lost a flag that way. ``RedisMutexLockStore``
uses an atomic Redis mutex instead (``SET NX PX`` with a token, released by a script that
checks the token: redis-py's ``Lock``), queued first-come first-served inside each server.
"""
from __future__ import annotations

import asyncio
import logging
import time
from contextlib import asynccontextmanager
from typing import Any, AsyncGenerator

from rasa.core.lock_store import LOCK_LIFETIME, InMemoryLockStore, LockError, LockStore
from actions import settings

logger = logging.getLogger(__name__)


class RedisMutexLockStore(LockStore):
    """One message of a conversation at a time, across every Rasa server sharing Redis."""

    def __init__(self, client: Any, key_prefix: str = "helpline", poll_seconds: float = 0.02):
        self.red = client
        self.key_prefix = f"{key_prefix}:mutex:"
        self.poll_seconds = poll_seconds
        self._queues: dict[str, list[Any]] = {}  # conversation -> [asyncio.Lock, users]

    @asynccontextmanager
    async def lock(
        self,
        conversation_id: str,
        lock_lifetime: float = LOCK_LIFETIME,
        wait_time_in_seconds: float = 1,
    ) -> AsyncGenerator[Any, None]:
        """Hold the conversation's mutex for at most ``lock_lifetime`` seconds (it expires
        if this server dies holding it); wait for it at most as long, then ``LockError``."""
        queue = self._queues.setdefault(conversation_id, [asyncio.Lock(), 0])
        queue[1] += 1
        try:
            async with queue[0]:  # this server's messages of the conversation, in order
                mutex = self.red.lock(self.key_prefix + conversation_id,
                                      timeout=lock_lifetime, thread_local=False)
                deadline = time.monotonic() + lock_lifetime
                while not mutex.acquire(blocking=False):
                    if time.monotonic() > deadline:
                        raise LockError(f"Could not acquire lock for conversation_id "
                                        f"'{conversation_id}'.")
                    await asyncio.sleep(self.poll_seconds)
                try:
                    yield mutex
                finally:
                    try:
                        mutex.release()
                    except Exception as exc:  # expired while held, or Redis gone
                        logger.warning("conversation lock not released (%s)",
                                       type(exc).__name__)
        finally:
            queue[1] -= 1
            if queue[1] == 0:
                self._queues.pop(conversation_id, None)


class EnvLockStore:
    """Factory that Rasa calls like a lock store class: ``EnvLockStore(endpoint_config=...)``."""

    def __new__(cls, endpoint_config: Any = None) -> LockStore:
        url = settings.env("REDIS_URL", "")
        if not url:
            return InMemoryLockStore()
        import redis

        return RedisMutexLockStore(
            redis.Redis.from_url(url, socket_connect_timeout=5, socket_timeout=5),
            key_prefix=settings.env("REDIS_KEY_PREFIX", "helpline"),
        )
