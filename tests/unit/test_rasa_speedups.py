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
