"""The side panel's Socket.IO channel: Rasa's, with each connection bound to one conversation.

Rasa 3.6's ``socketio`` channel checks a JWT only when a client connects and then accepts
any ``session_id`` the client asks for, so one valid token could read or write every
conversation. This channel keeps the token's claims per connection and lets a connection
join and speak in only the conversation its token names (``user.username``); a token with
``user.role`` ``admin`` (the helpline's back end, tests) may use any conversation, and one
of role ``supervisor`` (the board's) is refused at connect. Each message carries the
token's counsellor id in its metadata (``helpline_counsellor``), never the client's.

It also fixes two faults of Rasa 3.6's channel with python-socketio 5.x: ``enter_room`` is a
coroutine there and Rasa never awaits it (session persistence silently sent bot messages to
nobody), and ``send_custom_json`` passed the message's keys to ``emit`` as keyword arguments
(the ``case_state`` message raised a TypeError). Custom JSON reaches the client as
``{"custom": {...}}``, the same shape as the REST channel's.

Tokens are read by :func:`rasa_plugins.tokens.claims`, as on every route of the Rasa
server (``exp`` required and capped, no leeway), and a connection is closed when its token
expires. A browser may connect only from the panel's origin (``PANEL_ORIGIN``); a message
longer than ``MAX_MESSAGE_CHARS``, or with metadata over ``settings.MAX_METADATA_BYTES``,
is answered and dropped, and engine.io takes no packet larger than the Rasa server's
request limit.

Configured in credentials.yml as ``rasa_plugins.channels.BoundSocketIOInput``. The secret
is ``jwt_key`` in credentials.yml or else the environment's ``RASA_JWT_SECRET`` (HS256);
without one the channel refuses to start.
"""
from __future__ import annotations

import asyncio
import inspect
import json
import logging
import time
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Optional, Text

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio.exceptions import ConnectionRefusedError

from actions import metadata, settings
from rasa_plugins import tokens

logger = logging.getLogger(__name__)

ERROR_EVT = "auth_error"


@dataclass(frozen=True)
class Grant:
    """What one connection's token allows."""

    conversation_id: Optional[str]  # None: any conversation (admin)
    expires: float
    counsellor: Optional[str] = None  # the token's counsellor, passed on with each message

    def allows(self, conversation_id: str) -> bool:
        return self.conversation_id is None or self.conversation_id == conversation_id

    @property
    def expired(self) -> bool:
        return time.time() >= self.expires


def grant_for(token: Any, key: str) -> Grant:
    """The grant a bearer token gives, or ConnectionRefusedError (no case data is sent)."""
    try:
        claims = tokens.claims(token, key)
    except tokens.TokenRefused as exc:
        raise ConnectionRefusedError(str(exc)) from None
    if claims.role not in ("admin", "user"):  # a supervisor's board writes no conversation
        raise ConnectionRefusedError("this token may not open a conversation")
    return Grant(claims.conversation_id, claims.expires, claims.counsellor)


def origin_allowed(environ: Dict[str, Any]) -> bool:
    """A browser's connection comes from the panel's origin. Programs that send no
    ``Origin`` (the helpline's back end, tests) are judged by their token alone."""
    origin = environ.get("HTTP_ORIGIN")
    return origin is None or origin.lower() == settings.panel_origin()


def metadata_of(data: Dict[str, Any], key: str) -> Optional[Dict[str, Any]]:
    """The message's metadata as an object, {} if none, None if too large to take."""
    metadata = data.get(key) or {}
    if isinstance(metadata, str):
        if len(metadata) > settings.MAX_METADATA_BYTES:
            return None
        try:
            metadata = json.loads(metadata)
        except ValueError:
            metadata = {}
    if not isinstance(metadata, dict):
        return {}
    return metadata if len(json.dumps(metadata, default=str)) <= settings.MAX_METADATA_BYTES \
        else None


async def _maybe_await(result: Any) -> None:
    if inspect.isawaitable(result):
        await result


class BoundSocketIOOutput(SocketIOOutput):
    """Rasa's Socket.IO output with custom JSON sent as ``{"custom": {...}}``."""

    async def send_custom_json(
        self, recipient_id: Text, json_message: Dict[Text, Any], **kwargs: Any
    ) -> None:
        await self._send_message(recipient_id, {"custom": json_message})


