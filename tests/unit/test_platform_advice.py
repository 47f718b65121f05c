"""Platform questions and the advice behind them (audit of 2026-11-29): every app's
reporting route comes with the core advice, evidence first; the platform facts follow
reference/current-practice.md ("Cautions found in a content audit"); the apps counsellors
name are found; and the advice a counsellor's question needs (already paid, recovery
scams, an image sent to the helpline, hacked friends' accounts, the emotional impact for
a parent, what a report does) is there. Through the public functions of actions.guidance."""
from __future__ import annotations

import re
from datetime import date

import pytest

from actions import guidance as G

PATHS = ("child", "parent_carer")


def said(reply) -> str:
    return "\n".join(reply.lines)


def ids(items):
    return [i["id"] for i in items]


# --------------------------------------------------------------------------- 1. core advice

def test_the_core_advice_is_data_in_order_for_both_paths():
    for role in PATHS:
        core = G.core_advice(role)
        assert ids(core) == ["keep_evidence", "do_not_pay", "do_not_delete", "report_and_block"]
        assert all(step["text"] for step in core), role
        evidence = core[0]["text"].lower()
        assert "screenshot" in evidence and "account name" in evidence
        assert "not in a screenshot" in evidence  # never the image
        assert "pay" in core[1]["text"].lower() and "delete" in core[2]["text"].lower()
        assert "report" in core[3]["text"].lower() and "block" in core[3]["text"].lower()
    assert G.core_advice("child")[0]["text"] != G.core_advice("parent_carer")[0]["text"]


def assert_core_advice_first(reply, role, entry):
    text = said(reply)
    positions = [text.find(step["text"]) for step in G.core_advice(role)]
    assert -1 not in positions, (entry["id"], role, text)
    assert positions == sorted(positions), (entry["id"], role)
    route = text.find(f"{entry['name']}: {entry['in_app']}")
    assert route > positions[-1], (entry["id"], role)
    low = text.lower()
    # evidence before paying, deleting, and before any report or block
    first = {w: low.find(w) for w in ("screenshot", "pay", "delete", "report", "block")}
    assert first["screenshot"] < first["pay"] < first["delete"] < first["report"], entry["id"]
    assert first["screenshot"] < first["block"], entry["id"]


@pytest.mark.parametrize("role", PATHS)
@pytest.mark.parametrize("entry", G._platform_table(), ids=lambda e: e["id"])
def test_every_platform_reply_carries_the_core_advice_evidence_first(entry, role):
    questions = [f"how does she report it on {entry['name']}?", f"he's on {entry['name']}",
                 entry["name"]]
    for question in questions:
        reply = G.answer(role, question)
        assert reply is not None and entry["name"] in reply.platforms, (question, reply)
        assert_core_advice_first(reply, role, entry)
    # the classifier's entity instead of the words
    reply = G.answer(role, "what should he do?", named=[G.platform(entry["id"])])
    assert_core_advice_first(reply, role, entry)


@pytest.mark.parametrize("question", ["how does she report it on snapchat?",
                                      "he's on instagram", "xbox"])
def test_the_audits_own_questions_get_the_core_advice(question):
    for role in PATHS:
        reply = G.answer(role, question)
        assert said(reply).startswith("First, screenshot"), said(reply)


def test_in_app_routes_put_the_evidence_before_report_and_block():
    for entry in G._platform_table():
        route = entry["in_app"].lower().replace("report remove", "")
        acts = [i for i in (route.find("report"), route.find("block")) if i >= 0]
        if acts:
            assert "screenshot" in route and route.find("screenshot") < min(acts), entry["id"]


def test_a_platform_reply_covers_the_core_advice_in_the_case_notes_sense():
    reply = G.answer("child", "he's on tiktok")
    assert reply.platforms == ("TikTok",)
    # the full list still has more to offer (takedown, trusted adult...)
    assert reply.more


# --------------------------------------------------------------------------- 2. platform facts

