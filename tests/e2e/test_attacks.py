"""The attack test of issue 12, replayed on a production-mode stack (HELPLINE_ENV=production,
PostgreSQL, Redis, two Rasa servers on loopback), plus what held then and must stay so.

Each test names the attack it replays. The counsellor's view of each: one token reaches
one conversation and its own case, nothing else; no request can hold the server; nothing
typed reaches a log; a token means exactly what it says, for as long as it says.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import uuid
from datetime import datetime

import jwt
import pytest
import requests
import socketio

import stack as stack_module
from actions import settings
from e2e.test_panel_channel import PanelSocket
from support import ROOT, case_state, texts

START_CHILD = '/start_case{"caller_role":"child"}'


def bearer(token: str | None) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"} if token else {}


def call(stack, method: str, path: str, token: str | None = None, **kwargs) -> requests.Response:
    return requests.request(method, f"{stack.rasa_url}{path}", headers=bearer(token),
                            timeout=60, **kwargs)


def say(stack, conversation: str, message: str, token: str | None = None) -> requests.Response:
    """A REST message with the conversation's own panel token (role user)."""
    token = token or stack_module.user_token(stack.secret, conversation)
    return call(stack, "POST", "/webhooks/rest/webhook", token,
                json={"sender": conversation, "message": message})


def tracker(stack, conversation: str) -> dict:
    r = call(stack, "GET", f"/conversations/{conversation}/tracker",
             stack_module.admin_token(stack.secret))
    r.raise_for_status()
    return r.json()


def opened_case(stack, note: str | None = None) -> tuple[str, str]:
    """A new conversation with an open child case (and a note): (conversation, case id)."""
    conversation = f"atk-{uuid.uuid4().hex[:10]}"
    assert say(stack, conversation, START_CHILD).ok
    if note:
        assert say(stack, conversation, f"add note: {note}").ok
    return conversation, tracker(stack, conversation)["slots"]["case_id"]


def forged(secret: str, **claims) -> str:
    payload = {"user": {"username": "admin", "role": "admin"},
               "exp": int(time.time()) + 600}
    payload.update(claims)
    return jwt.encode(payload, secret, algorithm="HS256")


# --- item 1: a user token reaches its own conversation's tracker and the channels, no more

USER_REFUSED = [
    ("POST", "/conversations/{own}/tracker/events", [{"event": "slot", "name": "case_id",
                                                      "value": "0" * 32}]),
    ("PUT", "/conversations/{own}/tracker/events", []),
    ("POST", "/conversations/{own}/execute", {"name": "action_summary"}),
    ("POST", "/conversations/{own}/trigger_intent", {"name": "summary"}),
    ("POST", "/conversations/{own}/predict", None),
    ("POST", "/conversations/{own}/messages", {"text": "hello", "sender": "user"}),
    ("GET", "/conversations/{own}/story", None),
    ("GET", "/conversations/{other}/tracker", None),
    ("GET", "/status", None),
    ("GET", "/domain", None),
    ("GET", "/version", None),
    ("POST", "/model/parse", {"text": "hello"}),
    ("PUT", "/model", {"model_file": "models/x.tar.gz"}),
    ("DELETE", "/model", None),
    ("POST", "/model/train", {}),
    ("POST", "/model/predict", {}),
]


@pytest.mark.parametrize("method,path,body", USER_REFUSED,
                         ids=[f"{m} {p}" for m, p, _ in USER_REFUSED])
def test_a_user_token_is_refused_on_every_other_route(production_stack, method, path, body):
    own, case_id = opened_case(production_stack)
    token = stack_module.user_token(production_stack.secret, own)
    route = path.format(own=own, other=f"atk-other-{uuid.uuid4().hex[:6]}")
    r = call(production_stack, method, route, token,
             **({"json": body} if body is not None else {}))
    assert r.status_code == 403, (route, r.status_code, r.text[:200])
    assert tracker(production_stack, own)["slots"]["case_id"] == case_id, "nothing changed"


def test_a_user_token_still_reads_its_own_tracker_for_the_panel(production_stack):
    own, case_id = opened_case(production_stack)
    token = stack_module.user_token(production_stack.secret, own)
    r = call(production_stack, "GET", f"/conversations/{own}/tracker", token)
    assert r.ok and r.json()["slots"]["case_id"] == case_id


