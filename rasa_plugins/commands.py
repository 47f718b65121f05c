"""The counsellor's typed commands, recognised exactly, before anything is guessed.

"add note: ...", "what next?", "summary", "time left?", "close case" and "start again"
must work at any point of a call, whatever follows the prefix: a note may hold a username,
a pasted message, markup or any script. A classifier reads words and characters and can be
swayed by what the note says ("add note: the 999 call is logged"); a command is a
contract. This intent classifier runs after the learned one (config.yml) and, when the
whole message has the shape of a command, sets that intent with confidence 1.0. Anything
else is left to the learned classifier.

The patterns are in config.yml (``commands:``), one regular expression per intent,
matched case-insensitively against the start of the message.
"""
from __future__ import annotations

import re
from typing import Any, Dict, List, Text

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.classifiers.classifier import IntentClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message


def compile_commands(commands: Dict[Text, Any]) -> list[tuple[str, re.Pattern]]:
    """``{intent: pattern or [patterns]}`` -> ``[(intent, compiled)]``; a bad pattern fails
    at training time, with its intent named."""
    compiled = []
    for intent, patterns in (commands or {}).items():
        for pattern in [patterns] if isinstance(patterns, str) else patterns:
            try:
                compiled.append((intent, re.compile(pattern, re.IGNORECASE)))
            except re.error as exc:
                raise ValueError(f"commands: bad pattern for {intent}: {exc}") from exc
    return compiled


def command_intent(text: str, commands: list[tuple[str, re.Pattern]]) -> str | None:
    """The intent whose pattern matches the start of ``text``, if any."""
    for intent, pattern in commands:
        if pattern.match(text or ""):
            return intent
    return None


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class CommandClassifier(GraphComponent, IntentClassifier):
    """Sets the intent of a message that is a command (see the module docstring)."""

    @staticmethod
    def get_default_config() -> Dict[Text, Any]:
        return {"commands": {}}

    @classmethod
    def create(cls, config: Dict[Text, Any], model_storage: ModelStorage, resource: Resource,
               execution_context: ExecutionContext) -> "CommandClassifier":
        return cls(config)

    def __init__(self, config: Dict[Text, Any]) -> None:
        self.commands = compile_commands(config.get("commands", {}))

    def process(self, messages: List[Message]) -> List[Message]:
        for message in messages:
            intent = command_intent(message.get(TEXT), self.commands)
            if intent is None:
                continue
            ranking = [r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != intent]
            message.set(INTENT, {"name": intent, "confidence": 1.0}, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [{"name": intent, "confidence": 1.0}] + ranking,
                        add_to_output=True)
        return messages
