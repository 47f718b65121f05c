"""The Rasa server, faster, with the same behaviour: the action server's answers checked
against a schema checked once, and each message's NLU run off the event loop.

The NLU (``parse_in_thread``): Rasa 3.6 runs a message's NLU pipeline in its event loop,
so while one message is encoded no other conversation's turn moves (its tracker loads
and saves, its action calls). Here the pipeline runs in one worker thread, one message at
a time as before (the components are not shared between threads), and the event loop
serves the other conversations meanwhile; TensorFlow releases the interpreter lock while
the meaning voter encodes. ``HELPLINE_NLU_THREAD=off`` runs it in the loop as Rasa does.

The schema:

Rasa 3.6 checks every action server response against its JSON schema with
``jsonschema.validate(result, schema)``, which (jsonschema 4.17, what Rasa resolves to)
first validates the *schema itself* against the JSON Schema meta-schema, on every call.
With Rasa's large events schema that took about 38 ms per response here, twice per
counsellor message (the per-message check and the predicted action), and under load it
was 60 % of the Rasa server's CPU (py-spy during ``make bench``). This builds the
validator once - checking the schema once - and validates each response against the same
schema, raising the same ``ValidationError`` with Rasa's own hint; about 3 ms.

Installed in the Rasa server process by the tracker store (``rasa_plugins/tracker_store.py``),
which Rasa loads at start from endpoints.yml.
"""
from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial
from typing import Any

from actions import settings

_INSTALLED = "_helpline_cached_validator"


@lru_cache(maxsize=1)
def response_validator() -> Any:
    from jsonschema import validators
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema)


def install() -> None:
    """Replace ``RemoteAction._validate_action_result`` (idempotent)."""
    from jsonschema import ValidationError
    from jsonschema.exceptions import best_match
    from rasa.core.actions import action as rasa_action
    from rasa.core.actions.action import RemoteAction

    if getattr(RemoteAction._validate_action_result, _INSTALLED, False):
        return

    def _validate_action_result(self: RemoteAction, result: dict[str, Any]) -> bool:
        error = best_match(response_validator().iter_errors(result))
        if error is None:
            return True
        assert isinstance(error, ValidationError)
        error.message += (  # Rasa's own wording (rasa/core/actions/action.py)
            ". Failed to validate Action server response from API, "
            "make sure your response from the Action endpoint is valid. "
            "For more information about the format visit "
            f"{rasa_action.DOCS_BASE_URL}/custom-actions")
        raise error

    setattr(_validate_action_result, _INSTALLED, True)
    _validate_action_result.__wrapped__ = RemoteAction._validate_action_result  # type: ignore[attr-defined]
    RemoteAction._validate_action_result = _validate_action_result


@lru_cache(maxsize=1)
def nlu_worker() -> ThreadPoolExecutor:
    """The one thread every message's NLU runs in (made at the first message)."""
    return ThreadPoolExecutor(max_workers=1, thread_name_prefix="helpline-nlu")


def nlu_in_thread() -> bool:
    return (settings.env("HELPLINE_NLU_THREAD", "on") or "on").lower() not in (
        "off", "0", "false", "no")


async def parse_in_thread(processor: Any, message: Any, tracker: Any = None,
                          only_output_properties: bool = True) -> dict:
    """``MessageProcessor.parse_message`` of Rasa 3.6.21, with the graph run in
    :func:`nlu_worker` (the rest as Rasa has it, without its debug line
    ``processor.message.parse``, which carries the message's text)."""
    from rasa.shared.core.trackers import DialogueStateTracker

    if processor.http_interpreter:
        parse_data = await processor.http_interpreter.parse(message)
    else:
        if tracker is None:
            tracker = DialogueStateTracker.from_events(message.sender_id, [])
        parse = partial(processor._parse_message_with_graph, message, tracker,
                        only_output_properties)
        if nlu_in_thread():
            parse_data = await asyncio.get_running_loop().run_in_executor(nlu_worker(), parse)
        else:
            parse_data = parse()
    processor._update_full_retrieval_intent(parse_data)
    processor._check_for_unseen_features(parse_data)
    return parse_data