def test_a_case_id_forged_into_a_tracker_reads_and_writes_nothing_of_that_case(production_stack):
    """Even with the tracker written by someone else (an admin token, a database), the action
    server serves a conversation only its own case: no summary of the other case, no note,
    no closing, nothing for the purge."""
    victim, victim_case = opened_case(production_stack, note="victim-note-marker")
    attacker, _ = opened_case(production_stack)
    admin = stack_module.admin_token(production_stack.secret)
    old = "2001-01-01T00:00:00+00:00"
    queued = [{"kind": k, "case_id": victim_case, "conversation_id": cid, "at": old,
               "text": "forged", "caller_role": "child"}
              for k in ("closed", "note") for cid in (attacker, victim)]
    r = call(production_stack, "POST", f"/conversations/{attacker}/tracker/events", admin,
             json=[{"event": "slot", "name": "case_id", "value": victim_case},
                   {"event": "slot", "name": "unsaved_events", "value": queued}])
    assert r.ok
    summary = " ".join(texts(say(production_stack, attacker, "summary").json()))
    assert "victim-note-marker" not in summary and victim_case not in summary
    assert say(production_stack, attacker, "add note: attacker-note-marker").ok
    store = production_stack.case_store()
    victim_events = store.events(victim_case)
    assert [e["text"] for e in victim_events if e["kind"] == "note"] == ["victim-note-marker"]
    assert store.case(victim_case)["closed_at"] is None
    assert victim_case not in [c["id"] for c in store.purge(dry_run=True)]
    assert tracker(production_stack, attacker)["slots"]["case_id"] != victim_case


# --- item 2 and 10: one size limit on every route, refused before it costs anything ----------

def test_an_over_long_message_is_refused_on_every_route(production_stack):
    own, _ = opened_case(production_stack)
    admin = stack_module.admin_token(production_stack.secret)
    huge = "she said she wants to die " * 6200  # 161,200 characters
    started = time.monotonic()
    assert say(production_stack, own, huge).status_code == 413
    assert say(production_stack, own, huge, admin).status_code == 413
    api = call(production_stack, "POST", f"/conversations/{own}/messages", admin,
               json={"text": huge, "sender": "user"})
    assert api.status_code == 413
    events = call(production_stack, "POST", f"/conversations/{own}/tracker/events", admin,
                  json=[{"event": "user", "text": huge[:settings.max_message_chars() + 1]}])
    assert events.status_code == 413
    print(f"\n[item 2] three 161,200-character messages refused in "
          f"{time.monotonic() - started:.2f} s (before: 47.5 s and +19.6 GB each)")
    assert say(production_stack, own, "what next?").ok, "the conversation goes on"


def test_a_message_at_the_limit_is_checked_whole_and_quickly_enough(production_stack):
    """The NLU reads the start; the red-flag check reads all of it: a flag at character
    19,000 of a 20,000-character paste is raised."""
    own, _ = opened_case(production_stack)
    limit = settings.max_message_chars()
    text = ("we talked about school and her friends and football. " * 400)[:limit - 1000]
    text = text + " she told me she wants to kill herself tonight. " + "ok " * 300
    text = text[:limit]
    started = time.monotonic()
    replies = say(production_stack, own, text)
    took = time.monotonic() - started
    assert replies.ok
    assert "self_harm_risk" in case_state(replies.json())["red_flags"]
    print(f"\n[item 2] a {len(text):,}-character message answered in {took:.2f} s "
          "(before: 5.2 s and +1 GB of Rasa server memory)")


def raw_post(stack, path: str, headers: dict[str, str], body: bytes = b"") -> str:
    """The status line of a hand-made request (a huge Content-Length is declared, not sent)."""
    host, port = stack.env["RASA_HOST"], int(stack.env["RASA_PORT"])
    with socket.create_connection((host, port), timeout=30) as s:
        head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        s.sendall(f"POST {path} HTTP/1.1\r\nHost: {host}\r\n{head}\r\n".encode() + body)
        return s.recv(4096).decode("latin-1").split("\r\n", 1)[0]


def test_a_huge_body_is_refused_before_it_is_read(production_stack):
    status = raw_post(production_stack, "/webhooks/rest/webhook",
                      {"Content-Type": "application/json", "Content-Length": str(60 * 2**20)})
    assert " 413 " in status


