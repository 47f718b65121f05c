"""What the browser tests do with the panel: open it, type a note, read the banner."""
from __future__ import annotations

import yaml
from playwright.sync_api import Page, expect

from support import ROOT

FLAGS = yaml.safe_load((ROOT / "data" / "risk" / "flags.yml").read_text())
STORE = "helpline-panel:v1"
DEADLINE_NOTE = "he gave her 2 hours to send more pics or he posts them"
SELF_HARM_NOTE = "she said she wants to kill herself"


def meaning(code: str) -> str:
    return " ".join(FLAGS[code]["meaning"].split())


def open_panel(page: Page, stack) -> None:
    page.goto(f"{stack.panel_url}/")
    expect(page.locator("#status")).to_contain_text("Connected")


def bot_count(scope) -> int:
    return scope.locator("#messages .from-bot").count()


def say(scope, text: str) -> None:
    """Type a note, press Enter, and wait for the assistant's answer."""
    before = bot_count(scope)
    scope.locator("#input").fill(text)
    scope.locator("#input").press("Enter")
    expect(scope.locator("#messages .from-bot")).not_to_have_count(before)


def stored(page: Page) -> dict:
    return page.evaluate(f"JSON.parse(sessionStorage.getItem('{STORE}'))")


def banner_text(scope) -> dict[str, str]:
    return {name: scope.locator(sel).inner_text() for name, sel in {
        "role": "#case-role", "flags": "#flags", "when": "#deadline-when",
        "escalation": "#escalation-text", "checklist": "#checklist-summary"}.items()}


def start_child_case(scope) -> None:
    before = bot_count(scope)
    scope.get_by_role("button", name="Young person", exact=True).click()
    expect(scope.locator("#case-role")).to_have_text("Young person")
    expect(scope.locator("#messages .from-bot")).not_to_have_count(before)


def child_case_page(context, stack, width: int, height: int):
    """A new tab of the given size with a child case open."""
    page = context.new_page()
    page.set_viewport_size({"width": width, "height": height})
    open_panel(page, stack)
    start_child_case(page)
    return page
