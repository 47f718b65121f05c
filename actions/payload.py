"""Button payloads versus typed text: one definition for the Rasa server and the actions.

A panel button sends Rasa's ``/intent`` or ``/intent{"entity": "value"}``. Only that exact
shape, with an intent and entities the domain knows, is a button; a counsellor's note that
merely starts with ``/`` ("/ he says he wants to die") is text, checked for red flags and
kept in the case notes like any other. Imports nothing of Rasa.
"""
from __future__ import annotations

import json
import re
from typing import Iterable

PAYLOAD = re.compile(r"/(?P<intent>[A-Za-z0-9_\-]+)(?P<entities>\{.*\})?", re.S)


def is_button_payload(text: str, intents: Iterable[str], entities: Iterable[str]) -> bool:
    """``/intent`` or ``/intent{"entity": "value", ...}`` with a known intent and known
    entities holding plain values, and nothing else."""
    match = PAYLOAD.fullmatch(text.strip())
    if not match or match.group("intent") not in set(intents):
        return False
    if match.group("entities") is None:
        return True
    try:
        values = json.loads(match.group("entities"))
    except ValueError:
        return False
    known = set(entities)
    return isinstance(values, dict) and all(
        key in known and isinstance(value, (str, int, float, bool))
        for key, value in values.items())


def was_button(text: str, intent: str | None) -> bool:
    """In the action server: the message was a button payload that Rasa read as one (its
    intent is the payload's own). A typed ``/...`` was classified from its words instead."""
    match = PAYLOAD.fullmatch(text.strip())
    return match is not None and match.group("intent") == intent
