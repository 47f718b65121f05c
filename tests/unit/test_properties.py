"""Property-based tests (Hypothesis): whatever a counsellor types - odd Unicode, control
characters, right-to-left marks, zero-width joiners, emoji, markup, very long notes -
the checks never raise, the case state keeps its contract (red flags only from the four
codes, a deadline that is ISO 8601 with a UTC offset or null) and the case notes give
back exactly what was written.

The actions run with rasa-sdk's own Tracker and CollectingDispatcher and the real
case-notes store (SQLite under the session's temporary folder). Examples are
derandomised (same inputs on every run, no example database) and kept few, so the suite
stays quick and CI deterministic.
"""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import HealthCheck, given, settings, strategies as st
from rasa_sdk.executor import CollectingDispatcher

from actions import actions as A
from actions.messages import say
from actions import casestate, deadlines, risk
from actions.casenotes import DEADLINE_CODES, KINDS
from actions.casestate import CaseState
from support import ROOT, make_tracker

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())
INTENTS = [i if isinstance(i, str) else next(iter(i)) for i in DOMAIN["intents"]]
T0 = datetime(2026, 11, 24, 18, 30, tzinfo=timezone.utc)
ZONES = [ZoneInfo(z) for z in ("UTC", "Europe/London", "America/New_York", "Asia/Kolkata",
                               "Australia/Lord_Howe", "Pacific/Chatham")]

FEW = settings(max_examples=60, derandomize=True, database=None, deadline=None,
               suppress_health_check=[HealthCheck.too_slow])

# Pieces that tend to break text handling, and pieces the rules react to.
ODD = [
    "\u200f", "\u200e", "\u202e", "\u2066", "\u2069",       # bidi marks and overrides
    "\u200d", "\u200b", "\u2060", "\ufeff",                 # zero-width joiner/space, BOM
    "\x00", "\x07", "\x1b[31m", "\r\n", "\t", "\x85", "\u2028",
    "👩‍👧", "🏳️‍🌈", "😢", "🇬🇧", "e\u0301", "ﬁ", "Ǆ", "İ", "ß", "\uffff", "\U0010fffd",
    "مرحبا", "שלום", "他说一个小时", "Привет",
    "<script>alert(1)</script>", "<b>", "]]>", "{{slot}}", "${CASE_NOTES_KEY}",
    '/start_case{"caller_role":"child"}', "/restart", "EXTERNAL: ", "'; DROP TABLE cases;--",
    "%s%s%n", "\\", '"', "null",
]
PHRASES = [
    "he gave her an hour", "by 9pm", "till 9 tonight", "at midnight", "within 30 mins",
    "before school tomorrow", "he withdrew the deadline", "the deadline has passed",
    "sorry, 2 hours not 1", "she wants to kill herself", "it's her uncle",
    "he knows where she lives", "not suicidal", "1hr", "half past eight", "£200",
    "add note:", "14yo", "0:00", "23:59", "99:99", "12am", "24 hours", "1000000 minutes",
]

piece = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20),
    st.sampled_from(ODD),
    st.sampled_from(PHRASES),
)
notes = st.lists(piece, max_size=12).map(" ".join)
long_notes = st.builds(lambda p, n: p * n, st.sampled_from(ODD + PHRASES), st.integers(200, 3000))
texts = st.one_of(notes, notes, notes, long_notes)
# Any Python string, halves of UTF-16 pairs included: JSON may carry "\\ud800".
any_strings = st.one_of(
    st.text(alphabet=st.characters(blacklist_categories=()), max_size=60),
    st.lists(st.one_of(piece, st.characters(categories=["Cs"])), min_size=1, max_size=8)
    .map("".join),
)
raw_texts = st.one_of(texts, any_strings)
intents = st.one_of(st.none(), st.sampled_from(INTENTS), st.text(max_size=10))
confidences = st.floats(min_value=0.0, max_value=1.0)
moments = st.builds(lambda s: T0 + timedelta(seconds=s), st.integers(-400 * 86400, 400 * 86400))


def iso_with_offset(value: str | None) -> bool:
    if value is None:
        return True
    parsed = datetime.fromisoformat(value)
    return parsed.utcoffset() is not None


