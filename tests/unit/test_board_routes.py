"""The supervisor's routes at the panel server, the panels' /panel/acks, and the roles:
who may open the board, who may write into a conversation, where the counsellor's id
comes from. The store is SQLite in the test's folder; the servers are real (free ports)."""
from __future__ import annotations

import json
import socket
import time
import uuid
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from urllib.parse import urlsplit

import jwt
import pytest
import requests
from cryptography.fernet import Fernet
from socketio.exceptions import ConnectionRefusedError

import panel_server
from actions import metadata
from actions.casenotes import CaseStore
from rasa_plugins import http_guard, tokens
from rasa_plugins.channels import grant_for
from stack import admin_token, supervisor_token, user_token
from support import BoardStream as Stream
from support import panel_servers

SECRET = "unit-test-secret-of-at-least-thirty-two-bytes"
HOST_ORIGINS = ["http://127.0.0.1:8080"]


def word() -> str:
    return "zq" + uuid.uuid4().hex[:12]


@pytest.fixture
def store(tmp_path):
    s = CaseStore(f"sqlite:///{tmp_path / 'cases.db'}", key=Fernet.generate_key().decode())
    yield s
    s.dispose()


@pytest.fixture
def audit_log(tmp_path, monkeypatch):
    path = tmp_path / "audit.log"
    monkeypatch.setenv("AUDIT_LOG", str(path))
    return path


@pytest.fixture
def serve(store):
    with panel_servers() as serve_handler:
        def start(production: bool = False, **options) -> str:
            board_options = {k: options.pop(k) for k in list(options)
                             if k in ("poll_seconds", "max_streams", "stream_seconds",
                                      "keepalive_seconds", "refresh_seconds")}
            board = panel_server.Board(SECRET, store, production=production,
                                       **{"poll_seconds": 0.1, **board_options})
            handler = panel_server.handler("http://127.0.0.1:5005", "Europe/London", None,
                                           HOST_ORIGINS, board=board)
            return serve_handler(handler, **options)

        yield start


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


SUPERVISOR = bearer(supervisor_token(SECRET, "sup-1"))
ADMIN = bearer(admin_token(SECRET))


def case_with_flag(store, conversation: str = "conv-a", code: str = "self_harm_risk",
                   note: str = "") -> str:
    at = datetime.now(timezone.utc) - timedelta(minutes=10)
    case_id = store.open_case(conversation, "child", at, counsellor_id="c-1")
    store.append(case_id, "red_flag", code=code, text=note or "words", at=at,
                 actor="rules:self_harm")
    return case_id


def ack(url: str, body, headers=None, content_type: str = "application/json") -> requests.Response:
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    return requests.post(f"{url}/supervisor/ack", data=data, timeout=5,
                         headers={"Content-Type": content_type,
                                  **(SUPERVISOR if headers is None else headers)})


# --- tokens and roles ----------------------------------------------------------------------------

def test_a_supervisors_token_names_the_supervisor_and_allows_no_conversation():
    claims = tokens.claims(supervisor_token(SECRET, "sup-1"), SECRET)
    assert (claims.role, claims.staff_id, claims.board) == ("supervisor", "sup-1", True)
    assert claims.counsellor is None and claims.conversation_id is None
    for conversation in ("conv-a", "", None, "admin", "sup-1"):
        assert not claims.allows(conversation)
    nameless = jwt.encode({"user": {"role": "supervisor"}, "exp": int(time.time()) + 60},
                          SECRET, algorithm="HS256")
    with pytest.raises(tokens.TokenRefused, match="name the supervisor"):
        tokens.claims(nameless, SECRET)
    with pytest.raises(ValueError):
        tokens.mint(SECRET, "supervisor")


def test_a_user_tokens_counsellor_is_required_in_production_and_defaulted_in_development():
    named = tokens.claims(user_token(SECRET, "conv-a", counsellor="c-9"), SECRET, production=True)
    assert (named.counsellor, named.board) == ("c-9", False)
    bare = user_token(SECRET, "conv-a", counsellor=None)
    with pytest.raises(tokens.TokenRefused, match="counsellor"):
        tokens.claims(bare, SECRET, production=True)
    assert tokens.claims(bare, SECRET, production=False).counsellor == tokens.DEVELOPMENT_COUNSELLOR
    odd = jwt.encode({"user": {"role": "user", "username": "conv-a", "counsellor": " c-1"},
                      "exp": int(time.time()) + 60}, SECRET, algorithm="HS256")
    with pytest.raises(tokens.TokenRefused):
        tokens.claims(odd, SECRET, production=False)


