""""Raised in error" done safely (issue 13, item 7): the buttons name the flag; a bare
dismissal asks why and keeps the flag; the suicide/self-harm flag is removed only after an
explicit yes; every dismissal can be undone, and the case notes keep each step."""
from __future__ import annotations

import json

import yaml

from actions import actions as A
from actions import casestate, guidance, risk
from actions.messages import say
from support import ROOT
from unit.test_actions import open_case, panel, run, texts

SELF_HARM = "she said she wants to kill herself"
TWO_FLAGS = "it's her cousin and he gave her till 9pm to pay"


def payload_values(payload: str) -> dict:
    intent, _, body = payload.partition("{")
    return json.loads("{" + body) if body else {}


def events(case_id):
    return A.case_store().events(case_id)


async def flagged(text=SELF_HARM, intent="report_self_harm"):
    slots = await open_case()
    messages, _, slots = await run(A.ActionCheckEveryMessage(), text, intent, slots)
    return messages, slots


async def test_each_raised_in_error_button_names_its_flag():
    messages, slots = await flagged(TWO_FLAGS, "report_offender_known")
    assert {"offender_known", "active_deadline"} <= set(slots["red_flags"])
    titles = [b["title"] for m in messages for b in m.get("buttons") or []
              if b["payload"].startswith("/dismiss_flag")]
    assert say("button.raised_in_error", flag="Offender known") in titles
    assert say("button.raised_in_error", flag="Deadline") in titles
    assert len(titles) == len(set(titles)), "two flags in one turn: two different buttons"
    assert casestate.flag_buttons("self_harm_risk")[1] == {
        "title": "Raised in error: Suicide/self-harm risk",
        "payload": '/dismiss_flag{"flag":"self_harm_risk"}'}


def test_short_labels_come_from_the_flags_data_file():
    source = yaml.safe_load((ROOT / "data" / "risk" / "flags.yml").read_text())
    for code in risk.RED_FLAG_CODES:
        assert risk.flag_info(code)["short"] == source[code]["short"]


async def test_a_bare_dismissal_asks_why_and_keeps_the_flag():
    _, slots = await flagged("turns out it's her cousin", "inform")
    messages, _, after = await run(A.ActionDismissFlag(), '/dismiss_flag{"flag":"offender_known"}',
                                   "dismiss_flag", slots,
                                   entities=[{"entity": "flag", "value": "offender_known"}])
    assert "offender_known" in after["red_flags"]
    assert texts(messages)[0] == say("dismiss.why", flag="Offender known to the child")
    buttons = messages[0]["buttons"]
    reasons = [b for b in buttons if '"reason"' in b["payload"]]
    assert 2 <= len(reasons) <= 4
    assert all(payload_values(b["payload"])["flag"] == "offender_known" for b in reasons)
    assert {payload_values(b["payload"])["reason"] for b in reasons} == {
        r["id"] for r in risk.dismiss_reasons()}
    assert buttons[-1] == {"title": say("button.keep_flag"),
                           "payload": '/dismiss_flag{"flag":"offender_known","confirm":"no"}'}
    assert "red_flag_dismissed" not in [e["kind"] for e in events(slots["case_id"])]
    # "Keep the flag" keeps it, and moves no checklist question on (as "what next?" would)
    after = dict(after, pending_item=guidance.next_item("child", []).id)
    keep = dict(text=buttons[-1]["payload"], intent="dismiss_flag",
                entities=[{"entity": "flag", "value": "offender_known"},
                          {"entity": "confirm", "value": "no"}])
    _, _, checked = await run(A.ActionCheckEveryMessage(), slots=after, **keep)
    messages, _, kept = await run(A.ActionDismissFlag(), slots=checked, **keep)
    assert kept["red_flags"] == after["red_flags"]
    assert kept.get("checklist_done") == after.get("checklist_done")
    assert kept.get("pending_item") == after.get("pending_item")
    assert texts(messages)[0] == say("dismiss.kept_not_escalated",
                                     flag="Offender known to the child")
    assert "red_flag_dismissed" not in [e["kind"] for e in events(slots["case_id"])]


async def test_a_reason_button_dismisses_with_the_reason_and_offers_an_undo():
    _, slots = await flagged("turns out it's her cousin", "inform")
    messages, _, after = await run(
        A.ActionDismissFlag(), '/dismiss_flag{"flag":"offender_known","reason":"someone_else"}',
        "dismiss_flag", slots, entities=[{"entity": "flag", "value": "offender_known"},
                                         {"entity": "reason", "value": "someone_else"}])
    assert "offender_known" not in after["red_flags"]
    assert after["dismissed_flags"] == ["offender_known"]
    said = texts(messages)[0]
    assert said == say("dismiss.done", flag="Offender known to the child",
                       reason="the words are about someone else, not this child")
    assert messages[0]["buttons"] == [{"title": say("button.restore_flag", flag="Offender known"),
                                       "payload": '/restore_flag{"flag":"offender_known"}'}]
    assert panel(messages)["red_flags"] == []
    dismissed = [e for e in events(slots["case_id"]) if e["kind"] == "red_flag_dismissed"]
    assert [(e["code"], e["text"]) for e in dismissed] == [
        ("offender_known", "the words are about someone else, not this child")]


