"""What Rasa's NLU reads of a message: buttons exactly, typed text as text, the start only.

Two faults of Rasa 3.6 with what counsellors type, fixed in the Rasa server:

* Any message that starts with ``/`` is taken for a button payload (``/intent{json}``).
  When it is not one ("/ he says he wants to die"), Rasa logs the whole message at
  WARNING ("message.parsing.failed", or "Failed to parse arguments in line ...") and the
  message is classified as text anyway. Here only an exact payload - a known intent,
  optionally followed by a JSON object of known entities, nothing else - is a button;
  anything else has its leading ``/`` hidden from the NLU (a space in its place, so entity
  offsets stay true), and nothing is logged.
* The NLU's time and memory grow with the length of the message: 160,000 characters took
  47 s and 20 GB, 20,000 characters 5 s and 1 GB, and every other conversation waited.
  The classifier needs only the start of a message, so the NLU reads the first
  ``settings.NLU_MAX_CHARS`` characters. The message itself, as stored in the tracker and
  read by the red-flag and deadline checks in the action server, is kept whole, and the
  meaning voter reads it whole too (in pieces, so its cost grows only linearly): it gets
  it under ``FULL_TEXT`` in the metadata the NLU components see (never stored).

The parse data's ``text`` is always the message as sent. The NLU itself runs off the
event loop (``rasa_speedups.parse_in_thread``). Installed by the Rasa server's
entry point (rasa_plugins/run_rasa.py) with :func:`install`.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from actions import settings
from actions.payload import is_button_payload
from rasa_plugins import rasa_speedups

#: the metadata key under which the NLU components find the whole of a long message
FULL_TEXT = "helpline_full_text"


def typed_text(text: str, intents: Iterable[str], entities: Iterable[str]) -> str:
    """``text`` with a leading "/" hidden when it is not a button payload."""
    if text.lstrip().startswith("/") and not is_button_payload(text, intents, entities):
        text = re.sub(r"^(\s*)/+", lambda m: m.group(1) + " ", text, count=1)
    return text


def nlu_text(text: str, intents: Iterable[str], entities: Iterable[str]) -> str:
    """The part of ``text`` the NLU reads (see the module docstring)."""
    return typed_text(text, intents, entities)[:settings.NLU_MAX_CHARS]


def install() -> None:
    """Wrap ``MessageProcessor.parse_message`` (idempotent)."""
    from rasa.core.channels.channel import UserMessage
    from rasa.core.processor import MessageProcessor

    original = getattr(MessageProcessor.parse_message, "__wrapped__",
                       MessageProcessor.parse_message)

    async def parse_message(self: Any, message: Any, tracker: Any = None,
                            only_output_properties: bool = True) -> dict:
        text = message.text if isinstance(message.text, str) else ""
        domain = self.domain
        whole = typed_text(text, domain.intents, domain.entities)
        seen = whole[:settings.NLU_MAX_CHARS]
        if seen != text:
            metadata = dict(message.metadata or {})
            if seen != whole:  # cut: the meaning voter still reads all of it
                metadata[FULL_TEXT] = whole
            message = UserMessage(
                seen, message.output_channel, message.sender_id, message.parse_data,
                message.input_channel, message.message_id, metadata)
        parse_data = await rasa_speedups.parse_in_thread(self, message, tracker,
                                                         only_output_properties)
        parse_data["text"] = text
        return parse_data

    parse_message.__wrapped__ = original  # type: ignore[attr-defined]
    MessageProcessor.parse_message = parse_message
