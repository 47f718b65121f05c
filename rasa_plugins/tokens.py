"""The bearer tokens of the Rasa server: one strict reading for every route that takes one.

The helpline's back end mints HS256 JWTs signed with ``RASA_JWT_SECRET``:

* ``{"user": {"role": "admin"}, "exp": ...}``: the back end itself, tests and tools;
* ``{"user": {"role": "user", "username": <conversation id>, "counsellor": <id>},
  "exp": ...}``: one counsellor's panel, for one conversation. ``counsellor`` is the
  counsellor's id in the helpline's own systems; required in production (in development a
  token without it speaks for :data:`DEVELOPMENT_COUNSELLOR`). The channels pass it on
  with every message (metadata ``helpline_counsellor``, :func:`with_counsellor`), never
  what a client sent under that key;
* ``{"user": {"role": "supervisor", "supervisor": <id>}, "exp": ...}``: a supervisor's
  board (scripts/panel_server.py). It may read the board and acknowledge red flags, and
  write into no conversation: :meth:`Claims.allows` is false for every conversation, the
  Rasa server refuses it on every route (rasa_plugins/http_guard.py) and the Socket.IO
  channel at connect.

Rasa's HTTP API (sanic-jwt), the REST channel and the Socket.IO channel each read tokens
their own way: sanic-jwt accepts a token without ``exp``, an expired one for another 180 s
and answers an unexpected algorithm with a 500. :func:`claims` is the one reading used by
all three here (the HTTP API through rasa_plugins/http_guard.py): HS256 only, ``exp``
required, at most ``TOKEN_MAX_HOURS`` ahead, no leeway, a role this project knows.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

import jwt

from actions import settings
from actions.metadata import (
    COUNSELLOR_KEY, valid_conversation_id, valid_staff_id)

ALGORITHM = "HS256"
ROLES = ("admin", "user", "supervisor")
#: Roles whose token may open the supervisor's board (and acknowledge a flag on it).
BOARD_ROLES = ("supervisor", "admin")
#: Who a ``user`` token without a ``counsellor`` claim speaks for, in development only.
DEVELOPMENT_COUNSELLOR = "dev-counsellor"
#: The key of a user message's metadata that carries the counsellor's id: set by the
#: channels from the token alone (:func:`with_counsellor`), read by the action server.


class TokenRefused(Exception):
    """The token may not be used; the message says why (safe to show: no token content)."""


@dataclass(frozen=True)
class Claims:
    """Who a valid token speaks for."""

    role: str  # "admin", "user" or "supervisor"
    conversation_id: Optional[str]  # the one conversation of a "user" token; else None
    expires: float  # seconds since the epoch
    #: the person: a "user" token's counsellor, a "supervisor" token's supervisor (None for
    #: an admin token without a ``supervisor`` claim)
    staff_id: Optional[str] = None

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    @property
    def counsellor(self) -> Optional[str]:
        """The counsellor a ``user`` token speaks for; None for the other roles."""
        return self.staff_id if self.role == "user" else None

    @property
    def board(self) -> bool:
        """May this token open the supervisor's board?"""
        return self.role in BOARD_ROLES

    def allows(self, conversation_id: Any) -> bool:
        """May this token read or write ``conversation_id``? Never for a supervisor."""
        if self.admin:
            return True
        return (self.role == "user" and isinstance(conversation_id, str)
                and conversation_id == self.conversation_id)


def claims(token: Any, secret: str, now: Optional[float] = None,
           production: Optional[bool] = None) -> Claims:
    """The claims of ``token`` if it may be used now, else :class:`TokenRefused`.

    ``production`` (default: ``settings.production()`` of this process) makes the
    ``counsellor`` claim of a ``user`` token required."""
    if not isinstance(token, str) or not token.strip():
        raise TokenRefused("a bearer token is required")
    if not secret:
        raise TokenRefused("the server has no secret to check tokens with")
    now = time.time() if now is None else now
    try:
        payload = jwt.decode(token.strip(), secret, algorithms=[ALGORITHM],
                             options={"require": ["exp"]}, leeway=0)
    except jwt.ExpiredSignatureError:
        raise TokenRefused("the token has expired") from None
    except jwt.MissingRequiredClaimError:
        raise TokenRefused("the token has no expiry (exp)") from None
    except jwt.PyJWTError:
        raise TokenRefused("the token is not valid") from None
    expires = payload.get("exp")
    if not isinstance(expires, (int, float)) or isinstance(expires, bool):
        raise TokenRefused("the token's expiry is not a time")
    if expires > now + settings.token_max_hours() * 3600 + 60:
        raise TokenRefused(f"the token lives longer than {settings.token_max_hours():g} hours")
    user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
    role, username = user.get("role"), user.get("username")
    if role == "admin":
        supervisor = user.get("supervisor")
        return Claims("admin", None, float(expires),
                      supervisor if valid_staff_id(supervisor) else None)
    if role == "supervisor":
        if not valid_staff_id(user.get("supervisor")):
            raise TokenRefused("a supervisor's token must name the supervisor (user.supervisor)")
        return Claims("supervisor", None, float(expires), user["supervisor"])
    if role == "user" and valid_conversation_id(username):
        counsellor = user.get("counsellor")
        if counsellor is None:
            if settings.production() if production is None else production:
                raise TokenRefused("the token names no counsellor (user.counsellor): "
                                   "required in production")
            counsellor = DEVELOPMENT_COUNSELLOR
        elif not valid_staff_id(counsellor):
            raise TokenRefused("the token's counsellor id is not valid")
        return Claims("user", username, float(expires), counsellor)
    raise TokenRefused("the token names no role and conversation this server knows")


def with_counsellor(metadata: Optional[dict], counsellor: Optional[str]) -> dict:
    """A message's metadata with :data:`COUNSELLOR_KEY` set from the token alone: whatever
    the client sent under that key is dropped, never passed on."""
    out = {k: v for k, v in (metadata or {}).items() if k != COUNSELLOR_KEY}
    if counsellor:
        out[COUNSELLOR_KEY] = counsellor
    return out


def bearer(header: Optional[str]) -> Optional[str]:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    scheme, _, token = (header or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def mint(secret: str, role: str, conversation_id: Optional[str] = None,
         hours: float = 12, staff_id: Optional[str] = None) -> str:
    """A token for ``role`` (for ``user``, its conversation), valid for ``hours``;
    ``staff_id`` is a ``user`` token's counsellor or a ``supervisor`` token's supervisor."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    if role == "supervisor":
        if not valid_staff_id(staff_id):
            raise ValueError("a supervisor's token needs the supervisor's id")
        user = {"role": role, "supervisor": staff_id}
    else:
        user = {"role": role, "username": conversation_id if role == "user" else "admin"}
        if role == "user" and staff_id is not None:
            user["counsellor"] = staff_id
    return jwt.encode({"user": user, "exp": int(time.time() + hours * 3600)}, secret,
                      algorithm=ALGORITHM)
