"""The REST channel with authentication, and a reply when a message could not be handled.

Rasa 3.6's REST channel (``/webhooks/rest/webhook``) accepts any sender from anyone, and
when handling a message fails it answers an empty list and logs the message text.
``AuthRestInput`` keeps its URL and its request and response formats, and:

* with ``HELPLINE_ENV=production``, requires ``Authorization: Bearer <JWT>`` signed with
  ``RASA_JWT_SECRET`` (HS256), the same tokens as Rasa's HTTP API:
  ``{"user": {"role": "admin"}}`` may write to any conversation,
  ``{"user": {"role": "user", "username": <sender>}}`` only to its own. No token or a bad
  one: 401. A token for another conversation: 403. In development a request without a
  token is still let through (as Rasa's channel does, on 127.0.0.1), but a token that is
  sent is always checked;
* answers 503, with the message for the counsellor that actions/server/resilience.py
  adds, when the message could not be handled (database down, a server fault), and logs
  only the exception's type.

Configured in credentials.yml as ``actions.server.rest_channel.AuthRestInput``.
"""
from __future__ import annotations

import logging
import os
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Optional, Text

import jwt
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions import settings
from actions.server import resilience

logger = logging.getLogger(__name__)

NOT_HANDLED_TEXT = resilience.NOT_HANDLED_TEXT


def body_problem(body: dict) -> Optional[tuple[int, str]]:
    """A clear 4xx for a body Rasa would choke on: a message that is not text or is too
    long (413), metadata that is not an object, an input channel that is not a name."""
    message = body.get("message")
    if not isinstance(message, str):
        return 400, "message must be text"
    if len(message) > settings.max_message_chars():
        return 413, settings.too_long_text(len(message))
    if body.get("metadata") is not None and not isinstance(body.get("metadata"), dict):
        return 400, "metadata must be a JSON object"
    if body.get("input_channel") is not None and not isinstance(body.get("input_channel"), str):
        return 400, "input_channel must be text"
    return None


class AuthRestInput(RestInput):
    """``/webhooks/rest/webhook`` for holders of a bearer JWT (see the module docstring)."""

    @classmethod
    def name(cls) -> Text:
        return "rest"  # keeps the URL /webhooks/rest/webhook

    @classmethod
    def from_credentials(cls, credentials: Optional[dict[Text, Any]]) -> "AuthRestInput":
        return cls()

    def __init__(self) -> None:
        self.secret = os.environ.get("RASA_JWT_SECRET", "").strip()
        self.token_required = settings.production()
        if self.token_required and not self.secret:
            raise RasaException("RASA_JWT_SECRET must be set when HELPLINE_ENV=production: "
                                "the REST channel accepts only tokens signed with it")
        resilience.install()

    def refusal(self, request: Request, sender: Any) -> Optional[HTTPResponse]:
        """None if the request's token may write to ``sender``, else the error response."""
        header = request.headers.get("Authorization", "")
        if not header and not self.token_required:
            return None  # development: open, like Rasa's own REST channel
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip() or not self.secret:
            return response.json({"error": "a bearer token is required"}, status=401,
                                 headers={"WWW-Authenticate": "Bearer"})
        try:
            payload = jwt.decode(token.strip(), self.secret, algorithms=["HS256"])
        except jwt.InvalidTokenError:
            return response.json({"error": "the token is not valid"}, status=401,
                                 headers={"WWW-Authenticate": "Bearer"})
        user = payload.get("user") if isinstance(payload.get("user"), dict) else {}
        if user.get("role") == "admin":
            return None
        if user.get("role") == "user" and user.get("username") == sender:
            return None
        return response.json({"error": "this token is not for that conversation"}, status=403)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[None]]
    ) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            body = request.json if isinstance(request.json, dict) else None
            sender = body.get("sender") if body else None
            refused = self.refusal(request, sender)
            if refused is not None:
                return refused
            if not isinstance(sender, str) or not sender.strip():
                return response.json({"error": "sender (the conversation id) is required"},
                                     status=400)
            problem = body_problem(body)
            if problem is not None:
                return response.json({"error": problem[1]}, status=problem[0])
            collector = CollectingOutputChannel()
            if settings.is_blank(body["message"]):
                return response.json([{"recipient_id": sender, "text": settings.EMPTY_TEXT}])
            try:
                await on_new_message(UserMessage(
                    settings.clean_text(body["message"]), collector, sender,
                    input_channel=self._extract_input_channel(request),
                    metadata=self.get_metadata(request)))
            except (CancelledError, Exception) as exc:  # never log the message itself
                logger.error("a REST message was not handled (%s)", type(exc).__name__)
                collector.messages.append({"recipient_id": sender, "text": NOT_HANDLED_TEXT})
            failed = any(m.get("text") == NOT_HANDLED_TEXT for m in collector.messages)
            return response.json(collector.messages, status=503 if failed else 200)

        return webhook
