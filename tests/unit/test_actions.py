"""The Rasa actions, run with rasa-sdk's own Tracker and CollectingDispatcher and the
real domain, case-notes store (SQLite under the session's temporary folder) and data."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions import actions as A
from actions.messages import say
from support import ROOT, make_tracker

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())
# 2026-11-24 18:30 in London (UTC+0 in November)
T0 = datetime(2026, 11, 24, 18, 30, tzinfo=timezone.utc).timestamp()


def slots_after(events, slots=None):
    values = dict(slots or {})
    for e in events:
        if e.get("event") == "slot":
            values[e["name"]] = e["value"]
        if e.get("event") == "restart":
            values = {}
    return values


async def run(action, text="", intent="inform", slots=None, confidence=0.9, entities=None,
              timestamp=T0, sender="conv-1"):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, intent, confidence, slots, entities, sender, timestamp)
    events = await action.run(dispatcher, tracker, DOMAIN)
    return dispatcher.messages, events, slots_after(events, slots)


def texts(messages):
    return [m.get("text") for m in messages if m.get("text")]


def panel(messages):
    states = [m["custom"] for m in messages if (m.get("custom") or {}).get("type") == "case_state"]
    return states[-1] if states else None


@pytest.fixture(autouse=True)
def fresh_store():
    A.case_store.cache_clear()
    yield
    A.case_store.cache_clear()


async def open_case(role="child", sender="conv-1"):
    _, _, slots = await run(A.ActionCheckEveryMessage(), f'/start_case{{"caller_role":"{role}"}}',
                            "start_case", entities=[{"entity": "caller_role", "value": role}],
                            sender=sender)
    return slots


async def test_start_case_opens_a_case_with_the_contract_slots_and_panel_state():
    messages, _, slots = await run(A.ActionCheckEveryMessage(), '/start_case{"caller_role":"child"}',
                                   "start_case", entities=[{"entity": "caller_role", "value": "child"}])
    assert slots["case_id"] and slots["caller_role"] == "child"
    assert slots["stage"] == "reassurance"
    state = panel(messages)
    assert state["type"] == "case_state" and state["case_id"] == slots["case_id"]
    assert state["red_flags"] == [] and state["deadline_at"] is None and state["escalated"] is False
    assert state["checklist"] and {"id", "label", "done"} <= set(state["checklist"][0])
    # the case row exists in the case-notes store
    assert A.case_store().case(slots["case_id"])["caller_role"] == "child"


async def test_parent_in_own_words_opens_a_parent_case():
    _, _, slots = await run(A.ActionCheckEveryMessage(), "new call, it's a parent", "start_case")
    assert slots["caller_role"] == "parent_carer"


@pytest.mark.parametrize("text, role", [
    ("caller is the older sister (19) of a 14yo boy", "other"),  # the caller is said first
    ("14yo girl, her mum knows", "child"),
    ("mum of a 13yo girl", "parent_carer"),
    ("teacher calling about a year 10 pupil", "other"),
    ("lad, 15, on the line", "child"),
    ("new cal, gril 14", "child"),  # typed in a hurry
    ("caller is the yp's older brother, 19, calling for his sister", "other"),
    ("caller is her uncle - hes her legal guardian", "parent_carer"),
    ("aunt on the phone, her niece is 12", "other"),
    ("he says he will send the pics to my mum", None),  # the young person's words: ask
    ("caller is her mum", "parent_carer"),
    ("dad calling, says his son is being blackmailed", "parent_carer"),
])
def test_who_is_calling_is_read_from_the_first_words_that_say_it(text, role):
    assert A.infer_role(text) == role


async def test_a_message_misheard_as_a_new_call_keeps_the_open_case_and_its_flags():
    slots = await open_case("parent_carer")
    _, _, slots = await run(A.ActionCheckEveryMessage(), "son told dad 'theres no point being here'",
                            slots=slots)
    assert slots["red_flags"] == ["self_harm_risk"]
    text = "dad has son's phone, msgs still coming in"
    _, _, after = await run(A.ActionCheckEveryMessage(), text, "start_case", confidence=0.56,
                            slots=slots)
    assert after["case_id"] == slots["case_id"] and "self_harm_risk" in after["red_flags"]
    messages, _, _ = await run(A.ActionStartCase(), text, "start_case", slots=after)
    assert not any("New case opened" in t for t in texts(messages))
    events = A.case_store().events(slots["case_id"])
    assert any(e["kind"] == "note" and e.get("text") == text for e in events)
    # words that say so open a new case
    _, _, fresh = await run(A.ActionCheckEveryMessage(), "new call, mum re her son 14",
                            "start_case", slots=after)
    assert fresh["case_id"] != slots["case_id"] and fresh["red_flags"] == []


async def test_the_role_buttons_are_the_role_names_of_messages_yml():
    """"Who is on the line?" offers one button per caller role, titled with its name
    (data/messages.yml role.*; the "other" button says who that may be): the same buttons
    the panel opens with (/roles.json) and the greeting's (domain.yml utter_greet)."""
    messages, _, _ = await run(A.ActionCheckEveryMessage(), "he said he'd post the pics by 9pm",
                               sender="conv-role-buttons")
    asked = next(m for m in messages if m.get("text") == say("case.who_is_calling"))
    assert asked["buttons"] == A.roles.buttons()
    assert [b["title"] for b in asked["buttons"]] == [
        say("role.child"), say("role.parent_carer"),
        say("button.role.other", role=say("role.other"))]
    assert [b["title"] for b in asked["buttons"]] == [
        "Young person", "Parent or carer", "Someone else (e.g. teacher)"]
    greeting = DOMAIN["responses"]["utter_greet"][0]["buttons"]
    assert [{"title": b["title"], "payload": b["payload"].replace("{{", "{").replace("}}", "}")}
            for b in greeting] == asked["buttons"]


