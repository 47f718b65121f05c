"""Typed commands are recognised exactly, whatever the note holds (config.yml `commands:`)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from actions.actions import NOTE_PREFIX
from rasa_plugins.commands import CommandClassifier, command_intent, compile_commands
from rasa.shared.nlu.training_data.message import Message

ROOT = Path(__file__).resolve().parents[2]
CONFIG = next(c for c in yaml.safe_load((ROOT / "config.yml").read_text())["pipeline"]
              if c["name"].endswith("CommandClassifier"))
COMMANDS = compile_commands(CONFIG["commands"])


@pytest.mark.parametrize("text, intent", [
    ("add note: {{7*7}} ${jndi:ldap://x} 999", "add_note"),
    ("Add Note - police ref 12/3456, called 999 at 14:02", "add_note"),
    ("note: she's suicidal? no, denies it", "add_note"),
    ("log this: username jxk_official", "add_note"),
    ("notes: referred to dsl", "add_note"),
    ("what next?", "what_next"),
    ("What's next", "what_next"),
    ("summary", "summary"),
    ("time left?", "time_left"),
    ("close case", "close_case"),
    ("start again", "start_again"),
])
def test_commands_are_recognised_whatever_follows(text, intent):
    assert command_intent(text, COMMANDS) == intent


@pytest.mark.parametrize("text", [
    "she said the note was from her ex",
    "what next for the mum, she's asking",
    "reset her password on insta",
    "he wants to close the case himself",
    "notebook is where she wrote his name",
])
def test_ordinary_messages_are_left_to_the_classifier(text):
    assert command_intent(text, COMMANDS) is None


def test_a_command_overrides_the_learned_guess_and_keeps_the_ranking():
    message = Message(data={"text": "add note: the 999 call is logged",
                            "intent": {"name": "confirm_escalation", "confidence": 0.97},
                            "intent_ranking": [{"name": "confirm_escalation", "confidence": 0.97},
                                               {"name": "add_note", "confidence": 0.02}]})
    CommandClassifier(CONFIG).process([message])
    assert message.get("intent") == {"name": "add_note", "confidence": 1.0}
    assert [r["name"] for r in message.get("intent_ranking")] == ["add_note", "confirm_escalation"]


def test_a_bad_pattern_is_refused_with_its_intent_named():
    with pytest.raises(ValueError, match="add_note"):
        compile_commands({"add_note": "(unclosed"})


@pytest.mark.parametrize("text, note", [
    ("add note: she is 12", "she is 12"),
    ("notes: referred to dsl", "referred to dsl"),
    ("record this - lily.x.09", "lily.x.09"),
    ("please note she is deaf", "she is deaf"),
    ("notebook was taken", "notebook was taken"),
])
def test_the_note_keeps_what_follows_the_command(text, note):
    assert NOTE_PREFIX.sub("", text, count=1).strip() == note


@pytest.mark.parametrize("text, worded", [("?", False), ("...", False), ("🙂👍", False),
                                          ("   ", False), ("", False), ("a", True),
                                          ("ok?", True), ("她说", True), ("14", True)])
def test_only_messages_with_words_get_a_learned_guess(text, worded):
    from rasa_plugins.intent_classifier import has_words

    assert has_words(text) is worded
