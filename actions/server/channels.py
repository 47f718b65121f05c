"""The side panel's Socket.IO channel: Rasa's, with each connection bound to one conversation.

Rasa 3.6's ``socketio`` channel checks a JWT only when a client connects and then accepts
any ``session_id`` the client asks for, so one valid token could read or write every
conversation. This channel keeps the token's claims per connection and lets a connection
join and speak in only the conversation its token names (``user.username``); a token with
``user.role`` ``admin`` (the helpline's back end, tests) may use any conversation.

It also fixes two faults of Rasa 3.6's channel with python-socketio 5.x: ``enter_room`` is a
coroutine there and Rasa never awaits it (session persistence silently sent bot messages to
nobody), and ``send_custom_json`` passed the message's keys to ``emit`` as keyword arguments
(the ``case_state`` message raised a TypeError). Custom JSON reaches the client as
``{"custom": {...}}``, the same shape as the REST channel's.

Configured in credentials.yml as ``actions.server.channels.BoundSocketIOInput``. The secret
is ``jwt_key`` in credentials.yml or else the environment's ``RASA_JWT_SECRET`` (HS256).
Without a secret every connection is accepted, as in Rasa's channel, and a warning is logged.
"""
from __future__ import annotations

import inspect
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable, Dict, Optional, Text

import jwt
from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer
from socketio.exceptions import ConnectionRefusedError

from actions import settings

logger = logging.getLogger(__name__)

ERROR_EVT = "auth_error"


@dataclass(frozen=True)
class Grant:
    """What one connection's token allows."""

    conversation_id: Optional[str]  # None: any conversation (admin, or no secret configured)
    expires: Optional[float] = None

    def allows(self, conversation_id: str) -> bool:
        return self.conversation_id is None or self.conversation_id == conversation_id

    @property
    def expired(self) -> bool:
        return self.expires is not None and time.time() >= self.expires


def grant_for(token: Any, key: str, algorithm: str) -> Grant:
    """The grant a bearer token gives, or ConnectionRefusedError (no case data is sent)."""
    if not isinstance(token, str) or not token:
        raise ConnectionRefusedError("a token is required")
    try:
        claims = jwt.decode(token, key, algorithms=[algorithm])
    except jwt.ExpiredSignatureError:
        raise ConnectionRefusedError("the token has expired") from None
    except jwt.PyJWTError:
        raise ConnectionRefusedError("the token is not valid") from None
    user = claims.get("user") if isinstance(claims.get("user"), dict) else {}
    role, username = user.get("role"), user.get("username")
    expires = float(claims["exp"]) if isinstance(claims.get("exp"), (int, float)) else None
    if role == "admin":
        return Grant(None, expires)
    if role == "user" and isinstance(username, str) and username:
        return Grant(username, expires)
    raise ConnectionRefusedError("the token names no conversation")


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
        key = credentials.get("jwt_key") or os.environ.get("RASA_JWT_SECRET", "").strip() or None
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
        if not self.jwt_key:
            logger.warning(
                "The side panel's Socket.IO channel has no secret (RASA_JWT_SECRET): "
                "any client can read and write any conversation. Development only.")

    def get_output_channel(self) -> Optional[OutputChannel]:
        if self.sio is None:
            return super().get_output_channel()
        return BoundSocketIOOutput(self.sio, self.bot_message_evt)

    def blueprint(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Blueprint:
        # CORS of the polling transport is left to the Rasa server (`--cors`).
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=[])
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

        @sio.on("connect", namespace=namespace)
        async def connect(sid: Text, environ: Dict, auth: Optional[Dict] = None) -> bool:
            if self.jwt_key:
                token = auth.get("token") if isinstance(auth, dict) else None
                grant = grant_for(token, self.jwt_key, self.jwt_algorithm or "HS256")
            else:
                grant = Grant(None)
            self.grants[sid] = grant
            logger.debug("Socket.IO client %s connected.", sid)
            return True

        @sio.on("disconnect", namespace=namespace)
        async def disconnect(sid: Text, *args: Any) -> None:
            self.grants.pop(sid, None)
            logger.debug("Socket.IO client %s disconnected.", sid)

        @sio.on("session_request", namespace=namespace)
        async def session_request(sid: Text, data: Optional[Dict] = None) -> None:
            grant = grant_of(sid)
            if grant is None:
                return await refuse(sid, "the token has expired")
            data = data if isinstance(data, dict) else {}
            session_id = data.get("session_id") or grant.conversation_id or uuid.uuid4().hex
            if not isinstance(session_id, str) or not grant.allows(session_id):
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
            metadata = data.get(self.metadata_key) or {}
            if isinstance(metadata, str):
                try:
                    metadata = json.loads(metadata)
                except ValueError:
                    metadata = {}
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
                metadata=metadata if isinstance(metadata, dict) else {},
            ))

        return bp
