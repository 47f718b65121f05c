"""The offender's deadline changes only when the words are about it (issue 13, item 1):
times of other events in notes, ages, and "tonight" in a self-harm disclosure never
become the deadline; a real change says what moved."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from actions import casestate
from actions.casestate import CaseState

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
    assert not any(a.text.startswith("⏱") for a in outcome.announcements)
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
    said = [a.text for a in outcome.announcements if a.text.startswith("⏱")]
    assert said and said[0].startswith("⏱ Deadline moved from 20:39 to 21:30")


def test_the_same_deadline_said_again_changes_nothing():
    before = with_deadline(minutes=76)
    at = datetime.fromisoformat(before.deadline_at).astimezone(TZ)
    outcome = check(before, f"he gave her till {at:%H:%M} to pay", "report_deadline")
    assert outcome.state.deadline_at == before.deadline_at and not outcome.announcements
