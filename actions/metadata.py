"""What the Rasa server's channels put in a message's metadata and the action server reads
back: one definition for both sides. Imports nothing of Rasa or of either server.

The channel sets :data:`COUNSELLOR_KEY` from the token alone (``rasa_plugins.tokens``);
the actions read it from the tracker's events (:func:`counsellor_of`).
"""
from __future__ import annotations

from typing import Any, Optional

from actions import settings

#: the metadata key of the counsellor the channel's token names
COUNSELLOR_KEY = "helpline_counsellor"

#: the Rasa server's own reply when the action server could not be reached
#: (rasa_plugins/resilience.py) carries FAULT_KEY: SKIPPED_CHECK when the per-message
#: check did not run on the user message before it, FAILED_STEP when a step's action failed
FAULT_KEY = "helpline_fault"
SKIPPED_CHECK = "check_skipped"
FAILED_STEP = "step_failed"


def valid_conversation_id(value: Any) -> bool:
    """A conversation id the stores can hold: text, 1 to MAX_SENDER_CHARS characters,
    printable, no white space at either end."""
    return (isinstance(value, str) and 0 < len(value) <= settings.MAX_SENDER_CHARS
            and value == value.strip() and value.isprintable())


def valid_staff_id(value: Any) -> bool:
    """A counsellor's or supervisor's id: like a conversation id, at most 128 printable
    characters with no white space at either end."""
    return valid_conversation_id(value)


def counsellor_of(events: list[dict]) -> Optional[str]:
    """The counsellor id the channel put in the metadata of the latest user message of a
    tracker's ``events`` (the action server's view), or None."""
    for event in reversed(events or []):
        if isinstance(event, dict) and event.get("event") == "user":
            metadata = event.get("metadata")
            value = metadata.get(COUNSELLOR_KEY) if isinstance(metadata, dict) else None
            return value if valid_staff_id(value) else None
    return None
