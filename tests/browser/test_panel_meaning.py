"""A red flag that only the meaning voter finds (issue 14): the banner raises it like any
other, and its details say which check found it and with what score."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from panel_page import child_case_page, say, stored

# No rule pattern or classifier example covers it (tests/e2e/test_meaning.py checks the same)
ONLY_MEANING = "yp says the river by the park looks calm and she thinks about walking in"


@pytest.mark.parametrize("width,height", [(400, 900), (320, 450)], ids=["400x900", "320x450"])
def test_a_flag_only_meaning_finds_raises_the_banner_and_says_why(context, stack, shots,
                                                                   width, height):
    page = child_case_page(context, stack, width, height)
    say(page, ONLY_MEANING)
    flag = page.locator('#flags [data-code="self_harm_risk"]')
    expect(flag).to_be_visible()
    expect(flag.locator(".flag-state")).to_have_text("NOT escalated")
    expect(page.locator("#messages .from-bot").filter(
        has_text="RED FLAG: Self-harm or suicide risk").last).to_be_visible()

    flag.locator("summary").click()
    expect(flag.locator(".flag-words")).to_contain_text("river")
    expect(flag.locator(".flag-found-by")).to_contain_text("Found by: meaning (sentence encoder) 0.")
    assert stored(page)["caseState"]["red_flags"] == ["self_harm_risk"]
    page.screenshot(path=str(shots / f"panel-meaning-flag-{width}x{height}.png"))


def test_a_long_pasted_note_is_not_cut_and_a_flag_near_its_end_is_raised(page, stack):
    """The box takes what the channels take (MAX_MESSAGE_CHARS, 20,000 by default): a note
    pasted from the helpline's system is sent whole, and a disclosure at character 19,000
    raises the banner. The box used to stop at 2,000 characters, without a word."""
    from panel_page import SELF_HARM_NOTE, open_panel, start_child_case

    open_panel(page, stack)
    start_child_case(page)
    filler = "Mum went over what happened at school this week, the timetable and her friends. "
    note = (filler * (19_000 // len(filler) + 1))[:19_000] + SELF_HARM_NOTE
    box = page.locator("#input")
    box.focus()
    page.keyboard.insert_text(note)  # as a paste: the browser applies the box's maxlength
    assert page.evaluate("document.getElementById('input').value.length") == len(note)
    box.press("Enter")
    expect(page.locator('#flags [data-code="self_harm_risk"]')).to_be_visible(timeout=20_000)
