"""Reading the offender's deadline (actions/deadlines.py, data/risk/deadlines.yml)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from actions.deadlines import find_deadline

LONDON = ZoneInfo("Europe/London")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 24, 18, 30, tzinfo=LONDON)  # 18:30 in London (UTC+0)


@pytest.mark.parametrize("text, expected", [
    ("he gave her an hour or he posts them", "2026-11-24T19:30:00+00:00"),
    ("he gave him 1hr to pay", "2026-11-24T19:30:00+00:00"),
    ("30 mins to pay or they share it", "2026-11-24T19:00:00+00:00"),
    ("they gave him 24 hrs", "2026-11-25T18:30:00+00:00"),
    ("he has two days to pay", "2026-11-26T18:30:00+00:00"),
    ("she's got half an hour", "2026-11-24T19:00:00+00:00"),
    ("pay by 9pm", "2026-11-24T21:00:00+00:00"),
    ("he's got till 9 tonight", "2026-11-24T21:00:00+00:00"),
    ("deadline 21:00", "2026-11-24T21:00:00+00:00"),
    ("pay by midnight tonight or he posts them", "2026-11-25T00:00:00+00:00"),
    ("she has until noon tomorrow", "2026-11-25T12:00:00+00:00"),
    ("deadline is half past eight tonight", "2026-11-24T20:30:00+00:00"),
    ("by 7 tomorrow morning", "2026-11-25T07:00:00+00:00"),
])
def test_durations_and_clock_times(text, expected):
    found = find_deadline(text, NOW, LONDON)
    assert found is not None and found.status == "set"
    assert found.at.isoformat() == expected


def test_clock_times_are_read_in_the_helplines_time_zone():
    now = datetime(2026, 11, 24, 18, 30, tzinfo=NEW_YORK)
    found = find_deadline("pay by 9pm", now, NEW_YORK)
    assert found.at.isoformat() == "2026-11-24T21:00:00-05:00"


def test_a_correction_replaces_the_deadline():
    found = find_deadline("sorry, 2 hours not 1", NOW, LONDON)
    assert found.correction and found.at.isoformat() == "2026-11-24T20:30:00+00:00"


@pytest.mark.parametrize("text, status", [
    ("the deadline has passed", "passed"),
    ("the hour is up already", "passed"),
    ("he's dropped the deadline", "withdrawn"),
    ("there's no deadline any more", "withdrawn"),
    ("before school tomorrow or he sends them", "ambiguous"),
    ("he wants it by the weekend", "ambiguous"),
])
def test_passed_withdrawn_and_ambiguous(text, status):
    found = find_deadline(text, NOW, LONDON)
    assert found.status == status and found.at is None


def test_an_ambiguous_deadline_asks_for_the_exact_time_quoting_the_words():
    found = find_deadline("she must send more before school tomorrow", NOW, LONDON)
    assert "before school tomorrow" in found.question and "time" in found.question


def test_a_time_earlier_today_this_morning_has_passed():
    found = find_deadline("he gave her till 9am this morning", NOW, LONDON)
    assert found.status == "passed"


@pytest.mark.parametrize("text", [
    "she called at 9pm", "we spoke for an hour", "14yo girl", "it happened two days ago",
    "he asked for £200", "",
])
def test_times_that_are_not_deadlines(text):
    assert find_deadline(text, NOW, LONDON) is None


def test_a_bare_time_counts_when_the_assistant_asked_for_it():
    found = find_deadline("8am", NOW, LONDON, awaiting_time=True)
    assert found.at.isoformat() == "2026-11-25T08:00:00+00:00"
    assert find_deadline("8am", NOW, LONDON) is None