async def test_the_role_button_after_words_names_the_caller_of_the_same_case():
    """Words typed before a role open a case without one and the panel asks who is on the
    line; the answer names the caller of that case (it opened a second case once, and the
    flag raised by the words left the panel)."""
    ME = "conv-role-after-words"
    messages, _, slots = await run(A.ActionCheckEveryMessage(),
                                   "he said he'd send the pics to everyone by 9pm", sender=ME)
    assert slots["case_id"] and not slots.get("caller_role") and slots["red_flags"]
    assert say("case.who_is_calling") in texts(messages)
    assert A.case_store().case(slots["case_id"])["caller_role"] is None
    button = dict(text='/start_case{"caller_role":"parent_carer"}', intent="start_case",
                  entities=[{"entity": "caller_role", "value": "parent_carer"}])
    messages, check_events, after = await run(A.ActionCheckEveryMessage(), slots=slots, sender=ME, **button)
    assert after["case_id"] == slots["case_id"] and after["caller_role"] == "parent_carer"
    assert after["red_flags"] == slots["red_flags"] and after["deadline_at"] == slots["deadline_at"]
    assert panel(messages)["caller_role"] == "parent_carer"
    assert after["stage"] in {s.id for s in A.guidance.stages("parent_carer")}
    # the predicted action sees the check's slot events after the message, as in Rasa
    tracker = make_tracker(button["text"], "start_case", 0.9, after, button["entities"],
                           ME, T0)
    tracker.events.extend(check_events)
    dispatcher = CollectingDispatcher()
    await A.ActionStartCase().run(dispatcher, tracker, DOMAIN)
    replies = dispatcher.messages
    assert texts(replies)[0].startswith(say("case.role_set", who=say("case.caller.parent_carer")))
    assert not any("New case opened" in t for t in texts(replies))
    case = A.case_store().case(slots["case_id"])
    assert case["caller_role"] == "parent_carer"
    assert [e["code"] for e in A.case_store().events(slots["case_id"])
            if e["kind"] == "caller_role"] == ["parent_carer"]
    assert len(A.case_store().cases(ME)) == 1
    # once the caller is known, a role button is a new call again
    _, _, fresh = await run(A.ActionCheckEveryMessage(), slots=after, sender=ME, **button)
    assert fresh["case_id"] != slots["case_id"] and fresh["red_flags"] == []


async def test_red_flag_is_announced_first_with_its_words_and_escalation_step():
    slots = await open_case()
    messages, _, after = await run(A.ActionCheckEveryMessage(),
                                   "she keeps saying she'd be better off dead", slots=slots)
    assert "self_harm_risk" in after["red_flags"]
    first = texts(messages)[0]
    assert first.startswith("⚠ RED FLAG") and "better off dead" in first
    assert panel(messages)["red_flags"] == ["self_harm_risk"]
    # raised once per case
    again, _, _ = await run(A.ActionCheckEveryMessage(), "she said again she wants to die",
                            slots=after)
    assert not any("RED FLAG" in t for t in texts(again))


async def test_classifier_alone_raises_a_flag_the_rules_do_not_know():
    slots = await open_case()
    _, _, after = await run(A.ActionCheckEveryMessage(), "she's in a really bad way about it all",
                            intent="report_self_harm", confidence=0.8, slots=slots)
    assert "self_harm_risk" in after["red_flags"]


async def test_negated_self_harm_raises_nothing():
    slots = await open_case()
    messages, _, after = await run(A.ActionCheckEveryMessage(), "no thoughts of self-harm",
                                   slots=slots)
    assert after.get("red_flags", []) == []
    assert not any("RED FLAG" in t for t in texts(messages))


