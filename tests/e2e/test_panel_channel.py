"""The side panel's Socket.IO channel on a real Rasa server: a token opens one conversation.

Rasa 3.6's own channel checks the token only on connect and then lets the client join or
write any conversation; these tests show a token for conversation A cannot touch B."""
from __future__ import annotations

import queue
import uuid

import pytest
import socketio

from stack import admin_token, user_token

START_CHILD = '/start_case{"caller_role":"child"}'


class PanelSocket:
    """A Socket.IO client as the panel uses it; every event lands in a queue."""

    def __init__(self, stack, token: str | None):
        self.events: queue.Queue = queue.Queue()
        self.client = socketio.Client(reconnection=False)
        for name in ("bot_uttered", "session_confirm", "auth_error", "disconnect"):
            self.client.on(name, lambda *args, _name=name: self.events.put((_name, args[0] if args else None)))
        self.client.connect(stack.rasa_url, auth={"token": token} if token is not None else None,
                            socketio_path="/socket.io", wait_timeout=30)

    def next(self, *names: str, timeout: float = 60) -> tuple[str, object]:
        """The next event among ``names`` (others are kept in ``seen``)."""
        while True:
            name, data = self.events.get(timeout=timeout)
            if name in names:
                return name, data

    def session(self, conversation_id: str) -> tuple[str, object]:
        self.client.emit("session_request", {"session_id": conversation_id})
        return self.next("session_confirm", "auth_error")

    def say(self, conversation_id: str, message: str) -> list[dict]:
        """Send a message and collect the bot's messages up to the case_state or a reply text."""
        self.client.emit("user_uttered", {"message": message, "session_id": conversation_id})
        replies = [self.next("bot_uttered")[1]]
        while True:
            try:
                replies.append(self.next("bot_uttered", timeout=5)[1])
            except queue.Empty:
                return replies

    def close(self) -> None:
        if self.client.connected:
            self.client.disconnect()


@pytest.fixture
def sockets(stack):
    opened: list[PanelSocket] = []

    def open_socket(token: str | None) -> PanelSocket:
        sock = PanelSocket(stack, token)
        opened.append(sock)
        return sock

    yield open_socket
    for sock in opened:
        sock.close()


def new_id() -> str:
    return f"panel-e2e-{uuid.uuid4().hex[:10]}"


def user_events(chat_tracker: dict) -> list[dict]:
    return [e for e in chat_tracker["events"] if e["event"] == "user"]


@pytest.mark.parametrize("token", [None, "not-a-token", "wrong-secret"])
def test_no_valid_token_no_connection(stack, sockets, token):
    if token == "wrong-secret":
        token = user_token("a-different-secret-of-thirty-two-bytes!", new_id())
    with pytest.raises(socketio.exceptions.ConnectionError):
        sockets(token)


def test_a_token_opens_its_conversation_and_the_case_state_arrives(stack, sockets):
    conversation = new_id()
    sock = sockets(user_token(stack.secret, conversation))
    assert sock.session(conversation) == ("session_confirm", conversation)
    replies = sock.say(conversation, START_CHILD)
    states = [r["custom"] for r in replies if (r.get("custom") or {}).get("type") == "case_state"]
    assert states and states[-1]["caller_role"] == "child"
    assert any(r.get("text") for r in replies)


def test_a_token_for_one_conversation_cannot_join_another(stack, sockets):
    mine, theirs = new_id(), new_id()
    sock = sockets(user_token(stack.secret, mine))
    name, data = sock.session(theirs)
    assert name == "auth_error" and "another conversation" in data["reason"]
    assert sock.next("disconnect")[0] == "disconnect"


def test_a_token_for_one_conversation_cannot_write_into_or_read_another(stack, sockets, chat):
    chat.say(START_CHILD)  # conversation B, opened by its counsellor over REST
    victim = sockets(user_token(stack.secret, chat.id))
    assert victim.session(chat.id)[0] == "session_confirm"
    before = len(user_events(chat.tracker()))

    attacker_id = new_id()
    attacker = sockets(user_token(stack.secret, attacker_id))
    assert attacker.session(attacker_id)[0] == "session_confirm"
    attacker.client.emit("user_uttered", {"message": "she said she wants to kill herself",
                                          "session_id": chat.id})
    assert attacker.next("auth_error", "bot_uttered")[0] == "auth_error"

    # B's own counsellor goes on: B's tracker holds only B's messages, and B's panel gets
    # the replies to its own message and nothing else.
    replies = victim.say(chat.id, "what next?")
    assert len(user_events(chat.tracker())) == before + 1
    assert "self_harm_risk" not in (chat.slots()["red_flags"] or [])
    assert not any("Self-harm" in (r.get("text") or "") for r in replies)


def test_an_admin_token_may_use_any_conversation(stack, sockets):
    conversation = new_id()
    sock = sockets(admin_token(stack.secret))
    assert sock.session(conversation) == ("session_confirm", conversation)


def test_an_over_long_message_is_refused_with_a_message_and_nothing_stored(stack, sockets):
    conversation = new_id()
    sock = sockets(user_token(stack.secret, conversation))
    sock.session(conversation)
    replies = sock.say(conversation, "she said she wants to die " * 5000)  # 130,000 chars
    assert any("too long" in (r.get("text") or "") for r in replies)
    assert sock.say(conversation, START_CHILD), "the conversation goes on"
    from support import Chat

    said = [e.get("text") or "" for e in user_events(Chat(stack, conversation).tracker())]
    assert all(len(t) < 1000 for t in said)
