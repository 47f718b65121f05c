"""The test stories (tests/stories/), played through the whole stack: the Rasa server with
the current model, the action server, the case-notes store.

`make stories` (rasa test core) checks that the model predicts each story's actions, but it
runs no action: the slots a story lists are fed in, not checked. Here every user step is
sent over the REST channel as a counsellor would type it, and after each turn the test
checks what the tracker holds: the intent read, the actions run (in order, the per-message
check left out), that the action server answered (no fault reply), and each slot the story
lists under ``slot_was_set``: ``- name: value`` must hold that value after the turn, a bare
``- name`` must be set (not empty).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from actions.metadata import FAULT_KEY
from support import Chat

STORIES = Path(__file__).resolve().parents[1] / "stories"
#: actions Rasa runs by itself on every turn; stories do not list them
AUTOMATIC = {"action_listen", "action_session_start", "action_extract_slots",
             "action_validate_slot_mappings"}


class Turn:
    """One user step of a story and what the story says follows it."""

    def __init__(self, text: str, intent: str | None) -> None:
        self.text = text.strip()
        self.intent = intent
        self.actions: list[str] = []
        self.slots: dict[str, Any] = {}


def turns_of(story: dict) -> list[Turn]:
    turns: list[Turn] = []
    for step in story["steps"]:
        if "user" in step:
            turns.append(Turn(step["user"], step.get("intent")))
        elif "action" in step:
            turns[-1].actions.append(step["action"])
        elif "slot_was_set" in step:
            for item in step["slot_was_set"]:
                name, value = next(iter(item.items())) if isinstance(item, dict) else (item, ...)
                turns[-1].slots[name] = value
        else:
            raise ValueError(f"a step this runner does not know: {step}")
    return turns


def stories() -> list[Any]:
    found = []
    for path in sorted(STORIES.glob("*.yml")):
        for story in yaml.safe_load(path.read_text())["stories"]:
            found.append(pytest.param(story, id=story["story"][:60]))
    return found


def turn_events(events: list[dict], user_turn: int) -> list[dict]:
    """The events from the ``user_turn``-th user message (0-based) to the next one."""
    users = [i for i, e in enumerate(events) if e["event"] == "user"]
    start = users[user_turn]
    end = users[user_turn + 1] if user_turn + 1 < len(users) else len(events)
    return events[start:end]


@pytest.mark.parametrize("story", stories())
def test_a_story_played_through_the_whole_stack(stack, story):
    chat = Chat(stack)
    for number, turn in enumerate(turns_of(story)):
        chat.say(turn.text)
        tracker = chat.tracker(include_events="ALL")
        events = turn_events(tracker["events"], number)
        assert events[0]["text"] == turn.text
        where = f"turn {number + 1} ({turn.text!r})"
        if turn.intent:
            assert events[0]["parse_data"]["intent"]["name"] == turn.intent, where
        ran = [e["name"] for e in events if e["event"] == "action" and e["name"] not in AUTOMATIC]
        assert ran == turn.actions, where
        faults = [e["metadata"][FAULT_KEY] for e in events
                  if e["event"] == "bot" and FAULT_KEY in (e.get("metadata") or {})]
        assert not faults, f"{where}: the action server did not answer: {faults}"
        for name, expected in turn.slots.items():
            value = tracker["slots"][name]
            if expected is ...:
                assert value not in (None, "", [], {}), f"{where}: slot {name} is not set"
            else:
                assert value == expected, f"{where}: slot {name}"


def test_the_runner_reads_every_kind_of_step_the_stories_use():
    turns = turns_of({"steps": [
        {"user": "/start_case{\"caller_role\":\"child\"}\n", "intent": "start_case"},
        {"action": "action_start_case"},
        {"slot_was_set": ["case_id", {"caller_role": "child"}]},
    ]})
    assert [(t.text, t.intent, t.actions) for t in turns] == [
        ('/start_case{"caller_role":"child"}', "start_case", ["action_start_case"])]
    assert turns[0].slots == {"case_id": ..., "caller_role": "child"}