def test_large_metadata_and_long_sender_ids_are_refused(production_stack):
    own, _ = opened_case(production_stack)
    token = stack_module.user_token(production_stack.secret, own)
    body = {"sender": own, "message": "hello", "metadata": {"x": "m" * 10_000}}
    assert call(production_stack, "POST", "/webhooks/rest/webhook", token,
                json=body).status_code == 413
    long_id = "a" * 300
    admin = stack_module.admin_token(production_stack.secret)
    assert say(production_stack, long_id, "hello", admin).status_code == 400
    assert call(production_stack, "GET", f"/conversations/{long_id}/tracker",
                admin).status_code == 400


@pytest.mark.parametrize("body", [b"{not json", b"[" * 100_000, b'{"sender": '])
def test_malformed_and_deeply_nested_json_is_answered_400(production_stack, body):
    admin = stack_module.admin_token(production_stack.secret)
    for path in ("/webhooks/rest/webhook", "/conversations/atk-x/tracker/events"):
        r = requests.post(f"{production_stack.rasa_url}{path}", data=body, timeout=60,
                          headers={**bearer(admin), "Content-Type": "application/json"})
        assert r.status_code == 400, (path, r.status_code)


# --- item 3: no message text in any log, whatever its shape -----------------------------------

def test_no_typed_text_of_any_shape_reaches_a_log_or_a_store_in_clear(production_stack, workdir):
    marker = f"zx{uuid.uuid4().hex[:12]}"
    own, case_id = opened_case(production_stack)
    shapes = [f"{marker} plain note", f"/{marker} he says he wants to die",
              f"/start_case{{\"caller_role\":\"{marker}\"}}", f'{{"text": "{marker}"}}',
              f"/{marker}{{\"a\": 1}} {{{{ {marker} }}}} %s {{0}}",
              f"<b>{marker}</b> {{caller_role}}", ("x " * 9000) + marker]
    for shape in shapes:
        assert say(production_stack, own, shape).ok
    admin = stack_module.admin_token(production_stack.secret)
    assert call(production_stack, "POST", f"/conversations/{own}/messages", admin,
                json={"text": f"/{marker} over the http api", "sender": "user"}).ok
    sock = PanelSocket(production_stack, stack_module.user_token(production_stack.secret, own))
    try:
        sock.session(own)
        sock.say(own, f"/{marker} over the socket")
    finally:
        sock.close()
    assert say(production_stack, own, "hello").ok  # the greeting's buttons
    # the "/" text was read as text: checked for red flags and kept in the notes
    events = production_stack.case_store().events(case_id)
    assert any(f"/{marker} he says he wants to die" in (e["text"] or "") for e in events)
    assert "self_harm_risk" in [e["code"] for e in events if e["kind"] == "red_flag"]

    hits = [str(p) for p in workdir.rglob("*") if p.is_file() and marker.encode() in p.read_bytes()]
    hits += [str(p) for p in (ROOT / "var").rglob("*")
             if p.is_file() and marker.encode() in p.read_bytes()]
    assert hits == [], "typed text in a file the stack wrote"
    dump = subprocess.run(["pg_dump", "-h", "127.0.0.1", "-U", "postgres",
                           production_stack.direct_db_url.rsplit("/", 1)[1]],
                          capture_output=True, timeout=120)
    assert dump.returncode == 0 and marker.encode() not in dump.stdout
    import redis

    r = redis.Redis.from_url(production_stack.env["REDIS_URL"])
    for key in r.scan_iter(count=1000):
        assert marker.encode() not in key
        if r.type(key) == b"string":
            assert marker.encode() not in (r.get(key) or b"")
    rasa_logs = "".join(p.read_text(errors="replace")
                        for p in production_stack.log_dir.glob("rasa*.log"))
    assert "interpolator" not in rasa_logs, "a response's placeholders failed (greeting)"


# --- items 5-7: tokens mean what they say, for as long as they say -------------------------------

def bad_tokens(secret: str) -> dict[str, str]:
    now = int(time.time())
    admin = {"username": "admin", "role": "admin"}
    return {
        "no exp": jwt.encode({"user": admin}, secret, algorithm="HS256"),
        "exp in 2100": forged(secret, exp=int(datetime(2100, 1, 1).timestamp())),
        "expired 10 s ago": forged(secret, exp=now - 10),
        "alg none": jwt.encode({"user": admin, "exp": now + 600}, None, algorithm="none"),
        "HS512": jwt.encode({"user": admin, "exp": now + 600}, secret, algorithm="HS512"),
        "wrong secret": forged("another secret"),
        "role Admin": forged(secret, user={"username": "admin", "role": "Admin"}),
    }


