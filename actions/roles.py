"""Who is on the line: the caller roles (the ``caller_role`` slot's values, domain.yml), the
name each one goes by wherever a person reads it, and the buttons that choose one.

Every name is a message of ``data/messages.yml`` (``role.*``), read through
:func:`actions.messages.say`: the bot's role buttons, the handover and its timeline, the case
export, and, through the panel server's ``/roles.json`` (:func:`served`), the panel's opening
buttons and banner and the supervisor's board. Imports nothing of Rasa.
"""
from __future__ import annotations

import json
from typing import Any

from actions.messages import say

#: each caller role, in the order the buttons offer them, with the message of its name
LABELS = {"child": "role.child", "parent_carer": "role.parent_carer", "other": "role.other"}
#: the name when no role is known (the counsellor has not said who is on the line)
UNKNOWN = "role.unknown"
#: a role button's title where it is more than the role's name: the message, whose
#: ``{role}`` is the name
BUTTON_TITLES = {"other": "button.role.other"}


def label(role: str | None) -> str:
    """The name of caller ``role`` ("Young person"); ``role.unknown`` for none or an unknown
    one ("Caller not known")."""
    return say(LABELS.get(role or "", UNKNOWN))


def start_payload(role: str) -> str:
    """The payload of a button that opens a case with ``role`` on the line:
    ``/start_case{"caller_role":"child"}``."""
    return "/start_case" + json.dumps({"caller_role": role}, separators=(",", ":"))


def button_title(role: str) -> str:
    """The title of the button that says ``role`` is on the line."""
    title = BUTTON_TITLES.get(role)
    return say(title, role=label(role)) if title else label(role)


def buttons() -> list[dict[str, str]]:
    """The buttons that say who is on the line, one per role: ``{"title", "payload"}``."""
    return [{"title": button_title(role), "payload": start_payload(role)} for role in LABELS]


def served() -> dict[str, Any]:
    """What the panel and the supervisor's board read from ``/roles.json``: each role's name
    (``labels``), the name for no role (``unknown``) and the role buttons (``buttons``)."""
    return {"labels": {role: label(role) for role in LABELS}, "unknown": label(None),
            "buttons": buttons()}
