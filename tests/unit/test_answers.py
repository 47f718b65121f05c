"""Answers sized to the question (issue 13, item 6): a specific question gets a short,
direct answer (data/guidance/answers.yml), the whole advice list only when asked for;
a plain note is kept as a note, never answered with a help menu; a stage is introduced
once per case. Run with rasa-sdk's own Tracker and CollectingDispatcher, the real domain,
data and case-notes store (as tests/unit/test_actions.py does)."""
from __future__ import annotations

import copy
from datetime import datetime, timezone

import pytest
import yaml
from rasa_sdk.executor import CollectingDispatcher

from actions import actions as A
from actions import guidance as G
from actions.messages import say
from support import ROOT, make_tracker

DOMAIN = yaml.safe_load((ROOT / "domain.yml").read_text())
T0 = datetime(2026, 11, 24, 18, 30, tzinfo=timezone.utc).timestamp()
ALL_ADVICE = {"title": say("button.all_advice"), "payload": "/ask_advice"}


def slots_after(events, slots=None):
    values = dict(slots or {})
    for e in events:
        if e.get("event") == "slot":
            values[e["name"]] = e["value"]
    return values


async def run(action, text="", intent="inform", slots=None, confidence=0.9, entities=None,
              sender="conv-answers"):
    dispatcher = CollectingDispatcher()
    tracker = make_tracker(text, intent, confidence, slots, entities, sender, T0)
    events = await action.run(dispatcher, tracker, DOMAIN)
    return dispatcher.messages, slots_after(events, slots)


def texts(messages):
    return [m["text"] for m in messages if m.get("text")]


def lines_of(messages):
    return "\n".join(texts(messages)).splitlines()


@pytest.fixture(autouse=True)
def fresh_store():
    A.case_store.cache_clear()
    yield
    A.case_store.cache_clear()


async def open_case(role="child", sender="conv-answers"):
    payload = f'/start_case{{"caller_role":"{role}"}}'
    entities = [{"entity": "caller_role", "value": role}]
    _, slots = await run(A.ActionCheckEveryMessage(), payload, "start_case", entities=entities,
                         sender=sender)
    _, slots = await run(A.ActionStartCase(), payload, "start_case", slots, entities=entities,
                         sender=sender)
    return slots


async def ask(text, role="child", intent="ask_advice", entities=None):
    slots = await open_case(role)
    messages, after = await run(A.ActionAdvice(), text, intent, slots, entities=entities)
    return messages, after


def advice_codes(case_id):
    return [e["code"] for e in A.case_store().events(case_id) if e["kind"] == "advice"]


# --------------------------------------------------------------------------- short answers

async def test_takedown_tools_is_a_short_answer_naming_take_it_down():
    messages, slots = await ask("takedown tools?")
    lines = lines_of(messages)
    assert len(lines) <= 4, lines
    assert lines[0].startswith("Take It Down") and "https://takeitdown.ncmec.org" in lines[0]
    assert not any(line.startswith("•") for line in lines), "not the advice list"
    assert all("StopNCII" not in line or line.startswith("Not StopNCII") for line in lines)
    assert lines[-1] == say("advice.full_list_hint") and messages[-1]["buttons"] == [ALL_ADVICE]
    assert advice_codes(slots["case_id"]) == ["takedown"]


async def test_takedown_tools_in_the_uk_add_report_remove(monkeypatch):
    monkeypatch.setenv("HELPLINE_COUNTRY", "GB")
    lines = lines_of((await ask("takedown tools?"))[0])
    assert len(lines) <= 4, lines
    assert lines[0].startswith("Take It Down") and lines[1].startswith("Report Remove")


async def test_a_teacher_asking_whether_to_look_at_the_video_hears_no_first():
    messages, _ = await ask("should she look at the video?", role="other")
    lines = lines_of(messages)
    assert lines[0].startswith("No.") and "look at" in lines[0]
    assert "forward" in lines[0]
    assert len(lines) <= 4, lines


@pytest.mark.parametrize("question", [
    "can mum open it to check what he has?", "should I watch the clip he sent?",
    "is it ok to forward the pics to the school?",
])
def test_never_look_comes_first_whatever_the_verb(question):
    reply = G.answer("parent_carer", question)
    assert reply.ids[0] == "do_not_view_image" and reply.lines[0].startswith("No.")


async def test_should_he_pay_is_answered_no_in_the_first_line():
    lines = lines_of((await ask("should he pay?"))[0])
    assert lines[0].startswith("No, don't pay.") and len(lines) <= 4


async def test_reporting_on_an_app_gives_the_core_advice_then_that_apps_route():
    messages, slots = await ask("how do I report on snapchat")
    lines = lines_of(messages)
    snapchat = G.platform("snapchat")
    route = f"Snapchat: {snapchat['in_app']} — {snapchat['url']}"
    assert lines[0].startswith("First, screenshot") and route in lines
    assert lines.index(route) <= 2 and len(lines) <= 5
    assert "platform:Snapchat" in advice_codes(slots["case_id"])


async def test_the_classifiers_platform_entity_is_used():
    lines = lines_of((await ask("how to report on insta", entities=[
        {"entity": "platform", "value": "insta"}]))[0])
    assert any(line.startswith("Instagram: ") for line in lines)


@pytest.mark.parametrize("question, first", [
    ("should she delete her account?", "do_not_delete"),
    ("should she block him", "report_and_block"),
    ("should she report it to the police?", "law_enforcement"),
    ("will he be in trouble", "not_their_fault"),
    ("should she reply to him at all", "do_not_respond"),
    ("someone is offering to delete the pics for a fee", "recovery_scam"),
    ("the pics are fake, does that change anything", "fake_images_still_sextortion"),
])
def test_each_topic_finds_its_answer(question, first):
    assert G.answer("child", question).ids[0] == first


