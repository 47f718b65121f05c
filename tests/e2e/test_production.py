"""Production mode exposes nothing it need not: it refuses to start without its secrets
and shared stores, its servers listen on the private interface only, and the JWT secret
is on no command line."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import requests

import stack as stack_module
from actions import settings
from support import ROOT, case_state


def listening_addresses(port: int) -> set[str]:
    """Local IPv4/IPv6 addresses with a socket listening on ``port`` (from /proc/net)."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            address, hex_port = fields[1].rsplit(":", 1)
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


@pytest.mark.parametrize("process", ["rasa", "actions"])
def test_production_refuses_to_start_and_names_what_is_missing(process):
    env = {k: v for k, v in os.environ.items()
           if k not in settings.PRODUCTION_NEEDS and k != "RASA_JWT_SECRET"}
    env.update(HELPLINE_ENV="production", TRACKER_DB_URL="sqlite:///var/tracker.db")
    result = subprocess.run([sys.executable, str(ROOT / "scripts" / "stack.py"), process],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    message = result.stderr.strip().splitlines()[-1]
    assert message.startswith("ERROR: HELPLINE_ENV=production needs")
    for name in ("RASA_JWT_SECRET", "CASE_NOTES_KEY", "CASE_DB_URL", "REDIS_URL",
                 "TRACKER_DB_URL (must be postgresql://...)"):
        assert name in message


def test_rest_channel_needs_a_token_for_its_own_conversation(production_stack):
    chat = production_stack.chat(0)
    url = f"{production_stack.rasa_urls()[0]}/webhooks/rest/webhook"
    body = {"sender": chat.id, "message": '/start_case{"caller_role":"child"}'}

    def post(token=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(url, json=body, headers=headers, timeout=60)

    assert post().status_code == 401
    assert post("not-a-jwt").status_code == 401
    assert post(stack_module.admin_token("another secret")).status_code == 401
    assert post(stack_module.user_token(production_stack.secret, "someone-else")).status_code == 403
    assert chat.slots()["case_id"] is None, "nothing refused reached the conversation"
    own = post(stack_module.user_token(production_stack.secret, chat.id))
    assert own.status_code == 200 and case_state(own.json())["caller_role"] == "child"
    tracker = f"{production_stack.rasa_urls()[1]}/conversations/{chat.id}/tracker"
    assert requests.get(tracker, timeout=10).status_code == 401, "the HTTP API too"


def test_servers_listen_on_the_loopback_interface_only(production_stack):
    ports = [int(production_stack.env["ACTIONS_PORT"])] + production_stack.rasa_ports
    for port in ports:
        assert listening_addresses(port) == {"0100007F"}, f"port {port}: 127.0.0.1 only"


def test_the_jwt_secret_is_on_no_command_line(production_stack):
    secret = production_stack.secret.encode()
    for proc in production_stack.processes:
        assert secret not in Path(f"/proc/{proc.pid}/cmdline").read_bytes()
