"""Faults a helpline will meet, on the production-mode stack (PostgreSQL, Redis, two Rasa
servers): the action server killed and restarted, the database gone and back, a Rasa
server killed and restarted. The counsellor is always told, nothing is lost, and the
conversation carries on."""
from __future__ import annotations

import os
import signal
import uuid

import requests

import stack as stack_module
from rasa_plugins.resilience import CHECK_SKIPPED_TEXT, STEP_FAILED_TEXT
from rasa_plugins.rest_channel import NOT_HANDLED_TEXT
from support import texts


def word() -> str:
    """A word that appears nowhere else, to look for in logs."""
    return "zx" + uuid.uuid4().hex[:10]


def test_action_server_killed_the_counsellor_is_told_and_the_missed_flag_comes_later(
        production_stack):
    chat = production_stack.chat(0)
    chat.say('/start_case{"caller_role":"child"}')
    production_stack.kill(production_stack.process("actions"))
    secret_word = word()
    replies = texts(chat.say(f"she said she wants to kill herself, {secret_word}"))
    assert replies[0] == CHECK_SKIPPED_TEXT, "told at once that the risk check did not run"
    assert STEP_FAILED_TEXT in replies
    assert not any("RED FLAG" in t for t in replies)

    production_stack.spawn("actions", production_stack.start_actions)
    production_stack.wait_all()
    replies = texts(chat.say("what next?"))
    assert replies[0].startswith("✓ The assistant service is back") and "1 message" in replies[0]
    assert any(t.startswith("⚠ RED FLAG") and "kill herself" in t for t in replies)
    assert any(t.startswith("First: Self-harm or suicide risk is NOT escalated")
               for t in replies), "the next step works, and puts the new risk first"
    slots = chat.slots()
    assert "self_harm_risk" in slots["red_flags"]
    events = production_stack.case_store().events(slots["case_id"])
    assert any(e["kind"] == "red_flag" and e["code"] == "self_harm_risk" for e in events)
    assert any(e["kind"] == "note" and secret_word in (e["text"] or "") for e in events)
    assert not texts(chat.say("ok"))[0].startswith("✓"), "caught up once, not every turn"
    assert production_stack.logged(secret_word) == []


def test_action_server_hung_the_counsellor_is_told_after_the_timeout(production_stack):
    """A frozen action server (SIGSTOP) accepts connections and never answers: Rasa's
    300 s default would leave the counsellor waiting; ACTION_TIMEOUT (5 s here) does not."""
    chat = production_stack.chat(1)
    chat.say('/start_case{"caller_role":"child"}')
    proc = production_stack.process("actions")
    secret_word = word()
    os.kill(proc.pid, signal.SIGSTOP)
    try:
        replies = texts(chat.say(f"he knows where she lives, {secret_word}"))
    finally:
        os.kill(proc.pid, signal.SIGCONT)
    assert replies[0] == CHECK_SKIPPED_TEXT
    production_stack.wait_all()
    replies = texts(chat.say("what next?"))
    assert replies[0].startswith("✓ The assistant service is back")
    assert any(t.startswith("⚠ RED FLAG") and "where she lives" in t for t in replies)
    slots = chat.slots()
    assert "ongoing_risk" in slots["red_flags"]
    events = production_stack.case_store().events(slots["case_id"])
    # the frozen server ran the check when it woke, after Rasa had given up: not twice
    assert [e["code"] for e in events if e["kind"] == "red_flag"] == slots["red_flags"]
    assert production_stack.logged(secret_word) == []


def test_database_gone_the_counsellor_is_told_and_the_case_survives(production_stack):
    chat = production_stack.chat(1)
    chat.say('/start_case{"caller_role":"child"}')
    chat.say("he gave her 2 hours to pay or he posts them")
    before = chat.slots()
    assert before["deadline_at"]
    secret_word = word()
    production_stack.proxy.cut()
    try:
        r = requests.post(f"{production_stack.rasa_urls()[1]}/webhooks/rest/webhook",
                          json={"sender": chat.id, "message": f"she wants to die {secret_word}"},
                          headers={"Authorization":
                                   f"Bearer {stack_module.admin_token(production_stack.secret)}"},
                          timeout=60)
        assert r.status_code == 503
        assert NOT_HANDLED_TEXT in texts(r.json())
    finally:
        production_stack.proxy.restore()
    replies = texts(chat.say(f"she wants to die {secret_word}"))
    assert any(t.startswith("⚠ RED FLAG") for t in replies), "sent again, checked this time"
    after = chat.slots()
    assert after["case_id"] == before["case_id"] and after["deadline_at"] == before["deadline_at"]
    assert {"active_deadline", "self_harm_risk"} <= set(after["red_flags"])
    events = production_stack.case_store().events(after["case_id"])
    assert [e["code"] for e in events if e["kind"] == "red_flag"] == after["red_flags"]
    assert production_stack.logged(secret_word) == []


def test_rasa_server_restarted_the_conversation_keeps_its_state_and_deadline(production_stack):
    chat = production_stack.chat(0)
    chat.say('/start_case{"caller_role":"parent_carer"}')
    chat.say("he gave my son 3 hours to pay")
    chat.say("it's his football coach")
    before = chat.slots()
    assert before["deadline_at"] and "offender_known" in before["red_flags"]

    production_stack.restart("rasa0")
    production_stack.wait_all()
    replies = texts(chat.say("time left?"))
    assert any(t.startswith("Deadline") for t in replies)
    after = chat.slots()
    for name in ("case_id", "caller_role", "red_flags", "deadline_at", "checklist_done"):
        assert after[name] == before[name], name
    replies = texts(chat.say("he also knows where they live"))
    assert any(t.startswith("⚠ RED FLAG") for t in replies), "checks still run after the restart"
