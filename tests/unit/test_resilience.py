"""A failed custom action is said out loud (Rasa side), and the per-message check catches
up on the messages it missed (action side). The Rasa side runs Rasa's own RemoteAction
and ActionExtractSlots against a closed port and against a server that never answers."""
from __future__ import annotations

import asyncio
import socket
import threading
import time
from datetime import datetime, timezone

import pytest
import yaml
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import actions as A
from actions.messages import say
from rasa_plugins import patches, resilience
from support import ROOT

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())
# An hour ago, on the minute: case-note times must be within a day of the server's clock.
T0 = float(int(time.time() - 3600) // 60 * 60)


def user(text, intent="inform", at=T0, entities=None):
    return {"event": "user", "text": text, "timestamp": at,
            "parse_data": {"text": text, "intent": {"name": intent, "confidence": 0.9},
                           "entities": entities or []}}


def skipped(action="action_validate_slot_mappings"):
    return resilience.fault_event(action).as_dict()


def tracker_of(events, slots=None):
    latest = next(e for e in reversed(events) if e["event"] == "user")
    return Tracker("conv-r", dict(slots or {}), latest["parse_data"], events, False, None, {},
                   "action_listen")


@pytest.fixture(autouse=True)
def fresh_store():
    A.case_store.cache_clear()
    yield
    A.case_store.cache_clear()


def test_missed_messages_are_those_answered_by_a_skipped_check():
    events = [user("hello"), user("he said he'd kill himself", at=T0 + 60), skipped(),
              skipped("action_fallback"), user("/what_next", "what_next", at=T0 + 120),
              skipped(), user("and now?", at=T0 + 180)]
    missed = A.missed_messages(tracker_of(events))
    assert [m.text for m in missed] == ["he said he'd kill himself", ""]
    assert missed[0].at == datetime.fromtimestamp(T0 + 60, tz=timezone.utc)


def test_a_catch_up_message_or_a_restart_ends_the_missed_list():
    caught_up = {"event": "bot", "text": "✓ back", "metadata": {A.RECHECKED_KEY: 1}}
    assert A.missed_messages(tracker_of([user("a"), skipped(), caught_up, user("b")])) == []
    assert A.missed_messages(tracker_of([user("a"), skipped(), {"event": "restart"},
                                         user("b")])) == []


async def test_the_check_catches_up_raises_the_missed_flag_and_keeps_the_words():
    dispatcher = CollectingDispatcher()
    opened = [user('/start_case{"caller_role":"child"}', "start_case",
                   entities=[{"entity": "caller_role", "value": "child"}])]
    first = await A.ActionCheckEveryMessage().run(dispatcher, tracker_of(opened), DOMAIN)
    slots = {e["name"]: e["value"] for e in first if e.get("event") == "slot"}
    events = opened + [user("she said she wants to die", at=T0 + 60), skipped(),
                       user("what next?", "what_next", at=T0 + 120)]
    dispatcher = CollectingDispatcher()
    result = await A.ActionCheckEveryMessage().run(dispatcher, tracker_of(events, slots), DOMAIN)
    said = [m.get("text") or "" for m in dispatcher.messages]
    assert said[0] == say("recheck.findings", count=1, findings=1)
    assert dispatcher.messages[0][A.RECHECKED_KEY] == 1
    assert any(t.startswith("⚠ RED FLAG") and "wants to die" in t for t in said)
    flags = next(e["value"] for e in result if e.get("name") == "red_flags")
    assert flags == ["self_harm_risk"]
    notes = A.case_store().events(slots["case_id"])
    assert any(e["kind"] == "note" and e["text"] == "she said she wants to die" for e in notes)
    assert any(e["kind"] == "red_flag" and e["code"] == "self_harm_risk" for e in notes)


# --- the Rasa side ------------------------------------------------------------------------

def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def silent_server():
    """Accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    accepted = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                accepted.append(server.accept()[0])
            except OSError:
                pass

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1], accepted
    stop.set()
    thread.join()
    for conn in accepted:
        conn.close()
    server.close()


def rasa_run(monkeypatch, action_name, port, timeout="1", then=None):
    from rasa.core.actions.action import ActionExtractSlots, RemoteAction
    from rasa.core.channels import CollectingOutputChannel
    from rasa.core.nlg import TemplatedNaturalLanguageGenerator
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker
    from rasa.utils.endpoints import EndpointConfig

    monkeypatch.setenv("ACTION_TIMEOUT", timeout)
    patches.install()
    domain = Domain.from_path(str(ROOT / "domain.yml"))
    endpoint = EndpointConfig(f"http://127.0.0.1:{port}/webhook")
    said = UserUttered("hello", {"name": "greet"}, message_id="m-1")
    tracker = DialogueStateTracker.from_events("conv-r", [said], slots=domain.slots)
    action = (ActionExtractSlots(endpoint) if action_name == "action_extract_slots"
              else RemoteAction(action_name, endpoint))
    channel, nlg = CollectingOutputChannel(), TemplatedNaturalLanguageGenerator(domain.responses)
    events = asyncio.run(action.run(channel, nlg, tracker, domain))
    if then:  # the predicted action of the same message
        events += asyncio.run(RemoteAction(then, endpoint).run(channel, nlg, tracker, domain))
    return events


def test_the_check_on_a_dead_action_server_says_it_did_not_run(monkeypatch):
    events = rasa_run(monkeypatch, "action_extract_slots", closed_port())
    assert [e.text for e in events] == [resilience.CHECK_SKIPPED_TEXT]
    assert events[0].metadata[resilience.FAULT_KEY] == resilience.SKIPPED_CHECK


def test_a_step_on_a_dead_action_server_says_it_was_not_done(monkeypatch):
    events = rasa_run(monkeypatch, "action_next_step", closed_port())
    assert [e.text for e in events] == [resilience.STEP_FAILED_TEXT]


def test_an_action_that_never_answers_times_out_and_says_so(monkeypatch, silent_server):
    port, accepted = silent_server
    events = rasa_run(monkeypatch, "action_extract_slots", port, timeout="0.5",
                      then="action_next_step")
    assert [e.text for e in events] == [resilience.CHECK_SKIPPED_TEXT, resilience.STEP_FAILED_TEXT]
    assert len(accepted) == 1, "after the check timed out, the step was not tried"


def test_action_timeout_must_be_a_positive_number(monkeypatch):
    monkeypatch.setenv("ACTION_TIMEOUT", "soon")
    with pytest.raises(ValueError, match="ACTION_TIMEOUT"):
        resilience.action_timeout()
    monkeypatch.setenv("ACTION_TIMEOUT", "0")
    with pytest.raises(ValueError, match="more than 0"):
        resilience.action_timeout()
    monkeypatch.delenv("ACTION_TIMEOUT")
    assert resilience.action_timeout() == resilience.DEFAULT_TIMEOUT


def test_a_failing_tracker_store_is_an_error_not_a_new_conversation(monkeypatch):
    """Rasa's FailSafeTrackerStore would answer None (a fresh conversation) and keep the
    turn in memory; installed, the failure reaches the channel instead."""
    from cryptography.fernet import Fernet
    from rasa.core.tracker_store import FailSafeTrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from rasa_plugins.tracker_store import EncryptedSQLTrackerStore

    monkeypatch.setenv("CASE_NOTES_KEY", Fernet.generate_key().decode())
    monkeypatch.setenv("TRACKER_DB_URL", f"postgresql://postgres@127.0.0.1:{closed_port()}/x")
    patches.install()
    domain = Domain.from_path(str(ROOT / "domain.yml"))
    store = FailSafeTrackerStore(EncryptedSQLTrackerStore(domain=domain))
    with pytest.raises(resilience.TrackerStoreUnavailable):
        asyncio.run(store.retrieve("conv-r"))
    with pytest.raises(resilience.TrackerStoreUnavailable):
        asyncio.run(store.save(DialogueStateTracker("conv-r", domain.slots)))


def test_a_message_rasa_cannot_handle_gets_a_reply_on_its_channel(monkeypatch):
    """Whatever the channel (REST, socket.io), the counsellor is told, not left waiting."""
    from rasa.core.agent import Agent
    from rasa.core.channels import CollectingOutputChannel, UserMessage
    from rasa_plugins.lock_store import EnvLockStore

    patches.install()
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{closed_port()}/1")  # Redis down
    agent = Agent(lock_store=EnvLockStore())
    monkeypatch.setattr(agent, "is_ready", lambda: True)
    channel = CollectingOutputChannel()
    asyncio.run(agent.handle_message(UserMessage("hello", channel, "conv-r")))
    assert [m["text"] for m in channel.messages] == [resilience.NOT_HANDLED_TEXT]


async def test_a_check_that_finished_after_rasa_gave_up_is_not_recorded_twice():
    """Timed out on the Rasa side, the check may still finish on the action server and
    write its notes; the catch-up then leaves those out."""
    opened = [user('/start_case{"caller_role":"child"}', "start_case",
                   entities=[{"entity": "caller_role", "value": "child"}])]
    check = A.ActionCheckEveryMessage()
    first = await check.run(CollectingDispatcher(), tracker_of(opened), DOMAIN)
    slots = {e["name"]: e["value"] for e in first if e.get("event") == "slot"}
    late = opened + [user("she said she wants to die", at=T0 + 60)]
    await A.ActionCheckEveryMessage().run(CollectingDispatcher(), tracker_of(late, slots), DOMAIN)
    events = late + [skipped(), user("what next?", "what_next", at=T0 + 120)]
    dispatcher = CollectingDispatcher()
    await A.ActionCheckEveryMessage().run(dispatcher, tracker_of(events, slots), DOMAIN)
    assert any("RED FLAG" in (m.get("text") or "") for m in dispatcher.messages)
    notes = A.case_store().events(slots["case_id"])
    assert [e["code"] for e in notes if e["kind"] == "red_flag"] == ["self_harm_risk"]
    assert [e["text"] for e in notes if e["kind"] == "note"] == ["she said she wants to die"]
