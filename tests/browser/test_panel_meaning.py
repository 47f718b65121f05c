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
