"""What the panel shows changes only when the counsellor meant it (issue 13): escalation is
recorded per red flag, only by the button or words that say it has started; "not escalated"
never turns the banner green and can undo it; a flag raised after escalation shows NOT
escalated; and "what next?" puts an unescalated flag's protocol step before any question.
At the two sizes counsellors use: a side column (400x900) and a small window (320x450)."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from panel_page import SELF_HARM_NOTE, open_panel, say, start_child_case, stored

SIZES = [(400, 900), (320, 450)]


def answered(page, words: str) -> None:
    """The assistant's newest message says ``words`` (replies to one note may come in
    more than one message: wait for the one that says it)."""
    expect(page.locator("#messages .from-bot").last).to_contain_text(words)


@pytest.mark.parametrize("width,height", SIZES, ids=["400x900", "320x450"])
def test_escalation_changes_only_when_the_counsellor_means_it(context, stack, shots,
                                                               width, height):
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    open_panel(page, stack)
    start_child_case(page)
    say(page, SELF_HARM_NOTE)
    answered(page, "comes first")
    flag = page.locator('#flags [data-code="self_harm_risk"]')
    expect(flag.locator(".flag-state")).to_have_text("NOT escalated")

    say(page, "supervisor not free yet, havent escalated")
    answered(page, "Not recorded")
    expect(page.locator("#escalation-text")).to_contain_text("not confirmed")
    assert stored(page)["caseState"]["escalated"] is False

    page.locator("#escalation-confirm").click()
    expect(page.locator("#escalation-text")).to_contain_text("Escalation started")
    expect(flag.locator(".flag-state")).to_have_text("Escalated")

    say(page, "undo that, escalation has NOT started")
    expect(page.locator("#escalation-text")).to_contain_text("not confirmed")
    expect(flag.locator(".flag-state")).to_have_text("NOT escalated")
    answered(page, "withdrawn")

    page.locator("#escalation-confirm").click()
    expect(flag.locator(".flag-state")).to_have_text("Escalated")
    say(page, "turns out the account is her cousin")
    cousin = page.locator('#flags [data-code="offender_known"]')
    expect(cousin.locator(".flag-state")).to_have_text("NOT escalated")
    expect(flag.locator(".flag-state")).to_have_text("Escalated")
    expect(page.locator("#escalation-text")).to_contain_text("1 red flag NOT escalated yet")
    expect(page.locator("#escalation-confirm")).to_be_visible()
    page.screenshot(path=str(shots / f"panel-escalation-{width}x{height}.png"))


@pytest.mark.parametrize("width,height", SIZES, ids=["400x900", "320x450"])
def test_what_next_puts_the_new_risk_first(context, stack, width, height):
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    open_panel(page, stack)
    start_child_case(page)
    say(page, "yes thinking about it tonight, has his mum's tablets in his room")
    expect(page.locator('#flags [data-code="self_harm_risk"]')).to_be_visible()
    answered(page, "Next: escalation for Self-harm or suicide risk comes first")
    say(page, "what next?")
    answered(page, "First: Self-harm or suicide risk is NOT escalated")
    expect(page.locator("#messages .from-bot").last).not_to_contain_text("images")
    say(page, "what next?")
    answered(page, "Still NOT escalated: Self-harm or suicide risk")


@pytest.mark.parametrize("width,height", SIZES, ids=["400x900", "320x450"])
def test_a_closed_case_no_longer_looks_live(context, stack, shots, width, height):
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    open_panel(page, stack)
    expect(page.get_by_role("button", name="Someone else (e.g. teacher)")).to_be_visible()
    start_child_case(page)
    say(page, "he gave her 30 minutes to pay or he posts them")
    expect(page.locator("#deadline-left")).to_contain_text("URGENT")
    say(page, "close case")
    expect(page.locator("#messages")).to_contain_text("Case closed. Handover summary")
    expect(page.locator("#messages")).not_to_contain_text("Closed: still open")
    expect(page.locator("#case-role")).to_have_text("Case closed: Young person")
    expect(page.locator("#deadline")).to_be_hidden()
    expect(page.locator("#flags .flag")).to_have_count(0)
    expect(page.locator("#escalation")).to_be_hidden()
    expect(page.get_by_role("button", name="New call: young person")).to_be_visible()
    say(page, "add note: mum rang back to say thanks")
    answered(page, "This case is closed. Your words were added to it, marked as added after")
    page.screenshot(path=str(shots / f"panel-closed-{width}x{height}.png"))
    page.get_by_role("button", name="New call: parent or carer").click()
    expect(page.locator("#case-role")).to_have_text("Parent or carer")
    expect(page.locator("#deadline")).to_be_hidden()


def test_what_next_skips_a_question_and_the_checklist_never_ticks_it(page, stack, shots):
    """Issue 15: "what next?" moves on from a suggested question without an answer: the
    checklist shows it skipped, not done; "haven't asked about suicide yet" ticks nothing."""
    page.set_viewport_size({"width": 400, "height": 900})
    open_panel(page, stack)
    start_child_case(page)
    say(page, "what next?")
    answered(page, "Next: Thank them for getting in touch")
    say(page, "what next?")
    answered(page, "Next: Tell them it is not their fault")
    item = page.locator("#checklist li", has_text="Thanked them for reaching out")
    expect(item).to_have_class("skipped")
    expect(item).to_contain_text("skipped")
    expect(page.locator("#checklist-summary")).to_contain_text("0 of")
    expect(page.locator("#checklist-summary")).to_contain_text("1 skipped")
    say(page, "haven't asked about suicide yet")
    expect(page.locator("#checklist li", has_text="Asked about suicide and self-harm")) \
        .to_have_class("todo")
    assert [i["id"] for i in stored(page)["caseState"]["checklist"] if i["done"]] == []
    page.locator("#checklist-box summary").click()
    page.screenshot(path=str(shots / "panel-checklist-skipped-400x900.png"))
    assert page.errors == []


def test_words_before_the_caller_then_the_role_button_keep_one_case_and_its_flags(page, stack,
                                                                                   shots):
    """A counsellor who types before choosing who is calling: the words open the case and
    raise its flag; the panel asks who is on the line, and the answer names the caller of
    that same case (it once opened a second case, and the flag left the banner)."""
    open_panel(page, stack)
    say(page, SELF_HARM_NOTE)
    flag = page.locator('#flags [data-code="self_harm_risk"]')
    expect(flag).to_contain_text("Red flag: Self-harm or suicide risk")
    expect(page.locator("#case-role")).to_have_text("Caller not known yet")
    case_id = stored(page)["caseState"]["case_id"]
    page.get_by_role("button", name="Parent or carer").click()
    answered(page, "This case goes on")
    expect(page.locator("#case-role")).to_have_text("Parent or carer")
    expect(flag).to_contain_text("Red flag: Self-harm or suicide risk")
    assert stored(page)["caseState"]["case_id"] == case_id
    page.screenshot(path=str(shots / "panel-role-after-words.png"))
    assert page.errors == []
