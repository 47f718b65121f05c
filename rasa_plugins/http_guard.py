"""What the Rasa server lets each request do, decided before Rasa sees it.

Rasa 3.6's HTTP API lets a token of role ``user`` do to its own conversation everything an
admin can: append or replace tracker events (so it could set the ``case_id`` slot to
another child's case), run actions, trigger intents, send messages of any size. Its
token check (sanic-jwt) accepts tokens without ``exp``, expired ones for 180 s, and answers
an unexpected algorithm with a 500; and Sanic takes request bodies of up to 100 MB.

:func:`install` adds one request middleware and a request size limit to the Rasa server's
Sanic app, so that:

* every bearer token, on every route, is read by :func:`rasa_plugins.tokens.claims`
  (HS256, ``exp`` required and at most ``TOKEN_MAX_HOURS`` ahead, no leeway): else 401;
* a ``supervisor`` token (the board's) is refused on every route but ``/``: it may not
  read or write any conversation;
* a ``user`` token may only read its own conversation's tracker
  (``GET /conversations/<its id>/tracker``, how the panel restores itself after a reload)
  and use the channels (REST, Socket.IO), which check the conversation themselves;
  every other route answers 403. Admin tokens keep the whole API;
* a body sent to the REST channel or a ``/conversations/`` route must be JSON
  (``Content-Type: application/json``: a cross-site form or ``no-cors`` fetch cannot send
  that), no message or event text may be longer than ``MAX_MESSAGE_CHARS``, and no
  metadata larger than ``settings.MAX_METADATA_BYTES``;
* a request body larger than :func:`settings.max_request_bytes` is refused by Sanic with 413
  before it is read.

Installed by the Rasa server's entry point (rasa_plugins/run_rasa.py), nowhere else.
Refusals are logged with the route's shape and the reason only, never a token or text.
"""
from __future__ import annotations

import json
import logging
import re
from typing import Any, Optional

from actions import metadata, settings
from rasa_plugins import tokens

logger = logging.getLogger(__name__)

CHANNEL_PREFIXES = ("/webhooks/", "/socket.io")
#: The one HTTP API route open to a ``user`` token, for its own conversation.
OWN_TRACKER = re.compile(r"^/conversations/(?P<id>[^/]+)/tracker/?$")
CONVERSATION = re.compile(r"^/conversations/(?P<id>[^/]+)(?P<rest>/.*)?$")


def _refuse(status: int, reason: str, request: Any) -> Any:
    from sanic import response

    shape = CONVERSATION.sub(r"/conversations/<id>\g<rest>", request.path)
    logger.info("refused %s %s: %s (%d)", request.method, shape[:80], reason, status)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return response.json({"error": reason}, status=status, headers=headers)


def _json_body(request: Any) -> tuple[Optional[Any], Optional[str]]:
    """The request's JSON body, or the reason it is not acceptable."""
    content_type = (request.headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != "application/json":
        return None, "the body must be JSON (Content-Type: application/json)"
    try:
        return json.loads(request.body or b"null"), None
    except (ValueError, RecursionError):
        return None, "the body is not valid JSON"


def too_big(body: Any) -> Optional[tuple[int, str]]:
    """A message or event text over the channel's limit (413), or metadata that is not a
    small JSON object (400/413), anywhere in a body of the HTTP API or the REST channel."""
    items = body if isinstance(body, list) else [body]
    limit = settings.max_message_chars()
    for item in items:
        if not isinstance(item, dict):
            continue
        for key in ("text", "message"):
            value = item.get(key)
            if isinstance(value, str) and len(value) > limit:
                return 413, settings.too_long_text(len(value))
        metadata = item.get("metadata")
        if metadata is not None:
            if not isinstance(metadata, dict):
                return 400, "metadata must be a JSON object"
            if len(json.dumps(metadata, default=str)) > settings.MAX_METADATA_BYTES:
                return 413, f"metadata is larger than {settings.MAX_METADATA_BYTES} bytes"
    return None


async def guard(request: Any) -> Any:
    """The request middleware: None lets the request through, a response refuses it."""
    if request.method == "OPTIONS":  # CORS preflight: no body, no token
        return None
    path = request.path
    conversation = CONVERSATION.match(path)
    if conversation and not metadata.valid_conversation_id(conversation.group("id")):
        return _refuse(400, "the conversation id is not valid", request)
    header = request.headers.get("authorization")
    claims = None
    if header is not None:
        try:
            claims = tokens.claims(tokens.bearer(header), settings.env(
                "RASA_JWT_SECRET", ""))
        except tokens.TokenRefused as exc:
            return _refuse(401, str(exc), request)
    elif request.args.get("token") is not None:
        return _refuse(401, "send the token in an Authorization header, not the URL", request)
    request.ctx.helpline_claims = claims
    if claims is not None and claims.role == "supervisor" and path != "/":
        # the board's token: no conversation, no channel, no API route (the board is the
        # panel server's); the channels refuse it too
        return _refuse(403, "a supervisor's token may not use the conversations", request)
    if claims is not None and not claims.admin:
        own = OWN_TRACKER.match(path)
        allowed = (path.startswith(CHANNEL_PREFIXES) or path == "/"
                   or (request.method in ("GET", "HEAD") and own is not None
                       and claims.allows(own.group("id"))))
        if not allowed:
            return _refuse(403, "this token may only read its own conversation and send "
                                "messages through the channels", request)
    takes_json = conversation is not None or path.startswith("/webhooks/rest/webhook")
    if takes_json and request.method in ("POST", "PUT", "PATCH"):
        body, problem = _json_body(request)
        if problem:
            return _refuse(415 if "Content-Type" in problem else 400, problem, request)
        oversize = too_big(body)
        if oversize:
            return _refuse(oversize[0], oversize[1], request)
    return None


def too_large(request: Any, exception: Exception) -> Any:
    """Sanic's 413 for a body over the limit, said as the channels say it."""
    from sanic import response

    return response.json({"error": (
        f"That message is too long: the limit is {settings.max_message_chars():,} "
        "characters. It was not saved. Send it in shorter parts.")}, status=413)


def install(app: Any) -> None:
    """Add the guard and the request size limit to the Rasa server's Sanic ``app``."""
    from sanic.exceptions import PayloadTooLarge

    app.config.REQUEST_MAX_SIZE = settings.max_request_bytes()
    app.error_handler.add(PayloadTooLarge, too_large)
    app.register_middleware(guard, "request")
    logger.info("HTTP guard on: user tokens limited to their own tracker and the channels; "
                "requests up to %d bytes", app.config.REQUEST_MAX_SIZE)