async def test_typed_words_are_the_reason():
    messages, slots = await flagged(TWO_FLAGS, "report_offender_known")
    typed = "dismiss the deadline flag, it was the curfew"
    messages, _, after = await run(A.ActionDismissFlag(), typed, "dismiss_flag", slots,
                                   entities=[{"entity": "flag", "value": "active_deadline"}])
    assert "active_deadline" not in after["red_flags"] and "offender_known" in after["red_flags"]
    assert f"(reason: {typed})" in texts(messages)[0]
    dismissed = [e for e in events(slots["case_id"]) if e["kind"] == "red_flag_dismissed"]
    assert dismissed[-1]["text"] == typed


async def test_a_self_harm_dismissal_without_confirm_keeps_the_flag():
    _, slots = await flagged()
    messages, _, after = await run(
        A.ActionDismissFlag(), '/dismiss_flag{"flag":"self_harm_risk","reason":"misread"}',
        "dismiss_flag", slots, entities=[{"entity": "flag", "value": "self_harm_risk"},
                                         {"entity": "reason", "value": "misread"}])
    assert after["red_flags"] == ["self_harm_risk"] and not after.get("dismissed_flags")
    said = texts(messages)[0]
    assert said.startswith("Removing the suicide/self-harm risk flag means the handover will "
                           "not show it.") and "Confirm?" in said
    confirm, keep = messages[0]["buttons"]
    assert payload_values(confirm["payload"]) == {"flag": "self_harm_risk", "reason": "misread",
                                                  "confirm": "yes"}
    assert keep == {"title": "Keep the flag",
                    "payload": '/dismiss_flag{"flag":"self_harm_risk","confirm":"no"}'}
    assert "red_flag_dismissed" not in [e["kind"] for e in events(slots["case_id"])]
    # a payload without a reason, even with confirm, still asks why
    messages, _, after = await run(
        A.ActionDismissFlag(), '/dismiss_flag{"flag":"self_harm_risk","confirm":"yes"}',
        "dismiss_flag", slots, entities=[{"entity": "flag", "value": "self_harm_risk"},
                                         {"entity": "confirm", "value": "yes"}])
    assert after["red_flags"] == ["self_harm_risk"] and texts(messages)[0].startswith("Why was")


async def test_a_typed_self_harm_dismissal_keeps_the_words_and_asks_to_confirm():
    _, slots = await flagged()
    typed = "remove the self harm flag, she was quoting a song"
    messages, _, asked = await run(A.ActionDismissFlag(), typed, "dismiss_flag", slots,
                                   entities=[{"entity": "flag", "value": "self_harm_risk"}])
    assert asked["red_flags"] == ["self_harm_risk"]
    assert "Confirm?" in texts(messages)[0]
    payload = messages[0]["buttons"][0]["payload"]
    assert payload == '/dismiss_flag{"flag":"self_harm_risk","reason":"typed","confirm":"yes"}'
    assert typed not in payload  # no free text in a payload
    notes = [e for e in events(slots["case_id"]) if e["kind"] == "note"]
    assert notes[-1]["text"] == typed
    messages, _, after = await run(
        A.ActionDismissFlag(), payload, "dismiss_flag", asked,
        entities=[{"entity": "flag", "value": "self_harm_risk"},
                  {"entity": "reason", "value": "typed"}, {"entity": "confirm", "value": "yes"}])
    assert after["red_flags"] == []
    assert f"(reason: {typed})" in texts(messages)[0]
    dismissed = [e for e in events(slots["case_id"]) if e["kind"] == "red_flag_dismissed"]
    assert [(e["code"], e["text"]) for e in dismissed] == [("self_harm_risk", typed)]


async def test_a_confirmed_self_harm_dismissal_is_removed_and_the_reason_recorded():
    _, slots = await flagged()
    messages, _, after = await run(
        A.ActionDismissFlag(),
        '/dismiss_flag{"flag":"self_harm_risk","reason":"misread","confirm":"yes"}',
        "dismiss_flag", slots,
        entities=[{"entity": "flag", "value": "self_harm_risk"},
                  {"entity": "reason", "value": "misread"}, {"entity": "confirm", "value": "yes"}])
    assert after["red_flags"] == [] and after["dismissed_flags"] == ["self_harm_risk"]
    assert texts(messages)[0].startswith("Marked “Self-harm or suicide risk” as raised in error "
                                         "(reason: the assistant misread the note).")
    dismissed = [e for e in events(slots["case_id"]) if e["kind"] == "red_flag_dismissed"]
    assert [(e["code"], e["text"]) for e in dismissed] == [
        ("self_harm_risk", "the assistant misread the note")]


