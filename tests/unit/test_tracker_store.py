"""The encrypted tracker store (rasa_plugins/tracker_store.py), built the way the Rasa
server builds it from endpoints.yml, on SQLite and (when reachable) PostgreSQL."""
from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateSchema, DropSchema

ROOT = Path(__file__).resolve().parents[2]
from rasa.core.tracker_store import TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import (
    ActionExecuted, BotUttered, SessionStarted, SlotSet, UserUttered,
)
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.utils.endpoints import EndpointConfig, read_endpoint_config

from rasa_plugins.tracker_store import (
    EncryptedSQLTrackerStore, TrackerDecryptionError,
)

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
TYPE = "rasa_plugins.tracker_store.EncryptedSQLTrackerStore"

DOMAIN = Domain.from_yaml("""
version: "3.1"
intents: [start_case, note, greet]
slots:
  case_id:
    type: text
    influence_conversation: false
    mappings: [{type: custom}]
  red_flags:
    type: list
    influence_conversation: false
    mappings: [{type: custom}]
responses:
  utter_ok:
  - text: ok
""")


def word() -> str:
    return "zq" + uuid.uuid4().hex[:12]


def postgres_unreachable() -> str | None:
    engine = sa.create_engine(PG_URL, future=True, connect_args={"connect_timeout": 3})
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("SELECT 1"))
        return None
    except Exception as exc:  # noqa: BLE001
        return f"PostgreSQL not reachable at {PG_URL} ({type(exc).__name__})"
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def tracker_url(request, tmp_path, monkeypatch):
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'tracker.db'}"
        monkeypatch.setenv("TRACKER_DB_URL", url)
        yield url
        return
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    schema = "tracker_test_" + uuid.uuid4().hex[:10]
    admin = sa.create_engine(PG_URL, future=True)
    with admin.begin() as conn:
        conn.execute(CreateSchema(schema))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    url = url.render_as_string(hide_password=False)
    monkeypatch.setenv("TRACKER_DB_URL", url)
    try:
        yield url
    finally:
        with admin.begin() as conn:
            conn.execute(DropSchema(schema, cascade=True))
        admin.dispose()


@pytest.fixture
def key(monkeypatch) -> str:
    value = Fernet.generate_key().decode()
    monkeypatch.setenv("CASE_NOTES_KEY", value)
    return value


@pytest.fixture
def store(tracker_url, key, monkeypatch):
    """Created through the project's endpoints.yml, as `rasa run` does."""
    monkeypatch.setenv("ACTIONS_HOST", "localhost")
    monkeypatch.setenv("ACTIONS_PORT", "5055")
    config = read_endpoint_config(str(ROOT / "endpoints.yml"), "tracker_store")
    assert config is not None and config.type == TYPE
    ts = TrackerStore.create(config, domain=DOMAIN)
    yield ts
    inner = getattr(ts, "_tracker_store", ts)
    inner.engine.dispose()


def inner(ts):
    return getattr(ts, "_tracker_store", ts)


def raw_rows(ts) -> list[tuple]:
    with inner(ts).engine.connect() as conn:
        return list(conn.execute(sa.text(
            "SELECT sender_id, type_name, intent_name, action_name, data FROM events ORDER BY id")))


def conversation(sender: str, secret: str) -> DialogueStateTracker:
    tracker = DialogueStateTracker(sender, DOMAIN.slots)
    # as Rasa logs them: SessionStarted is made inside action_session_start, and the
    # ActionExecuted for that action is stamped after it ran
    started = SessionStarted()
    tracker.update(ActionExecuted("action_session_start", timestamp=started.timestamp + 0.001))
    tracker.update(started)
    tracker.update(ActionExecuted("action_listen"))
    tracker.update(UserUttered(f"he gave her an hour {secret}",
                               {"name": "note", "confidence": 0.9},
                               parse_data={"intent": {"name": "note", "confidence": 0.9},
                                           "text": f"he gave her an hour {secret}"}))
    tracker.update(SlotSet("red_flags", ["active_deadline"]))
    tracker.update(BotUttered(f"⚠ RED FLAG — raised by “{secret}”"))
    return tracker


