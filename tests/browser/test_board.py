"""The supervisor's board in a real browser against a real stack, beside two counsellors'
panels: a red flag raised in panel A shows on the board within seconds; acknowledging it
on the board (with the keyboard) shows "Supervisor acknowledged at" in panel A and not in
panel B; closing case A takes it off the board. And the roles: a counsellor's token cannot
open the board, and a supervisor's token cannot write into any conversation, on any of the
Rasa server's channels. And the floor demo (demo-floor.html, development only): two panels
and the board on one page."""
from __future__ import annotations

import time
import uuid

import pytest
import requests
import socketio
from playwright.sync_api import expect

from panel_page import STORE, SELF_HARM_NOTE, open_panel, say, start_child_case, stored
from stack import supervisor_token, user_token

#: a deadline inside the hour: the board's urgent styling
SOON_NOTE = "he gave her 45 minutes to send more pics or he posts them"


@pytest.fixture
def contexts(browser):
    """New browser profiles (each its own sessionStorage), closed after the test."""
    made = []

    def new_context(width: int, height: int):
        context = browser.new_context(viewport={"width": width, "height": height},
                                      locale="en-GB")
        context.set_default_timeout(60_000)
        made.append(context)
        return context

    yield new_context
    for context in made:
        context.close()


def panel(contexts, stack):
    page = contexts(400, 800).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    open_panel(page, stack)
    start_child_case(page)
    return page


def open_board(contexts, stack, token: str):
    page = contexts(1440, 900).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    page.goto(f"{stack.panel_url}/supervisor.html#token={token}")
    return page


def rest_say(stack, conversation: str, text: str, counsellor: str) -> list[dict]:
    """A message over the REST channel with a counsellor's own token (the back end's way)."""
    r = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", timeout=60,
                      json={"sender": conversation, "message": text},
                      headers={"Authorization": "Bearer " + user_token(
                          stack.secret, conversation, counsellor=counsellor)})
    r.raise_for_status()
    return r.json()


def test_a_flag_reaches_the_board_and_its_acknowledgement_reaches_that_panel_only(
        contexts, stack, shots, tmp_path):
    a, b = panel(contexts, stack), panel(contexts, stack)
    case_a = stored(a)["caseState"]["case_id"]
    case_b = stored(b)["caseState"]["case_id"]
    board = open_board(contexts, stack, supervisor_token(stack.secret, "sup-browser"))
    expect(board.locator("#status")).to_contain_text("Live")
    assert "token" not in board.url  # the fragment left the address bar at once
    row_a = board.locator(f'#rows tr[data-case="{case_a}"]')
    row_b = board.locator(f'#rows tr[data-case="{case_b}"]')
    expect(row_a).to_be_visible()
    expect(row_a).to_contain_text("dev-counsellor")  # the demo token's claim, via Socket.IO
    expect(row_a).to_contain_text("Young person")

    say(a, SELF_HARM_NOTE)
    expect(a.locator('#flags [data-code="self_harm_risk"]')).to_be_visible()
    shown = time.monotonic()
    expect(row_a.locator('[data-code="self_harm_risk"]')).to_be_visible(timeout=5000)
    assert time.monotonic() - shown < 5
    expect(row_a).to_have_attribute("data-urgent", "yes")
    expect(row_a).to_contain_text("NOT started")
    say(b, SELF_HARM_NOTE)
    expect(row_b.locator('[data-code="self_harm_risk"]')).to_be_visible(timeout=5000)
    conversation = f"board-{uuid.uuid4().hex[:10]}"
    rest_say(stack, conversation, '/start_case{"caller_role":"parent_carer"}', "A. Okafor")
    rest_say(stack, conversation, SOON_NOTE, "A. Okafor")
    expect(board.locator("#rows tr", has_text="A. Okafor")).to_contain_text("URGENT", timeout=5000)

    # the keyboard alone: to the row, A acknowledges its first flag not yet acknowledged
    row_a.focus()
    board.keyboard.press("a")
    expect(row_a).to_contain_text("Acknowledged")
    expect(row_a).to_contain_text("sup-browser")
    expect(row_a).to_have_attribute("data-urgent", "no")
    expect(a.locator('#flags [data-code="self_harm_risk"] .flag-ack')).to_contain_text(
        "Supervisor acknowledged at", timeout=15_000)
    b.wait_for_timeout(4000)  # more than a turn of the panels' timer
    expect(b.locator(".flag-ack")).to_have_count(0)
    expect(board.locator("#rows tr").first).to_have_attribute("data-case", case_b)

    # Enter opens the handover (written to the audit log); Escape closes it
    row_a.focus()
    board.keyboard.press("Enter")
    expect(board.locator("#handover-text")).to_contain_text("Handover")
    board.keyboard.press("Escape")
    expect(board.locator("#handover")).to_be_hidden()
    expect(row_a).to_be_focused()

    board.evaluate("document.activeElement.blur()")
    board.wait_for_timeout(300)
    board.screenshot(path=str(shots / "board-1440x900.png"))
    a.screenshot(path=str(tmp_path / "panel-acknowledged-400x800.png"))
    board.locator("#large").click()
    expect(board.locator("#large")).to_have_attribute("aria-pressed", "true")
    for width in (1440, 1280):  # large type, 1280 px too: no sideways scrolling
        board.set_viewport_size({"width": width, "height": 900})
        assert board.evaluate("document.documentElement.scrollWidth") <= width
    board.screenshot(path=str(tmp_path / "board-large-1280x900.png"))

    say(a, "close case")
    expect(row_a).to_have_count(0, timeout=5000)
    expect(row_b).to_be_visible()
    for page in (a, b, board):
        assert page.errors == []  # type: ignore[attr-defined]


