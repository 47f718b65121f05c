"""What a counsellor reads and presses mid-call (issue 13, items 1, 5, 6 and 7): "raised in
error" names its flag, asks why, asks again for the self-harm flag, and can be undone; a moved
deadline can be put back; a quick question gets a short answer; the handover is one rendered
bubble with the key facts first and the full timeline folded. At 400x900 and 320x450."""
from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from panel_page import child_case_page, say, stored

SIZES = [(400, 900), (320, 450)]
IDS = ["400x900", "320x450"]


def said(at: datetime) -> str:
    """A clock time as a counsellor types it: "9:05pm"."""
    return f"{at:%I:%M%p}".lstrip("0").lower()


def answered(page, words: str) -> None:
    """One of the assistant's messages says ``words`` (a reply may come in several)."""
    expect(page.locator("#messages .from-bot").filter(has_text=words).last).to_be_visible()


@pytest.mark.parametrize("width,height", SIZES, ids=IDS)
def test_raised_in_error_names_the_flag_asks_why_confirms_self_harm_and_can_be_undone(
        context, stack, shots, width, height):
    page = child_case_page(context, stack, width, height)
    say(page, "he gave her 2 hours to pay and she said she wants to kill herself")
    flag = page.locator('#flags [data-code="self_harm_risk"]')
    expect(flag).to_be_visible()
    # two flags in one turn: two buttons that say which flag each is for
    expect(page.get_by_role("button", name="Raised in error: Deadline")).to_be_visible()
    expect(page.get_by_role("button", name="Raised in error: Suicide/self-harm risk")).to_be_visible()

    # from the banner, whenever the counsellor needs it (not only after that message)
    say(page, "she is 15")
    flag.locator("summary").click()
    flag.get_by_role("button", name="Raised in error: Self-harm or suicide risk").click()
    answered(page, "Why was “Self-harm or suicide risk” raised in error?")
    expect(flag).to_be_visible()  # nothing is removed by one click
    page.get_by_role("button", name="Misread the note").click()
    answered(page, "Confirm?")
    expect(flag).to_be_visible()  # the self-harm flag needs a second, explicit yes
    assert "self_harm_risk" in stored(page)["caseState"]["red_flags"]
    page.get_by_role("button", name="Yes, remove Suicide/self-harm risk").click()
    expect(flag).to_have_count(0)
    answered(page, "reason: the assistant misread the note")
    page.screenshot(path=str(shots / f"panel-raised-in-error-{width}x{height}.png"))

    page.get_by_role("button", name="Undo: restore Suicide/self-harm risk").click()
    expect(flag).to_be_visible()
    expect(flag.locator(".flag-state")).to_have_text("NOT escalated")
    answered(page, "Restored")


@pytest.mark.parametrize("width,height", SIZES, ids=IDS)
def test_only_the_offenders_words_move_the_deadline_and_a_move_can_be_undone(
        context, stack, width, height):
    page = child_case_page(context, stack, width, height)
    now = datetime.now(ZoneInfo(stack.env["HELPLINE_TIMEZONE"]))
    first, second = now + timedelta(hours=3), now + timedelta(hours=2)
    say(page, f"he gave her till {said(first)} to pay or he posts them")
    expect(page.locator("#deadline-when")).to_contain_text(f"{first:%H:%M}")
    # times of other things never move it: a police call, a call back, an age
    for note in ("add note: mum phoned police at 19:30", "he will call back tomorrow after school",
                 "girl, 15, very scared"):
        say(page, note)
    expect(page.locator("#deadline-when")).to_contain_text(f"{first:%H:%M}")
    expect(page.locator("#messages .from-bot", has_text="Deadline moved")).to_have_count(0)
    expect(page.locator("#messages .from-bot", has_text="not confirmed")).to_have_count(0)
    say(page, f"now he says she only has till {said(second)}")
    answered(page, f"Deadline moved from {first:%H:%M}")
    expect(page.locator("#deadline-when")).to_contain_text(f"{second:%H:%M}")
    page.get_by_role("button", name=f"Undo: keep {first:%H:%M}").click()
    answered(page, f"Deadline back to {first:%H:%M}")
    expect(page.locator("#deadline-when")).to_contain_text(f"{first:%H:%M}")


@pytest.mark.parametrize("width,height", SIZES, ids=IDS)
def test_a_quick_question_gets_a_short_answer_and_the_catalogue_only_on_request(
        context, stack, width, height):
    page = child_case_page(context, stack, width, height)
    say(page, "takedown tools?")
    answered(page, "Take It Down")
    reply = page.locator("#messages .from-bot .message-text").last.inner_text()
    assert len(reply.splitlines()) <= 4, reply
    say(page, "should she look at the video?")
    answered(page, "No.")
    first = page.locator("#messages .from-bot .message-text").last.inner_text().splitlines()[0]
    assert first.startswith("No."), first
    page.get_by_role("button", name="All advice").click()
    expect(page.locator("#messages .from-bot .message-text").last).to_contain_text("Takedown")
    assert len(page.locator("#messages .from-bot .message-text").last.inner_text()
               .splitlines()) > 4


@pytest.mark.parametrize("width,height", SIZES, ids=IDS)
def test_the_handover_is_one_rendered_bubble_with_the_timeline_folded(context, stack, shots,
                                                                      width, height):
    page = child_case_page(context, stack, width, height)
    for note in ("girl, 15, on instagram; he wants £200 in gift cards",
                 "he gave her 2 hours to pay or he posts them",
                 "she said she has thought about ending it",
                 "add note: supervisor listening in"):
        say(page, note)
    page.locator("#escalation-confirm").click()
    expect(page.locator("#escalation-text")).to_contain_text("Escalation started")
    say(page, "summary")
    timeline = page.locator("#messages .timeline")
    expect(timeline).to_have_count(1)
    handover = page.locator("#messages .handover").filter(has_text="Handover —").last
    text = handover.locator(".message-text").inner_text()
    assert not re.search(r"(^|\n)#|\*\*", text), text  # rendered, not raw Markdown
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0].startswith("Handover — Young person"), lines[:2]
    # key facts first: age, platform, demand, deadline, then each flag with its escalation
    facts = "\n".join(lines[:8])
    for fact in ("Age: 15", "Instagram", "£200", "Deadline:", "Self-harm or suicide risk",
                 "escalated"):
        assert fact in facts, (fact, facts)
    assert facts.index("Self-harm or suicide risk") < facts.index("Outstanding deadline")
    assert "Case closed" not in text and "still open" in text
    # the full timeline is folded under it, and opens
    expect(timeline.locator("summary")).to_have_text(re.compile(r"Full timeline \(\d+ entries\)"))
    expect(timeline.locator("li").first).to_be_hidden()
    timeline.locator("summary").click()
    expect(timeline.locator("li", has_text="supervisor listening in")).to_be_visible()
    if (width, height) == (400, 900):
        # a supervisor reads it in one screen: the bubble fits the conversation area
        assert handover.bounding_box()["height"] <= page.locator(".conversation").bounding_box()["height"]
    handover.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"panel-handover-{width}x{height}.png"))
