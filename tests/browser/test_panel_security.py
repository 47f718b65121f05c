"""Who may host the side panel. A page of another origin that frames the panel and hands it
a token (its own, for a conversation it can read) must not get what the counsellor types:
the browser refuses to show the panel in it (CSP frame-ancestors), and were that header
lost on the way, panel.js still refuses the token. A page of an origin named in
PANEL_HOST_ORIGINS hands the panel its token as before."""
from __future__ import annotations

import http.server
import json
import threading
import uuid

import pytest
from playwright.sync_api import expect

from panel_page import STORE, start_child_case
from stack import user_token


class HostSite:
    """A helpline's page on an origin of its own (another port of 127.0.0.1), which frames
    the panel and posts it a token, as embed.js does, until the test ends."""

    def __init__(self) -> None:
        self.pages: dict[str, str] = {}
        pages = self.pages

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path, "").encode()
                self.send_response(200 if body else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"

    def framing(self, panel_url: str, token: str, conversation: str) -> str:
        """The URL of a page that frames the panel and keeps posting it this token."""
        config = json.dumps({"type": "helpline-panel:config", "token": token,
                             "conversationId": conversation})
        self.pages["/host.html"] = f"""<!doctype html><title>Host page</title>
<iframe id="panel" title="panel" src="{panel_url}/index.html" style="width:400px;height:700px"></iframe>
<script>
  var frame = document.getElementById("panel");
  var posts = 0;
  var timer = setInterval(function () {{
    frame.contentWindow.postMessage({config}, "*");
    if (++posts >= 80) clearInterval(timer);
  }}, 100);
</script>"""
        return f"{self.origin}/host.html"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SocketWatch:
    """What a page (all its frames) sends towards the Rasa server's Socket.IO."""

    def __init__(self, page) -> None:
        self.urls: list[str] = []
        self.sent: list[str] = []
        page.on("request", self.on_request)
        page.on("websocket", self.on_websocket)

    def on_request(self, request) -> None:
        self.urls.append(request.url)
        if "/socket.io/" in request.url and request.post_data:
            self.sent.append(request.post_data)

    def on_websocket(self, ws) -> None:
        self.urls.append(ws.url)
        ws.on("framesent", lambda payload: self.sent.append(
            payload if isinstance(payload, str) else payload.decode("utf-8", "replace")))

    def socketio(self) -> list[str]:
        return [url for url in self.urls if "/socket.io/" in url]

    def carried(self, token: str) -> bool:
        return any(token in data for data in self.sent)


@pytest.fixture
def host_site():
    site = HostSite()
    yield site
    site.close()


@pytest.fixture
def panel_hosts(stack):
    """Restart the stack's panel server (same port, same origin) with PANEL_HOST_ORIGINS
    set, as an operator would; the original panel server is back after the test."""

    def restart(origins: str | None) -> None:
        stack.panel_server.shutdown()
        stack.panel_server.server_close()
        if origins:
            stack.env["PANEL_HOST_ORIGINS"] = origins
        else:
            stack.env.pop("PANEL_HOST_ORIGINS", None)
        stack.start_panel()

    yield restart
    restart(None)


def fresh_session(stack) -> tuple[str, str]:
    """A valid token and its conversation: what a framing page would hand the panel, to
    read afterwards what the counsellor typed."""
    conversation = f"panel-{uuid.uuid4().hex}"
    return user_token(stack.secret, conversation), conversation


def panel_frame(page, stack):
    return next(f for f in page.frames if f.url.startswith(f"{stack.panel_url}/index.html"))


def test_a_page_of_another_origin_cannot_show_the_panel(context, stack, host_site):
    page = context.new_page()
    watch = SocketWatch(page)
    token, conversation = fresh_session(stack)
    page.goto(host_site.framing(stack.panel_url, token, conversation))
    page.wait_for_timeout(4000)  # longer than the panel's wait before it would go on alone
    assert not any(url.endswith("/panel.js") for url in watch.urls), "the panel ran"
    assert page.frame_locator("#panel").locator("#status").count() == 0
    assert watch.socketio() == []
    assert not watch.carried(token)


def test_without_frame_ancestors_the_panel_still_refuses_a_token_from_another_origin(
        context, stack, host_site):
    """As if a proxy dropped the panel's Content-Security-Policy: panel.js's own check."""
    page = context.new_page()

    def without_csp(route) -> None:
        answer = route.fetch()
        headers = {k: v for k, v in answer.headers.items()
                   if k.lower() != "content-security-policy"}
        route.fulfill(response=answer, headers=headers)

    page.route(f"{stack.panel_url}/index.html", without_csp)
    watch = SocketWatch(page)
    token, conversation = fresh_session(stack)
    page.goto(host_site.framing(stack.panel_url, token, conversation))
    status = page.frame_locator("#panel").locator("#status")
    expect(status).to_contain_text("No token: this page may not host the panel")
    page.wait_for_timeout(3000)  # the host keeps posting its token meanwhile
    expect(status).to_have_attribute("data-state", "refused")
    saved = panel_frame(page, stack).evaluate(f"JSON.parse(sessionStorage.getItem('{STORE}'))")
    assert not (saved or {}).get("token")
    assert watch.socketio() == []
    assert not watch.carried(token)


def test_a_page_of_an_origin_named_in_panel_host_origins_hands_the_panel_its_token(
        context, stack, host_site, panel_hosts):
    panel_hosts(host_site.origin)
    page = context.new_page()
    watch = SocketWatch(page)
    token, conversation = fresh_session(stack)
    page.goto(host_site.framing(stack.panel_url, token, conversation))
    frame = page.frame_locator("#panel")
    expect(frame.locator("#status")).to_contain_text("Connected")
    assert watch.carried(token)
    start_child_case(frame)  # what the counsellor does goes into the host's conversation
    saved = panel_frame(page, stack).evaluate(f"JSON.parse(sessionStorage.getItem('{STORE}'))")
    assert saved["conversationId"] == conversation and saved["token"] == token