def test_production_is_read_from_the_environment_when_not_given(monkeypatch):
    bare = user_token(SECRET, "conv-a", counsellor=None)
    monkeypatch.setenv("HELPLINE_ENV", "production")
    with pytest.raises(tokens.TokenRefused):
        tokens.claims(bare, SECRET)
    monkeypatch.setenv("HELPLINE_ENV", "development")
    assert tokens.claims(bare, SECRET).counsellor == tokens.DEVELOPMENT_COUNSELLOR


def test_the_socketio_channel_refuses_a_supervisors_token_at_connect():
    with pytest.raises(ConnectionRefusedError):
        grant_for(supervisor_token(SECRET, "sup-1"), SECRET)
    grant = grant_for(user_token(SECRET, "conv-a", counsellor="c-3"), SECRET)
    assert grant.counsellor == "c-3" and grant.allows("conv-a")


def guard_request(path: str, token: str, method: str = "POST") -> SimpleNamespace:
    headers = {"authorization": f"Bearer {token}", "content-type": "application/json"}
    return SimpleNamespace(method=method, path=path, headers=headers, args={},
                           ctx=SimpleNamespace(), body=b'{"sender": "conv-a", "message": "hi"}')


@pytest.mark.parametrize("method,path", [
    ("POST", "/webhooks/rest/webhook"), ("GET", "/socket.io/"), ("GET", "/conversations/conv-a/tracker"),
    ("POST", "/conversations/conv-a/messages"), ("POST", "/conversations/conv-a/tracker/events"),
    ("GET", "/status")])
async def test_the_rasa_server_refuses_a_supervisors_token_on_every_route(monkeypatch, method, path):
    monkeypatch.setenv("RASA_JWT_SECRET", SECRET)
    refused = await http_guard.guard(guard_request(path, supervisor_token(SECRET, "s"), method))
    assert refused is not None and refused.status == 403
    # the counsellor's own token still goes through to the channel
    own = await http_guard.guard(guard_request("/webhooks/rest/webhook",
                                               user_token(SECRET, "conv-a")))
    assert own is None


def test_the_rest_channel_refuses_a_supervisors_token_for_any_sender(monkeypatch):
    from rasa_plugins.rest_channel import AuthRestInput

    channel = AuthRestInput.__new__(AuthRestInput)  # without patching Rasa (resilience)
    channel.secret = SECRET

    def authorise(token: str, sender: str):
        return channel.authorise(SimpleNamespace(headers={"Authorization": f"Bearer {token}"}),
                                 sender)

    for sender in ("conv-a", "sup-1", None):
        claims, refused = authorise(supervisor_token(SECRET, "sup-1"), sender)
        assert claims is None and refused.status == 403
    claims, refused = authorise(user_token(SECRET, "conv-a", counsellor="c-2"), "conv-a")
    assert refused is None and claims.counsellor == "c-2"


def test_the_counsellor_reaches_the_case_from_the_token_never_from_the_message():
    sent = {"helpline_counsellor": "someone-else", "other": 1}
    assert tokens.with_counsellor(sent, "c-1") == {"helpline_counsellor": "c-1", "other": 1}
    assert tokens.with_counsellor(sent, None) == {"other": 1}  # an admin token: none
    assert tokens.with_counsellor(None, "c-1") == {"helpline_counsellor": "c-1"}
    events = [{"event": "user", "metadata": {"helpline_counsellor": "c-old"}},
              {"event": "bot", "metadata": {"helpline_counsellor": "c-bot"}},
              {"event": "user", "metadata": {"helpline_counsellor": "c-1"}},
              {"event": "slot", "name": "x"}]
    assert metadata.counsellor_of(events) == "c-1"
    assert metadata.counsellor_of(events[:2] + [{"event": "user", "metadata": None}]) is None
    assert metadata.counsellor_of([{"event": "user", "metadata": {"helpline_counsellor": 7}}]) is None


def test_the_action_server_records_the_channels_counsellor_when_a_case_opens(store, monkeypatch):
    from actions import actions
    from rasa_sdk.executor import CollectingDispatcher
    from support import make_tracker

    monkeypatch.setattr(actions, "case_store", lambda: store)
    tracker = make_tracker("14yo girl, he wants money", sender="conv-counsellor")
    tracker.events[-1]["metadata"] = {"helpline_counsellor": "counsellor-5"}
    state, outcome, opened = actions.check_said(actions.CaseState(), actions.latest_said(tracker))
    assert opened
    actions.write_events(CollectingDispatcher(), tracker, state, outcome.events)
    case = store.case(state.case_id)
    assert case["conversation_id"] == "conv-counsellor" and case["counsellor_id"] == "counsellor-5"


