"""The side panel's server and the conversation-bound Socket.IO channel's token rules."""
from __future__ import annotations

import http.client
import re
import socket
import threading
import time
from urllib.parse import urlsplit

import jwt
import pytest
import requests
import yaml
from socketio.exceptions import ConnectionRefusedError

import panel_server
from actions import roles
from actions.messages import say
from rasa_plugins.channels import grant_for
from stack import admin_token, user_token
from support import ROOT, panel_servers

SECRET = "unit-test-secret-of-at-least-thirty-two-bytes"
#: The panel's own origin first (the demo page), then a helpline's software.
HOST_ORIGINS = ["http://127.0.0.1:8080", "https://crm.helpline.example"]
HALF_SENT = b"GET /index.html HTTP/1.1\r\nHost: panel\r\nUser-Agent: slow\r\n"  # no blank line
#: The style sheets and scripts each page loads, in order: what the panel and the board share
#: (base.css, common.js) before each one's own.
PAGE_FILES = {
    "/index.html": (["base.css", "panel.css"],
                    ["vendor/socket.io.min.js", "common.js", "panel.js"]),
    "/supervisor.html": (["base.css", "supervisor.css"], ["common.js", "supervisor.js"]),
}


@pytest.fixture
def serve():
    with panel_servers() as serve_handler:
        def start(mint=None, host_origins=HOST_ORIGINS, **options) -> str:
            handler = panel_server.handler("http://127.0.0.1:5005", "Europe/London", mint,
                                           host_origins)
            return serve_handler(handler, **options)

        yield start


def connect(url: str) -> socket.socket:
    parts = urlsplit(url)
    return socket.create_connection((parts.hostname, parts.port), timeout=5)


def half_sent_requests(url: str, count: int) -> list[socket.socket]:
    """``count`` connections that send the start of a request and then nothing."""
    conns = []
    for _ in range(count):
        conn = connect(url)
        conn.sendall(HALF_SENT)
        conns.append(conn)
    return conns


def closed_by_server(conn: socket.socket, within: float) -> bool:
    """Whether the server closes ``conn`` (end of stream) within ``within`` seconds."""
    conn.settimeout(within)
    try:
        return conn.recv(1024) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def frame_ancestors(csp: str) -> list[str]:
    directives = dict((d.split(None, 1) + [""])[:2] for d in csp.split(";") if d.strip())
    return directives["frame-ancestors"].split()


def test_flags_json_gives_every_red_flag_its_label_and_meaning(serve):
    flags = requests.get(f"{serve()}/flags.json", timeout=5).json()
    source = yaml.safe_load((ROOT / "data" / "risk" / "flags.yml").read_text())
    assert set(flags) == set(source) == {"self_harm_risk", "offender_known", "ongoing_risk",
                                         "active_deadline"}
    assert flags["self_harm_risk"]["label"] == "Self-harm or suicide risk"
    assert flags["self_harm_risk"]["meaning"].startswith("The child has expressed suicidal thoughts")


def test_roles_json_gives_each_caller_role_its_name_from_messages_yml(serve):
    """The panel's opening buttons and banner and the supervisor's board name the caller
    from /roles.json: data/messages.yml's role.* names and the bot's own role buttons, with
    the panel's other JSON's headers."""
    r = requests.get(f"{serve()}/roles.json", timeout=5)
    assert r.ok and r.headers["Content-Type"] == "application/json"
    assert r.headers["Cache-Control"] == "no-store"
    assert frame_ancestors(r.headers["Content-Security-Policy"]) == HOST_ORIGINS
    served = r.json()
    assert served == {"labels": {role: say(message) for role, message in roles.LABELS.items()},
                      "unknown": say("role.unknown"), "buttons": roles.buttons()}
    # the words a counsellor reads, as they were before they came from one place
    assert served["labels"] == {"child": "Young person", "parent_carer": "Parent or carer",
                                "other": "Someone else"}
    assert served["buttons"] == [
        {"title": "Young person", "payload": '/start_case{"caller_role":"child"}'},
        {"title": "Parent or carer", "payload": '/start_case{"caller_role":"parent_carer"}'},
        {"title": "Someone else (e.g. teacher)", "payload": '/start_case{"caller_role":"other"}'}]


