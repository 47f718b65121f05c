"""The panel while the Rasa server restarts: the countdown goes on, the panel reconnects by
itself and the same conversation continues. Runs last: it restarts the stack's Rasa server."""
from __future__ import annotations

import re
import signal

from playwright.sync_api import expect

import stack as stack_module
from panel_page import SELF_HARM_NOTE, open_panel, say, start_child_case, stored


def rasa_process(stack):
    """The running Rasa server (started as `python -m rasa_plugins.run_rasa run ...`)."""
    return next(p for p in stack.processes
                if p.poll() is None and "rasa_plugins.run_rasa" in map(str, p.args))


def test_countdown_runs_while_rasa_restarts_and_the_case_goes_on(page, stack):
    open_panel(page, stack)
    start_child_case(page)
    say(page, "he gave her 5 minutes to pay or he sends them to everyone")
    left = page.locator("#deadline-left")
    expect(left).to_have_text(re.compile(r"\d+ min \d\d s left$"))
    conversation = stored(page)["conversationId"]

    stack.kill(rasa_process(stack), signal.SIGTERM)
    expect(page.locator("#status")).to_contain_text("countdown keeps running")
    shown = left.inner_text()
    expect(left).not_to_have_text(shown)  # still ticking with the server gone
    expect(page.locator('#flags [data-code="active_deadline"]')).to_be_visible()

    stack.start_rasa(stack_module.current_model())
    stack.wait_ready(timeout=300)
    expect(page.locator("#status")).to_contain_text("Connected")
    say(page, SELF_HARM_NOTE)
    expect(page.locator('#flags [data-code="self_harm_risk"]')).to_be_visible()
    expect(page.locator('#flags [data-code="active_deadline"]')).to_be_visible()
    assert stored(page)["conversationId"] == conversation