class BoundSocketIOInput(SocketIOInput):
    """Socket.IO input whose connections may use only their token's conversation."""

    @classmethod
    def name(cls) -> Text:
        return "socketio"

    @classmethod
    def from_credentials(cls, credentials: Optional[Dict[Text, Any]]) -> InputChannel:
        credentials = credentials or {}
        key = credentials.get("jwt_key") or settings.env("RASA_JWT_SECRET")
        return cls(
            credentials.get("user_message_evt", "user_uttered"),
            credentials.get("bot_message_evt", "bot_uttered"),
            credentials.get("namespace"),
            credentials.get("session_persistence", True),
            credentials.get("socketio_path", "/socket.io"),
            key,
            credentials.get("jwt_method", "HS256"),
            credentials.get("metadata_key", "metadata"),
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.grants: Dict[str, Grant] = {}
        self.expiry_timers: Dict[str, asyncio.TimerHandle] = {}
        if not self.jwt_key:
            from rasa.shared.exceptions import RasaException

            raise RasaException("RASA_JWT_SECRET must be set: the side panel's Socket.IO "
                                "channel accepts only tokens signed with it")

    def get_output_channel(self) -> Optional[OutputChannel]:
        if self.sio is None:
            return super().get_output_channel()
        return BoundSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        # CORS headers stay the Rasa server's (`--cors`); the origin is checked on connect.
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[],
                          max_http_buffer_size=settings.max_request_bytes())
        bp = SocketBlueprint(sio, self.socketio_path, "socketio_webhook", __name__)
        self.sio = sio
        namespace = self.namespace

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        async def refuse(sid: Text, reason: str) -> None:
            logger.info("Socket.IO client %s refused: %s", sid, reason)
            await sio.emit(ERROR_EVT, {"reason": reason}, room=sid, namespace=namespace)
            await sio.disconnect(sid, namespace=namespace)

        def grant_of(sid: Text) -> Optional[Grant]:
            grant = self.grants.get(sid)
            return None if grant is None or grant.expired else grant

        async def expire(sid: Text) -> None:
            if sid in self.grants:
                await refuse(sid, "the token has expired")

        @sio.on("connect", namespace=namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            if not origin_allowed(environ):
                raise ConnectionRefusedError("this page may not open the panel's connection")
            token = auth.get("token") if isinstance(auth, dict) else None
            grant = grant_for(token, self.jwt_key)
            self.grants[sid] = grant
            loop = asyncio.get_running_loop()
            self.expiry_timers[sid] = loop.call_later(
                max(0.0, grant.expires - time.time()),
                lambda: asyncio.ensure_future(expire(sid)))
            logger.debug("Socket.IO client %s connected.", sid)
            return True

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: Text, *args: Any) -> None:
            self.grants.pop(sid, None)
            timer = self.expiry_timers.pop(sid, None)
            if timer is not None:
                timer.cancel()
            logger.debug("Socket.IO client %s disconnected.", sid)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: Text, data: Optional[Dict] = None) -> None:
            grant = grant_of(sid)
            if grant is None:
                return await refuse(sid, "the token has expired")
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id") or grant.conversation_id or uuid.uuid4().hex
            if not metadata.valid_conversation_id(session_id) or not grant.allows(session_id):
                return await refuse(sid, "the token is for another conversation")
            if self.session_persistence:
                for room in list(sio.rooms(sid, namespace=namespace)):
                    if room not in (sid, session_id):
                        await _maybe_await(sio.leave_room(sid, room, namespace=namespace))
                await _maybe_await(sio.enter_room(sid, session_id, namespace=namespace))
            await sio.emit("session_confirm", session_id, room=sid, namespace=namespace)

        @sio.on(self.user_message_evt, namespace=namespace)
        async def handle_message(sid: Text, data: Optional[Dict] = None) -> None:
            grant = grant_of(sid)
            if grant is None:
                return await refuse(sid, "the token has expired")
            data = data if isinstance(data, dict) else {}
            if self.session_persistence:
                sender_id = data.get("session_id")
                if not sender_id or not isinstance(sender_id, str):
                    logger.warning("A Socket.IO message without a session_id was ignored.")
                    return
                if not grant.allows(sender_id):
                    return await refuse(sid, "the token is for another conversation")
            else:
                sender_id = sid
            metadata = metadata_of(data, self.metadata_key)
            if metadata is None:
                await sio.emit(self.bot_message_evt, {"text": "That message's metadata is too "
                                                      "large; it was not saved."},
                               room=sid, namespace=namespace)
                return
            message = data.get("message", "")
            if isinstance(message, str) and len(message) > settings.max_message_chars():
                await sio.emit(self.bot_message_evt, {"text": settings.too_long_text(len(message))},
                               room=sid, namespace=namespace)
                return
            if not isinstance(message, str) or settings.is_blank(message):
                await sio.emit(self.bot_message_evt, {"text": settings.EMPTY_TEXT},
                               room=sid, namespace=namespace)
                return
            await on_new_message(UserMessage(
                settings.clean_text(message),
                BoundSocketIOOutput(sio, self.bot_message_evt),
                sender_id,
                input_channel=self.name(),
                # the counsellor's id from the token, never what the client sent
                metadata=tokens.with_counsellor(metadata, grant.counsellor),
            ))

        return bp
