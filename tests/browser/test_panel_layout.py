"""The panel keeps its shape mid-call (issue 13, items 4 and 9): the banner keeps to about a
third of the panel with one line per red flag, most severe first; the escalation control, the
newest message and the input stay in sight; a quick reply leaves the focus in the input; a
vague deadline keeps its day; a new flag is announced once; icons need no emoji font.
At a side column (400x900), a small window (320x450) and a 400x900 column at 200% zoom
(200x450 CSS pixels)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from panel_page import child_case_page, say

SIZES = [(400, 900), (320, 450), (200, 450)]
IDS = ["400x900", "320x450", "400x900-at-200%"]
#: four notes, four red flags: the banner's worst case
FOUR_FLAGS = [
    "he gave her 2 hours to send more pics or he posts them",
    "she said she wants to kill herself",
    "turns out the account is her cousin",
    "he keeps messaging her and knows which school she goes to",
]
#: symbols that only an emoji font has (alarm clock, stopwatch, pictographs): empty boxes
#: without one. (⚠ and ✓ are in the ordinary text fonts: DejaVu, Segoe UI Symbol, Noto.)
EMOJI = re.compile("[\u23f0-\u23ff\U0001f300-\U0001faff]")


def box(page, selector: str) -> dict:
    found = page.locator(selector).last.bounding_box()
    assert found, f"{selector} is not on screen"
    return found


def in_view(page, selector: str, height: int) -> None:
    b = box(page, selector)
    assert b["y"] >= 0 and b["y"] + b["height"] <= height + 1, (selector, b)


@pytest.mark.parametrize("width,height", SIZES, ids=IDS)
def test_four_flags_keep_the_banner_to_a_third_and_the_call_in_sight(context, stack, shots,
                                                                      width, height):
    page = child_case_page(context, stack, width, height)
    for note in FOUR_FLAGS:
        say(page, note)
    flags = page.locator("#flags .flag")
    expect(flags).to_have_count(4)
    # the turn's last message (the next step) has come: nothing more moves
    expect(page.locator("#messages .from-bot").last).to_contain_text("comes first")

    # most severe first, whatever order they came in; one line each until opened
    codes = [flags.nth(i).get_attribute("data-code") for i in range(4)]
    assert codes == ["self_harm_risk", "active_deadline", "ongoing_risk", "offender_known"]
    expect(flags.first.locator(".flag-meaning")).to_be_hidden()
    line = flags.first.locator("summary").bounding_box()
    assert line["height"] <= 2.2 * 16, line

    # the banner is at most about a third of the panel
    assert box(page, "#case")["height"] <= 0.36 * height
    # the escalation control, the newest message and the input are all in sight
    in_view(page, "#escalation-confirm", height)
    in_view(page, "#input", height)
    assert box(page, "#composer")["y"] + box(page, "#composer")["height"] >= height - 2
    newest = box(page, "#messages .message")
    conversation = box(page, ".conversation")
    top = max(newest["y"], conversation["y"])
    bottom = min(newest["y"] + newest["height"], conversation["y"] + conversation["height"])
    # all of it, or as much as the view holds (a long message shows its beginning)
    assert bottom - top >= min(newest["height"], conversation["height"]) - 8, (newest, conversation)
    if newest["height"] <= conversation["height"]:
        assert newest["y"] + newest["height"] <= conversation["y"] + conversation["height"] + 1
    replies = page.locator("#quick-replies")
    if replies.is_visible():  # the suggested replies never cover the conversation
        assert box(page, "#quick-replies")["y"] >= conversation["y"] + conversation["height"] - 1
    overflow = page.evaluate(
        "document.documentElement.scrollHeight - document.documentElement.clientHeight")
    assert overflow <= 0  # the page itself never scrolls: the input cannot float away
    page.screenshot(path=str(shots / f"panel-four-flags-{width}x{height}.png"))

    # a flag's meaning and words open on demand, and the banner still keeps its size
    flags.first.locator("summary").click()
    expect(flags.first.locator(".flag-meaning")).to_be_visible()
    expect(flags.first.locator(".flag-words")).to_contain_text("kill herself")
    assert box(page, "#case")["height"] <= 0.36 * height
    in_view(page, "#escalation-confirm", height)


@pytest.mark.parametrize("width,height", SIZES[:2], ids=IDS[:2])
def test_a_quick_reply_leaves_the_focus_in_the_input(context, stack, width, height):
    page = child_case_page(context, stack, width, height)
    page.get_by_role("button", name="What next?").click()
    assert page.evaluate("document.activeElement.id") == "input"
    page.keyboard.type("she is 14 and it happened on snapchat")
    expect(page.locator("#input")).to_have_value("she is 14 and it happened on snapchat")


@pytest.mark.parametrize("width,height", SIZES[:2], ids=IDS[:2])
def test_a_vague_deadline_keeps_its_day_in_the_banner(context, stack, width, height):
    page = child_case_page(context, stack, width, height)
    say(page, "he said she has to pay him by friday or he sends it to her class")
    expect(page.locator("#deadline-left")).to_contain_text("friday")
    expect(page.locator("#deadline-left")).to_contain_text("not confirmed")
    in_view(page, "#deadline-left", height)


@pytest.mark.parametrize("width,height", SIZES[:2], ids=IDS[:2])
def test_a_flag_is_announced_once_and_icons_need_no_emoji_font(context, stack, width, height):
    page = child_case_page(context, stack, width, height)
    say(page, "he gave her 30 minutes to pay or he posts them")
    say(page, "she said she wants to kill herself")
    expect(page.locator('#flags [data-code="self_harm_risk"]')).to_be_visible()
    expect(page.locator('#flags [data-code="active_deadline"]')).to_be_visible()
    # (the meaning voter may also hear ongoing risk in a demand: each flag shown is
    # announced once, whichever they are)
    shown = page.locator("#flags .flag").count()
    # only the conversation log announces the new flag: the banner is not a live region too
    live = page.evaluate("""[...document.querySelectorAll('[aria-live]')]
        .filter(e => e.getAttribute('aria-live') !== 'off' && e.querySelector('.flag'))
        .map(e => e.id)""")
    assert live == []
    expect(page.locator("#messages .from-bot", has_text="RED FLAG")).to_have_count(shown)
    # nothing on the panel needs an emoji font: banner, bot messages, buttons
    shown = page.locator(".panel").inner_text()
    assert not EMOJI.search(shown), EMOJI.findall(shown)
    say(page, "time left?")
    shown = page.locator(".panel").inner_text()
    assert not EMOJI.search(shown), EMOJI.findall(shown)