def run(action, text, intent="inform", slots=None, confidence=0.9, entities=None,
        sender="prop-conversation", when=T0):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, intent, confidence, slots, entities, sender, when.timestamp())
    events = asyncio.run(action.run(dispatcher, tracker, DOMAIN))
    values = dict(slots or {})
    for event in events:
        if event.get("event") == "slot":
            values[event["name"]] = event["value"]
    return dispatcher.messages, events, values


def message_texts(messages) -> list[str]:
    return [m["text"] for m in messages if m.get("text")]


# --- the plain modules ----------------------------------------------------------------------

@FEW
@given(text=texts)
def test_red_flag_rules_return_only_the_known_codes_quoting_the_note(text):
    flags = risk.detect_flags(text)
    assert all(f.code in risk.RULE_CODES for f in flags)
    assert len({f.code for f in flags}) == len(flags)
    for flag in flags:  # the quoted words are the counsellor's own, from the note
        assert flag.words and flag.words in text


@FEW
def data_words(node) -> list[str]:
    """Every word and phrase of a data file's lists and keys."""
    if isinstance(node, dict):
        return [w for k, v in node.items() for w in [str(k), *data_words(v)]]
    if isinstance(node, list):
        return [w for item in node for w in data_words(item)]
    return [str(node)] if isinstance(node, str) else []


# The deadline reader's own words ("sat", "noon", "gave her", "till", "ago" ...) beside
# clock times and amounts, in any order: the shapes its patterns were written for, mixed
# ("sat 12 noon" once crashed it: no random text builds that)
DEADLINE_WORDS = sorted(set(data_words(yaml.safe_load(
    (ROOT / "data" / "risk" / "deadlines.yml").read_text(encoding="utf-8")))))
CLOCKS = ["9", "12", "1", "noon", "midnight", "9pm", "10:30", "7.45", "half 9", "quarter to",
          "2am", "23:59", "00:00", "12pm", "30 mins", "an hour", "£50", "he said", "'", ",", "."]
deadline_notes = st.lists(st.sampled_from(DEADLINE_WORDS + CLOCKS), min_size=1, max_size=9) \
    .map(" ".join)


@given(text=texts, now=moments, tz=st.sampled_from(ZONES), awaiting=st.booleans())
@settings(deadline=None)  # speed is make bench's to measure, not a unit test's
def test_a_deadline_is_absent_or_an_aware_time_consistent_with_its_status(text, now, tz, awaiting):
    deadline_contract(text, now, tz, awaiting)


@given(text=deadline_notes, now=moments, tz=st.sampled_from(ZONES), awaiting=st.booleans())
@settings(max_examples=500, derandomize=True, database=None, deadline=None)
def test_the_readers_own_words_in_any_order_keep_the_deadline_contract(text, now, tz, awaiting):
    deadline_contract(text, now, tz, awaiting)


def deadline_contract(text, now, tz, awaiting) -> None:
    found = deadlines.find_deadline(text, now, tz, awaiting_time=awaiting)
    if found is None:
        return
    if found.status == "shift":  # "pushed it back an hour": the case's deadline moves by it
        assert found.shift is not None and found.at is None
        return
    assert found.status in DEADLINE_CODES
    if found.status == "set":
        assert found.at is not None and found.at.utcoffset() is not None and found.at > now
    if found.status in ("ambiguous", "withdrawn"):
        assert found.at is None
    if found.at is not None:
        assert iso_with_offset(found.at.isoformat())


@FEW
@given(text=texts, intent=intents, confidence=confidences, now=moments,
       tz=st.sampled_from(ZONES), deadline_set=st.booleans(), ambiguous=st.booleans())