# --- the board's routes --------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/supervisor/cases", "/supervisor/stream",
                                  f"/supervisor/case/{'a' * 32}"])
def test_the_board_wants_a_supervisors_or_admins_token(serve, path):
    url = serve()
    none = requests.get(f"{url}{path}", timeout=5)
    assert none.status_code == 401 and none.headers["WWW-Authenticate"] == "Bearer"
    assert "error" in none.json()
    bad = requests.get(f"{url}{path}", headers=bearer("not-a-token"), timeout=5)
    assert bad.status_code == 401
    other = requests.get(f"{url}{path}", timeout=5,
                         headers=bearer(supervisor_token("another-secret-of-thirty-two-bytes!", "s")))
    assert other.status_code == 401
    user = requests.get(f"{url}{path}", headers=bearer(user_token(SECRET, "conv-a")), timeout=5)
    assert user.status_code == 403 and user.json() == {
        "error": "this token may not open the supervisor's board"}
    in_url = requests.get(f"{url}{path}?token={supervisor_token(SECRET, 's')}", timeout=5)
    assert in_url.status_code == 401 and "header" in in_url.json()["error"]


def test_the_board_lists_open_cases_without_any_note_text(serve, store):
    secret = word()
    case_id = case_with_flag(store, note=f"she said {secret}")
    store.append(case_id, "note", text=f"more {secret}")
    url = serve()
    for headers in (SUPERVISOR, ADMIN):
        r = requests.get(f"{url}/supervisor/cases", headers=headers, timeout=5)
        assert r.ok and r.headers["Cache-Control"] == "no-store"
        assert [row["case_id"] for row in r.json()["cases"]] == [case_id]
        assert secret not in r.text


def test_an_acknowledgement_is_written_with_the_tokens_supervisor(serve, store, capfd):
    case_id = case_with_flag(store)
    url = serve()
    forged = word()
    r = ack(url, {"case_id": case_id, "code": "self_harm_risk", "actor": forged, "by": forged})
    assert r.status_code == 201 and r.json()["by"] == "sup-1" and r.json()["new"] is True
    event = store.events(case_id)[-1]
    assert (event["kind"], event["code"], event["actor"]) == ("acknowledged", "self_harm_risk",
                                                              "sup-1")
    again = ack(url, {"case_id": case_id, "code": "self_harm_risk"}, ADMIN)
    assert again.status_code == 200 and again.json()["new"] is False
    assert [e["kind"] for e in store.events(case_id)].count("acknowledged") == 1
    out, err = capfd.readouterr()
    assert forged not in out + err  # nothing of a body reaches a log


def test_an_admin_acknowledges_as_admin(serve, store):
    case_id = case_with_flag(store)
    r = ack(serve(), {"case_id": case_id, "code": "self_harm_risk"}, ADMIN)
    assert r.status_code == 201 and store.events(case_id)[-1]["actor"] == "admin"


def test_acknowledging_needs_a_small_json_body_and_a_supervisor(serve, store):
    case_id = case_with_flag(store)
    closed = case_with_flag(store, "conv-closed")
    store.close_case(closed)
    url = serve()
    body = {"case_id": case_id, "code": "self_harm_risk"}
    assert ack(url, body, headers={}).status_code == 401
    assert ack(url, body, bearer(user_token(SECRET, "conv-a"))).status_code == 403
    assert ack(url, body, content_type="text/plain").status_code == 415
    assert ack(url, "not json").status_code == 400
    assert ack(url, [body]).status_code == 400
    assert ack(url, {"case_id": case_id, "code": "self_harm_risk", "pad": "x" * 2000}) \
        .status_code == 413
    assert ack(url, {"case_id": "f" * 32, "code": "self_harm_risk"}).status_code == 404
    assert ack(url, {"case_id": closed, "code": "self_harm_risk"}).status_code == 409
    assert ack(url, {"case_id": case_id, "code": "ongoing_risk"}).status_code == 409
    assert ack(url, {"case_id": "../../etc", "code": "self_harm_risk"}).status_code == 400
    assert "acknowledged" not in [e["kind"] for e in store.events(case_id)]


