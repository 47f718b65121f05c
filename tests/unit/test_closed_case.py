"""Close means closed (issue 13, item 8): the handover says when it was closed, nothing goes
on as if the case were open, words typed after closing are kept and marked so, reminders
stop, and a new call starts cleanly."""
from __future__ import annotations

import time

from actions import actions as A
from actions.casenotes import summarise, to_markdown
from actions.messages import say
from unit.test_actions import open_case, panel, run, texts


async def closed_case():
    slots = await open_case(sender="conv-closed")
    _, _, slots = await run(A.ActionCheckEveryMessage(), "he gave her an hour to pay",
                            "report_deadline", slots, sender="conv-closed",
                            timestamp=time.time())
    assert slots["deadline_at"]
    messages, events, closed = await run(A.ActionCloseCase(), "close case", "close_case", slots,
                                         sender="conv-closed", timestamp=time.time())
    return slots, messages, events, closed


async def test_the_closing_handover_says_closed_and_offers_a_new_call():
    _, messages, events, closed = await closed_case()
    handover = texts(messages)[-1]
    assert handover.startswith("Case closed. Handover summary:\nHandover — Young person — ")
    head = handover.splitlines()[1]
    assert ", closed " in head and "\n\n" not in handover
    assert "still open" not in handover
    assert messages[-1]["custom"]["type"] == "handover_timeline"  # the full timeline, folded
    said = [m for m in messages if m.get("text")][-1]
    assert [b["title"] for b in said["buttons"]][0] == say("button.new_call.child")
    assert panel(messages)["stage"] == "closed"
    assert {e["name"] for e in events if e["event"] == "cancel_reminder"}, "reminders stop"


async def test_a_note_after_closing_is_kept_and_marked_not_taken_for_the_open_case():
    slots, _, _, closed = await closed_case()
    for action, text, intent in ((A.ActionAddNote(), "add note: mum rang back", "add_note"),
                                 (A.ActionNextStep(), "what next?", "what_next")):
        messages, _, _ = await run(action, text, intent, closed, sender="conv-closed",
                                   timestamp=time.time())
        assert texts(messages)[0] == say("closed.reply_words_kept" if intent == "add_note"
                                         else "closed.reply")
        assert "Next:" not in " ".join(texts(messages))
    events = A.case_store().events(slots["case_id"])
    late = [e for e in events if e["kind"] == "note" and e["code"] == "after_close"]
    assert [e["text"] for e in late] == ["mum rang back"]
    handover = to_markdown(summarise(A.case_store(), slots["case_id"]))
    assert "Closed: still open" not in handover


async def test_a_new_call_after_closing_opens_a_fresh_case():
    slots, _, _, closed = await closed_case()
    _, _, fresh = await run(A.ActionCheckEveryMessage(), '/start_case{"caller_role":"parent_carer"}',
                            "start_case", closed, sender="conv-closed",
                            entities=[{"entity": "caller_role", "value": "parent_carer"}])
    assert fresh["case_id"] != slots["case_id"] and fresh["stage"] != "closed"
    assert not fresh.get("deadline_at")
