"""The counsellor's side panel in a real browser against a real stack: a child case with a
deadline and a self-harm red flag, the banner and countdown, a reload, safe rendering,
keyboard use, narrow layouts, the embed on a host page, and tokens."""
from __future__ import annotations

import re
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from panel_page import (DEADLINE_NOTE, SELF_HARM_NOTE, banner_text, bot_count, meaning,
                        open_panel, say, start_child_case, stored)
from stack import user_token
from support import Chat


def test_child_case_shows_flags_and_countdown_and_a_reload_restores_them(page, stack, shots):
    open_panel(page, stack)
    expect(page.get_by_role("button", name="Parent or carer")).to_be_visible()
    start_child_case(page)
    expect(page.locator("#no-flags")).to_be_visible()

    say(page, DEADLINE_NOTE)
    deadline_flag = page.locator('#flags [data-code="active_deadline"]')
    expect(deadline_flag).to_contain_text("Red flag: Outstanding deadline")
    expect(deadline_flag).to_contain_text(meaning("active_deadline"))
    expect(page.locator("#deadline-left")).to_have_text(re.compile(r"^[12] h \d\d min left$"))
    state = stored(page)["caseState"]
    at = datetime.fromisoformat(state["deadline_at"]).astimezone(ZoneInfo("Europe/London"))
    expect(page.locator("#deadline-when")).to_contain_text(f"{at:%H:%M}")
    expect(page.locator("#deadline-when")).to_contain_text("(Europe/London)")

    say(page, SELF_HARM_NOTE)
    self_harm = page.locator('#flags [data-code="self_harm_risk"]')
    expect(self_harm).to_contain_text("Red flag: Self-harm or suicide risk")
    expect(self_harm).to_contain_text(meaning("self_harm_risk"))
    expect(page.locator("#no-flags")).to_be_hidden()
    expect(page.locator("#escalation-text")).to_contain_text("Escalation not confirmed")
    expect(page.locator("#checklist-summary")).to_contain_text(re.compile(r"Checklist: \d+ of \d+ done"))
    page.screenshot(path=str(shots / "panel-child-case.png"))

    before = banner_text(page)
    messages = page.locator("#messages li").all_inner_texts()
    conversation = stored(page)["conversationId"]
    page.reload()
    expect(page.locator("#status")).to_contain_text("Connected")
    assert banner_text(page) == before
    expect(page.locator("#deadline-left")).to_have_text(re.compile(r"^[12] h \d\d min left$"))
    restored = page.locator("#messages li").all_inner_texts()
    assert restored[:len(messages)] == messages  # replies still on their way may follow
    assert stored(page)["conversationId"] == conversation

    # The same conversation goes on after the reload: the escalation button reaches Rasa.
    page.locator("#escalation-confirm").click()
    expect(page.locator("#escalation-text")).to_contain_text("Escalation started")
    expect(page.locator("#escalation-confirm")).to_be_hidden()
    assert page.errors == []


def test_the_countdown_turns_urgent_in_the_last_hour_and_says_when_it_has_passed(page, stack):
    open_panel(page, stack)
    start_child_case(page)
    say(page, DEADLINE_NOTE)
    expect(page.locator('#flags [data-code="active_deadline"]')).to_be_visible()
    page.clock.install()
    page.reload()  # the panel now runs on the test's clock, from the stored case state
    expect(page.locator("#deadline-left")).to_have_text(re.compile(r"^[12] h \d\d min left$"))
    page.clock.fast_forward("01:30:00")
    expect(page.locator("#deadline-left")).to_have_text(re.compile(r"^URGENT: (29|30) min left$"))
    expect(page.locator("#deadline")).to_have_attribute("data-state", "urgent")
    page.clock.fast_forward("00:31:00")
    expect(page.locator("#deadline-left")).to_have_text(re.compile(r"^Deadline passed \d+ min \d\d s ago$"))
    expect(page.locator("#deadline-alert")).to_have_text("The deadline has passed.")


def test_counsellor_and_bot_text_is_shown_as_text_never_run_as_html(page, stack):
    open_panel(page, stack)
    start_child_case(page)
    attack = '<img src=x onerror="window.__xss=1">'
    markup = "<b>bold</b> <script>window.__xss=2</script> <a href=\"javascript:window.__xss=3\">x</a>"
    links = "see javascript:window.__xss=4 and https://example.org/report?a=1 now"
    for text in (attack, markup, links):
        say(page, text)
    mine = page.locator("#messages .from-me .message-text").all_inner_texts()
    assert attack in mine and markup in mine and links in mine
    assert page.locator("#messages img, #messages b, #messages script, #messages iframe").count() == 0
    anchors = page.locator("#messages a")
    hrefs = [anchors.nth(i).get_attribute("href") for i in range(anchors.count())]
    assert "https://example.org/report?a=1" in hrefs
    assert all(h.startswith(("https://", "http://")) for h in hrefs), hrefs
    assert anchors.first.get_attribute("rel") == "noopener noreferrer"
    page.reload()  # restored messages are rendered the same way
    expect(page.locator("#messages .from-me .message-text").filter(has_text="onerror")).to_have_count(1)
    assert page.locator("#messages img, #messages b, #messages script").count() == 0
    assert page.evaluate("window.__xss") is None


