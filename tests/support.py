"""Helpers shared by the test suites (fixtures are in conftest.py files)."""
from __future__ import annotations

import json
import threading
import time
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent


def make_tracker(text: str = "", intent: str = "inform", confidence: float = 0.9,
                 slots: dict[str, Any] | None = None, entities: list[dict] | None = None,
                 sender: str = "test-conversation", timestamp: float | None = None):
    """A rasa-sdk Tracker whose latest event is a user message."""
    from rasa_sdk import Tracker

    message = {"text": text, "intent": {"name": intent, "confidence": confidence},
               "entities": entities or []}
    events = [{"event": "user", "text": text, "parse_data": message,
               "timestamp": timestamp or time.time()}]
    return Tracker(sender, dict(slots or {}), message, events, False, None, {}, "action_listen")


class Chat:
    """One conversation over the REST channel."""

    def __init__(self, stack, conversation_id: str | None = None):
        self.stack = stack
        self.id = conversation_id or f"e2e-{uuid.uuid4().hex[:10]}"

    def say(self, message: str) -> list[dict]:
        from stack import admin_token

        r = requests.post(f"{self.stack.rasa_url}/webhooks/rest/webhook",
                          json={"sender": self.id, "message": message}, timeout=60,
                          headers={"Authorization": f"Bearer {admin_token(self.stack.secret)}"})
        r.raise_for_status()
        return r.json()

    def tracker(self, include_events: str = "AFTER_RESTART") -> dict:
        """The tracker from Rasa's HTTP API; ``include_events="ALL"`` keeps the events
        before a restart too."""
        from stack import admin_token

        token = admin_token(self.stack.secret)
        r = requests.get(f"{self.stack.rasa_url}/conversations/{self.id}/tracker",
                         params={"include_events": include_events},
                         headers={"Authorization": f"Bearer {token}"}, timeout=30)
        r.raise_for_status()
        return r.json()

    def slots(self) -> dict:
        return self.tracker()["slots"]


def texts(replies: list[dict]) -> list[str]:
    return [r["text"] for r in replies if r.get("text")]


def case_state(replies: list[dict]) -> dict | None:
    states = [r["custom"] for r in replies if (r.get("custom") or {}).get("type") == "case_state"]
    return states[-1] if states else None


def start_once_more_if_it_exits(start, attempts: int = 2):
    """``start()`` (which starts a stack and waits for it); when a server exits while starting,
    says why (its log's tail, in the warnings summary) and starts it once more on fresh
    ports. A failure that is not a start-up race fails the second time as well."""
    import stack as stack_module  # scripts/stack.py

    for attempt in range(1, attempts + 1):
        try:
            return start()
        except stack_module.ProcessExited as exc:
            if attempt == attempts:
                raise
            warnings.warn(f"the test stack was started again on fresh ports: {exc}")


class BoardStream:
    """A raw Server-Sent Events client of the supervisor's board (``/supervisor/stream``):
    events as (name, data) in a list, read in a thread."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.response = requests.get(f"{url}/supervisor/stream", headers=headers, stream=True,
                                     timeout=10)
        self.events: list[tuple[str, str]] = []
        self.ended = threading.Event()
        if self.response.ok:
            threading.Thread(target=self.read, daemon=True).start()

    def read(self) -> None:
        name, data = "message", []
        try:
            for line in self.response.iter_lines(chunk_size=1, decode_unicode=True):
                if line.startswith("event:"):
                    name = line[6:].strip()
                elif line.startswith("data:"):
                    data.append(line[5:].strip())
                elif line == "":
                    if data:
                        self.events.append((name, "\n".join(data)))
                    name, data = "message", []
        except Exception:  # closed by the test or the server
            pass
        self.ended.set()

    def wait_for(self, test, within: float = 5.0):
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            for name, data in list(self.events):
                if name == "cases" and test(json.loads(data)):
                    return json.loads(data)
            time.sleep(0.05)
        raise AssertionError(f"no such event within {within} s: {self.events[-3:]}")

    def close(self) -> None:
        self.response.close()


@contextmanager
def panel_servers():
    """Start panel servers on free ports (``start(handler, **options)`` gives the URL) and
    stop them all on leaving: the panel server's unit tests."""
    import panel_server  # scripts/panel_server.py

    servers = []

    def start(handler, **options) -> str:
        server = panel_server.serve("127.0.0.1", 0, handler, **options)
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    try:
        yield start
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