async def test_deadline_is_absolute_local_and_shown_with_time_remaining():
    slots = await open_case()
    messages, _, after = await run(A.ActionCheckEveryMessage(),
                                   "he gave her an hour or he posts them", slots=slots)
    assert after["deadline_at"] == "2026-11-24T19:30:00+00:00"
    assert "active_deadline" in after["red_flags"]
    assert any("19:30" in t and "1 h" in t for t in texts(messages))


async def test_correction_replaces_the_deadline_and_withdrawal_clears_it():
    slots = await open_case()
    _, _, s1 = await run(A.ActionCheckEveryMessage(), "he's got till 9 tonight", slots=slots)
    assert s1["deadline_at"] == "2026-11-24T21:00:00+00:00"
    _, _, s2 = await run(A.ActionCheckEveryMessage(), "sorry, 10pm not 9", slots=s1)
    assert s2["deadline_at"] == "2026-11-24T22:00:00+00:00"
    _, _, s3 = await run(A.ActionCheckEveryMessage(), "he's dropped the deadline", slots=s2)
    assert s3["deadline_at"] is None


async def test_ambiguous_deadline_raises_the_flag_and_asks_for_the_time():
    slots = await open_case()
    messages, _, s1 = await run(A.ActionCheckEveryMessage(),
                                "he said before school tomorrow or he sends them", slots=slots)
    assert "active_deadline" in s1["red_flags"] and s1.get("deadline_at") is None
    assert any("before school tomorrow" in t and "time" in t.lower() for t in texts(messages))
    _, _, s2 = await run(A.ActionCheckEveryMessage(), "8am", slots=s1)
    assert s2["deadline_at"] == "2026-11-25T08:00:00+00:00"


async def test_reminders_are_named_per_conversation_and_cancelled_when_withdrawn():
    slots = await open_case(sender="conv-r")
    _, _, s1 = await run(A.ActionCheckEveryMessage(), "he gave her 2 hours", slots=slots,
                         sender="conv-r")
    _, events, _ = await run(A.ActionNextStep(), "he gave her 2 hours", slots=s1, sender="conv-r")
    reminders = [e for e in events if e["event"] == "reminder"]
    assert {e["name"] for e in reminders} == {"deadline-conv-r-15", "deadline-conv-r-0"}
    _, _, s2 = await run(A.ActionCheckEveryMessage(), "no deadline any more", slots=s1,
                         sender="conv-r")
    _, events, _ = await run(A.ActionNextStep(), "ok", slots=s2, sender="conv-r")
    assert {e["name"] for e in events if e["event"] == "cancel_reminder"} == {
        "deadline-conv-r-15", "deadline-conv-r-0"}


async def test_escalation_and_dismissal_are_recorded():
    slots = await open_case()
    _, _, s1 = await run(A.ActionCheckEveryMessage(), "turns out it's her cousin", slots=slots)
    assert "offender_known" in s1["red_flags"]
    _, _, s2 = await run(A.ActionConfirmEscalation(), "escalation started",
                         "confirm_escalation", slots=s1)
    assert s2["escalated"] is True and s2["escalated_at"]
    _, _, s3 = await run(A.ActionDismissFlag(), "misread, the cousin is helping her",
                         "dismiss_flag", slots=s2,
                         entities=[{"entity": "flag", "value": "offender_known"}])
    assert "offender_known" not in s3["red_flags"] and s3["dismissed_flags"] == ["offender_known"]
    kinds = [e["kind"] for e in A.case_store().events(s3["case_id"])]
    assert {"red_flag", "escalation", "red_flag_dismissed"} <= set(kinds)


async def test_what_next_walks_the_checklist_and_records_answers():
    slots = await open_case()
    messages, _, s1 = await run(A.ActionNextStep(), "what next?", "what_next", slots=slots)
    first = s1["pending_item"]
    assert first and any("Next:" in t for t in texts(messages))
    # an answer to the question asked (words about other items only would not be: see
    # tests/unit/test_handover.py)
    _, _, s2 = await run(A.ActionCheckEveryMessage(), "yes, done", slots=s1)
    assert first in s2["checklist_done"]
    _, _, s3 = await run(A.ActionNextStep(), "what next?", "what_next", slots=s2)
    assert s3["pending_item"] != first


async def test_what_next_twice_moves_on_instead_of_repeating_the_question():
    slots = await open_case()
    _, _, s1 = await run(A.ActionNextStep(), "what next?", "what_next", slots=slots)
    _, _, s2 = await run(A.ActionCheckEveryMessage(), "/what_next", "what_next", slots=s1)
    _, _, s3 = await run(A.ActionNextStep(), "/what_next", "what_next", slots=s2)
    # skipped, not done: the panel and the handover never say it was asked
    assert s1["pending_item"] in s3["checklist_skipped"]
    assert s1["pending_item"] not in s3.get("checklist_done", [])
    assert s3["pending_item"] not in (None, s1["pending_item"])