def test_check_message_keeps_the_case_state_contract(text, intent, confidence, now, tz,
                                                     deadline_set, ambiguous):
    state = CaseState(case_id="c1", caller_role="child", stage="reassurance")
    if deadline_set:
        state.deadline_at = (now + timedelta(hours=1)).replace(microsecond=0).isoformat()
        state.deadline_status = "set"
        state.red_flags = ["active_deadline"]
    elif ambiguous:
        state.deadline_status = "ambiguous"
    outcome = casestate.check_message(state, text, intent, confidence, now, tz)
    new = outcome.state
    assert set(new.red_flags) <= set(risk.RED_FLAG_CODES)
    assert len(set(new.red_flags)) == len(new.red_flags)
    assert set(state.red_flags) <= set(new.red_flags)  # cumulative: nothing dropped
    assert iso_with_offset(new.deadline_at)
    if new.deadline_at is not None:
        assert datetime.fromisoformat(new.deadline_at) > now  # an active deadline is ahead
    for event in outcome.events:  # everything written must be accepted by the store
        assert event["kind"] in KINDS
        if event["kind"] == "deadline":
            assert event["code"] in DEADLINE_CODES
        if event["kind"] == "red_flag":
            assert event["code"] in risk.RED_FLAG_CODES
    assert all(a.text for a in outcome.announcements)
    message = new.panel_message()
    assert message["type"] == "case_state" and iso_with_offset(message["deadline_at"])


# --- the actions, with the real store ---------------------------------------------------------

@FEW
@given(text=raw_texts, intent=intents, confidence=confidences, open_first=st.booleans())
def test_the_per_message_check_never_fails_and_saves_what_it_reads(text, intent, confidence,
                                                                   open_first):
    slots = {}
    if open_first:
        _, _, slots = run(A.ActionCheckEveryMessage(), '/start_case{"caller_role":"child"}',
                          "start_case", entities=[{"entity": "caller_role", "value": "child"}])
    messages, events, after = run(A.ActionCheckEveryMessage(), text, intent, slots, confidence)
    assert set(after.get("red_flags") or []) <= set(risk.RED_FLAG_CODES)
    assert iso_with_offset(after.get("deadline_at"))
    said = " ".join(message_texts(messages))
    assert "NOT being saved" not in said and not after.get("unsaved_events")
    for m in messages:
        if m.get("custom"):
            assert m["custom"]["type"] == "case_state"
            assert set(m["custom"]["red_flags"]) <= set(risk.RED_FLAG_CODES)
    case_id = after.get("case_id")
    if case_id:  # everything the store holds for the case decrypts, with valid kinds
        for event in A.case_store().events(case_id):
            assert event["kind"] in KINDS
            assert event["text"] is None or isinstance(event["text"], str)


@pytest.fixture(scope="module")
def open_case_slots():
    _, _, slots = run(A.ActionCheckEveryMessage(), '/start_case{"caller_role":"parent_carer"}',
                      "start_case", entities=[{"entity": "caller_role", "value": "parent_carer"}],
                      sender="prop-notes")
    return slots


@FEW
@given(note=raw_texts)
def test_a_note_reads_back_exactly_as_written(open_case_slots, note):
    message = "add note: " + note
    messages, _, after = run(A.ActionAddNote(), message, "add_note", open_case_slots,
                             sender="prop-notes")
    assert message_texts(messages), "every note gets an answer"
    assert not after.get("unsaved_events")
    # as typed; only a lone surrogate (not text in any encoding) becomes U+FFFD
    kept = message[:A.settings.max_message_chars()]  # the channels refuse anything longer
    expected = A.LONE_SURROGATE.sub("\ufffd", kept)[len("add note: "):].strip()
    last = A.case_store().events(open_case_slots["case_id"])[-1]
    if expected:
        assert message_texts(messages) == [say("note.added")]
        assert last["kind"] == "note" and last["text"] == expected
    else:
        assert message_texts(messages)[0] == say("note.empty")


@FEW
@given(text=raw_texts, intent=st.sampled_from(["nlu_fallback", "out_of_scope", "inform"]))
def test_anything_the_assistant_does_not_understand_is_answered_and_kept(open_case_slots,
                                                                         text, intent):
    messages, _, _ = run(A.ActionFallback(), text, intent, open_case_slots, sender="prop-notes")
    assert message_texts(messages)
    kept = A.latest_text(make_tracker(text))
    if kept:
        last = A.case_store().events(open_case_slots["case_id"])[-1]
        assert last["kind"] == "note" and last["text"] == kept


@FEW
@given(text=st.one_of(texts, any_strings))
def test_the_store_gives_back_any_text_byte_for_byte(open_case_slots, text):
    store = A.case_store()
    store.append(open_case_slots["case_id"], "note", text=text)
    assert store.events(open_case_slots["case_id"])[-1]["text"] == text