@pytest.mark.parametrize("pid, url, caution", [
    ("instagram", "https://help.instagram.com/contact/240773466098227", "could not be confirmed"),
    ("facebook", "https://www.facebook.com/help/contact/567360146613371",
     "non-consensual intimate images"),
])
def test_the_guides_two_forms_are_kept_marked_and_after_the_in_app_route(pid, url, caution):
    entry = G.platform(pid)
    assert entry["url"] == url and entry["priority"] is True
    assert "helpline guide" in entry["note"] and caution in entry["note"]
    assert "in-app route is the first instruction" in entry["note"]
    assert "helpline guide" in entry["url_label"]
    text = said(G.answer("parent_carer", f"she's on {pid}"))
    assert f"{entry['url_label']}: {url}" in text
    assert text.find(entry["in_app"]) < text.find(url)


def test_telegram_gives_its_abuse_address():
    entry = G.platform("telegram")
    assert "stopCA@telegram.org" in entry["in_app"]
    assert "private chat" in entry["in_app"].lower() and "private chats" in entry["note"].lower()
    for role in PATHS:
        text = said(G.answer(role, "they were talking on telegram"))
        assert "stopCA@telegram.org" in text
        assert "never the image" in text


def test_google_never_offers_its_removal_form_for_images_of_minors():
    entry = G.platform("google")
    assert entry["url"] == "https://support.google.com/websearch/"
    assert "answer/10949130" not in str(entry)
    text = said(G.answer("parent_carer", "it's come up on google"))
    assert "answer/10949130" not in text
    for tool in ("Take It Down", "Report Remove", "CyberTipline"):
        assert tool in entry["in_app"] and tool in text
    assert "Don't use Google's removal form" in text


# --------------------------------------------------------------------------- 3. more apps

NEW = ("xbox", "playstation", "kik", "wizz", "yubo")


@pytest.mark.parametrize("pid", NEW)
def test_the_apps_counsellors_name_have_entries(pid):
    entry = G.platform(pid)
    assert entry and entry["name"] and entry["aliases"] and entry["in_app"]
    assert entry["source"] and "url" in entry and entry["checked"] is None
    if entry["url"] is None:
        assert entry["note"]  # why there is no link
    else:
        assert re.fullmatch(r"https://[a-z.]+/(?:support/)?", entry["url"]), entry["url"]


@pytest.mark.parametrize("text, pid", [
    ("xbox", "xbox"), ("he found him on Xbox Live", "xbox"), ("on kik", "kik"),
    ("they chatted on kik messenger", "kik"), ("yubo", "yubo"), ("wizz", "wizz"),
    ("she met him on Wizz", "wizz"), ("ps5", "playstation"), ("playstation", "playstation"),
    ("he messaged over PSN on his PS4", "playstation"),
])
def test_counsellors_words_find_the_new_apps(text, pid):
    assert pid in ids(G.platforms_in(text))
    assert G.answer("child", text).platforms == (G.platform(pid)["name"],)


def test_ps_alone_is_not_a_platform():
    assert G.platforms_in("ps she also said he knows her school") == []


def test_checked_is_null_until_a_link_is_loaded():
    for name in ("platforms.yml", "advice.yml", "answers.yml"):
        assert G._file(name).get("checked", "missing") is None, name
    for entry in G._platform_table():
        assert "checked" in entry, entry["id"]
        if entry["checked"] is not None:  # only a date someone actually loaded it
            assert date(2026, 11, 25) <= date.fromisoformat(entry["checked"]) <= date.today()
    assert [p for p in G.validate() if p.startswith("platforms.yml")] == []


# --------------------------------------------------------------------------- 4. advice

@pytest.mark.parametrize("question", [
    "she's already paid him £100, what now?", "he paid them last night, what should he do",
    "she sent him the money an hour ago",
])
def test_already_paid(question):
    reply = G.answer("child", question)
    assert reply.ids[0] == "already_paid" and "do_not_pay" not in reply.ids
    text = said(reply)
    for words in ("Don't panic", "don't pay anything more", "payment records",
                  "about a quarter of those who paid"):
        assert words in text


