"""Escalation changes only when the counsellor means it (issue 13, item 2): the button or a
statement that it has started records it; a negated or future statement asks instead and
undoes a record; a flag raised after escalation shows its own NOT ESCALATED state; the
handover says what is true."""
from __future__ import annotations

import pytest

from actions import actions as A
from actions import casestate, risk
from actions.casenotes import summarise, to_markdown
from actions.messages import say
from unit.test_actions import open_case, panel, run, texts

SELF_HARM = "she said she wants to kill herself"


async def flagged_case():
    slots = await open_case()
    _, _, slots = await run(A.ActionCheckEveryMessage(), SELF_HARM, "report_self_harm", slots)
    assert slots["red_flags"] == ["self_harm_risk"] and not slots.get("escalated")
    return slots


@pytest.mark.parametrize("words,kind", [
    ("", "started"), ("supervisor is on it", "started"), ("called 999", "started"),
    ("supervisor not free yet, havent escalated", "not_started"),
    ("undo that, escalation has NOT started", "not_started"),
    ("I haven’t escalated", "not_started"),
    ("I'll escalate after the call", "planned"), ("going to tell my supervisor", "planned"),
    ("will escalate once she's safe", "planned"),
])
def test_what_the_words_say_of_escalation(words, kind):
    assert casestate.escalation_said(words) == kind


@pytest.mark.parametrize("intent", ["confirm_escalation", "undo_escalation"])
async def test_not_escalated_is_never_recorded_as_escalated(intent):
    slots = await flagged_case()
    action = A.ActionConfirmEscalation() if intent == "confirm_escalation" \
        else A.ActionUndoEscalation()
    messages, _, after = await run(action, "supervisor not free yet, havent escalated",
                                   intent, slots)
    assert not after.get("escalated") and not after.get("escalated_at")
    assert texts(messages)[0] == say("escalation.not_started" if intent == "confirm_escalation"
                                     else "escalation.nothing_to_undo")
    assert [b["payload"] for b in messages[0]["buttons"]] == ["/confirm_escalation"]
    kinds = [e["kind"] for e in A.case_store().events(slots["case_id"])]
    assert "escalation" not in kinds


async def test_a_future_escalation_asks_instead_of_recording():
    slots = await flagged_case()
    messages, _, after = await run(A.ActionConfirmEscalation(), "I'll escalate after the call",
                                   "confirm_escalation", slots)
    assert not after.get("escalated")
    assert texts(messages)[0] == say("escalation.still_to_come")


async def test_a_recorded_escalation_can_be_undone_and_the_notes_keep_both():
    slots = await flagged_case()
    messages, _, escalated = await run(A.ActionConfirmEscalation(), "", "confirm_escalation",
                                       slots)
    assert escalated["escalated"] is True and escalated["escalated_flags"] == ["self_harm_risk"]
    assert "for: " in texts(messages)[0] and panel(messages)["flags"][0]["escalated"] is True
    assert messages[0]["buttons"][0]["payload"] == "/undo_escalation"
    messages, _, undone = await run(A.ActionConfirmEscalation(),
                                    "undo that, escalation has NOT started",
                                    "confirm_escalation", escalated)
    assert not undone.get("escalated") and not undone["escalated_at"]
    assert texts(messages)[0] == say("escalation.withdrawn")
    assert panel(messages)["flags"][0]["escalated"] is False
    kinds = [e["kind"] for e in A.case_store().events(slots["case_id"])]
    assert kinds.count("escalation") == 1 and kinds.count("escalation_undone") == 1
    handover = to_markdown(summarise(A.case_store(), slots["case_id"]))
    assert "NOT ESCALATED" in handover and "Escalation process started" not in handover


async def test_a_flag_raised_after_escalation_is_not_escalated_until_confirmed():
    slots = await flagged_case()
    _, _, escalated = await run(A.ActionConfirmEscalation(), "", "confirm_escalation", slots)
    messages, _, later = await run(A.ActionCheckEveryMessage(),
                                   "it turns out the account is her cousin", "inform", escalated)
    assert later["red_flags"] == ["self_harm_risk", "offender_known"]
    assert not later.get("escalated"), "the banner is not green while a flag is unescalated"
    assert "this one is NOT escalated yet" in texts(messages)[0]
    flags = {f["code"]: f["escalated"] for f in panel(messages)["flags"]}
    assert flags == {"self_harm_risk": True, "offender_known": False}
    messages, _, both = await run(A.ActionConfirmEscalation(), "", "confirm_escalation", later)
    assert both["escalated"] is True and "Offender known" in texts(messages)[0]
    handover = to_markdown(summarise(A.case_store(), slots["case_id"]))
    assert "NOT ESCALATED" not in handover


def test_a_case_escalated_before_per_flag_state_keeps_its_escalation():
    state = casestate.CaseState.from_slots({"red_flags": ["self_harm_risk"], "escalated": True,
                                            "escalated_at": "2026-11-29T10:00:00+00:00"})
    assert state.escalated and state.escalated_flags == ["self_harm_risk"]


async def test_what_next_gives_the_flags_protocol_step_before_any_question():
    """After 'has his mum's tablets in his room', the next step is the suicide-risk
    protocol, not 'have they been asked to send more images?'."""
    slots = await open_case()
    _, _, flagged = await run(A.ActionCheckEveryMessage(),
                              "yes thinking about it tonight, has his mum's tablets in his room",
                              "report_self_harm", slots)
    assert "self_harm_risk" in flagged["red_flags"]
    messages, _, after = await run(A.ActionNextStep(), "what next?", "what_next", flagged)
    first = texts(messages)[0]
    info = risk.flag_info("self_harm_risk", flagged["caller_role"])
    assert first == say("next.flag_step", flag=info["label"], escalation=info["escalation"])
    assert "Next:" not in first
    assert [b["payload"] for b in messages[0]["buttons"]][0] == "/confirm_escalation"
    # asked again: no loop; the question comes, with the open flag still in sight
    messages, _, again = await run(A.ActionNextStep(), "what next?", "what_next", after)
    assert texts(messages)[0].startswith(
        say("next.still_not_escalated", flags="Self-harm or suicide risk") + "\n")
    assert "Next:" in texts(messages)[0]
    # once escalated, the questions come plain
    _, _, escalated = await run(A.ActionConfirmEscalation(), "", "confirm_escalation", again)
    messages, _, _ = await run(A.ActionNextStep(), "what next?", "what_next", escalated)
    assert "NOT escalated" not in texts(messages)[0]


async def test_the_most_severe_unescalated_flag_comes_first():
    slots = await open_case()
    _, _, flagged = await run(A.ActionCheckEveryMessage(),
                              "it's her cousin and she said she wants to die", "inform", slots)
    assert {"offender_known", "self_harm_risk"} <= set(flagged["red_flags"])
    messages, _, _ = await run(A.ActionNextStep(), "what next?", "what_next", flagged)
    assert texts(messages)[0].startswith("First: Self-harm or suicide risk")
