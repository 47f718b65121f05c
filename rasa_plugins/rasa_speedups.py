"""A faster check of the action server's answers in the Rasa server, same behaviour.

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

from functools import lru_cache
from typing import Any

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