def test_the_pages_name_no_caller_role_themselves():
    """common.js, panel.js and supervisor.js take every caller role's name from /roles.json."""
    names = [say(message).lower() for message in roles.LABELS.values()]
    for page in ("common.js", "panel.js", "supervisor.js"):
        source = (ROOT / "webchat" / page).read_text(encoding="utf-8").lower()
        assert not [name for name in names if name in source], page
        assert "/start_case" not in source, page  # nor a role button's payload


def test_config_tells_the_panel_where_rasa_is_and_the_helpline_time_zone(serve):
    config = requests.get(f"{serve()}/config.json", timeout=5).json()
    # max_message_chars: the channels' limit, so the panel's box never cuts a long paste
    assert config == {"rasa_url": "http://127.0.0.1:5005", "timezone": "Europe/London",
                      "max_message_chars": 20000,
                      "demo_tokens": False, "host_origins": HOST_ORIGINS, "board": False}


def test_pages_allow_scripts_from_the_panel_only_and_sockets_to_rasa_only(serve):
    r = requests.get(f"{serve()}/index.html", timeout=5)
    assert r.ok and "Helpline assistant" in r.text
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "connect-src 'self' http://127.0.0.1:5005 ws://127.0.0.1:5005" in csp


@pytest.mark.parametrize("page", sorted(PAGE_FILES))
def test_every_file_a_page_loads_is_served_from_the_panel_server_under_its_policy(serve, page):
    url = serve()
    html = requests.get(f"{url}{page}", timeout=5).text
    sheets = re.findall(r'<link rel="stylesheet" href="([^"]+)">', html)
    scripts = re.findall(r'<script src="([^"]+)"></script>', html)
    assert (sheets, scripts) == PAGE_FILES[page]
    assert "<style" not in html and "<script>" not in html and " style=" not in html
    kinds = {".css": "text/css", ".js": "javascript", ".svg": "image/svg+xml"}
    for path in sheets + scripts + ["favicon.svg"]:
        r = requests.get(f"{url}/{path}", timeout=5)
        assert r.ok, path
        assert kinds[path[path.rindex("."):]] in r.headers["Content-Type"], path
        assert r.headers["X-Content-Type-Options"] == "nosniff", path
        csp = r.headers["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "style-src 'self';" in csp, path


def test_only_the_helpline_pages_named_in_host_origins_may_frame_the_panel(serve):
    url = serve()
    for path in ("/index.html", "/config.json", "/panel.js", "/no-such-page"):
        csp = requests.get(f"{url}{path}", timeout=5).headers["Content-Security-Policy"]
        assert frame_ancestors(csp) == HOST_ORIGINS, path
    csp = requests.get(f"{serve(host_origins=['http://127.0.0.1:8080'])}/", timeout=5) \
        .headers["Content-Security-Policy"]
    assert frame_ancestors(csp) == ["http://127.0.0.1:8080"]


def test_a_host_origin_that_would_change_the_policy_is_refused():
    with pytest.raises(ValueError):
        panel_server.handler("http://127.0.0.1:5005", "UTC", None,
                             ["http://127.0.0.1:8080; script-src *"])


def test_folders_are_not_listed(serve):
    url = serve()
    r = requests.get(f"{url}/vendor/", timeout=5)
    assert r.status_code == 404
    assert "socket.io" not in r.text
    assert requests.get(f"{url}/vendor", timeout=5).status_code == 404  # after the redirect
    assert requests.get(f"{url}/vendor/socket.io.min.js", timeout=5).ok
    assert "Helpline assistant" in requests.get(f"{url}/", timeout=5).text  # index.html


def test_the_server_header_names_no_software_or_version(serve):
    url = serve()
    for r in (requests.get(f"{url}/", timeout=5), requests.get(f"{url}/missing", timeout=5)):
        assert r.headers["Server"] == "helpline-panel"


@pytest.mark.parametrize("target", ["/../scripts/panel_server.py",
                                    "/%2e%2e/scripts/panel_server.py",
                                    "/..%2fscripts%2fpanel_server.py", "//etc/passwd"])
def test_files_outside_the_panel_folder_are_not_served(serve, target):
    parts = urlsplit(serve())
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    conn.request("GET", target)
    answer = conn.getresponse()
    assert answer.status == 404
    assert b"import" not in answer.read()
    conn.close()


@pytest.mark.parametrize("method", ["PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"])
def test_methods_other_than_get_head_and_post_are_refused_without_a_traceback(
        serve, capfd, method):
    r = requests.request(method, f"{serve()}/index.html", timeout=5)
    assert r.status_code in (405, 501)
    assert r.headers["Server"] == "helpline-panel"
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err
    assert "index.html" not in out + err  # no request log either


def test_many_idle_half_sent_requests_neither_hold_threads_nor_delay_a_page(serve):
    url = serve()
    requests.get(f"{url}/", timeout=5)
    threads_before = threading.active_count()
    idle = half_sent_requests(url, 150)
    try:
        time.sleep(0.5)  # let the server accept them all
        assert threading.active_count() - threads_before < 10
        started = time.monotonic()
        r = requests.get(f"{url}/index.html", timeout=5)
        assert r.ok and "Helpline assistant" in r.text
        assert time.monotonic() - started < 1.0
    finally:
        for conn in idle:
            conn.close()


def test_an_idle_connection_is_closed_after_the_timeout(serve):
    url = serve(request_timeout=0.5)
    conn = connect(url)
    conn.sendall(HALF_SENT)
    started = time.monotonic()
    assert closed_by_server(conn, within=5)
    assert 0.3 < time.monotonic() - started < 3
    conn.close()


def test_a_request_trickled_in_byte_by_byte_is_dropped_at_the_timeout(serve):
    url = serve(request_timeout=1.0)
    conn = connect(url)
    started = time.monotonic()
    closed = False
    for byte in HALF_SENT:  # about 50 bytes at 0.2 s each would take 10 s
        try:
            conn.sendall(bytes([byte]))
        except OSError:
            closed = True
            break
        if closed_by_server(conn, within=0.2):
            closed = True
            break
    assert closed
    assert time.monotonic() - started < 3
    conn.close()


def test_when_too_many_connections_wait_the_longest_waiting_are_dropped(serve):
    url = serve(max_waiting=16)
    idle = half_sent_requests(url, 40)
    try:
        r = requests.get(f"{url}/index.html", timeout=5)
        assert r.ok and "Helpline assistant" in r.text
        assert closed_by_server(idle[0], within=2)
        assert not closed_by_server(idle[-1], within=0.2)
    finally:
        for conn in idle:
            conn.close()


def test_demo_tokens_are_minted_only_when_turned_on(serve):
    off = serve(None)
    assert requests.post(f"{off}/demo/token", timeout=5).status_code == 404
    on = serve(lambda conversation_id: user_token(SECRET, conversation_id))
    one = requests.post(f"{on}/demo/token", timeout=5).json()
    two = requests.post(f"{on}/demo/token", timeout=5).json()
    assert one["conversation_id"] != two["conversation_id"]
    claims = jwt.decode(one["token"], SECRET, algorithms=["HS256"])
    assert claims["user"] == {"username": one["conversation_id"], "role": "user",
                              "counsellor": "dev-counsellor"}
    assert requests.get(f"{on}/demo/token", timeout=5).status_code == 405


def test_a_user_token_grants_its_own_conversation_only():
    grant = grant_for(user_token(SECRET, "conv-a"), SECRET)
    assert grant.allows("conv-a")
    assert not grant.allows("conv-b")


def test_an_admin_token_grants_any_conversation():
    grant = grant_for(admin_token(SECRET), SECRET)
    assert grant.allows("conv-a") and grant.allows("anything")


@pytest.mark.parametrize("token", [
    None, "", "not-a-jwt",
    user_token("another-secret-of-at-least-thirty-two-bytes", "conv-a"),
    jwt.encode({"user": {"username": "conv-a", "role": "user"}, "exp": int(time.time()) - 10},
               SECRET, algorithm="HS256"),
    jwt.encode({"user": {"role": "user"}}, SECRET, algorithm="HS256"),
    jwt.encode({"user": {"username": "conv-a", "role": "guest"}}, SECRET, algorithm="HS256"),
    jwt.encode({"user": {"username": "conv-a", "role": "admin"}}, SECRET, algorithm="HS512"),
], ids=["none", "empty", "garbage", "other-secret", "expired", "no-username", "unknown-role",
        "other-algorithm"])
def test_connections_without_a_valid_token_are_refused(token):
    with pytest.raises(ConnectionRefusedError):
        grant_for(token, SECRET)


def test_a_grant_ends_when_its_token_expires():
    token = jwt.encode({"user": {"username": "conv-a", "role": "user"}, "exp": int(time.time()) + 60},
                       SECRET, algorithm="HS256")
    grant = grant_for(token, SECRET)
    assert not grant.expired
    assert type(grant)(grant.conversation_id, time.time() - 1).expired