def test_keyboard_alone_opens_a_case_and_sends_a_note(page, stack):
    open_panel(page, stack)

    def tab_to(predicate: str, limit: int = 30) -> None:
        for _ in range(limit):
            page.keyboard.press("Tab")
            if page.evaluate(f"(() => {{ const e = document.activeElement; return {predicate}; }})()"):
                return
        pytest.fail(f"Tab never reached: {predicate}")

    tab_to("e.textContent === 'Young person'")
    page.keyboard.press("Enter")
    expect(page.locator("#case-role")).to_have_text("Young person")
    tab_to("e.id === 'input'")
    before = bot_count(page)
    page.keyboard.type(SELF_HARM_NOTE)
    page.keyboard.press("Enter")
    expect(page.locator("#messages .from-bot")).not_to_have_count(before)
    expect(page.locator('#flags [data-code="self_harm_risk"]')).to_be_visible()


def test_controls_are_labelled_and_news_is_announced(page, stack):
    open_panel(page, stack)
    start_child_case(page)
    expect(page.get_by_label("Note or question for the assistant")).to_be_visible()
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    expect(page.get_by_role("log", name="Conversation")).to_have_attribute("aria-live", "polite")
    # a new flag is announced by the log's message, once: the banner list is not live too
    assert page.locator("#flags").get_attribute("aria-live") is None
    nameless = page.evaluate("""[...document.querySelectorAll('button, textarea, a, summary')]
        .filter(e => e.offsetParent !== null && !(e.textContent.trim() || e.labels?.length
                                                  || e.getAttribute('aria-label')))
        .map(e => e.outerHTML)""")
    assert nameless == []


@pytest.mark.parametrize("width,height", [(320, 640), (480, 800), (200, 400)],
                         ids=["320px", "480px", "400px-at-200%-zoom"])
def test_narrow_layouts_have_no_sideways_scrolling(context, stack, shots, width, height):
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    open_panel(page, stack)
    start_child_case(page)
    say(page, DEADLINE_NOTE)
    expect(page.locator('#flags [data-code="active_deadline"]')).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0
    for selector in ("#deadline-left", "#flags .flag-label", "#send"):
        box = page.locator(selector).first.bounding_box()
        assert box and box["x"] >= 0 and box["x"] + box["width"] <= width, selector
    if width == 320:
        page.screenshot(path=str(shots / "panel-narrow-320.png"))


def test_the_demo_host_page_embeds_the_panel_and_keeps_its_case_on_reload(context, stack, shots):
    page = context.new_page()
    page.set_viewport_size({"width": 1200, "height": 760})
    page.goto(f"{stack.panel_url}/demo.html")
    frame = page.frame_locator("iframe.helpline-panel-frame")
    expect(frame.locator("#status")).to_contain_text("Connected")
    start_child_case(frame)
    say(frame, DEADLINE_NOTE)
    say(frame, SELF_HARM_NOTE)
    expect(frame.locator('#flags [data-code="self_harm_risk"]')).to_be_visible()
    page.screenshot(path=str(shots / "panel-demo.png"))
    before = banner_text(frame)
    page.reload()
    frame = page.frame_locator("iframe.helpline-panel-frame")
    expect(frame.locator("#status")).to_contain_text("Connected")
    assert banner_text(frame) == before


@pytest.mark.parametrize("case", ["forged", "other-secret", "other-conversation"])
def test_a_host_with_a_bad_token_gets_no_case_data(context, stack, case):
    token = {"forged": "forged.token.value",
             "other-secret": user_token("another-secret-of-at-least-thirty-two-bytes", "panel-x"),
             "other-conversation": user_token(stack.secret, "panel-someone-else")}[case]
    frame = host_page(context.new_page(), stack, token, "panel-x")
    expect(frame.locator("#status")).to_contain_text("Refused")
    expect(frame.locator("#case")).to_be_hidden()
    expect(frame.locator("#messages li")).to_have_count(0)


def host_page(page, stack, token: str, conversation: str):
    """A helpline page on the panel's origin that embeds the panel with this token."""
    host = (f'<!doctype html><title>host</title><div id="slot" style="height:700px"></div>'
            f'<script src="{stack.panel_url}/embed.js" data-target="#slot" '
            f'data-token="{token}" data-conversation="{conversation}"></script>')
    page.route(f"{stack.panel_url}/host.html", lambda route: route.fulfill(
        status=200, content_type="text/html", body=host))
    page.goto(f"{stack.panel_url}/host.html")
    return page.frame_locator("iframe.helpline-panel-frame")


def test_a_panel_opened_afresh_on_a_case_shows_its_red_flags(context, stack):
    chat = Chat(stack, f"panel-{uuid.uuid4().hex}")  # the case began on another screen
    chat.say('/start_case{"caller_role":"child"}')
    chat.say(SELF_HARM_NOTE)
    frame = host_page(context.new_page(), stack, user_token(stack.secret, chat.id), chat.id)
    expect(frame.locator("#status")).to_contain_text("Connected")
    expect(frame.locator('#flags [data-code="self_harm_risk"]')).to_contain_text(
        meaning("self_harm_risk"))
    expect(frame.locator("#case-role")).to_have_text("Young person")
