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


@pytest.mark.parametrize("text, expected", [
    ("told her she's got til half 9 tonight", "2026-11-24T21:30:00+00:00"),
    ("he wants it by twenty to ten", "2026-11-24T21:40:00+00:00"),
    ("offender said nine thirty", "2026-11-24T21:30:00+00:00"),
    ("deadline 2130", "2026-11-24T21:30:00+00:00"),
    ("dead line is 11 tonite", "2026-11-24T23:00:00+00:00"),
    ("he says by 12 tonight or its going on twitter", "2026-11-25T00:00:00+00:00"),
    ("he wants £300 by friday at noon", "2026-11-27T12:00:00+00:00"),
    ("by friday at 5 or they go to his school", "2026-11-27T17:00:00+00:00"),
    ("5pm on the 26th or he'll send them to her mum", "2026-11-26T17:00:00+00:00"),
    ("in 90 mins he'll send them to her mum", "2026-11-24T20:00:00+00:00"),
    ("he's given her 2 and a half hours", "2026-11-24T21:00:00+00:00"),
    ("1hr 15 to send it", "2026-11-24T19:45:00+00:00"),
    ("he's given her a quarter of an hour", "2026-11-24T18:45:00+00:00"),
    # "sat" right before a time (the short weekend pattern's second form) failed the reader
    ("offender said sat 12 noon for the second payment", "2026-11-28T12:00:00+00:00"),
])
def test_clock_times_in_words_weekdays_and_dates(text, expected):
    found = find_deadline(text, NOW, LONDON)
    assert found is not None and found.at.isoformat() == expected


@pytest.mark.parametrize("text, expected", [
    # a later deadline replaces an earlier one when the note says it changed
    ("he said by 9 but then changed it to 8", "2026-11-24T20:00:00+00:00"),
    ("he first said 2 hours but he's just messaged again saying she has 1 hour",
     "2026-11-24T19:30:00+00:00"),
    # a duration counts from when the offender's message came, if the note says
    ("he messaged at 6 saying she had 2 hours", "2026-11-24T20:00:00+00:00"),
    ("mum says he sent the message at 5pm giving her 3 hours to pay", "2026-11-24T20:00:00+00:00"),
    # the time the call started is not the deadline
    ("call started 18:20, yp 15 (birthday 3rd march), he's given her till 10 to pay",
     "2026-11-24T22:00:00+00:00"),
    # ... or how long ago it came
    ("gave him 30 mins, that was 10 mins ago", "2026-11-24T18:50:00+00:00"),
    ("they gave him 'an hour from now' about 10 mins ago", "2026-11-24T19:20:00+00:00"),
    ("update: they now say 8pm", "2026-11-24T20:00:00+00:00"),
    # the time said not to be it
    ("sorry correction, daughter says it was 'by 11 tonight' not an hour",
     "2026-11-24T23:00:00+00:00"),
])
def test_revisions_message_times_and_other_times_in_the_note(text, expected):
    assert find_deadline(text, NOW, LONDON).at.isoformat() == expected


@pytest.mark.parametrize("text, status", [
    ("he gave him an hour at 5:15", "passed"),
    ("it was meant to be by midday, she ignored it", "passed"),
    ("the deadline passed but now he's given her till 10pm", "set"),
    ("he's given him a few hours", "ambiguous"),
    ("he wants the money asap", "ambiguous"),
    ("offender messaged 'no rush'", "withdrawn"),
    ("he's dropped the 9pm deadline", "withdrawn"),
    ("wanted £500 in gift cards by 8pm yesterday", "passed"),
    ("wants more 'before sunday' or he shows her cousin", "ambiguous"),
    ("son paid at 7pm, they said deal done, deadline off", "withdrawn"),
    # an earlier day's demand has long gone; "last night" is yesterday
    ("on sat night someone got a vid of him, then demanded £100 within 30 mins", "passed"),
    ("they wanted the rest by 8pm last night", "passed"),
    ("new msg says 'forget 11, take your time, but i want them'", "withdrawn"),
    ("he'll show the other lads at youth group on sunday if she doesnt send more", "ambiguous"),
    ("they just messaged again: 'you have 20 minutes'", "set"),
    # at 18:30 a bare "5" is the 5pm just gone more likely than 5am: asked, not counted down
    ("he wants £50 by 5", "ambiguous"),
    ("by 5 in the morning he said", "set"),
])
def test_more_statuses(text, status):
    assert find_deadline(text, NOW, LONDON).status == status


@pytest.mark.parametrize("text", [
    "she's got a football match at 10 tomorrow",
    "no deadline mentioned, he just keeps asking for money",
    "she is 15, birthday on the 30th",
    # time gone by, not time left
    "she hasn't left her room in 3 days",
    "he's sent 40 messages in the last 2 hours",
    "she's been crying for 2 hours",
    # when something was said or will happen, not a deadline
    "carer says he said tonight 'i should just kill myself'",
    "hes at work now, due home at 7 tonight",
    "says he feels a bit stupid but ok, going to tell his dad tonight",
    "3 days ago someone got pics, he paid £40 in steam cards",
    # when his message came, not his deadline
    "he messaged at 3:40 asking for £200",
])
def test_more_times_that_are_not_deadlines(text):
    assert find_deadline(text, NOW, LONDON) is None