def test_a_body_without_a_length_is_refused_unread(serve):
    parts = urlsplit(serve())
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as conn:
        conn.sendall(b"POST /supervisor/ack HTTP/1.1\r\nHost: panel\r\n"
                     b"Authorization: " + SUPERVISOR["Authorization"].encode() + b"\r\n"
                     b"Content-Type: application/json\r\n\r\n")
        assert conn.recv(200).startswith(b"HTTP/1.0 411")


def test_a_body_trickled_in_is_dropped_at_the_timeout(serve, store):
    case_id = case_with_flag(store)
    parts = urlsplit(serve(request_timeout=1.0))
    body = json.dumps({"case_id": case_id, "code": "self_harm_risk"}).encode()
    with socket.create_connection((parts.hostname, parts.port), timeout=5) as conn:
        conn.sendall(b"POST /supervisor/ack HTTP/1.1\r\nHost: panel\r\n"
                     b"Authorization: " + SUPERVISOR["Authorization"].encode() + b"\r\n"
                     b"Content-Type: application/json\r\n"
                     b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n")
        started = time.monotonic()
        answer = b""
        for byte in body:
            try:
                conn.sendall(bytes([byte]))
            except OSError:
                break
            conn.settimeout(0.3)
            try:
                answer = conn.recv(200)
            except TimeoutError:
                continue
            break
        assert answer.startswith(b"HTTP/1.0 408") and time.monotonic() - started < 3
    assert "acknowledged" not in [e["kind"] for e in store.events(case_id)]


def test_opening_a_case_writes_an_audit_line_and_gives_its_handover(serve, store, audit_log):
    secret = word()
    case_id = case_with_flag(store, note=f"she wants to die {secret}")
    url = serve()
    r = requests.get(f"{url}/supervisor/case/{case_id}", headers=SUPERVISOR, timeout=5)
    assert r.ok and r.json()["case_id"] == case_id
    assert r.json()["text"].startswith("Handover")
    lines = [json.loads(line) for line in audit_log.read_text().splitlines()]
    assert lines[-1]["action"] == "board_handover" and lines[-1]["case_id"] == case_id
    assert lines[-1]["actor"] == "sup-1" and lines[-1]["at"]
    assert secret not in audit_log.read_text() and "die" not in audit_log.read_text()
    store.close_case(case_id)
    assert requests.get(f"{url}/supervisor/case/{case_id}", headers=SUPERVISOR,
                        timeout=5).status_code == 409
    assert requests.get(f"{url}/supervisor/case/{'f' * 32}", headers=SUPERVISOR,
                        timeout=5).status_code == 404
    for odd in ("A" * 32, "a" * 31, "a" * 33, f"{case_id}/x"):
        assert requests.get(f"{url}/supervisor/case/{odd}", headers=SUPERVISOR,
                            timeout=5).status_code == 404
    assert len(audit_log.read_text().splitlines()) == 1


def test_a_panel_sees_its_own_conversations_acknowledgements_only(serve, store):
    mine = case_with_flag(store, "conv-mine")
    theirs = case_with_flag(store, "conv-theirs", "ongoing_risk")
    url = serve()
    for case_id, code in ((mine, "self_harm_risk"), (theirs, "ongoing_risk")):
        assert ack(url, {"case_id": case_id, "code": code}).status_code == 201
    r = requests.get(f"{url}/panel/acks", headers=bearer(user_token(SECRET, "conv-mine")),
                     timeout=5)
    assert r.ok and [(a["case_id"], a["code"]) for a in r.json()["acks"]] == [
        (mine, "self_harm_risk")]
    assert "sup-1" not in r.text  # the panel is told when, not who
    assert requests.get(f"{url}/panel/acks", timeout=5).status_code == 401
    for headers in (SUPERVISOR, ADMIN):
        assert requests.get(f"{url}/panel/acks", headers=headers, timeout=5).status_code == 403


def test_production_refuses_a_panel_token_that_names_no_counsellor(serve, store):
    url = serve(production=True)
    bare = bearer(user_token(SECRET, "conv-a", counsellor=None))
    assert requests.get(f"{url}/panel/acks", headers=bare, timeout=5).status_code == 401
    named = bearer(user_token(SECRET, "conv-a", counsellor="c-1"))
    assert requests.get(f"{url}/panel/acks", headers=named, timeout=5).ok


def test_without_a_board_the_routes_are_not_there(tmp_path):
    handler = panel_server.handler("http://127.0.0.1:5005", "UTC", None, HOST_ORIGINS)
    server = panel_server.serve("127.0.0.1", 0, handler)
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert requests.get(f"{url}/supervisor/cases", headers=SUPERVISOR, timeout=5) \
            .status_code == 404
        assert requests.get(f"{url}/config.json", timeout=5).json()["board"] is False
        page = requests.get(f"{url}/supervisor.html", timeout=5)
        assert page.ok and "script-src 'self'" in page.headers["Content-Security-Policy"]
        assert "<script>" not in page.text  # no inline script
    finally:
        server.shutdown()
        server.server_close()


# --- the live stream --------------------------------------------------------------------------------

def test_the_stream_pushes_the_rows_when_they_change(serve, store):
    url = serve()
    stream = Stream(url, SUPERVISOR)
    try:
        assert stream.response.headers["Content-Type"].startswith("text/event-stream")
        stream.wait_for(lambda data: data["cases"] == [])
        started = time.monotonic()
        case_id = case_with_flag(store)
        rows = stream.wait_for(lambda data: [r["case_id"] for r in data["cases"]] == [case_id])
        assert time.monotonic() - started < 2 and rows["cases"][0]["urgent"]
        assert ack(url, {"case_id": case_id, "code": "self_harm_risk"}).status_code == 201
        stream.wait_for(lambda data: data["cases"] and not data["cases"][0]["urgent"])
        store.close_case(case_id)
        stream.wait_for(lambda data: data["cases"] == [])
    finally:
        stream.close()


def test_streams_are_capped_and_end_after_their_time(serve):
    url = serve(max_streams=2, stream_seconds=1.0, keepalive_seconds=0.2)
    first, second = Stream(url, SUPERVISOR), Stream(url, SUPERVISOR)
    try:
        third = requests.get(f"{url}/supervisor/stream", headers=SUPERVISOR, timeout=5)
        assert third.status_code == 503 and third.headers["Retry-After"]
        assert first.ended.wait(5) and second.ended.wait(5)  # closed by the server after 1 s
        time.sleep(0.2)
        again = Stream(url, SUPERVISOR)
        assert again.response.ok
        again.close()
    finally:
        first.close()
        second.close()


def test_a_stream_ends_when_its_token_expires(serve):
    url = serve(keepalive_seconds=0.2)
    token = tokens.mint(SECRET, "supervisor", hours=2 / 3600, staff_id="sup-1")  # 2 s
    started = time.monotonic()
    stream = Stream(url, bearer(token))
    try:
        assert stream.ended.wait(6)
        assert time.monotonic() - started < 5
    finally:
        stream.close()


def test_closing_the_server_ends_its_streams(store):
    board = panel_server.Board(SECRET, store, poll_seconds=0.1)
    handler = panel_server.handler("http://127.0.0.1:5005", "UTC", None, HOST_ORIGINS, board=board)
    server = panel_server.serve("127.0.0.1", 0, handler)
    stream = Stream(f"http://127.0.0.1:{server.server_address[1]}", SUPERVISOR)
    try:
        stream.wait_for(lambda data: True)
        server.shutdown()
        server.server_close()
        assert stream.ended.wait(5)
        assert board.poller is None or not board.poller.is_alive() or board.closing
    finally:
        stream.close()


# --- make run ------------------------------------------------------------------------------------

def test_make_run_prints_the_board_with_a_development_supervisor_token_only_in_development():
    import stack as stack_module

    dev = stack_module.Stack(env={"RASA_JWT_SECRET": SECRET, "PANEL_PORT": "8089"})
    text = stack_module.banner(dev)
    line = next(line for line in text.splitlines() if "supervisor.html" in line)
    token = line.split("#token=", 1)[1].split()[0]
    claims = tokens.claims(token, SECRET)
    assert (claims.role, claims.staff_id) == ("supervisor", "dev-supervisor")
    floor = next(x for x in text.splitlines() if "/demo-floor.html#token=" in x)
    claims = tokens.claims(floor.split("#token=", 1)[1].split()[0], SECRET)
    assert (claims.role, claims.staff_id) == ("supervisor", "demo-supervisor")
    production = stack_module.Stack(env={
        "HELPLINE_ENV": "production", "RASA_JWT_SECRET": SECRET,
        "CASE_NOTES_KEY": Fernet.generate_key().decode(), "REDIS_URL": "redis://127.0.0.1:6379/1",
        "TRACKER_DB_URL": "postgresql://h@db/h", "CASE_DB_URL": "postgresql://h@db/h"})
    text = stack_module.banner(production)
    assert "supervisor.html" in text and "#token=" not in text and "eyJ" not in text
    assert "demo-floor" not in text
