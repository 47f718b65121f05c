"""The Redis lock store lets one message of a conversation run at a time across Rasa
servers (here: two lock stores in two threads with their own event loops, on the real
Redis), in arrival order within a server. Rasa 3.6's RedisLockStore does not (see
rasa_plugins/lock_store.py)."""
from __future__ import annotations

import asyncio
import socket
import threading
import uuid

import pytest

from rasa_plugins.lock_store import EnvLockStore, RedisMutexLockStore


def redis_up() -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", 6379)) == 0


pytestmark = pytest.mark.skipif(not redis_up(), reason="no Redis at 127.0.0.1:6379")


def store(prefix: str) -> RedisMutexLockStore:
    import os

    os.environ["REDIS_URL"] = "redis://127.0.0.1:6379/1"
    os.environ["REDIS_KEY_PREFIX"] = prefix
    try:
        made = EnvLockStore()
    finally:
        del os.environ["REDIS_URL"], os.environ["REDIS_KEY_PREFIX"]
    assert isinstance(made, RedisMutexLockStore)
    return made


def test_two_servers_never_hold_one_conversation_at_once():
    prefix = f"unit{uuid.uuid4().hex[:8]}"
    holders: list[int] = []
    most = [0]
    guard = threading.Lock()
    done: list[str] = []

    async def message(lock_store, name):
        async with lock_store.lock("conv-1", lock_lifetime=30):
            with guard:
                holders.append(1)
                most[0] = max(most[0], len(holders))
            await asyncio.sleep(0.002)
            with guard:
                holders.pop()
                done.append(name)

    def server(n):
        lock_store = store(prefix)

        async def main():
            await asyncio.gather(*(message(lock_store, f"{n}-{i}") for i in range(15)))

        asyncio.run(main())

    threads = [threading.Thread(target=server, args=(n,)) for n in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(done) == 30
    assert most[0] == 1


async def test_messages_of_one_conversation_run_in_arrival_order_on_one_server():
    lock_store = store(f"unit{uuid.uuid4().hex[:8]}")
    order: list[int] = []

    async def message(i):
        async with lock_store.lock("conv-2", lock_lifetime=30):
            await asyncio.sleep(0.001)
            order.append(i)

    tasks = []
    for i in range(10):
        tasks.append(asyncio.create_task(message(i)))
        await asyncio.sleep(0)  # each arrives after the one before
    await asyncio.gather(*tasks)
    assert order == list(range(10))
    assert lock_store._queues == {}, "nothing kept once the conversation is idle"


async def test_a_lock_held_by_a_dead_server_expires():
    lock_store = store(f"unit{uuid.uuid4().hex[:8]}")
    dead = lock_store.red.lock(lock_store.key_prefix + "conv-3", timeout=0.3)
    assert dead.acquire(blocking=False)  # taken, never released: its server died
    async with lock_store.lock("conv-3", lock_lifetime=5):
        pass
