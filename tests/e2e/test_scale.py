"""Two Rasa servers sharing the PostgreSQL tracker store and the Redis lock store, one
conversation alternating between them: the case stays one consistent case."""
from __future__ import annotations

import threading
import uuid

from support import case_state, texts


def test_a_conversation_alternating_between_two_servers_stays_one_case(production_stack):
    conversation = f"scale-{uuid.uuid4().hex[:10]}"
    a, b = production_stack.chat(0, conversation), production_stack.chat(1, conversation)
    a.say('/start_case{"caller_role":"child"}')
    deadline_reply = b.say("he gave her 2 hours to pay or he posts them")
    assert any(t.startswith("Deadline") for t in texts(deadline_reply))
    flag_reply = a.say("she said she'd be better off dead")
    assert texts(flag_reply)[0].startswith("⚠ RED FLAG")
    b.say("turns out it's her cousin")
    note = f"she has screenshots of the chat {conversation}"
    a.say(f"add note: {note}")
    b.say("/confirm_escalation")

    slots_a, slots_b = a.slots(), b.slots()
    for name in ("case_id", "red_flags", "deadline_at", "escalated", "stage"):
        assert slots_a[name] == slots_b[name], name
    assert {"active_deadline", "self_harm_risk", "offender_known"} <= set(slots_a["red_flags"])
    assert slots_a["escalated"] is True
    assert case_state(deadline_reply)["deadline_at"] == slots_a["deadline_at"]

    events = production_stack.case_store().events(slots_a["case_id"])
    flags = [e["code"] for e in events if e["kind"] == "red_flag"]
    assert flags == slots_a["red_flags"], "each flag recorded once, in the order raised"
    assert [e["kind"] for e in events].count("escalation") == 1
    assert any(e["kind"] == "deadline" and e["code"] == "set" for e in events)
    assert any(e["kind"] == "note" and e["text"] == note for e in events)
    assert production_stack.logged(note) == []


def test_messages_to_both_servers_at_once_are_handled_one_after_the_other(production_stack):
    """The Redis lock serialises one conversation across servers: without it, both would
    start from the same state and the later one would overwrite the earlier one's flag."""
    conversation = f"scale-{uuid.uuid4().hex[:10]}"
    a, b = production_stack.chat(0, conversation), production_stack.chat(1, conversation)
    a.say('/start_case{"caller_role":"child"}')
    messages = [(a, "she said she'd be better off dead"), (b, "it's her stepdad doing this"),
                (a, "he knows which school she goes to"), (b, "he gave her an hour")]
    errors: list[BaseException] = []

    def send(chat, text):
        try:
            chat.say(text)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=send, args=m) for m in messages]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    slots = a.slots()
    assert {"active_deadline", "offender_known", "ongoing_risk",
            "self_harm_risk"} <= set(slots["red_flags"])
    events = production_stack.case_store().events(slots["case_id"])
    recorded = [e["code"] for e in events if e["kind"] == "red_flag"]
    assert sorted(recorded) == sorted(slots["red_flags"]), "each flag recorded once"
    user_turns = [e for e in a.tracker()["events"] if e["event"] == "user"]
    assert len(user_turns) == 5