def floor_store(page, desk: str) -> dict:
    """A floor panel's stored session: each named panel keeps its own (embed.js data-name)."""
    return page.frame(name=desk).evaluate(
        f"JSON.parse(sessionStorage.getItem('{STORE}:{desk}'))")


def test_the_floor_demo_shows_two_panels_and_the_board_and_a_flag_on_its_case_only(
        contexts, stack, shots, tmp_path):
    page = contexts(1600, 900).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(f"{stack.panel_url}/demo.html")
    link = page.get_by_role("link", name="Open the supervisor's board beside two panels")
    assert link.get_attribute("href") == "demo-floor.html"
    # as make run prints it: the board's development token in the fragment, never sent
    token = supervisor_token(stack.secret, "demo-supervisor")
    page.goto(f"{stack.panel_url}/demo-floor.html#token={token}")
    expect(page).to_have_url(f"{stack.panel_url}/demo-floor.html")  # taken, then removed
    desks = [page.frame_locator(f"#{desk} iframe") for desk in ("desk-1", "desk-2")]
    board = page.frame_locator("#board iframe")
    for desk in desks:
        expect(desk.locator("#status")).to_contain_text("Connected")
        start_child_case(desk)
    expect(board.locator("#status")).to_contain_text("Live")
    assert "token" not in page.frame(name="board").url  # taken from the fragment, removed
    one, two = floor_store(page, "desk-1"), floor_store(page, "desk-2")
    assert one["conversationId"] != two["conversationId"]
    row_1 = board.locator(f'#rows tr[data-case="{one["caseState"]["case_id"]}"]')
    row_2 = board.locator(f'#rows tr[data-case="{two["caseState"]["case_id"]}"]')
    expect(row_1).to_be_visible()
    expect(row_2).to_be_visible()

    say(desks[0], SELF_HARM_NOTE)
    expect(row_1.locator('[data-code="self_harm_risk"]')).to_be_visible(timeout=5000)
    expect(row_1).to_have_attribute("data-urgent", "yes")
    expect(row_2.locator(".flag")).to_have_count(0)
    expect(row_2).to_contain_text("None")
    expect(desks[1].locator("#flags .flag")).to_have_count(0)

    page.wait_for_timeout(300)
    page.screenshot(path=str(shots / "demo-floor-1600x900.png"))
    for width in (1440, 1920):  # the three side by side, no sideways scrolling
        page.set_viewport_size({"width": width, "height": 900})
        boxes = [page.locator(f"#{slot}").bounding_box() for slot in ("desk-1", "desk-2", "board")]
        assert all(box and box["width"] >= 320 for box in boxes), boxes
        assert boxes[0]["x"] < boxes[1]["x"] < boxes[2]["x"]  # type: ignore[index]
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert page.frame(name="board").evaluate(
            "document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(tmp_path / f"demo-floor-{width}x900.png"))

    page.set_viewport_size({"width": 1600, "height": 900})
    row_1.click()  # the framed board opens a handover as the board's own page does
    expect(board.locator("#handover-text")).to_contain_text("Handover")
    board.locator("#handover-close").click()
    expect(board.locator("#handover")).to_be_hidden()

    page.reload()  # each panel keeps its own conversation; the board opens again
    desks = [page.frame_locator(f"#{desk} iframe") for desk in ("desk-1", "desk-2")]
    expect(desks[0].locator('#flags [data-code="self_harm_risk"]')).to_be_visible()
    expect(page.frame_locator("#board iframe").locator("#status")).to_contain_text("Live")
    assert floor_store(page, "desk-1")["conversationId"] == one["conversationId"]
    assert floor_store(page, "desk-2")["conversationId"] == two["conversationId"]
    expect(desks[1].locator("#flags .flag")).to_have_count(0)
    assert errors == []


def test_a_counsellors_token_cannot_open_the_board(contexts, stack):
    token = user_token(stack.secret, f"panel-{uuid.uuid4().hex}")
    board = open_board(contexts, stack, token)
    expect(board.locator("#token-help")).to_contain_text("may not open the supervisor's board")
    expect(board.locator("#rows tr")).to_have_count(0)
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/supervisor/cases", "/supervisor/stream", f"/supervisor/case/{'a' * 32}"):
        r = requests.get(f"{stack.panel_url}{path}", headers=headers, timeout=10)
        assert r.status_code == 403, path
    r = requests.post(f"{stack.panel_url}/supervisor/ack", headers=headers, timeout=10,
                      json={"case_id": "a" * 32, "code": "self_harm_risk"})
    assert r.status_code == 403
    assert requests.get(f"{stack.panel_url}/supervisor/cases", timeout=10).status_code == 401


def test_a_supervisors_token_writes_into_no_conversation(stack):
    conversation = f"panel-{uuid.uuid4().hex}"
    headers = {"Authorization": f"Bearer {supervisor_token(stack.secret, 'sup-x')}"}
    rest = requests.post(f"{stack.rasa_url}/webhooks/rest/webhook", headers=headers, timeout=30,
                         json={"sender": conversation, "message": "hello"})
    assert rest.status_code == 403
    for method, path in (("GET", f"/conversations/{conversation}/tracker"),
                         ("POST", f"/conversations/{conversation}/messages"),
                         ("POST", f"/conversations/{conversation}/trigger_intent")):
        r = requests.request(method, f"{stack.rasa_url}{path}", headers=headers, timeout=30,
                             json={"text": "hello", "sender": "user", "name": "greet"})
        assert r.status_code == 403, path
    client = socketio.Client(reconnection=False)
    with pytest.raises(socketio.exceptions.ConnectionError):
        client.connect(stack.rasa_url, auth={"token": headers["Authorization"][7:]},
                       socketio_path="/socket.io", wait_timeout=30)
