"""The supervisor's board in production mode, across servers: counsellors' messages go to
two Rasa servers (PostgreSQL, Redis), two panel servers serve the board from the shared
case notes, and nothing is held in one process. A flag raised through one Rasa server shows
on a board served by either panel server; an acknowledgement made on one panel server is in
the case notes and reaches that conversation's panel through the other; a closed case leaves
the board; roles are refused where they do not belong."""
from __future__ import annotations

import uuid

import pytest
import requests

import stack as stack_module
from support import BoardStream, case_state

SELF_HARM = "she said she wants to kill herself"
START_CHILD = '/start_case{"caller_role":"child"}'


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def boards(production_stack):
    """Two panel servers in production mode over the production stack's case notes."""
    started = []
    for _ in range(2):
        panel = stack_module.Stack(env=dict(production_stack.env,
                                            PANEL_PORT=str(stack_module.free_port())))
        panel.start_panel()
        started.append(panel)
    yield [p.panel_url for p in started]
    for panel in started:
        panel.stop()


def say(production_stack, server: int, conversation: str, message: str) -> list[dict]:
    """A message from the conversation's own panel token (role user, naming its counsellor),
    to Rasa server 0 or 1."""
    token = stack_module.user_token(production_stack.secret, conversation,
                                    counsellor=f"c-{conversation[-4:]}")
    r = requests.post(f"{production_stack.rasa_urls()[server]}/webhooks/rest/webhook",
                      json={"sender": conversation, "message": message},
                      headers=bearer(token), timeout=60)
    r.raise_for_status()
    return r.json()


def test_a_flag_through_one_server_shows_on_every_board_and_its_ack_reaches_that_panel(
        production_stack, boards):
    supervisor = bearer(stack_module.supervisor_token(production_stack.secret, "sup-7"))
    streams = [BoardStream(url, supervisor) for url in boards]
    flagged, quiet = (f"prod-board-{uuid.uuid4().hex[:8]}" for _ in range(2))
    try:
        for stream in streams:
            assert stream.response.ok
        case_id = case_state(say(production_stack, 1, flagged, START_CHILD))["case_id"]
        quiet_case = case_state(say(production_stack, 0, quiet, START_CHILD))["case_id"]
        assert "self_harm_risk" in case_state(say(production_stack, 1, flagged,
                                                  SELF_HARM))["red_flags"]

        def flagged_row(data):
            rows = {r["case_id"]: r for r in data["cases"]}
            return case_id in rows and quiet_case in rows and any(
                f["code"] == "self_harm_risk" for f in rows[case_id]["flags"])

        for stream in streams:  # each panel server sees the other Rasa server's writes
            rows = stream.wait_for(flagged_row, within=10)["cases"]
            order = [r["case_id"] for r in rows]  # (other tests' cases are open too)
            assert order.index(case_id) < order.index(quiet_case), "an unacknowledged flag first"
            assert not [r for r in rows if r["case_id"] == quiet_case][0]["flags"]
            assert SELF_HARM not in str(rows), "the board never shows note text"

        r = requests.post(f"{boards[1]}/supervisor/ack", headers=supervisor, timeout=10,
                          json={"case_id": case_id, "code": "self_harm_risk"})
        assert r.status_code == 201
        acks = [e for e in production_stack.case_store().events(case_id)
                if e["kind"] == "acknowledged"]
        assert [(e["code"], e["actor"]) for e in acks] == [("self_harm_risk", "sup-7")]
        streams[0].wait_for(lambda data: any(
            r["case_id"] == case_id and not r["urgent"] for r in data["cases"]), within=10)

        def panel_acks(conversation):
            token = stack_module.user_token(production_stack.secret, conversation,
                                            counsellor="c-x")
            r = requests.get(f"{boards[0]}/panel/acks", headers=bearer(token), timeout=10)
            assert r.ok
            return [(a["case_id"], a["code"]) for a in r.json()["acks"]]

        assert panel_acks(flagged) == [(case_id, "self_harm_risk")]
        assert panel_acks(quiet) == []

        say(production_stack, 0, flagged, "close case")  # the other Rasa server
        for stream in streams:
            stream.wait_for(lambda data: case_id not in [r["case_id"] for r in data["cases"]]
                            and quiet_case in [r["case_id"] for r in data["cases"]], within=10)
    finally:
        for stream in streams:
            stream.close()


def test_in_production_the_board_wants_a_supervisor_and_a_supervisor_writes_nowhere(
        production_stack, boards):
    conversation = f"prod-board-{uuid.uuid4().hex[:8]}"
    user = stack_module.user_token(production_stack.secret, conversation, counsellor="c-1")
    supervisor = stack_module.supervisor_token(production_stack.secret, "sup-7")
    for path in ("/supervisor/cases", "/supervisor/stream"):
        assert requests.get(f"{boards[0]}{path}", headers=bearer(user),
                            timeout=10).status_code == 403
        assert requests.get(f"{boards[0]}{path}", timeout=10).status_code == 401
    nameless = stack_module.user_token(production_stack.secret, conversation, counsellor=None)
    assert requests.get(f"{boards[0]}/panel/acks", headers=bearer(nameless),
                        timeout=10).status_code in (401, 403)
    for url in production_stack.rasa_urls():
        r = requests.post(f"{url}/webhooks/rest/webhook", headers=bearer(supervisor),
                          json={"sender": conversation, "message": START_CHILD}, timeout=30)
        assert r.status_code == 403
    assert requests.post(f"{boards[0]}/demo/token", timeout=10).status_code == 404
