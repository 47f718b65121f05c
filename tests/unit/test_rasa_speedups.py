"""The Rasa server's check of action server responses, made fast, behaves as Rasa's own."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction

from rasa_plugins import patches

GOOD = {"events": [{"event": "slot", "timestamp": None, "name": "red_flags",
                    "value": ["self_harm_risk"]},
                   {"event": "reminder", "intent": "time_left", "entities": [],
                    "date_time": "2026-11-24T21:00:00+00:00", "name": "deadline-x-15",
                    "kill_on_user_msg": False, "timestamp": None}],
        "responses": [{"text": "⚠ RED FLAG", "buttons": [], "custom": {"type": "case_state"}}]}
BAD = [
    {"events": "not a list"},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": "slot"}]},
    {"responses": ["not an object"]},
]


@pytest.fixture(scope="module")
def both():
    remote = RemoteAction("action_x", None)
    patches.install()
    patches.install()  # twice is harmless
    patched = RemoteAction._validate_action_result
    original = patched.__wrapped__
    assert getattr(original, "__wrapped__", None) is None
    return remote, original, patched


def test_a_valid_response_passes_both(both):
    remote, original, patched = both
    assert original(remote, GOOD) is True and patched(remote, GOOD) is True


@pytest.mark.parametrize("bad", BAD, ids=["events-string", "unknown-event", "slot-without-name",
                                          "response-string"])
def test_an_invalid_response_fails_with_the_same_error_as_rasas(both, bad):
    remote, original, patched = both
    with pytest.raises(ValidationError) as theirs:
        original(remote, bad)
    with pytest.raises(ValidationError) as ours:
        patched(remote, bad)
    assert ours.value.message == theirs.value.message
    assert "Failed to validate Action server response" in ours.value.message


# --- each message's NLU off the event loop ---------------------------------------------------

class SlowNLU:
    """A processor whose NLU takes 0.3 s of blocking work, as a long note's encoding does."""
    http_interpreter = None

    def _parse_message_with_graph(self, message, tracker, only_output_properties=True):
        import time
        time.sleep(0.3)
        return {"text": message.text, "intent": {"name": "add_note", "confidence": 0.9},
                "entities": []}

    def _update_full_retrieval_intent(self, parse_data):
        pass

    def _check_for_unseen_features(self, parse_data):
        pass


def ticks_during_one_parse(monkeypatch, thread: str) -> tuple[dict, int]:
    """How many 20 ms steps another conversation made while one message was parsed."""
    import asyncio

    from rasa.core.channels.channel import UserMessage

    from rasa_plugins import rasa_speedups

    monkeypatch.setenv("HELPLINE_NLU_THREAD", thread)

    async def run() -> tuple[dict, int]:
        steps = 0
        done = asyncio.Event()

        async def other_conversation() -> None:
            nonlocal steps
            while not done.is_set():
                await asyncio.sleep(0.02)
                steps += 1

        other = asyncio.create_task(other_conversation())
        await asyncio.sleep(0)
        parsed = await rasa_speedups.parse_in_thread(SlowNLU(), UserMessage("a note", sender_id="c1"))
        done.set()
        await other
        return parsed, steps

    return asyncio.run(run())


def test_other_conversations_move_while_a_message_is_parsed(monkeypatch):
    parsed, steps = ticks_during_one_parse(monkeypatch, "on")
    assert parsed["intent"]["name"] == "add_note" and parsed["text"] == "a note"
    assert steps >= 5  # 0.3 s of NLU, 20 ms steps: the loop was free


def test_with_the_thread_off_the_parse_holds_the_loop_as_rasa_does(monkeypatch):
    parsed, steps = ticks_during_one_parse(monkeypatch, "off")
    assert parsed["intent"]["name"] == "add_note"
    assert steps <= 1
