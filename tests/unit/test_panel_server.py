"""The side panel's server and the conversation-bound Socket.IO channel's token rules."""
from __future__ import annotations

import http.server
import threading
import time

import jwt
import pytest
import requests
import yaml
from socketio.exceptions import ConnectionRefusedError

import panel_server
from actions.server.channels import grant_for
from stack import admin_token, free_port, user_token
from support import ROOT

SECRET = "unit-test-secret-of-at-least-thirty-two-bytes"


@pytest.fixture
def serve():
    servers = []

    def start(mint=None) -> str:
        handler = panel_server.handler("http://127.0.0.1:5005", "Europe/London", mint)
        server = http.server.ThreadingHTTPServer(("127.0.0.1", free_port()), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def test_flags_json_gives_every_red_flag_its_label_and_meaning(serve):
    flags = requests.get(f"{serve()}/flags.json", timeout=5).json()
    source = yaml.safe_load((ROOT / "data" / "risk" / "flags.yml").read_text())
    assert set(flags) == set(source) == {"self_harm_risk", "offender_known", "ongoing_risk",
                                         "active_deadline"}
    assert flags["self_harm_risk"]["label"] == "Self-harm or suicide risk"
    assert flags["self_harm_risk"]["meaning"].startswith("The child has expressed suicidal thoughts")


def test_config_tells_the_panel_where_rasa_is_and_the_helpline_time_zone(serve):
    config = requests.get(f"{serve()}/config.json", timeout=5).json()
    assert config == {"rasa_url": "http://127.0.0.1:5005", "timezone": "Europe/London",
                      "demo_tokens": False}


def test_pages_allow_scripts_from_the_panel_only_and_sockets_to_rasa_only(serve):
    r = requests.get(f"{serve()}/index.html", timeout=5)
    assert r.ok and "Helpline assistant" in r.text
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "connect-src 'self' http://127.0.0.1:5005 ws://127.0.0.1:5005" in csp


def test_demo_tokens_are_minted_only_when_turned_on(serve):
    off = serve(None)
    assert requests.post(f"{off}/demo/token", timeout=5).status_code == 404
    on = serve(lambda conversation_id: user_token(SECRET, conversation_id))
    one = requests.post(f"{on}/demo/token", timeout=5).json()
    two = requests.post(f"{on}/demo/token", timeout=5).json()
    assert one["conversation_id"] != two["conversation_id"]
    claims = jwt.decode(one["token"], SECRET, algorithms=["HS256"])
    assert claims["user"] == {"username": one["conversation_id"], "role": "user"}
    assert requests.get(f"{on}/demo/token", timeout=5).status_code == 405


def test_a_user_token_grants_its_own_conversation_only():
    grant = grant_for(user_token(SECRET, "conv-a"), SECRET, "HS256")
    assert grant.allows("conv-a")
    assert not grant.allows("conv-b")


def test_an_admin_token_grants_any_conversation():
    grant = grant_for(admin_token(SECRET), SECRET, "HS256")
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
        grant_for(token, SECRET, "HS256")


def test_a_grant_ends_when_its_token_expires():
    token = jwt.encode({"user": {"username": "conv-a", "role": "user"}, "exp": int(time.time()) + 60},
                       SECRET, algorithm="HS256")
    grant = grant_for(token, SECRET, "HS256")
    assert not grant.expired
    assert type(grant)(grant.conversation_id, time.time() - 1).expired