@pytest.mark.parametrize("name", ["deadlines.yml", "deadlines_heldout2.yml",
                                  "deadlines_heldout3.yml", "deadlines_heldout4.yml",
                                  "deadlines_heldout5.yml", "deadlines_heldout6.yml"])
def test_nine_in_ten_deadlines_of_each_evaluation_set(name):
    """A guard for edits: the labelled sets of `make eval` (two written blind) stay read."""
    import yaml
    from pathlib import Path

    spec = yaml.safe_load((Path(__file__).parents[2] / "tests" / "eval" / name).read_text())
    now, tz = datetime.fromisoformat(spec["now"]), ZoneInfo(spec["tz"])
    wrong = []
    for case in spec["cases"]:
        found = find_deadline(case["text"], now, tz)
        if "at" in case:
            ok = found is not None and found.at == datetime.fromisoformat(case["at"])
        elif case["status"] == "none":  # no active deadline (see scripts/evaluate.py)
            ok = found is None or found.status in ("withdrawn", "passed")
        else:
            ok = (found.status if found else "none") == case["status"]
        if not ok:
            wrong.append(case["text"])
    assert len(wrong) <= 0.1 * len(spec["cases"]), wrong


def test_numbers_with_units_are_not_clock_times_even_when_a_time_is_awaited():
    found = find_deadline("they gave him 'an hour from now' about 10 mins ago", NOW, LONDON,
                          awaiting_time=True)
    assert found.at.isoformat() == "2026-11-24T19:20:00+00:00"
    assert find_deadline("3 days ago someone got pics", NOW, LONDON, awaiting_time=True) is None


@pytest.mark.parametrize("text", [
    "he said pay by 9 and then 20 mins later 'dont bother, im done with u', no new time",
    "offender: \"scrap the deadline\". yp doesnt trust him",
    "first said half 8, then 'ok forget the time thing, just send when u can'",
    "yp says the 6am thing isnt happening anymore, he cancelled it himself",
    "at 9.20 he texted saying the 11pm thing is off, he'll 'think about what to do'",
    "first demanded payment by sat 9am; later msg: 'ignore what i said about saturday'",
    "toronto guy: 'the 9pm my time deadline is cancelled, we can work something out'",
])
def test_a_deadline_withdrawn_in_the_offenders_own_words(text):
    assert find_deadline(text, NOW, LONDON).status == "withdrawn"


def test_a_new_deadline_after_a_withdrawn_one_counts():
    found = find_deadline("he called off the 9pm thing earlier, then came back saying 11.30 "
                          "tonight or its going out", NOW, LONDON)
    assert found.status == "set" and found.at.isoformat() == "2026-11-24T23:30:00+00:00"


def test_a_deadline_extended_to_a_bare_hour():
    found = find_deadline("deadline 9pm, then he extended it to 11 when yp said she needed "
                          "to get cash out", NOW, LONDON)
    assert found.at.isoformat() == "2026-11-24T23:00:00+00:00"


@pytest.mark.parametrize("text, expected", [
    ("offender: \"saturday 3pm. no more chances after that\"", "2026-11-28T15:00:00+00:00"),
    ("offender wrote 'sunday 7pm' and then a list of her followers", "2026-11-29T19:00:00+00:00"),
])
def test_the_offenders_quoted_time_is_his_deadline(text, expected):
    assert find_deadline(text, NOW, LONDON).at.isoformat() == expected


def test_a_deadline_said_before_the_callers_what_if_question_stands():
    found = find_deadline("offender gave yp till ten past nine to transfer the money, yp "
                          "asking cslr what happens if he doesnt", NOW, LONDON)
    assert found.status == "set" and found.at.isoformat() == "2026-11-24T21:10:00+00:00"
    # the question alone is still no deadline
    assert find_deadline("mum asking what if he gives her till tonight?", NOW, LONDON) is None


def test_a_new_deadline_after_a_passed_one_counts():
    found = find_deadline("original deadline 8pm came and went, now he's set a new one for "
                          "11pm", NOW, LONDON)
    assert found.status == "set" and found.at.isoformat() == "2026-11-24T23:00:00+00:00"


def test_am_or_pm_unconfirmed_is_a_deadline_to_ask_about():
    assert find_deadline("'sunday at 6' - cslr couldnt confirm am or pm", NOW,
                         LONDON).status == "ambiguous"


@pytest.mark.parametrize("text", [
    "yp spoke to offender for about 2 hrs on discord last night before he switched to snap",
    "offender wants more but hasnt given a time",
    # Duckling reads "13M year" as thirteen million years: no deadline, and no failure
    "13M year 8. offender demanded pics and threatened to send to family",
])
def test_no_deadline_in_how_long_something_lasted_or_a_demand_without_a_time(text):
    assert find_deadline(text, NOW, LONDON) is None


def test_someone_elses_deadline_with_is_due_is_not_the_offenders():
    text = "older sister on call, her uni essay is due 11pm tonight but she's staying with yp"
    assert find_deadline(text, NOW, LONDON) is None
