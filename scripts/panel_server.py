"""The side panel's web server: the static files of webchat/ and three small JSON endpoints.

    GET  /config.json   where the Rasa server is, the helpline's time zone, whether demo
                        tokens are on
    GET  /flags.json    label, meaning and escalation of each red flag, from data/risk/flags.yml
    POST /demo/token    development only (off when HELPLINE_ENV=production): a token of role
                        `user` for a fresh conversation, as a helpline's back end would mint

Every page is sent with a Content-Security-Policy that allows scripts from this server only
and connections to the Rasa server only. Request lines are not logged.
"""
from __future__ import annotations

import functools
import http.server
import json
import uuid
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
WEBCHAT = ROOT / "webchat"
FLAGS = ROOT / "data" / "risk" / "flags.yml"


def flag_meanings(path: Path = FLAGS) -> dict[str, dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        flags = yaml.safe_load(f) or {}
    return {code: {key: " ".join(str(info.get(key, "")).split())
                   for key in ("label", "meaning", "escalation")}
            for code, info in flags.items()}


def socket_origins(rasa_url: str) -> str:
    """``http://host:port ws://host:port`` for a Content-Security-Policy's connect-src."""
    parts = urlsplit(rasa_url)
    ws = "wss" if parts.scheme == "https" else "ws"
    return f"{parts.scheme}://{parts.netloc} {ws}://{parts.netloc}"


class PanelHandler(http.server.SimpleHTTPRequestHandler):
    """Static files plus the JSON endpoints; built by :func:`handler`."""

    config: dict[str, Any] = {}
    flags: dict[str, dict[str, str]] = {}
    mint_token: Callable[[str], str] | None = None
    csp = "default-src 'self'"

    def log_message(self, format: str, *args: object) -> None:  # no request logs
        pass

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", self.csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        super().end_headers()

    def send_json(self, body: Any, status: int = 200) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path == "/config.json":
            return self.send_json(self.config)
        if path == "/flags.json":
            return self.send_json(self.flags)
        if path.startswith("/demo/token"):
            return self.send_json({"error": "use POST"}, 405)
        return super().do_GET()

    def do_POST(self) -> None:
        if urlsplit(self.path).path != "/demo/token" or self.mint_token is None:
            return self.send_json({"error": "not found"}, 404)
        conversation_id = f"panel-{uuid.uuid4().hex}"
        self.send_json({"token": self.mint_token(conversation_id),
                        "conversation_id": conversation_id})


def handler(rasa_url: str, timezone: str, mint_token: Callable[[str], str] | None,
            directory: Path = WEBCHAT) -> Callable[..., PanelHandler]:
    """A request handler class for ThreadingHTTPServer. ``mint_token(conversation_id)``
    turns on /demo/token; pass None in production."""
    csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
           f"connect-src 'self' {socket_origins(rasa_url)}; object-src 'none'; "
           "base-uri 'none'; form-action 'none'")
    attrs = {
        "config": {"rasa_url": rasa_url, "timezone": timezone,
                   "demo_tokens": mint_token is not None},
        "flags": flag_meanings(),
        "mint_token": staticmethod(mint_token) if mint_token else None,
        "csp": csp,
    }
    cls = type("ConfiguredPanelHandler", (PanelHandler,), attrs)
    return functools.partial(cls, directory=str(directory))