async def test_add_note_keeps_the_counsellors_own_words():
    slots = await open_case()
    await run(A.ActionAddNote(), "add note: mum will call back at six", "add_note", slots=slots)
    notes = [e["text"] for e in A.case_store().events(slots["case_id"]) if e["kind"] == "note"]
    assert "mum will call back at six" in notes


async def test_database_down_tells_the_counsellor_and_loses_nothing(monkeypatch):
    slots = await open_case()
    monkeypatch.setenv("CASE_DB_URL", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    A.case_store.cache_clear()
    messages, _, s1 = await run(A.ActionAddNote(), "add note: bus number 42", "add_note",
                                slots=slots)
    assert say("notes.not_saved") in texts(messages)
    assert s1["unsaved_events"] and s1["unsaved_events"][0]["text"] == "bus number 42"
    monkeypatch.undo()
    A.case_store.cache_clear()
    messages, _, s2 = await run(A.ActionNextStep(), "what next?", "what_next", slots=s1)
    assert s2["unsaved_events"] == []
    assert say("notes.saved_again", count=1) in texts(messages)
    notes = [e["text"] for e in A.case_store().events(slots["case_id"]) if e["kind"] == "note"]
    assert "bus number 42" in notes


DB_DOWN = "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1"


def programming_error(*args, **kwargs):
    raise TypeError("a bug, not an outage")


async def test_a_coding_error_in_a_case_note_write_surfaces_and_is_not_queued(monkeypatch):
    """Only the store's own StoreUnavailable is an outage: a bug in the write fails the
    action (rasa-sdk reports it, the counsellor is told the step was not done) instead of
    re-queueing the events in ``unsaved_events`` on every turn."""
    from actions.casenotes import CaseStore

    slots = await open_case()
    monkeypatch.setattr(CaseStore, "append_many", programming_error)
    dispatcher = CollectingDispatcher()
    tracker = make_tracker("add note: bus number 42", "add_note", 0.9, slots, None, "conv-1", T0)
    with pytest.raises(TypeError, match="a bug, not an outage"):
        await A.ActionAddNote().run(dispatcher, tracker, DOMAIN)
    assert say("notes.not_saved") not in texts(dispatcher.messages)


async def test_the_handover_falls_back_only_when_the_store_is_down(monkeypatch):
    from actions.casenotes import summary

    slots = await open_case()
    # the store down: the key facts from the tracker, and the counsellor is told why
    monkeypatch.setenv("CASE_DB_URL", DB_DOWN)
    A.case_store.cache_clear()
    messages, _, _ = await run(A.ActionSummary(), "summary", "summary", slots=slots)
    assert texts(messages)[0].splitlines()[1] == say("handover.notes_unreadable")
    monkeypatch.undo()
    A.case_store.cache_clear()
    # a case the store does not hold (opened while it was down): the same fallback
    messages, _, _ = await run(A.ActionSummary(), "summary", "summary",
                               slots=dict(slots, case_id="e" * 32))
    assert "The case notes cannot be read right now" in texts(messages)[0]
    # a bug in the summary is not "the store is down": the action fails
    monkeypatch.setattr(summary, "to_handover", programming_error)
    with pytest.raises(TypeError, match="a bug, not an outage"):
        await run(A.ActionSummary(), "summary", "summary", slots=slots)
    monkeypatch.setattr(summary, "summarise", lambda *a, **k: {}["a key of the code"])
    with pytest.raises(KeyError, match="a key of the code"):
        await run(A.ActionSummary(), "summary", "summary", slots=slots)


async def test_case_note_reads_treat_only_an_unavailable_store_as_down(monkeypatch):
    """The catch-up's duplicate check and the typed dismissal reason read the case notes:
    the store down keeps everything (and a stock reason); a bug surfaces."""
    from actions.casenotes import CaseStore, StoreUnavailable
    from actions.casestate import CaseState

    slots = await open_case()
    case_id = slots["case_id"]
    state = CaseState(case_id=case_id, caller_role="child")
    tracker = make_tracker("yes", "affirm", 0.9, slots, None, "conv-1", T0)
    event = {"kind": "note", "code": None, "text": "new", "at": datetime.now(timezone.utc)}

    def down(*args, **kwargs):
        raise StoreUnavailable("The case-notes database is unavailable (test)")

    monkeypatch.setattr(CaseStore, "events", down)
    assert A.not_yet_recorded(case_id, [event]) == [event]
    assert A.typed_dismiss_reason(tracker, state, "offender_known") == say(
        "dismiss.typed_reason_lost")
    monkeypatch.setattr(CaseStore, "events", programming_error)
    with pytest.raises(TypeError):
        A.not_yet_recorded(case_id, [event])
    with pytest.raises(TypeError):
        A.typed_dismiss_reason(tracker, state, "offender_known")
