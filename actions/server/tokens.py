"""The bearer tokens of the Rasa server: one strict reading for every route that takes one.

The helpline's back end mints HS256 JWTs signed with ``RASA_JWT_SECRET``:

* ``{"user": {"role": "admin"}, "exp": ...}``: the back end itself, tests and tools;
* ``{"user": {"role": "user", "username": <conversation id>}, "exp": ...}``: one
  counsellor's panel, for one conversation.

Rasa's HTTP API (sanic-jwt), the REST channel and the Socket.IO channel each read tokens
their own way: sanic-jwt accepts a token without ``exp``, an expired one for another 180 s
and answers an unexpected algorithm with a 500. :func:`claims` is the one reading used by
all three here (the HTTP API through actions/server/http_guard.py): HS256 only, ``exp``
required, at most ``TOKEN_MAX_HOURS`` ahead, no leeway, a role this project knows.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Optional

import jwt

from actions import settings

ALGORITHM = "HS256"
ROLES = ("admin", "user")


class TokenRefused(Exception):
    """The token may not be used; the message says why (safe to show: no token content)."""


@dataclass(frozen=True)
class Claims:
    """Who a valid token speaks for."""

    role: str  # "admin" or "user"
    conversation_id: Optional[str]  # the one conversation of a "user" token; None for admin
    expires: float  # seconds since the epoch

    @property
    def admin(self) -> bool:
        return self.role == "admin"

    def allows(self, conversation_id: Any) -> bool:
        """May this token read or write ``conversation_id``?"""
        return self.admin or (isinstance(conversation_id, str)
                              and conversation_id == self.conversation_id)


def claims(token: Any, secret: str, now: Optional[float] = None) -> Claims:
    """The claims of ``token`` if it may be used now, else :class:`TokenRefused`."""
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
        return Claims("admin", None, float(expires))
    if role == "user" and valid_conversation_id(username):
        return Claims("user", username, float(expires))
    raise TokenRefused("the token names no role and conversation this server knows")


def valid_conversation_id(value: Any) -> bool:
    """A conversation id the stores can hold: text, 1 to MAX_SENDER_CHARS characters,
    printable, no white space at either end."""
    return (isinstance(value, str) and 0 < len(value) <= settings.MAX_SENDER_CHARS
            and value == value.strip() and value.isprintable())


def bearer(header: Optional[str]) -> Optional[str]:
    """The token of an ``Authorization: Bearer <token>`` header, else None."""
    scheme, _, token = (header or "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


def mint(secret: str, role: str, conversation_id: Optional[str] = None,
         hours: float = 12) -> str:
    """A token for ``role`` (and, for ``user``, its conversation), valid for ``hours``."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    user = {"role": role, "username": conversation_id if role == "user" else "admin"}
    return jwt.encode({"user": user, "exp": int(time.time() + hours * 3600)}, secret,
                      algorithm=ALGORITHM)
