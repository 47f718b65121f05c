"""The guidance, audited (issue 15): the checklist never records what was not asked,
escalation speaks to whoever is on the line, deadline and payment questions on both paths.

Each test names the audit's defect it covers. The checklist is ticked only by an answer:
the counsellor's words that an item was done or answered, or the answer right after the
assistant suggested it; "what next?" skips an item (not done) and the handover shows done,
skipped and not reached apart."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from actions import actions as A
from actions import casestate, guidance, risk
from actions.casenotes import summarise, to_handover, to_markdown
from unit.test_actions import open_case, panel, run, texts
from unit.test_handover import Call, store  # noqa: F401  (the fixture)

NOW = datetime(2026, 11, 24, 19, 0, tzinfo=timezone.utc)


def state_for(role: str, pending: str | None = None) -> casestate.CaseState:
    return casestate.CaseState(case_id="c" * 32, caller_role=role, stage="practical_questions",
                               pending_item=pending)


def tick(state: casestate.CaseState, text: str, intent: str = "inform"):
    outcome = casestate.Outcome(state.copy())
    casestate.tick_checklist(outcome.state, outcome, text, intent, NOW)
    return outcome.state, {e["code"]: e["text"] for e in outcome.events if e["kind"] == "answer"}


# --- defect 1: a question the handover says was asked, that was not ------------------------

@pytest.mark.parametrize("role, text, intent, item", [
    # the audit's own examples
    ("child", "haven't asked about suicide yet", "inform", "self_harm"),
    ("child", "haven't asked about suicide yet", "report_self_harm", "self_harm"),
    ("child", "he said he will tell everyone at her school", "inform", "advised_trusted_adult"),
    ("child", "he says he'll tell her mum and dad unless she pays", "inform",
     "advised_trusted_adult"),
    ("child", "he is scared of the police", "inform", "advised_police"),
    ("child", "he will come back tomorrow", "inform", "next_contact"),
    ("parent_carer", "her son is not to blame", "inform", "not_parents_fault"),
    # the same kinds, other words
    ("child", "need to ask about self-harm", "inform", "self_harm"),
    ("child", "still to check suicide and self harm", "inform", "self_harm"),
    ("child", "ask about suicide?", "inform", "self_harm"),
    ("child", "suicide - not asked yet", "inform", "self_harm"),
    ("child", "will explain reporting to the police later", "inform", "advised_police"),
    ("child", "didn't get to the takedown tools", "inform", "advised_takedown"),
    ("parent_carer", "mum thinks the police won't care", "inform", "advised_police"),
    ("parent_carer", "she was at school when he messaged", "inform", "child_safe_now"),
    ("child", "she blocked him last night", "inform", "advised_report_block"),
    ("child", "he reported her account to get it banned", "inform", "advised_report_block"),
])
def test_a_negated_intended_or_someone_elses_mention_never_ticks(role, text, intent, item):
    state, answers = tick(state_for(role), text, intent)
    assert item not in answers and item not in state.checklist_done


@pytest.mark.parametrize("role, text, item", [
    ("child", "asked about suicide, she said no thoughts of it", "self_harm"),
    ("child", "denies suicidal thoughts", "self_harm"),
    ("child", "encouraged her to tell her mum tonight", "advised_trusted_adult"),
    ("child", "she's going to tell her aunt after school", "advised_trusted_adult"),
    ("child", "explained the police can help and he won't be in trouble", "advised_police"),
    ("child", "told her she can come back any time", "next_contact"),
    ("child", "she will call back tomorrow after school", "next_contact"),
    ("parent_carer", "her son is not to blame", "not_childs_fault"),
    ("parent_carer", "told mum she is not to blame either", "not_parents_fault"),
    ("child", "told her it's not her fault, haven't asked about suicide yet", "not_their_fault"),
])
def test_words_that_say_it_was_done_still_tick(role, text, item):
    state, answers = tick(state_for(role), text)
    assert answers.get(item) == text and item in state.checklist_done


@pytest.mark.parametrize("text", ["not yet", "will ask later", "haven't got to that", "later"])
def test_not_yet_after_a_suggestion_is_no_answer(text):
    state, answers = tick(state_for("child", "self_harm"), text, "deny")
    assert answers == {} and state.pending_item == "self_harm"
    assert "self_harm" not in state.checklist_done


def test_a_plain_answer_right_after_the_suggestion_still_ticks_it():
    state, answers = tick(state_for("child", "self_harm"), "no", "deny")
    assert answers == {"self_harm": "no"} and "self_harm" in state.checklist_done
    state, answers = tick(state_for("child", "who_else_knows"), "she hasn't told anyone")
    assert answers == {"who_else_knows": "she hasn't told anyone"}


def test_what_next_skips_the_item_never_marks_it_done():
    state, answers = tick(state_for("child", "more_images"), "what next?", "what_next")
    assert answers == {"more_images": casestate.MOVED_ON}
    assert "more_images" not in state.checklist_done and state.checklist_skipped == ["more_images"]
    shown = {i["id"]: i for i in state.panel_message()["checklist"]}
    assert shown["more_images"]["done"] is False and shown["more_images"]["skipped"] is True
    # not suggested again by "what next?" ...
    assert guidance.next_item("child", state.checklist_done, state.checklist_skipped).id \
        != "more_images"
    # ... and an answer later ticks it after all
    state, answers = tick(state, "he has asked for more pics twice")
    assert "more_images" in state.checklist_done and state.checklist_skipped == []


async def test_what_next_in_a_call_leaves_the_item_open_in_the_panel():
    slots = await open_case("child", sender="conv-skip")
    _, _, slots = await run(A.ActionNextStep(), "what next?", "what_next", slots,
                            sender="conv-skip")
    asked = slots["pending_item"]
    messages, _, slots = await run(A.ActionCheckEveryMessage(), "/what_next", "what_next",
                                   slots, sender="conv-skip")
    assert asked not in slots.get("checklist_done", []) and asked in slots["checklist_skipped"]
    item = next(i for i in panel(messages)["checklist"] if i["id"] == asked)
    assert item["done"] is False and item["skipped"] is True
    messages, _, slots = await run(A.ActionNextStep(), "/what_next", "what_next", slots,
                                   sender="conv-skip")
    assert slots["pending_item"] != asked


def test_the_handover_shows_done_skipped_and_not_reached_apart(store):  # noqa: F811
    case_id = store.open_case("conv-apart", "child", NOW)
    store.append_many(case_id, [
        {"kind": "answer", "code": "who_else_knows", "text": "nobody knows", "at": NOW},
        {"kind": "answer", "code": "more_images", "text": casestate.MOVED_ON, "at": NOW},
    ])
    summary = summarise(store, case_id, now=NOW)
    text = to_handover(summary)
    assert "Skipped (not asked): Asked for more images?" in text
    reached = next(line for line in text.splitlines() if line.startswith("Not reached ("))
    expected = [k for k in summary["not_reached"] if k != "self_harm"]
    assert reached.startswith(f"Not reached ({len(expected)}): Thanked them for reaching out; ")
    assert reached.endswith(f"… {len(expected) - 4} more in the export")
    assert "Who else knows?" not in reached and "Asked for more images?" not in reached
    assert "who_else_knows" not in summary["not_reached"]
    assert "advised_report_block" in summary["not_reached"]
    assert "Suicide / self-harm: not asked" in text  # its own line, not repeated
    markdown = to_markdown(summary)
    assert "- Skipped (not asked): Asked for more images?" in markdown
    assert "Advised: report and block" in markdown.split("- Not reached: ")[1]


# --- defect 2: escalation speaks to whoever is on the line ----------------------------------

def test_self_harm_escalation_on_a_parents_call_does_not_talk_as_if_the_child_is_there():
    child = risk.flag_info("self_harm_risk", "child")["escalation"]
    parent = risk.flag_info("self_harm_risk", "parent_carer")["escalation"]
    other = risk.flag_info("self_harm_risk", "other")["escalation"]
    assert "keep them on the line" in child
    for step in (parent, other):
        assert "on the line" not in step.replace("not on the line", "")
        assert "where" in step and "who is with them" in step and "emergency" in step


@pytest.mark.parametrize("code", sorted(risk.RED_FLAG_CODES))
def test_every_flag_has_a_step_for_each_caller_and_an_unknown_caller_gets_the_childs(code):
    steps = {role: risk.flag_info(code, role)["escalation"] for role in risk.ESCALATION_ROLES}
    assert len(set(steps.values())) == 3 and all("supervisor" in s for s in steps.values())
    assert risk.flag_info(code, None)["escalation"] == steps["child"]


async def test_a_parents_disclosure_raises_the_flag_with_the_parents_step():
    slots = await open_case("parent_carer", sender="conv-parent-flag")
    messages, _, slots = await run(A.ActionCheckEveryMessage(),
                                   "her son told her last night he wants to kill himself",
                                   "report_self_harm", slots, sender="conv-parent-flag")
    flag = next(t for t in texts(messages) if t.startswith("⚠ RED FLAG"))
    assert risk.flag_info("self_harm_risk", "parent_carer")["escalation"] in flag
    assert "keep them on the line" not in flag


def test_the_parent_path_asks_first_whether_the_child_is_safe_now_and_with_whom():
    first = guidance.next_item("parent_carer", [])
    assert first.id == "child_safe_now"
    assert "safe right now" in first.prompt and "who is with them" in first.prompt


# --- defect 3: deadline and payment questions on both paths ---------------------------------

@pytest.mark.parametrize("role", ["child", "parent_carer"])
def test_both_paths_ask_about_a_deadline_and_a_payment_already_made(role):
    items = {i.id: i for i in guidance.checklist(role)}
    assert "deadline" in items["deadline_asked"].prompt
    assert "paid" in items["already_paid"].prompt
    assert "do not pay more" in items["already_paid"].prompt.lower()
    assert "payment records" in items["already_paid"].prompt


def test_a_deadline_told_in_a_message_answers_the_deadline_question():
    state = state_for("child")
    outcome = casestate.Outcome(state.copy())
    outcome.events.append({"kind": "deadline", "code": "set", "text": "x", "at": NOW})
    casestate.tick_checklist(outcome.state, outcome, "he gave her until 9pm", "report_deadline",
                             NOW)
    assert "deadline_asked" in outcome.state.checklist_done


@pytest.mark.parametrize("text", ["he has already paid £50 in gift cards",
                                  "she hasn't paid anything"])
def test_a_payment_said_answers_the_payment_question(text):
    state, answers = tick(state_for("parent_carer"), text)
    assert answers.get("already_paid") == text


# --- every path's checklist in a full scripted call -----------------------------------------

ANSWERS = {
    # what a counsellor types after each suggestion, in their own words
    "commend_contact": "yes, thanked her for reaching out",
    "not_their_fault": "done",
    "offender_contact": "she blocked him an hour ago",
    "who_else_knows": "nobody knows",
    "safeguarding_details": "first name only, Amy",
    "self_harm": "asked, she says no thoughts of suicide or self-harm",
    "more_images": "yes he wants more",
    "support_available": "her older sister",
    "offender_info": "username darkwolf, says he is 16",
    "offender_knows": "he has her followers list",
    "what_shared": "one photo",
    "where_shared": "snapchat",
    "demands": "£200",
    "deadline_asked": "no time limit given",
    "already_paid": "nothing paid",
    "child_safe_now": "she's upstairs with her dad",
    "not_childs_fault": "yes",
    "not_parents_fault": "done",
    "listen_without_judgement": "yes",
    "further_disclosures": "done",
    "tip_choose_moment": "yes",
    "tip_quiet_place": "yes",
    "tip_ask_questions": "yes",
    "tip_reassure": "yes",
    "behaviour_changes": "quieter than usual",
    "statutory_services": "no, never",
    "mental_health": "no worries before this",
    "explain_referral": "done",
    "signpost_support": "done",
    "watch_behaviour": "yes",
}
INSTRUCTION_DONE = "yes, done"


@pytest.mark.parametrize("role", ["child", "parent_carer"])
async def test_a_whole_call_answering_each_suggestion_ends_with_every_item_done(role):
    call = Call(f"conv-full-{role}")
    await call.say(f'/start_case{{"caller_role":"{role}"}}', "start_case", A.ActionStartCase(),
                   entities=[{"entity": "caller_role", "value": role}])
    items = [i.id for i in guidance.checklist(role)]
    messages = await call.say("/what_next", "what_next")
    for _ in range(2 * len(items)):
        if call.slots.get("red_flags") and not call.slots.get("escalated"):
            await call.say("/confirm_escalation", "confirm_escalation",
                           A.ActionConfirmEscalation())
        item = call.slots.get("pending_item")
        if item is None:  # the assistant answered something else: ask again
            messages = await call.say("/what_next", "what_next")
            if call.slots.get("pending_item") is None:
                break
            continue
        messages = await call.say(ANSWERS.get(item, INSTRUCTION_DONE))  # suggests the next
    assert any("Every question on this path is covered" in t for t in texts(messages))
    assert sorted(call.slots["checklist_done"]) == sorted(items)
    assert not call.slots.get("checklist_skipped")
    messages = await call.say("/close_case", "close_case", A.ActionCloseCase())
    handover = "\n".join(texts(messages))
    assert "Skipped" not in handover and "Not reached" not in handover