async def test_an_old_button_of_a_dismissed_flag_never_dismisses_another_flag():
    messages, slots = await flagged(TWO_FLAGS, "report_offender_known")
    _, _, one_left = await run(
        A.ActionDismissFlag(), '/dismiss_flag{"flag":"active_deadline","reason":"misread"}',
        "dismiss_flag", slots, entities=[{"entity": "flag", "value": "active_deadline"},
                                         {"entity": "reason", "value": "misread"}])
    assert one_left["red_flags"] == ["offender_known"]
    messages, _, after = await run(
        A.ActionDismissFlag(), '/dismiss_flag{"flag":"active_deadline","reason":"misread"}',
        "dismiss_flag", one_left, entities=[{"entity": "flag", "value": "active_deadline"},
                                            {"entity": "reason", "value": "misread"}])
    assert after["red_flags"] == ["offender_known"]
    assert texts(messages)[0] == say("dismiss.not_raised_dismissed", flag="Outstanding deadline")


async def test_restore_brings_the_flag_back_not_escalated_and_writes_an_event():
    _, slots = await flagged()
    _, _, escalated = await run(A.ActionConfirmEscalation(), "", "confirm_escalation", slots)
    assert escalated["escalated"] is True
    _, _, dismissed = await run(
        A.ActionDismissFlag(),
        '/dismiss_flag{"flag":"self_harm_risk","reason":"misread","confirm":"yes"}',
        "dismiss_flag", escalated,
        entities=[{"entity": "flag", "value": "self_harm_risk"},
                  {"entity": "reason", "value": "misread"}, {"entity": "confirm", "value": "yes"}])
    assert dismissed["red_flags"] == []
    messages, _, restored = await run(A.ActionRestoreFlag(), '/restore_flag{"flag":"self_harm_risk"}',
                                      "restore_flag", dismissed,
                                      entities=[{"entity": "flag", "value": "self_harm_risk"}])
    assert restored["red_flags"] == ["self_harm_risk"] and restored["dismissed_flags"] == []
    assert not restored["escalated"] and "self_harm_risk" not in restored["escalated_flags"]
    said = texts(messages)[0]
    info = risk.flag_info("self_harm_risk", restored["caller_role"])
    assert said == say("restore.done_with_words", flag=info["label"],
                       words=restored["flag_words"]["self_harm_risk"],
                       escalation=info["escalation"])
    assert messages[0]["buttons"] == [{"title": say("button.escalation_started"),
                                       "payload": "/confirm_escalation"}]
    state = panel(messages)
    assert state["red_flags"] == ["self_harm_risk"] and state["flags"][0]["escalated"] is False
    kinds = [(e["kind"], e["code"]) for e in events(slots["case_id"])]
    assert ("red_flag_restored", "self_harm_risk") in kinds
    assert kinds.index(("red_flag_dismissed", "self_harm_risk")) < kinds.index(
        ("red_flag_restored", "self_harm_risk"))
    # the same words do not raise it twice; a second restore has nothing to do
    messages, _, again = await run(A.ActionRestoreFlag(), "put the flag back", "restore_flag",
                                   restored)
    assert again["red_flags"] == ["self_harm_risk"]
    assert texts(messages)[0] == say("restore.nothing")


async def test_a_restored_flag_is_not_dismissed_in_the_summary():
    from actions.casenotes import summarise

    _, slots = await flagged("turns out it's her cousin", "inform")
    _, _, dismissed = await run(
        A.ActionDismissFlag(), '/dismiss_flag{"flag":"offender_known","reason":"duplicate"}',
        "dismiss_flag", slots, entities=[{"entity": "flag", "value": "offender_known"},
                                         {"entity": "reason", "value": "duplicate"}])
    _, _, _ = await run(A.ActionRestoreFlag(), "that flag was right after all, put it back",
                        "restore_flag", dismissed)
    flags = {f["code"]: f for f in summarise(A.case_store(), slots["case_id"])["red_flags"]}
    assert flags["offender_known"]["dismissed"] is None


def test_payload_entities_are_in_the_domain():
    domain = yaml.safe_load((ROOT / "domain.yml").read_text())
    assert {"flag", "reason", "confirm", "deadline"} <= set(domain["entities"])
    assert {"restore_flag", "undo_deadline"} <= set(domain["intents"])
    assert {"action_restore_flag", "action_undo_deadline"} <= set(domain["actions"])
    assert domain["slots"]["previous_deadline"]["influence_conversation"] is False