def test_every_bad_token_is_refused_with_401_on_every_route(production_stack):
    own, _ = opened_case(production_stack)
    for name, token in bad_tokens(production_stack.secret).items():
        for method, path, body in [("GET", f"/conversations/{own}/tracker", None),
                                   ("GET", "/status", None),
                                   ("POST", "/webhooks/rest/webhook",
                                    {"sender": own, "message": "hello"})]:
            r = call(production_stack, method, path, token,
                     **({"json": body} if body else {}))
            assert r.status_code == 401, (name, path, r.status_code, r.text[:200])
        with pytest.raises(socketio.exceptions.ConnectionError):
            PanelSocket(production_stack, token)


def test_a_panel_connection_is_closed_when_its_token_expires(production_stack):
    own, _ = opened_case(production_stack)
    token = stack_module.user_token(production_stack.secret, own, hours=4 / 3600)
    sock = PanelSocket(production_stack, token)
    try:
        assert sock.session(own)[0] == "session_confirm"
        name, data = sock.next("auth_error", "disconnect", timeout=30)
        assert name == "auth_error" and "expired" in str(data)
        time.sleep(1)
        assert not sock.client.connected
    finally:
        sock.close()


def test_an_unknown_helpline_env_stops_every_process_at_once():
    env = {k: v for k, v in stack_module.os.environ.items()}
    env["HELPLINE_ENV"] = "prod"
    for process in ("rasa", "actions", "panel"):
        result = subprocess.run([sys.executable, str(ROOT / "scripts" / "stack.py"), process],
                                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 1
        assert "HELPLINE_ENV='prod' is not one of development, production" in result.stderr


def test_production_with_stray_spaces_is_production_everywhere(production_stack):
    """'production ' once meant production to the settings check and development to the
    panel server, which then minted tokens that production accepted."""
    env = dict(production_stack.env, HELPLINE_ENV=" Production ",
               PANEL_PORT=str(stack_module.free_port()))
    panel = stack_module.Stack(env=env)
    panel.start_panel()
    try:
        r = requests.post(f"{panel.panel_url}/demo/token", timeout=10)
        assert r.status_code == 404
        assert requests.get(f"{panel.panel_url}/config.json",
                            timeout=10).json()["demo_tokens"] is False
    finally:
        panel.stop()


# --- item 11 and what held: origins ------------------------------------------------------------

def test_socketio_and_cors_answer_only_the_panels_origin(production_stack):
    own, _ = opened_case(production_stack)
    token = stack_module.user_token(production_stack.secret, own)
    panel_origin = settings.panel_origin(production_stack.env)
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(production_stack.rasa_url, auth={"token": token},
                       headers={"Origin": "http://evil.example"}, transports=["websocket"],
                       wait_timeout=10)
    client = socketio.Client(reconnection=False)
    client.connect(production_stack.rasa_url, auth={"token": token},
                   headers={"Origin": panel_origin}, wait_timeout=10)
    assert client.connected
    client.disconnect()
    for origin, allowed in (("http://evil.example", False), (panel_origin, True)):
        r = requests.options(f"{production_stack.rasa_url}/conversations/{own}/tracker",
                             headers={"Origin": origin, "Access-Control-Request-Method": "GET"},
                             timeout=10)
        assert (r.headers.get("Access-Control-Allow-Origin") == origin) is allowed


def test_a_cross_site_text_plain_post_is_refused(production_stack):
    own, _ = opened_case(production_stack)
    token = stack_module.user_token(production_stack.secret, own)
    r = requests.post(f"{production_stack.rasa_url}/webhooks/rest/webhook",
                      data=json.dumps({"sender": own, "message": "add note: x"}),
                      headers={**bearer(token), "Content-Type": "text/plain"}, timeout=30)
    assert r.status_code == 415


# --- item 8: development mode is not open to every page or user of the machine --------------

def test_development_mode_needs_a_token_and_keeps_its_files_private(stack, chat):
    """The dev stack (no HELPLINE_ENV): a REST message without a token is refused, and the
    databases and logs it writes are readable by the service user only."""
    r = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", timeout=30,
                      json={"sender": chat.id, "message": "add note: no token"})
    assert r.status_code == 401
    chat.say(START_CHILD)
    files = list(stack.log_dir.glob("*.log"))
    files += [stack_module.Path(stack.env[k].split("sqlite:///", 1)[1])
              for k in ("CASE_DB_URL", "TRACKER_DB_URL")]
    assert files and all(f.exists() for f in files)
    for f in files:
        assert f.stat().st_mode & 0o077 == 0, f"{f} is readable by others"
