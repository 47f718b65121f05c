"""Two kinds of false red flag the blind sets showed again and again (issue 14): an
ongoing risk raised where the note says the contact is over, and a disclosure read into
the counsellor's own plan to ask about it."""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from actions import casestate, risk
from rasa_plugins import encoder

NOW = datetime(2026, 11, 30, 10, 0, tzinfo=timezone.utc)
UTC = ZoneInfo("UTC")


def meaning(**scores: float) -> dict:
    return {"encoder": encoder.NAME, "votes": {
        code: {"score": score, "threshold": 0.5, "context_threshold": 0.3,
               **({"words": f"words for {code}"} if score >= 0.3 else {})}
        for code, score in scores.items()}}


@pytest.mark.parametrize("text", [
    "it was her half-brother, he's been arrested and banned from contacting her",
    "the lad from her old club, we moved away in June and she's heard nothing since",
    "random account, blocked on Tuesday, no further messages",
    "he only had her username, no real name, account deleted",
    "stranger on tiktok, acct removed by tiktok, no new msgs",
    "scammer stopped replying a week ago",
    "no contact from the offender since the weekend, she's in school today",
])
def test_contact_said_to_be_over_is_found(text):
    assert risk.contact_ended(text)


@pytest.mark.parametrize("text", [
    "he's been arrested but his mate is still messaging her",
    "blocked on Tuesday, and today a new account messaged her",
    "account deleted but he knows where she lives",
    "no contact since Friday but he turned up outside school",
    "she blocked him on snap but now he's emailing her school account",
    "he's emailing her school account now, since she blocked him on every app",
    "no msgs since friday, then today he added her on insta",
    "she blocked him yesterday but he's made new accs and keeps adding her",
])
def test_contact_now_keeps_the_risk_whatever_ended_before(text):
    assert risk.contact_ended(text) is None


def test_an_ongoing_risk_is_not_raised_when_the_note_says_the_contact_is_over():
    state = casestate.CaseState(case_id="c1", caller_role="parent_carer")
    text = "Dad: it was her older half-brother. He's been arrested and is banned from contacting her"
    outcome = casestate.check_message(state, text, "report_ongoing_risk", 0.95, NOW, UTC,
                                      meaning(offender_known=0.9, ongoing_risk=0.8))
    assert outcome.state.red_flags == ["offender_known"]
    kept = [e for e in outcome.events if e["kind"] == "red_flag_not_raised"]
    assert [e["code"] for e in kept] == ["ongoing_risk"]
    assert kept[0]["source"].endswith("; contact ended")  # stored in clear: no note words
    assert "arrested" not in kept[0]["source"]


def test_an_ongoing_risk_already_raised_in_the_case_stays():
    state = casestate.CaseState(case_id="c1", caller_role="child")
    state.red_flags = ["ongoing_risk"]
    outcome = casestate.check_message(state, "he's blocked now, nothing since this morning",
                                      "inform", 0.9, NOW, UTC, meaning(ongoing_risk=0.8))
    assert outcome.state.red_flags == ["ongoing_risk"]


def test_the_same_note_with_contact_now_raises_the_risk():
    state = casestate.CaseState(case_id="c1", caller_role="child")
    outcome = casestate.check_message(
        state, "he's been arrested but his friend is still messaging her with the pics",
        "report_ongoing_risk", 0.95, NOW, UTC, meaning(ongoing_risk=0.8))
    assert "ongoing_risk" in outcome.state.red_flags


@pytest.mark.parametrize("text", [
    "need to ask whether she's had any thoughts of hurting herself",
    "remember to screen for self-harm before the end of the call",
    "Ask mum: any changes in behaviour? any past self-harm?",
    "cslr plan: check next call whether he knows her address",
    "will ask if the person is someone she knows from school",
])
def test_the_counsellors_own_plan_to_ask_is_not_a_disclosure(text):
    assert risk.detect_flags(text) == []
    assert risk.plans(text)


@pytest.mark.parametrize("text", [
    "need to ask, she said she wants to kill herself",
    "going to check if she's safe - she mentioned wanting to end it",
    "asked about self-harm? yes, she cut herself last night",
    "i need to tell you something, i keep thinking about killing myself",
    "do you think i should just kill myself?",
])
def test_a_disclosure_beside_a_plan_is_still_raised(text):
    assert "self_harm_risk" in {f.code for f in risk.detect_flags(text)}


@pytest.mark.parametrize("text, flagged", [
    ("Asked her directly about thoughts of suicide or self-harm - she said no, never", False),
    ("Asked about self harm: \"nah i'd never do that, my little brother needs me\"", False),
    ("self-harm: nah not really but sometimes", True),
    ("thoughts of hurting herself - she said no but she's been cutting", True),
])
def test_a_direct_no_answers_the_question_and_a_but_takes_it_back(text, flagged):
    assert ("self_harm_risk" in {f.code for f in risk.detect_flags(text)}) is flagged


# --- the meaning voter reads self-harm clause by clause -----------------------------------

def test_a_message_is_split_into_its_clauses():
    from rasa_plugins.meaning_voter import clauses

    assert clauses("still getting threats from a new number, and yp said 'I just want to "
                   "not exist anymore'") == ["still getting threats from a new number,",
                                             "and yp said 'I just want to not exist anymore'"]
    assert clauses("she blocked him on snapchat") == []


def voter_scoring(score_of):
    """A voter whose self-harm score of each text it reads is ``score_of(text)`` (the other
    flags 0), read clause by clause from 0.4."""
    import numpy as np

    from rasa_plugins import meaning_voter

    voter = meaning_voter.Voter.__new__(meaning_voter.Voter)
    voter.model = {"flags": {c: {"threshold": 0.15} for c in meaning_voter.CODES}}
    voter.clause_flags, voter.clause_threshold = ["self_harm_risk"], 0.4
    voter.scores_of = lambda texts: np.array([[score_of(t), 0.0, 0.0] for t in texts])
    return voter


def test_one_clause_that_discloses_self_harm_raises_it_in_a_message_about_else():
    text = "still getting threats from a new number, and yp said 'I just want to not exist'"
    # read whole, the message scores what its first words score; the clause raises it
    voter = voter_scoring(lambda t: 0.05 if t == text else 0.7 if "not exist" in t else 0.05)
    vote = voter.vote(text)["self_harm_risk"]
    assert vote.score == 0.7 and "not exist" in vote.words


def test_a_clause_under_its_own_bar_raises_nothing_more():
    text = "he's blocked now, and she feels a bit low about it"
    voter = voter_scoring(lambda t: 0.0 if t == text else 0.3 if "low" in t else 0.0)
    assert voter.vote(text)["self_harm_risk"].score == 0.0