@pytest.mark.parametrize("question", ["should he pay?", "he hasn't paid yet, should he?"])
def test_not_yet_paid_is_still_do_not_pay(question):
    assert G.answer("child", question).ids[0] == "do_not_pay"


def test_the_advice_list_says_what_to_do_after_paying():
    for role in PATHS:
        pay = next(a for a in G.advice(role) if a["id"] == "do_not_pay")["text"]
        assert "already paid" in pay and "don't panic" in pay and "payment records" in pay


@pytest.mark.parametrize("question", [
    "someone says they're a removal service and wants her ID and the original pics",
    "an account is offering to hack him for a fee",
    "a man claiming to be from the police asked for her passport",
    "someone says they can delete the pics for £50",
    "an account says it will remove the video for 100 dollars",
])
def test_recovery_scams(question):
    reply = G.answer("parent_carer", question)
    assert reply.ids[0] == "recovery_scam"
    text = said(reply)
    assert "scam" in text and "may be the offender" in text
    assert "never ask for payment or for the image" in text
    for role in PATHS:
        assert "recovery_scams" in ids(G.advice(role))


@pytest.mark.parametrize("question", [
    "she has just sent the photo to us in the chat, what do I do?",
    "he wants to send the video to me so I can see",
    "the child uploaded the picture in the chat",
])
def test_an_image_sent_to_the_helpline(question):
    reply = G.answer("child", question)
    assert "sent_to_helpline" in reply.ids
    text = said(reply)
    assert "Don't open, save or forward it" in text
    assert "national hotline" in text and "not in trouble" in text


def test_evidence_keeps_the_image_out_of_screenshots():
    text = said(G.answer("child", "what evidence should she keep?"))
    assert "check the image is not in any of them" in text
    for role in PATHS:
        keep = next(a for a in G.advice(role) if a["id"] == "keep_evidence")["text"]
        assert re.search(r"not in the screenshot", keep), role


@pytest.mark.parametrize("question", [
    "the messages came from her friend's account, could it be hacked?",
    "he thinks someone made a copy of his mate's account",
    "someone is impersonating her best friend on insta",
])
def test_hacked_or_impersonated_friends_accounts(question):
    reply = G.answer("child", question)
    assert "friend_account" in reply.ids
    text = said(reply)
    assert "another way" in text and "report the account" in text


def test_the_parent_path_highlights_the_emotional_impact():
    parent = {a["id"]: a["text"] for a in G.advice("parent_carer")}
    assert "emotional_impact" in parent and "emotional_impact" not in ids(G.advice("child"))
    assert "self-harm" in parent["emotional_impact"]
    assert "support" in parent["emotional_impact"]
    reply = G.answer("parent_carer", "dad is furious with him, how should he react?")
    assert reply.ids[0] == "emotional_impact"
    text = said(reply)
    assert "self-harm or suicide" in text and "support the child" in text


@pytest.mark.parametrize("question", ["will instagram remove it if she reports it?",
                                      "is it worth reporting?",
                                      "will they shut down his account?"])
def test_what_a_report_does(question):
    reply = G.answer("parent_carer", question)
    assert "what_a_report_does" in reply.ids or "report_and_block" in reply.ids
    text = said(reply)
    assert "remove nude images of children because they are illegal" in text
    assert "close it and report it to the police" in text
    assert text.count("because they are illegal") == 1  # said once


def test_the_report_advice_says_what_a_report_does():
    for role in PATHS:
        report = next(a for a in G.advice(role) if a["id"] == "report_and_block")["text"]
        assert "because they are illegal" in report and "police" in report


def test_every_new_answer_is_short_and_safe():
    for raw in G._answer_table():
        for path in PATHS:
            text = " ".join(G._paragraphs(raw.get(path) or raw.get("text"))).lower()
            assert "stopncii" not in text or "not stopncii" in text
            assert not re.search(r"(?<!don't )(?<!never )\bpay (?:them|him)\b", text), raw["id"]
