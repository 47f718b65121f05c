"""The offender's deadline changes only when the words are about it (issue 13, item 1):
times of other events in notes, ages, and "tonight" in a self-harm disclosure never
become the deadline; a real change says what moved."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from actions import casestate
from actions.casestate import CaseState
from actions.messages import say

TZ = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 29, 19, 23, tzinfo=timezone.utc)  # 19:23 in London


def check(state, text, intent="inform", confidence=0.9):
    return casestate.check_message(state, text, intent, confidence, NOW, TZ)


def with_deadline(minutes=16) -> CaseState:
    at = (NOW + timedelta(minutes=minutes)).isoformat()
    return CaseState(case_id="c" * 32, caller_role="child", red_flags=["active_deadline"],
                     deadline_at=at, deadline_status="set", deadline_words="16 minutes")


@pytest.mark.parametrize("text,intent", [
    ("add note: mum phoned police at 19:30", "add_note"),
    ("add note: mum phoned police at 19:30", "report_deadline"),
    ("supervisor called 999 at 19:45", "report_deadline"),
    ("supervisor called 999 at 19:45", "inform"),
    ("family tea at 6", "report_deadline"),
])
def test_a_time_of_something_else_never_replaces_the_deadline(text, intent):
    before = with_deadline()
    outcome = check(before, text, intent)
    assert outcome.state.deadline_at == before.deadline_at
    assert not any(a.text.startswith(("Deadline", "The deadline")) for a in outcome.announcements)
    assert not any(e["kind"] == "deadline" for e in outcome.events)


def test_an_age_is_not_a_time():
    outcome = check(CaseState(case_id="c" * 32), "girl, 15, has till 10pm to pay",
                    "report_deadline")
    at = datetime.fromisoformat(outcome.state.deadline_at).astimezone(TZ)
    assert (at.hour, at.minute) == (22, 0)


def test_tonight_in_a_self_harm_disclosure_is_a_risk_not_a_deadline():
    outcome = check(CaseState(case_id="c" * 32), "he said he's going to kill himself tonight",
                    "report_self_harm")
    assert "self_harm_risk" in outcome.state.red_flags
    assert "active_deadline" not in outcome.state.red_flags
    assert outcome.state.deadline_status is None


def test_a_real_change_of_deadline_says_what_moved():
    before = with_deadline(minutes=76)  # 20:39
    outcome = check(before, "he now says she has till 9:30pm", "report_deadline")
    at = datetime.fromisoformat(outcome.state.deadline_at).astimezone(TZ)
    assert (at.hour, at.minute) == (21, 30)
    said = [a.text for a in outcome.announcements if a.text.startswith(("Deadline", "The deadline"))]
    assert said and said[0].startswith("Deadline moved from 20:39 to 21:30")


def test_the_same_deadline_said_again_changes_nothing():
    before = with_deadline(minutes=76)
    at = datetime.fromisoformat(before.deadline_at).astimezone(TZ)
    outcome = check(before, f"he gave her till {at:%H:%M} to pay", "report_deadline")
    assert outcome.state.deadline_at == before.deadline_at and not outcome.announcements


# --- a moved deadline can be undone; the time tied to the demand wins ---------------------

def test_a_moved_deadline_offers_an_undo_naming_the_old_time():
    before = with_deadline(minutes=76)  # 20:39
    outcome = check(before, "he now says she has till 9:30pm", "report_deadline")
    moved = [a for a in outcome.announcements if "Deadline moved" in a.text]
    assert moved and moved[0].buttons == [
        {"title": "Undo: keep 20:39", "payload": f'/undo_deadline{{"deadline":"{before.deadline_at}"}}'}]
    assert outcome.state.previous_deadline["at"] == before.deadline_at


def test_a_first_deadline_has_no_undo():
    outcome = check(CaseState(case_id="c" * 32), "he gave her till 9:30pm to pay", "report_deadline")
    assert outcome.state.previous_deadline is None
    assert all(not a.buttons or "Undo" not in a.buttons[0]["title"] for a in outcome.announcements
               if a.text.startswith(("Deadline", "The deadline")))


def test_the_time_tied_to_the_demand_wins_over_the_time_of_the_message():
    outcome = check(CaseState(case_id="c" * 32),
                    "he says they messaged at 7 saying he had till 10pm", "report_deadline")
    at = datetime.fromisoformat(outcome.state.deadline_at).astimezone(TZ)
    assert (at.date(), at.hour, at.minute) == (NOW.date(), 22, 0)


async def deadline_moved():
    from actions import actions as A
    from unit.test_actions import open_case, run

    slots = await open_case()
    _, _, first = await run(A.ActionCheckEveryMessage(),
                            "he said she has until 9pm tonight or he sends them to everyone",
                            "report_deadline", slots)
    messages, _, moved = await run(A.ActionCheckEveryMessage(), "he now says she has till 9:30pm",
                                   "report_deadline", first)
    return first, moved, messages


async def test_undo_deadline_restores_the_old_time_with_its_reminders_and_a_note():
    from actions import actions as A
    from unit.test_actions import panel, run, texts

    first, moved, messages = await deadline_moved()
    assert first["deadline_at"] != moved["deadline_at"]
    button = next(b for m in messages for b in m.get("buttons") or []
                  if b["payload"].startswith("/undo_deadline"))
    assert button["title"] == say("button.undo_deadline", time="21:00")
    replies, events, after = await run(A.ActionUndoDeadline(), button["payload"], "undo_deadline",
                                       moved, entities=[{"entity": "deadline",
                                                         "value": first["deadline_at"]}])
    assert after["deadline_at"] == first["deadline_at"] and after["deadline_status"] == "set"
    assert texts(replies)[0].startswith("Deadline back to 21:00 (undo).")
    assert panel(replies)["deadline_at"] == first["deadline_at"]
    at = datetime.fromisoformat(first["deadline_at"])
    reminders = [e for e in events if e["event"] == "reminder"]
    assert reminders and all(e["entities"][0]["value"] == first["deadline_at"] for e in reminders)
    assert all(datetime.fromisoformat(e["date_time"]) <= at for e in reminders)
    kept = [e for e in A.case_store().events(after["case_id"]) if e["kind"] == "deadline"]
    assert (kept[-1]["code"], kept[-1]["text"]) == ("set", f"{first['deadline_at']} (undo: restored)")
    # nothing more to undo: said plainly, nothing changes
    replies, _, again = await run(A.ActionUndoDeadline(), "undo that deadline change",
                                  "undo_deadline", after)
    assert again["deadline_at"] == first["deadline_at"]
    assert texts(replies)[0].startswith("There is no deadline change to undo.")


async def test_an_out_of_date_undo_button_changes_nothing():
    from actions import actions as A
    from unit.test_actions import run, texts

    first, moved, _ = await deadline_moved()
    _, _, later = await run(A.ActionCheckEveryMessage(), "now he says till 10pm",
                            "report_deadline", moved)
    assert later["previous_deadline"]["at"] == moved["deadline_at"]
    replies, _, after = await run(  # the first move's button names 21:00, not 21:30
        A.ActionUndoDeadline(), f'/undo_deadline{{"deadline":"{first["deadline_at"]}"}}',
        "undo_deadline", later, entities=[{"entity": "deadline", "value": first["deadline_at"]}])
    assert after["deadline_at"] == later["deadline_at"]
    assert texts(replies)[0].startswith("Not changed: that undo is out of date")
    # typed, it undoes the latest move
    replies, _, after = await run(A.ActionUndoDeadline(), "no, the deadline is still the earlier one",
                                  "undo_deadline", later)
    assert after["deadline_at"] == moved["deadline_at"]
    assert texts(replies)[0].startswith("Deadline back to 21:30 (undo).")


@pytest.mark.parametrize("text", [
    "he will call back tomorrow after school",
    "she'll ring back tonight if he messages again",
    "agreed: mum will report to police on 101 tonight with her",
])
def test_a_vague_time_of_something_else_raises_no_deadline(text):
    outcome = check(CaseState(case_id="c" * 32, caller_role="child"), text, "inform")
    assert outcome.state.deadline_status is None
    assert "active_deadline" not in outcome.state.red_flags


def test_a_vague_time_of_something_else_never_replaces_a_vague_deadline():
    outcome = check(CaseState(case_id="c" * 32, caller_role="parent_carer"),
                    "he wants more pics by tomorrow morning or he posts them", "report_deadline")
    assert outcome.state.deadline_status == "ambiguous"
    words = outcome.state.deadline_words
    # after the assistant asked for the exact time, a plan for tonight is not the answer
    for intent in ("inform", "report_deadline"):
        later = check(outcome.state, "agreed: mum will report to police on 101 tonight", intent)
        assert later.state.deadline_words == words
        assert not any(e["kind"] == "deadline" for e in later.events)


@pytest.mark.parametrize("text", ["she has to pay by friday", "he said tonight or else",
                                  "he wants more pics by tomorrow morning"])
def test_a_vague_deadline_with_its_demand_is_still_raised(text):
    outcome = check(CaseState(case_id="c" * 32, caller_role="child"), text, "report_deadline")
    assert "active_deadline" in outcome.state.red_flags


def test_a_deadline_time_already_past_is_said_not_silently_dropped():
    outcome = check(CaseState(case_id="c" * 32, caller_role="child"),
                    "he wants £300 by 7pm tonight or he sends it", "report_deadline")
    assert outcome.state.deadline_status == "passed" and outcome.state.deadline_at is None
    said = [a.text for a in outcome.announcements if "has passed already" in a.text]
    assert said and "19:00" in said[0]


def test_the_whole_message_is_read_a_deadline_and_a_flag_at_character_19000():
    filler = "she told me about her day at school and what she had for tea. " * 300
    text = filler[:19000] + " he gave her 2 hours to pay or he posts them, she wants to die"
    outcome = check(CaseState(case_id="c" * 32, caller_role="child"), text, "inform")
    assert outcome.state.deadline_at == (NOW + timedelta(hours=2)).replace(
        microsecond=0).isoformat()
    assert {"active_deadline", "self_harm_risk"} <= set(outcome.state.red_flags)


def test_a_long_message_is_read_in_order_the_last_deadline_counts():
    from actions import deadlines

    filler = "she told me about her day at school and what she had for tea. " * 60
    text = "he gave her till 9pm to pay. " + filler + " now he says she only has till 10pm"
    assert len(text) > deadlines.WINDOW
    found = deadlines.find_deadline(text, NOW, TZ)
    assert found.status == "set" and found.at.astimezone(TZ).hour == 22


@pytest.mark.parametrize("text, minutes", [
    ("he's pushed it back an hour", 16 + 60),
    ("offender extended it by 30 mins", 16 + 30),
    ("he brought it forward 10 mins", 16 - 10),
])
def test_a_deadline_moved_by_an_amount_moves_the_cases_deadline_with_an_undo(text, minutes):
    before = with_deadline()
    outcome = check(before, text)
    moved = datetime.fromisoformat(outcome.state.deadline_at)
    assert moved == NOW + timedelta(minutes=minutes)
    assert outcome.announcements[0].text.startswith("Deadline moved from 19:39 to")
    assert outcome.announcements[0].buttons[0]["payload"].startswith("/undo_deadline")
    assert outcome.state.previous_deadline["at"] == before.deadline_at


def test_a_move_by_an_amount_with_no_deadline_yet_asks_for_the_time():
    before = CaseState(case_id="c" * 32, caller_role="child")
    outcome = check(before, "he's pushed it back an hour")
    assert outcome.state.deadline_status == "ambiguous" and outcome.state.deadline_at is None
    assert say("deadline.ask_moved_from", words="pushed it back an hour") in \
        outcome.announcements[-1].text


def test_a_failing_deadline_reader_costs_no_red_flag_and_the_counsellor_is_told(monkeypatch, caplog):
    def broken(*args, **kwargs):
        raise AttributeError("a defect in the reader")

    monkeypatch.setattr(casestate.deadlines, "find_deadline", broken)
    text = "he wants £50 by sat 12 noon and she says she wants to kill herself"
    outcome = check(CaseState(case_id="c1", caller_role="child"), text)
    assert "self_harm_risk" in outcome.state.red_flags
    assert outcome.announcements[-1].text == say("deadline.unreadable")
    assert "AttributeError" in caplog.text and "kill" not in caplog.text
