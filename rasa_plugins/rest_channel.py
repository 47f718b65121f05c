"""The REST channel with authentication, and a reply when a message could not be handled.

Rasa 3.6's REST channel (``/webhooks/rest/webhook``) accepts any sender from anyone, and
when handling a message fails it answers an empty list and logs the message text.
``AuthRestInput`` keeps its URL and its request and response formats, and:

* requires ``Authorization: Bearer <JWT>`` signed with ``RASA_JWT_SECRET``, in
  development too (the launcher has the secret and the panel its demo token), read by
  :func:`rasa_plugins.tokens.claims` like every token of the Rasa server: a token of
  role ``admin`` may write to any conversation, one of role ``user`` only to its own,
  one of role ``supervisor`` to none. No token or a bad one: 401. A token for another
  conversation, or a supervisor's: 403. The message's metadata carries the counsellor's
  id from the token (``helpline_counsellor``; a value the client sent is dropped);
* takes only JSON (``Content-Type: application/json``), a message of at most
  ``MAX_MESSAGE_CHARS`` characters, metadata of at most ``settings.MAX_METADATA_BYTES``
  and a sender id the stores can hold (rasa_plugins/http_guard.py checks the first
  three before the body is read as JSON, and this channel again);
* answers 503, with the message for the counsellor that rasa_plugins/resilience.py
  adds, when the message could not be handled (database down, a server fault), and logs
  only the exception's type.

Configured in credentials.yml as ``rasa_plugins.rest_channel.AuthRestInput``.
"""
from __future__ import annotations

import logging
from asyncio import CancelledError
from typing import Any, Awaitable, Callable, Optional, Text

from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.channels.rest import RestInput
from rasa.shared.exceptions import RasaException
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from actions import metadata, settings
from rasa_plugins import http_guard, patches, resilience, tokens

logger = logging.getLogger(__name__)

NOT_HANDLED_TEXT = resilience.NOT_HANDLED_TEXT


def body_problem(body: dict) -> Optional[tuple[int, str]]:
    """A clear 4xx for a body Rasa would choke on: a message that is not text or is too
    long (413), metadata that is not a small object, an input channel that is not a name."""
    message = body.get("message")
    if not isinstance(message, str):
        return 400, "message must be text"
    oversize = http_guard.too_big(body)
    if oversize is not None:
        return oversize
    channel = body.get("input_channel")
    if channel is not None and (not isinstance(channel, str) or len(channel) > 64):
        return 400, "input_channel must be a short name"
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
        self.secret = settings.env("RASA_JWT_SECRET", "")
        if not self.secret:
            raise RasaException("RASA_JWT_SECRET must be set: the REST channel accepts only "
                                "tokens signed with it (make run sets one in development)")
        patches.install()  # however the Rasa server was started

    def refusal(self, request: Request, sender: Any) -> Optional[HTTPResponse]:
        """None if the request's token may write to ``sender``, else the error response."""
        return self.authorise(request, sender)[1]

    def authorise(self, request: Request, sender: Any
                  ) -> tuple[Optional[tokens.Claims], Optional[HTTPResponse]]:
        """The token's claims if it may write to ``sender`` (a supervisor's token never
        may), else the error response."""
        try:
            claims = tokens.claims(tokens.bearer(request.headers.get("Authorization")),
                                   self.secret)
        except tokens.TokenRefused as exc:
            return None, response.json({"error": str(exc)}, status=401,
                                       headers={"WWW-Authenticate": "Bearer"})
        if claims.allows(sender):
            return claims, None
        if claims.role == "supervisor":
            return None, response.json({"error": "a supervisor's token may not write into a "
                                                 "conversation"}, status=403)
        return None, response.json({"error": "this token is not for that conversation"},
                                   status=403)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[None]]
    ) -> Blueprint:
        webhook = Blueprint(f"custom_webhook_{type(self).__name__}", __name__)

        @webhook.route("/", methods=["GET"])
        async def health(request: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @webhook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            header_refusal = self.refusal(request, None)
            if header_refusal is not None and header_refusal.status == 401:
                return header_refusal  # no valid token: the body is not even read
            body = request.json if isinstance(request.json, dict) else None
            if body is None:
                return response.json({"error": "the body must be a JSON object"}, status=400)
            sender = body.get("sender")
            claims, refused = self.authorise(request, sender)
            if refused is not None:
                return refused
            if not isinstance(sender, str) or not sender.strip():
                return response.json({"error": "sender (the conversation id) is required"},
                                     status=400)
            if not metadata.valid_conversation_id(sender):
                return response.json({"error": "sender is not a valid conversation id (at "
                                      f"most {settings.MAX_SENDER_CHARS} printable characters)"},
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
                    # the counsellor's id from the token, never from the body
                    metadata=tokens.with_counsellor(self.get_metadata(request),
                                                    claims.counsellor if claims else None)))
            except (CancelledError, Exception) as exc:  # never log the message itself
                logger.error("a REST message was not handled (%s)", type(exc).__name__)
                collector.messages.append({"recipient_id": sender, "text": NOT_HANDLED_TEXT})
            failed = any(m.get("text") == NOT_HANDLED_TEXT for m in collector.messages)
            return response.json(collector.messages, status=503 if failed else 200)

        return webhook
