"""End-to-end: the real Rasa server and action server, over HTTP."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests

import stack as stack_module
from support import ROOT, case_state, texts

CONTRACT_SLOTS = {"case_id", "caller_role", "stage", "red_flags", "deadline_at", "escalated"}


@pytest.mark.parametrize("role", ["child", "parent_carer"])
def test_start_case_replies_and_fills_the_contract_slots(chat, role):
    replies = chat.say(f'/start_case{{"caller_role":"{role}"}}')
    assert texts(replies), "a reassurance-stage reply"
    state = case_state(replies)
    assert state and state["caller_role"] == role and state["case_id"]
    slots = chat.slots()
    assert CONTRACT_SLOTS <= set(slots)
    assert slots["caller_role"] == role and slots["case_id"] == state["case_id"]
    assert slots["stage"] == "reassurance" and slots["red_flags"] == []
    assert slots["escalated"] is False and slots["deadline_at"] is None


def test_a_parent_call_opened_in_the_counsellors_words(chat):
    chat.say("new call, it's a parent")
    assert chat.slots()["caller_role"] == "parent_carer"


def test_red_flag_and_deadline_come_first_and_reach_the_tracker(chat):
    chat.say('/start_case{"caller_role":"child"}')
    replies = chat.say("she keeps saying she'd be better off dead and he gave her an hour")
    first = texts(replies)[0]
    assert first.startswith("⚠ RED FLAG") and "better off dead" in first
    slots = chat.slots()
    assert {"self_harm_risk", "active_deadline"} <= set(slots["red_flags"])
    assert re.match(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[+-]\d\d:\d\d$", slots["deadline_at"])
    assert case_state(replies)["deadline_at"] == slots["deadline_at"]
    chat.say("/confirm_escalation")
    assert chat.slots()["escalated"] is True


def test_the_case_row_is_written_to_the_case_store(chat):
    from actions.casenotes import CaseStore

    chat.say('/start_case{"caller_role":"child"}')
    case_id = chat.slots()["case_id"]
    assert CaseStore().case(case_id)["conversation_id"] == chat.id


def test_http_api_needs_a_token_and_a_user_token_sees_only_its_conversation(stack, chat):
    chat.say('/start_case{"caller_role":"child"}')
    url = f"{stack.rasa_url}/conversations/{chat.id}/tracker"
    assert requests.get(url, timeout=10).status_code == 401
    own = stack_module.user_token(stack.secret, chat.id)
    other = stack_module.user_token(stack.secret, "someone-else")
    assert requests.get(url, headers={"Authorization": f"Bearer {own}"}, timeout=10).ok
    assert requests.get(url, headers={"Authorization": f"Bearer {other}"},
                        timeout=10).status_code == 403


def test_rest_channel_checks_a_token_and_a_user_token_writes_only_its_conversation(stack, chat):
    """In development as in production (test_production.py), a token is required: any web
    page on the machine could otherwise post to the REST channel."""
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    body = {"sender": chat.id, "message": '/start_case{"caller_role":"child"}'}

    def post(token=None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return requests.post(url, json=body, headers=headers, timeout=60)

    assert post("not-a-jwt").status_code == 401
    assert post(stack_module.user_token("another secret", chat.id)).status_code == 401
    assert post(stack_module.user_token(stack.secret, "someone-else")).status_code == 403
    assert chat.slots()["case_id"] is None, "nothing refused reached the conversation"
    own = post(stack_module.user_token(stack.secret, chat.id))
    assert own.status_code == 200 and case_state(own.json())["caller_role"] == "child"
    assert post().status_code == 401


def test_bad_input_gets_a_reply_and_nothing_breaks(chat):
    chat.say('/start_case{"caller_role":"child"}')
    for message in ["", "   ", "<img src=x onerror=alert(1)>", "ｈｅｌｌｏ 🙂 \u202e", "x" * 20000]:
        assert texts(chat.say(message)), f"a reply to {message[:20]!r}"
    assert "empty" in texts(chat.say("  "))[0]
    for wordless in ["?", "...", "🙂"]:  # no words: no guess (it would "affirm"), the fallback
        assert any("I've kept that in the case notes" in t for t in texts(chat.say(wordless)))
    assert chat.slots()["case_id"]


def test_what_next_gives_the_next_question(chat):
    chat.say('/start_case{"caller_role":"parent_carer"}')
    replies = chat.say("what next?")
    assert any(t.startswith("Next:") or "\nNext:" in t for t in texts(replies))


def test_no_note_text_is_stored_or_logged_in_clear(stack, chat, workdir):
    word = "zebracrossing" + chat.id[-6:]
    chat.say('/start_case{"caller_role":"child"}')
    chat.say(f"add note: she uses the name {word} online")
    chat.say(f"he found her on insta, {word} is her handle")
    hits = []
    for path in list(Path(workdir).rglob("*")) + list((ROOT / "var").rglob("*")):
        if path.is_file() and word.encode() in path.read_bytes():
            hits.append(str(path))
    assert hits == []