def test_a_police_question_says_how_in_the_helplines_country():
    reply = G.answer("child", "should they go to the police?", "GB")
    assert reply.ids == ("law_enforcement",)
    assert any("999" in line and "https://www.ceop.police.uk/Safety-Centre/" in line
               for line in reply.lines)


# --------------------------------------------------------------------------- the full list

@pytest.mark.parametrize("text", ["what advice should I give?", "all advice", "full advice",
                                  "everything?", "/ask_advice"])
async def test_the_advice_list_when_asked_for_or_no_topic(text):
    messages, _ = await ask(text, role="parent_carer")
    lines = lines_of(messages)
    bullets = [line for line in lines if line.startswith("•")]
    assert len(bullets) == len(G.advice("parent_carer"))
    assert say("advice.full_list_hint") not in lines


def test_everything_counts_only_on_its_own():
    assert G.wants_full_advice("everything please")
    assert not G.wants_full_advice("should she delete everything?")
    assert G.answer("child", "should she delete everything?").ids == ("do_not_delete",)


# --------------------------------------------------------------------------- stage intros

async def test_a_stage_is_introduced_once_per_case():
    slots = await open_case()
    risk_stage = G.stage("child", "immediate_risk")
    reassurance = G.stage("child", "reassurance")
    messages, slots = await run(A.ActionGoToStage(), "go to the risk questions", "go_to_stage",
                                slots)
    assert risk_stage.say in texts(messages)[0]
    # back to the start: introduced already when the case opened
    messages, slots = await run(A.ActionGoToStage(), "back to reassurance", "go_to_stage", slots)
    assert reassurance.say not in "\n".join(texts(messages))
    _, slots = await run(A.ActionCheckEveryMessage(), "thanked her, told her it's not her fault",
                         slots=slots)
    messages, slots = await run(A.ActionNextStep(), "what next?", "what_next", slots)
    text = "\n".join(texts(messages))
    assert slots["stage"] == "immediate_risk"
    assert risk_stage.say not in text and text.startswith("Next:")
    assert {"stage:reassurance", "stage:immediate_risk"} <= set(slots["steps_shown"])


async def test_the_first_visit_to_a_stage_still_introduces_it():
    slots = await open_case()
    _, slots = await run(A.ActionCheckEveryMessage(), "thanked her, told her it's not her fault",
                         slots=slots)
    messages, _ = await run(A.ActionNextStep(), "what next?", "what_next", slots)
    assert G.stage("child", "immediate_risk").say in texts(messages)[0]


# --------------------------------------------------------------------------- the fallback

def kept_notes(case_id):
    return [e["text"] for e in A.case_store().events(case_id) if e["kind"] == "note"]


@pytest.mark.parametrize("intent", ["nlu_fallback", "out_of_scope"])
async def test_a_plain_note_is_noted_not_answered_with_a_help_menu(intent):
    slots = await open_case("parent_carer")
    messages, _ = await run(A.ActionFallback(), "mum is with her now", intent, slots,
                            confidence=0.3)
    said = "\n".join(texts(messages))
    assert said.startswith(say("fallback.noted") + " ") and say("fallback.menu") not in said
    assert "mum is with her now" in kept_notes(slots["case_id"])


@pytest.mark.parametrize("text", ["asdf", "?", "what's the weather like today", "tell me a joke"])
async def test_gibberish_or_an_unanswerable_question_gets_the_menu_and_is_kept(text):
    slots = await open_case()
    messages, _ = await run(A.ActionFallback(), text, "nlu_fallback", slots, confidence=0.2)
    assert say("fallback.menu") in texts(messages)
    assert text in kept_notes(slots["case_id"])


async def test_a_misheard_question_the_advice_answers_gets_its_answer():
    slots = await open_case()
    messages, _ = await run(A.ActionFallback(), "should he pay them?", "nlu_fallback", slots,
                            confidence=0.3)
    assert lines_of(messages)[0].startswith("No, don't pay.")
    assert "should he pay them?" in kept_notes(slots["case_id"])


@pytest.mark.parametrize("text, kind", [
    ("mum is with her now", "note"), ("he is 15 and lives with his dad", "note"),
    ("will call back at 6", "note"), ("should she look at the video?", "question"),
    ("what's the weather like", "question"), ("asdf jkl", "unclear"), ("🙂", "unclear"),
    ("lol", "unclear"), ("are you a robot", "question"), ("you're useless", "unclear"),
])
def test_message_kind(text, kind):
    assert G.message_kind(text) == kind


# --------------------------------------------------------------------------- the data file

def test_answers_file_checks():
    data = copy.deepcopy(G._bundle())
    answers = data["answers"]["answers"]
    answers.append(dict(answers[0]))  # duplicate id
    answers[1]["covers"] = ["no_such_advice"]
    answers[2]["text"] = "see https://example.org"
    found = "\n".join(G.problems(data))
    assert "answers.yml: duplicate id do_not_view_image" in found
    assert "covers unknown advice id no_such_advice" in found
    assert "holds a link" in found


def test_every_answer_is_short():
    for raw in G._answer_table():
        for path in G.ROLES:
            lines = G._paragraphs(raw.get(path) or raw.get("text"))
            assert 1 <= len(lines) <= 3, raw["id"]
            assert all(len(line) <= 320 for line in lines), raw["id"]
