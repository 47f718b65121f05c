"""The handover a supervisor reads in one screen (issue 13, item 5): one chat bubble of
plain text, key facts first (caller, when, age, platform, demand, deadline, each flag with
its words and escalation, what was agreed), then answers, items moved on from, the advice
shown to the counsellor (once each) and the last notes; the full timeline follows as a
``handover_timeline`` message the panel folds away. Answers are attributed by meaning: a
note, or words about other items, is not the answer to the question asked."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import pytest

from actions import actions as A
from actions import casestate, roles
from actions.casenotes import CaseStore, summarise, to_handover, to_markdown, to_timeline
from actions.casenotes import summary as S
from actions.messages import say
from unit.test_actions import open_case, run, texts

NOW = datetime(2026, 11, 24, 19, 0, tzinfo=timezone.utc)  # 19:00 in London
MAX_LINES = 25


# --- what a supervisor sees of any handover ------------------------------------------------

def assert_one_readable_bubble(text: str) -> list[str]:
    """One chat bubble (Rasa's socket.io output splits on blank lines), plain text, short."""
    assert "\n\n" not in text and text == text.strip()
    assert "#" not in text and "**" not in text and "__" not in text
    lines = text.splitlines()
    assert all(line.strip() == line and line for line in lines)
    assert not any(line.startswith(("- ", "* ")) for line in lines), "no Markdown bullets"
    return lines


def index_of(lines: list[str], start: str) -> int:
    return next(n for n, line in enumerate(lines) if line.startswith(start))


@pytest.fixture
def store(tmp_path):
    s = CaseStore(f"sqlite:///{tmp_path / 'handover.db'}")
    yield s
    s.dispose()


LONG_WORDS = ("she told me she has been thinking about ending her life since he started "
              "threatening her and she has her mum's sleeping tablets in the bathroom cabinet "
              "upstairs tonight")


def crafted_case(store: CaseStore, closed: bool = True) -> str:
    """A child's case as the events say it, at known times (19:00 to 19:40 London)."""
    t = NOW
    case_id = store.open_case("conv-handover", "child", t)
    m = lambda n: t + timedelta(minutes=n)  # noqa: E731
    store.append_many(case_id, [
        {"kind": "stage", "code": "immediate_risk", "at": m(1)},
        {"kind": "note", "text": "girl, 15, called at 15:30 from school", "at": m(1)},
        {"kind": "red_flag", "code": "self_harm_risk", "text": casestate.quote(LONG_WORDS),
         "at": m(2)},
        {"kind": "red_flag", "code": "offender_known", "text": "her cousin", "at": m(3)},
        {"kind": "red_flag_dismissed", "code": "offender_known",
         "text": "misheard: the cousin is helping her", "at": m(4)},
        {"kind": "answer", "code": "offender_contact",
         "text": "still messaging her on Instagram", "at": m(5)},
        {"kind": "answer", "code": "demands",
         "text": "he wants £300 in amazon gift cards and more pics", "at": m(6)},
        {"kind": "deadline", "code": "set",
         "text": "2026-11-24T21:00:00+00:00 (he gave her till 9 tonight)", "at": m(6)},
        {"kind": "red_flag", "code": "active_deadline", "text": "he gave her till 9 tonight",
         "at": m(6)},
        {"kind": "escalation", "code": "self_harm_risk,active_deadline", "at": m(8)},
        {"kind": "answer", "code": "who_else_knows", "text": casestate.MOVED_ON, "at": m(9)},
        {"kind": "answer", "code": "more_images", "text": casestate.MOVED_ON, "at": m(10)},
        *[{"kind": "advice", "code": code, "at": m(12 + n // 3)} for n, code in enumerate(
            ["do_not_respond", "do_not_pay", "keep_evidence", "report_and_block",
             "do_not_respond", "do_not_pay", "keep_evidence", "report_and_block",
             "platform:Instagram", "platform:Instagram"])],
        {"kind": "answer", "code": "safety_plan",
         "text": "she will tell her mum tonight and they will report the account", "at": m(30)},
        {"kind": "answer", "code": "next_contact", "text": "she will call back tomorrow",
         "at": m(31)},
        {"kind": "note", "text": "supervisor called 999 at 19:10", "at": m(32)},
    ])
    if closed:
        store.close_case(case_id, at=m(40))
    return case_id


# --- the text -------------------------------------------------------------------------------

def test_the_handover_is_one_plain_bubble_with_the_key_facts_first(store):
    text = to_handover(summarise(store, crafted_case(store), now=NOW))
    lines = assert_one_readable_bubble(text)
    assert len(lines) <= MAX_LINES
    assert lines[0] == ("Handover — Young person — 24 Nov 2026, opened 19:00, closed 19:40 "
                        "(Europe/London)")
    assert not S.re.search(r"[0-9a-f]{32}", text), "no hex case id"
    assert lines[-1].startswith("Case ref ") and len(lines[-1].split()[2]) == 8
    # key facts before the answers, advice and notes
    facts = ["Age: 15 · Platform: Instagram", "Demand: money £300 via gift cards; more images",
             "Deadline: 21:00 — active", "Red flag: Self-harm or suicide risk",
             "Red flag: Outstanding deadline", "Dismissed: Offender known to the child",
             "Safety plan: she will tell her mum", "Follow-up: she will call back tomorrow"]
    answers = index_of(lines, "Answers (")
    for fact in facts:
        assert index_of(lines, fact) < answers, fact
    assert index_of(lines, "Answers (") < index_of(lines, "Advice shown to the counsellor:") \
        < index_of(lines, "Notes (")
    assert "“he gave her till 9 tonight”" in lines[index_of(lines, "Deadline:")]
    assert lines[index_of(lines, "Red flag: Outstanding deadline")].endswith("escalated 19:08")
    dismissed = lines[index_of(lines, "Dismissed:")]
    assert "reason: misheard: the cousin is helping her" in dismissed
    assert index_of(lines, "Red flag: Outstanding deadline") < index_of(lines, "Dismissed:")


def test_an_invalid_time_zone_is_said_not_silently_utc(store, monkeypatch):
    case_id = crafted_case(store)
    monkeypatch.setenv("HELPLINE_TIMEZONE", "Mars/Olympus_Mons")
    head = to_handover(summarise(store, case_id, now=NOW)).splitlines()[0]
    assert head.endswith("closed 19:40 (UTC: HELPLINE_TIMEZONE is not a valid time zone)")
    monkeypatch.setenv("HELPLINE_TIMEZONE", "America/New_York")
    head = to_handover(summarise(store, case_id, now=NOW)).splitlines()[0]
    assert head == ("Handover — Young person — 24 Nov 2026, opened 14:00, closed 14:40 "
                    "(America/New_York)")


@pytest.mark.parametrize("role", [*roles.LABELS, None])
def test_the_handover_timeline_and_export_name_the_caller_by_its_one_name(store, role):
    """Each caller role has one name, data/messages.yml's role.* (the panel and the board
    read the same from /roles.json): the handover's first line, the timeline and the case
    export all say it."""
    name = say(roles.LABELS[role]) if role else say("role.unknown")
    s = summarise(store, store.open_case(f"conv-role-{role}", role, NOW), now=NOW)
    assert to_handover(s).splitlines()[0].startswith(f"Handover — {name} — ")
    assert to_timeline(s)["entries"][0]["text"] == (
        say("timeline.opened", role=name) if role else say("timeline.opened_unknown"))
    assert s["case_management"]["caller"] == (name if role else "not known")
    assert f"- Caller: {s['case_management']['caller']}" in to_markdown(s).splitlines()


def test_a_caller_named_after_the_case_opened_is_named_the_same(store):
    case_id = store.open_case("conv-role-later", None, NOW)
    store.append_many(case_id, [{"kind": "caller_role", "code": "other",
                                 "at": NOW + timedelta(minutes=1)}])
    s = summarise(store, case_id, now=NOW)
    assert say("role.other") == "Someone else"
    assert to_handover(s).splitlines()[0].startswith("Handover — Someone else — ")
    assert [e["text"] for e in to_timeline(s)["entries"]] == [
        "Case opened: caller not known", "Caller named: Someone else"]
    assert s["case_management"]["caller"] == "Someone else"


def test_not_escalated_is_said_per_flag(store):
    case_id = store.open_case("conv-ne", "child", NOW)
    store.append_many(case_id, [
        {"kind": "red_flag", "code": "ongoing_risk", "text": "he knows her school", "at": NOW}])
    lines = to_handover(summarise(store, case_id, now=NOW)).splitlines()
    assert lines[index_of(lines, "Red flag:")].endswith("— NOT ESCALATED")
    assert "still open" in lines[0] and "Suicide / self-harm: not asked" in lines


def test_flag_words_are_cut_at_a_word_boundary_never_mid_word(store):
    stored = casestate.quote(LONG_WORDS)
    assert stored.endswith("…") and len(stored) <= casestate.QUOTE_LIMIT
    assert LONG_WORDS.startswith(stored[:-1]) and LONG_WORDS[len(stored) - 1] == " "
    text = to_handover(summarise(store, crafted_case(store), now=NOW))
    line = next(x for x in text.splitlines() if x.startswith("Red flag: Self-harm"))
    words = line.split("“")[1].split("”")[0]
    assert words.endswith("…") and LONG_WORDS.startswith(words[:-1])
    assert LONG_WORDS[len(words) - 1] == " ", "cut where a word ends"
    assert S.clip("abc " * 50, 21) == "abc abc abc abc abc…"


def test_advice_is_listed_once_each_as_shown_to_the_counsellor(store):
    text = to_handover(summarise(store, crafted_case(store), now=NOW))
    advice = [line for line in text.splitlines() if "advice" in line.lower()]
    assert advice == ["Advice shown to the counsellor: Do not respond, Do not pay, Keep "
                      "evidence, never the images, Report, then block, reporting on Instagram"]
    assert "given" not in text.lower()


def test_moved_on_items_are_never_listed_as_answered(store):
    s = summarise(store, crafted_case(store), now=NOW)
    assert s["moved_on"] == ["who_else_knows", "more_images"]
    assert "who_else_knows" not in s["answers"] and "more_images" not in s["answers"]
    text = to_handover(s)
    assert "Skipped (not asked): Who else knows?; Asked for more images?" in text
    assert casestate.MOVED_ON not in text and S.MOVED_ON == casestate.MOVED_ON
    assert "Skipped (not asked)" in to_markdown(s)


def test_notes_are_the_last_few_with_a_count_and_not_repeated(store):
    case_id = store.open_case("conv-notes", "parent_carer", NOW)
    store.append_many(case_id, [{"kind": "note", "text": f"note number {n}",
                                 "at": NOW + timedelta(minutes=n)} for n in range(7)]
                      + [{"kind": "answer", "code": "behaviour_changes",
                          "text": "he has been withdrawn", "at": NOW},
                         {"kind": "note", "text": "he has been withdrawn", "at": NOW}])
    lines = to_handover(summarise(store, case_id, now=NOW)).splitlines()
    n = index_of(lines, "Notes (")
    assert lines[n] == "Notes (7, last 3):"
    assert lines[n + 1:n + 4] == ["• 19:04 note number 4", "• 19:05 note number 5",
                                  "• 19:06 note number 6"]
    assert lines[0].startswith("Handover — Parent or carer — ")
    assert "Mental health (suicide / self-harm): not asked" in lines


@pytest.mark.parametrize("status,text,expected", [
    ("ambiguous", "before school tomorrow", "Deadline: time not confirmed — “before school tomorrow”"),
    ("withdrawn", "he said forget it", "Deadline: withdrawn (was 21:00) — “he said forget it”"),
    ("passed", "it was 9pm, it has gone", "Deadline: 21:00 — passed — “it was 9pm, it has gone”"),
])
def test_the_deadline_says_its_status_and_the_offenders_words(store, status, text, expected):
    case_id = store.open_case("conv-dl", "child", NOW)
    store.append_many(case_id, [
        {"kind": "deadline", "code": "set", "text": "2026-11-24T21:00:00+00:00 (till 9)",
         "at": NOW},
        {"kind": "deadline", "code": status, "text": text, "at": NOW + timedelta(minutes=1)}])
    assert expected in to_handover(summarise(store, case_id, now=NOW)).splitlines()


def test_the_timeline_has_every_event_in_words_bounded(store):
    s = summarise(store, crafted_case(store), now=NOW)
    timeline = to_timeline(s)
    assert set(timeline) == {"type", "case_id", "total", "entries"}
    assert timeline["type"] == "handover_timeline" and timeline["case_id"] == s["case_id"]
    assert timeline["total"] == len(timeline["entries"]) == len(s["timeline"])
    first, *_, last = timeline["entries"]
    assert set(first) == {"at", "time", "text"}
    assert first == {"at": NOW.isoformat(), "time": "19:00", "text": "Case opened: Young person"}
    assert last["text"] == "Case closed" and last["time"] == "19:40"
    said = [e["text"] for e in timeline["entries"]]
    assert "Note: supervisor called 999 at 19:10" in said
    assert "Moved on from: Who else knows?" in said
    assert "Deadline set: 21:00 (“he gave her till 9 tonight”)" in said
    assert any(t.startswith("Red flag raised: Self-harm or suicide risk “she told me") for t in said)
    assert "Escalation started for: Self-harm or suicide risk, Outstanding deadline" in said
    assert said.count("Advice shown to the counsellor: Do not pay") == 2  # every event
    # bounded: the latest entries only, each at most ENTRY_LIMIT characters
    case_id = store.open_case("conv-long", "child", NOW)
    store.append_many(case_id, [{"kind": "note", "text": "word " * 300, "at": NOW}] * 250)
    long = to_timeline(summarise(store, case_id, now=NOW))
    assert long["total"] == 251 and len(long["entries"]) == S.TIMELINE_LIMIT
    assert max(len(e["text"]) for e in long["entries"]) <= S.ENTRY_LIMIT


# --- facts read from the counsellor's words ------------------------------------------------

@pytest.mark.parametrize("text,ages", [
    ("girl, 15, has till 10pm", [15]), ("aged 15", [15]), ("15 yo boy", [15]),
    ("her 15-year-old daughter", [15]), ("age 14, year 10", [14]), ("son (13) on snap", [13]),
    ("she's 16 and really scared", [16]), ("14yo, his mum knows", [14]),
    ("called at 15:30", []), ("has till 10pm", []), ("she has 15 minutes", []),
    ("he wants 15 more pics", []), ("year 10 pupil", []), ("mum, 42, about her son", []),
    ("he's 10 minutes away", []), ("page 15 of the chat", []), ("she is 15:30 late", []),
    ("message 12", []), ("she's 40", []), ("mum calling, daughter is 13, on discord", [13]),
    ("her son's 14", [14]), ("son is 5 minutes away", []), ("the boy is at school at 9", []),
])
def test_ages_are_read_only_when_said_in_so_many_words(text, ages):
    assert S.ages_in(text) == ages


@pytest.mark.parametrize("text,amounts,methods", [
    ("he wants £500", ["£500"], []), ("$1,000 in bitcoin", ["$1,000"], ["bitcoin"]),
    ("200 pounds on amazon gift cards", ["200 pounds"], ["gift cards"]),
    ("asked for 50 dollars over paypal", ["50 dollars"], ["PayPal"]), ("€150", ["€150"], []),
    ("called at 15:30", [], []), ("has till 10pm", [], []), ("girl, 15", [], []),
    ("told her not to buy gift cards", [], []),
])
def test_money_is_an_amount_with_a_currency(text, amounts, methods):
    assert S.amounts_in(text) == amounts
    assert S.payment_methods_in(text) == methods


def facts_of(store: CaseStore, *notes: str, answers: dict[str, str] | None = None) -> dict:
    case_id = store.open_case("conv-facts", "child", NOW)
    store.append_many(case_id, [{"kind": "note", "text": n, "at": NOW} for n in notes] + [
        {"kind": "answer", "code": k, "text": v, "at": NOW} for k, v in (answers or {}).items()])
    return summarise(store, case_id, now=NOW)["facts"]


def test_age_platform_and_demand_come_from_answers_and_notes(store):
    facts = facts_of(store, "lad, 15, on the line", "it started on insta then snapchat",
                     answers={"demands": "he wants $200 or more pics"})
    assert facts["ages"] == [15]
    assert facts["platforms"] == ["Instagram", "Snapchat"]
    assert facts["demand"]["amounts"] == ["$200"] and facts["demand"]["more_images"]


def test_nothing_is_made_up_from_times_counts_or_advice(store):
    facts = facts_of(store, "called at 15:30", "he has till 10pm", "told her not to pay",
                     "he hasn't asked for more pics", "don't send more")
    assert facts["ages"] == [] and facts["platforms"] == []
    assert facts["demand"] == {"money": False, "amounts": [], "payment": [],
                               "more_images": False, "words": None}
    lines = to_handover(summarise(store, store.cases()[-1]["id"], now=NOW)).splitlines()
    assert "Age: not recorded · Platform: not recorded" in lines
    assert "Demand: not recorded" in lines


def test_two_ages_are_both_shown_for_the_counsellor_to_check(store):
    facts = facts_of(store, "girl, 15", "sorry she's 14")
    text = to_handover({**summarise(store, store.cases()[-1]["id"], now=NOW), "facts": facts})
    assert "Age: 15 or 14 (more than one mentioned: check)" in text


def test_a_demand_that_is_not_money_or_images_is_quoted(store):
    facts = facts_of(store, answers={"demands": "wants her to add his friends on discord"})
    assert not facts["demand"]["money"] and not facts["demand"]["more_images"]
    case = store.cases()[-1]["id"]
    assert "Demand: other: “wants her to add his friends on discord”" in to_handover(
        summarise(store, case, now=NOW))


# --- answers attributed by meaning ---------------------------------------------------------

def pending(item: str) -> casestate.CaseState:
    return casestate.CaseState(case_id="c" * 32, caller_role="child", stage="practical_questions",
                               pending_item=item)


def tick(state: casestate.CaseState, text: str, intent: str = "inform"):
    outcome = casestate.Outcome(state.copy())
    casestate.tick_checklist(outcome.state, outcome, text, intent, NOW)
    return outcome.state, {e["code"]: e["text"] for e in outcome.events}


@pytest.mark.parametrize("text", ["add note: supervisor called 999", "Note - mum is at work",
                                  "log this: police rang back"])
def test_a_note_is_not_the_answer_to_the_question_asked(text):
    state, answers = tick(pending("more_images"), text)
    assert "more_images" not in answers and state.pending_item == "more_images"


def test_words_about_other_items_only_are_not_the_answer():
    state, answers = tick(pending("more_images"), "she's told her sister")
    assert answers == {"who_else_knows": "she's told her sister"}
    assert state.pending_item == "more_images", "the question stays open"


def test_a_plain_answer_and_an_answer_with_its_own_keywords_still_count():
    state, answers = tick(pending("more_images"), "yes, twice")
    assert answers == {"more_images": "yes, twice"} and state.pending_item is None
    state, answers = tick(pending("more_images"), "yes he asked for more pics and money")
    assert set(answers) == {"more_images", "demands"} and state.pending_item is None
    # a note's words still tick the items they cover, without the note prefix
    _, answers = tick(pending("more_images"), "add note: she has told her mum")
    assert answers == {"who_else_knows": "she has told her mum"}


def test_a_self_harm_disclosure_answers_only_the_question_about_it():
    parent = casestate.CaseState(case_id="c" * 32, caller_role="parent_carer",
                                 pending_item="not_parents_fault")
    state, answers = tick(parent, "he told his dad he'd be better off dead", "report_self_harm")
    assert "not_parents_fault" not in answers and state.pending_item == "not_parents_fault"
    # "tablets" also reads as a device (which apps or devices): still the self-harm answer
    words = "she has thought about ending it, has her mum's tablets in her room"
    state, answers = tick(pending("self_harm"), words, "report_self_harm")
    assert answers["self_harm"] == words and state.pending_item is None


def test_after_an_instruction_only_words_that_say_it_was_done_answer_it():
    # "Tell them it is not their fault": news from the call is not a sign that it was said
    state, answers = tick(pending("not_their_fault"), "nobody else knows")
    assert "not_their_fault" not in answers and state.pending_item == "not_their_fault"
    state, answers = tick(pending("not_their_fault"),
                          "he wants more pics by tomorrow morning or he posts them")
    assert "not_their_fault" not in answers and state.pending_item == "not_their_fault"
    for said in ("told him it's not his fault", "yes", "done, he calmed down a bit"):
        state, answers = tick(pending("not_their_fault"), said)
        assert answers.get("not_their_fault") == said and state.pending_item is None
    # a question keeps taking any answer
    state, answers = tick(pending("more_images"), "twice, last night")
    assert answers == {"more_images": "twice, last night"}


def test_everything_said_about_self_harm_goes_under_that_question():
    state = casestate.CaseState(case_id="c" * 32, caller_role="child", red_flags=["self_harm_risk"],
                                checklist_done=["self_harm"], pending_item="not_their_fault")
    words = "asked him directly, yes thinking about it tonight, has his mum's tablets in his room"
    outcome = casestate.Outcome(state.copy())
    casestate.tick_checklist(outcome.state, outcome, words, "report_self_harm", NOW)
    assert {"kind": "answer", "code": "self_harm", "text": words, "at": NOW} in outcome.events
    assert outcome.state.pending_item == "not_their_fault"
    # not answered yet: the disclosure answers it, whatever was asked
    state, answers = tick(pending("more_images"), "he said he wants to die", "report_self_harm")
    assert answers.get("self_harm") == "he said he wants to die"
    assert state.pending_item == "more_images"


def test_a_question_to_the_assistant_ticks_nothing():
    state, answers = tick(pending("more_images"), "takedown tools?", "ask_advice")
    assert answers == {} and state.pending_item == "more_images"


def test_what_next_records_moved_on_not_an_answer():
    state, answers = tick(pending("more_images"), "what next?", "what_next")
    assert answers == {"more_images": casestate.MOVED_ON} and state.pending_item is None
    _, answers = tick(pending("more_images"), "", "what_next")
    assert answers == {"more_images": casestate.MOVED_ON}


async def test_a_note_prefixed_message_misheard_as_inform_is_not_taken_as_the_answer():
    slots = await open_case(sender="conv-note")
    _, _, asked = await run(A.ActionNextStep(), "what next?", "what_next", slots,
                            sender="conv-note")
    item = asked["pending_item"]
    _, _, after = await run(A.ActionCheckEveryMessage(), "add note: supervisor called 999",
                            "inform", asked, sender="conv-note")
    assert after.get("pending_item", item) == item and item not in after.get("checklist_done", [])
    answers = [e for e in A.case_store().events(slots["case_id"]) if e["kind"] == "answer"]
    assert not any("999" in (e["text"] or "") for e in answers)


# --- realistic calls, through the actions ---------------------------------------------------

class Call:
    """A call through the real actions: after each message the per-message check, then the
    action the assistant would predict; a minute or two between messages."""

    def __init__(self, sender: str):
        self.sender, self.slots, self.at = sender, {}, time.time() - 40 * 60
        self.messages: list[dict] = []

    async def say(self, text: str, intent: str = "inform", action=None, entities=None):
        self.at += 90
        _, _, self.slots = await run(A.ActionCheckEveryMessage(), text, intent, self.slots,
                                     entities=entities, sender=self.sender, timestamp=self.at)
        action = action or (A.ActionNextStep() if intent in casestate.ANSWER_INTENTS
                            or intent == "what_next" else None)
        if action is not None:
            self.messages, _, self.slots = await run(action, text, intent, self.slots,
                                                     entities=entities, sender=self.sender,
                                                     timestamp=self.at)
        return self.messages


async def child_call() -> tuple[Call, list[dict]]:
    """A young person's call: the counsellor answers what the assistant asks, presses the
    buttons, once types a note that is misheard, moves on from one question."""
    call = Call("conv-child-call")
    await call.say('/start_case{"caller_role":"child"}', "start_case", A.ActionStartCase(),
                   entities=[{"entity": "caller_role", "value": "child"}])
    await call.say("girl, 15, he's threatening to send her pics to everyone on her instagram")
    await call.say("thanked her, told her it's not her fault and she's not in trouble")
    await call.say("yes he is still messaging her on snapchat")  # raises ongoing risk
    await call.say("/confirm_escalation", "confirm_escalation", A.ActionConfirmEscalation())
    await call.say("/what_next", "what_next")
    await call.say("nobody knows, she's too scared to tell her mum")
    await call.say("add note: supervisor listening in")  # a note misheard as an answer
    await call.say("/what_next", "what_next")  # moves on from safeguarding details
    await call.say("she said she has thought about ending it, has her mum's tablets in her room",
                   "report_self_harm")
    await call.say("/confirm_escalation", "confirm_escalation", A.ActionConfirmEscalation())
    await call.say("/what_next", "what_next")
    await call.say("yes, he wants more pics and £300 in amazon gift cards, gave her 2 hours",
                   "report_deadline")
    await call.say("/confirm_escalation", "confirm_escalation", A.ActionConfirmEscalation())
    await call.say("/what_next", "what_next")
    await call.say("her mum, she'd go to her mum")
    await call.say("/ask_advice", "ask_advice", A.ActionAdvice())
    await call.say("/ask_advice", "ask_advice", A.ActionAdvice())  # asked twice
    await call.say("safety plan agreed: she will tell her mum tonight and they will report "
                   "the account together")
    await call.say("she will call back tomorrow after school")
    messages = await call.say("/close_case", "close_case", A.ActionCloseCase())
    return call, messages


async def parent_call() -> tuple[Call, list[dict]]:
    """A mother's call about her son: the counsellor skips the conversation tips."""
    call = Call("conv-parent-call")
    await call.say('/start_case{"caller_role":"parent_carer"}', "start_case",
                   A.ActionStartCase(), entities=[{"entity": "caller_role", "value": "parent_carer"}])
    await call.say("mum calling about her son, 14, a guy on snapchat wants $500 in bitcoin "
                   "or he sends the video to his friends")
    await call.say("told her it's not his fault")
    await call.say("and she's not to blame either")
    await call.say("/what_next", "what_next")  # moves on from listening without judgement
    await call.say("yes, warned her there may be more to come")
    await call.say("go to urgency questions", "go_to_stage", A.ActionGoToStage(),
                   entities=[{"entity": "stage", "value": "urgency_questions"}])
    await call.say("he's been withdrawn and not eating, off school since monday")
    await call.say("he told his dad last night he'd be better off dead", "report_self_harm")
    await call.say("/confirm_escalation", "confirm_escalation", A.ActionConfirmEscalation())
    await call.say("/what_next", "what_next")
    await call.say("no social worker involved, never been to camhs")
    await call.say("she's worried, he has been anxious for months")
    await call.say("/referral", "referral", A.ActionReferral())
    await call.say("explained the referral pathway, she will ring the police tomorrow with him")
    await call.say("she'll keep an eye on him and call back if anything changes")
    await call.say("add note: dad doesn't know about the video yet", "add_note", A.ActionAddNote())
    messages = await call.say("/close_case", "close_case", A.ActionCloseCase())
    return call, messages


def handover_of(messages: list[dict]) -> tuple[str, dict]:
    said = [m for m in messages if m.get("text")]
    timeline = [m["custom"] for m in messages
                if (m.get("custom") or {}).get("type") == "handover_timeline"]
    assert said and len(timeline) == 1 and messages[-1]["custom"] is timeline[0]
    return said[-1]["text"], timeline[0]


async def test_a_realistic_child_call_fits_one_screen():
    call, messages = await child_call()
    text, timeline = handover_of(messages)
    assert text.startswith("Case closed. Handover summary:\n")
    text = text.split("\n", 1)[1]
    lines = assert_one_readable_bubble(text)
    assert len(lines) <= MAX_LINES - 1, text
    head = lines[0]
    assert head.startswith("Handover — Young person — ") and ", closed " in head
    assert "still open" not in text
    assert "Age: 15 · Platform: Instagram, Snapchat" in lines
    assert "Demand: money £300 via gift cards; more images" in lines
    assert lines[index_of(lines, "Deadline:")].split(" — ")[1] == "active"
    flags = [line for line in lines if line.startswith("Red flag:")]
    assert flags and all(" — escalated " in line for line in flags)
    # the whole message that raised the self-harm flag: plan and means
    assert lines[index_of(lines, "Suicide / self-harm: ")].endswith(
        "has her mum's tablets in her room")
    assert any(line.startswith("Safety plan: safety plan agreed: she will tell her mum")
               for line in lines)
    assert any(line.startswith("Follow-up: she will call back tomorrow") for line in lines)
    # the note misheard as an answer is a note, and the question it followed was moved on
    answers = lines[index_of(lines, "Answers ("):index_of(lines, "Skipped (not asked):")]
    assert not any("supervisor" in line for line in answers)
    assert "Skipped (not asked): Safeguarding details (if offered)" in lines
    assert lines[index_of(lines, "Notes (")+1].endswith("add note: supervisor listening in")
    advice = lines[index_of(lines, "Advice shown to the counsellor:")]
    titles = advice.split(": ", 1)[1].split(", ")
    assert titles.count("Do not pay") == 1
    assert timeline["case_id"] == call.slots["case_id"]
    assert timeline["entries"][-1]["text"] == "Case closed"
    # the summary asked for later says the same, closed
    messages, _, _ = await run(A.ActionSummary(), "summary", "summary", call.slots,
                               sender=call.sender)
    again, _ = handover_of(messages)
    assert again.splitlines()[0] == head


async def test_a_realistic_parent_call_fits_one_screen():
    _, messages = await parent_call()
    text, timeline = handover_of(messages)
    assert text.startswith("Case closed. Handover summary:\n")
    text = text.split("\n", 1)[1]
    lines = assert_one_readable_bubble(text)
    assert len(lines) <= MAX_LINES - 1, text
    assert lines[0].startswith("Handover — Parent or carer — ") and ", closed " in lines[0]
    assert "Age: 14 · Platform: Snapchat" in lines
    assert "Demand: money $500 via bitcoin" in lines
    assert any(line.startswith("Red flag: Self-harm or suicide risk — “") and
               line.endswith(" — escalated " + line.rsplit(" ", 1)[1]) for line in lines)
    assert any(line.startswith("Actions agreed: ") and "police" in line for line in lines)
    assert any(line.startswith("Follow-up: ") and "keep an eye" in line for line in lines)
    assert any("Referral pathway" in line or "referral pathway" in line
               for line in lines if line.startswith("Advice shown to the counsellor:"))
    assert any("dad doesn't know about the video yet" in line for line in lines)
    assert len(timeline["entries"]) == timeline["total"]


async def test_the_handover_without_the_store_is_in_the_same_plain_style(monkeypatch):
    slots = await open_case(sender="conv-down")
    _, _, slots = await run(A.ActionCheckEveryMessage(), "she said she wants to die",
                            "report_self_harm", slots, sender="conv-down")
    monkeypatch.setenv("CASE_DB_URL", "postgresql://nobody@127.0.0.1:1/none?connect_timeout=1")
    A.case_store.cache_clear()
    messages, _, _ = await run(A.ActionSummary(), "summary", "summary", slots,
                               sender="conv-down")
    text = next(t for t in texts(messages) if t.startswith("Handover"))
    lines = assert_one_readable_bubble(text)
    assert lines[0] == "Handover — Young person — still open (Europe/London)"
    assert any(line.startswith("Red flag: Self-harm or suicide risk — “")
               and line.endswith("NOT ESCALATED") for line in lines)
    assert not any((m.get("custom") or {}).get("type") == "handover_timeline" for m in messages)
    monkeypatch.undo()
    A.case_store.cache_clear()