async def test_created_from_endpoints_and_round_trips(store, tracker_url, caplog):
    assert isinstance(inner(store), EncryptedSQLTrackerStore)
    caplog.set_level(logging.DEBUG)
    secret, sender = word(), "conv-" + uuid.uuid4().hex[:8]
    tracker = conversation(sender, secret)
    await store.save(tracker)
    tracker.update(ActionExecuted("action_listen"))
    await store.save(tracker)  # only the new event is added

    got = await store.retrieve(sender)
    assert got is not None
    assert [e.as_dict() for e in got.events] == [e.as_dict() for e in tracker.events]
    assert got.latest_message.text == f"he gave her an hour {secret}"
    assert got.get_slot("red_flags") == ["active_deadline"]
    assert sender in await store.keys()
    full = await store.retrieve_full_tracker(sender)
    assert len(full.events) == len(tracker.events)
    assert await store.retrieve("nobody") is None

    rows = raw_rows(store)
    assert len(rows) == len(tracker.events)
    user = next(r for r in rows if r[1] == "user")
    assert user[2] == "note"  # intent stays in clear: Rasa's queries and analytics use it
    assert all(r[4].startswith("gAAAAA") and secret not in r[4] for r in rows)
    assert secret not in caplog.text
    if tracker_url.startswith("sqlite"):
        inner(store).engine.dispose()
        assert secret.encode() not in Path(make_url(tracker_url).database).read_bytes()


async def test_sessions_and_full_tracker(store):
    sender = "conv-" + uuid.uuid4().hex[:8]
    first = conversation(sender, "one")
    await store.save(first)
    later = await store.retrieve(sender)
    later.update(ActionExecuted("action_session_start",
                                timestamp=first.events[-1].timestamp + 10.001))
    later.update(SessionStarted(timestamp=first.events[-1].timestamp + 10))
    later.update(UserUttered("second session", {"name": "greet", "confidence": 1.0},
                             timestamp=first.events[-1].timestamp + 11))
    await store.save(later)
    latest = await store.retrieve(sender)
    assert latest.latest_message.text == "second session"
    assert not any(getattr(e, "text", None) and "one" in e.text for e in latest.events
                   if isinstance(e, UserUttered))
    full = await store.retrieve_full_tracker(sender)
    texts = [e.text for e in full.events if isinstance(e, UserUttered)]
    assert texts == ["he gave her an hour one", "second session"]


async def test_rows_written_before_encryption_are_still_read(store):
    sender = "conv-legacy"
    event = UserUttered("plain old row", {"name": "greet", "confidence": 1.0}).as_dict()
    import json

    with inner(store).engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO events (sender_id, type_name, timestamp, intent_name, "
                             "data) VALUES (:s, 'user', :t, 'greet', :d)"),
                     {"s": sender, "t": event["timestamp"], "d": json.dumps(event)})
    got = await store.retrieve(sender)
    assert got.latest_message.text == "plain old row"


async def test_key_rotation_and_wrong_key(store, key, monkeypatch):
    sender = "conv-" + uuid.uuid4().hex[:8]
    await store.save(conversation(sender, "rotated"))
    monkeypatch.setenv("CASE_NOTES_KEY", f"{Fernet.generate_key().decode()},{key}")
    assert (await store.retrieve(sender)).latest_message.text.endswith("rotated")
    monkeypatch.setenv("CASE_NOTES_KEY", Fernet.generate_key().decode())
    with pytest.raises(TrackerDecryptionError):
        await store.retrieve(sender)


def test_url_in_endpoint_config_wins_and_production_needs_a_key(tmp_path, monkeypatch):
    monkeypatch.setenv("TRACKER_DB_URL", f"sqlite:///{tmp_path / 'env.db'}")
    url = f"sqlite:///{tmp_path / 'endpoint.db'}"
    ts = TrackerStore.create(EndpointConfig(url=url, type=TYPE), domain=DOMAIN)
    assert inner(ts).engine.url.database == str(tmp_path / "endpoint.db")
    inner(ts).engine.dispose()
    monkeypatch.setenv("HELPLINE_ENV", "production")
    monkeypatch.delenv("CASE_NOTES_KEY", raising=False)
    from actions.casenotes import MissingKeyError

    with pytest.raises(MissingKeyError):
        EncryptedSQLTrackerStore(domain=DOMAIN)
