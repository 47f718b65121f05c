"""The side panel's web server: the static files of webchat/ and three small JSON endpoints.

    GET  /config.json   where the Rasa server is, the helpline's time zone, whether demo
                        tokens are on
    GET  /flags.json    label, meaning and escalation of each red flag, from data/risk/flags.yml
    POST /demo/token    development only (off when HELPLINE_ENV=production): a token of role
                        `user` for a fresh conversation, as a helpline's back end would mint

Every response is sent with a Content-Security-Policy that allows scripts from this server
only, connections to the Rasa server only, and framing by the helpline's own pages only
(``frame-ancestors``: the origins of ``settings.host_origins``). Request lines are not logged,
folders are not listed, and the ``Server`` header names no software version.

:class:`PanelServer` gives a connection a thread only once its request has arrived whole, so
idle or half-sent connections cannot use up the server's threads (see there); :func:`serve`
starts one.
"""
from __future__ import annotations

import functools
import http.server
import io
import json
import queue
import re
import selectors
import socket
import sys
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
WEBCHAT = ROOT / "webchat"
FLAGS = ROOT / "data" / "risk" / "flags.yml"
#: ``scheme://host[:port]``, nothing else: an origin goes into a Content-Security-Policy.
ORIGIN = re.compile(r"https?://([a-z0-9.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?", re.IGNORECASE)


def flag_meanings(path: Path = FLAGS) -> dict[str, dict[str, str]]:
    with open(path, encoding="utf-8") as f:
        flags = yaml.safe_load(f) or {}
    def plain(value: object) -> object:  # the escalation step is worded per caller role
        if isinstance(value, dict):
            return {role: " ".join(str(text).split()) for role, text in value.items()}
        return " ".join(str(value).split())

    return {code: {key: plain(info[key])
                   for key in ("label", "short", "meaning", "escalation", "severity")
                   if key in info}
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
    csp = "default-src 'self'; frame-ancestors 'none'"
    server_version = "helpline-panel"
    sys_version = ""
    #: Seconds a connection may stay silent (a PanelServer sets its own ``request_timeout``).
    timeout: float | None = 10.0

    def setup(self) -> None:
        self.timeout = getattr(self.server, "request_timeout", self.timeout)
        super().setup()
        take_head = getattr(self.server, "take_head", None)
        head = take_head(self.connection) if take_head else b""
        if head:  # the PanelServer read the request's start already: read it again here
            self.rfile.close()
            self.rfile = io.BufferedReader(Replay(head, self.connection))

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: object) -> None:  # no request logs
        pass

    def list_directory(self, path: str) -> None:
        """No folder listings: a folder without an index.html is not found."""
        self.send_error(HTTPStatus.NOT_FOUND, "File not found")
        return None

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
            host_origins: list[str], directory: Path = WEBCHAT,
            max_message_chars: int = 20000) -> Callable[..., PanelHandler]:
    """A request handler class for :class:`PanelServer`. ``mint_token(conversation_id)``
    turns on /demo/token; pass None in production. ``host_origins`` are the origins of the
    pages that may frame the panel and hand it a token (``settings.host_origins``, the
    panel's own origin first); the browser enforces them (``frame-ancestors``) and so does
    panel.js (it reads them from /config.json)."""
    for origin in host_origins:
        if not ORIGIN.fullmatch(origin):
            raise ValueError(f"{origin!r} is not an origin such as https://crm.helpline.example")
    ancestors = " ".join(host_origins) or "'none'"
    # No X-Frame-Options: it cannot name several origins, and frame-ancestors supersedes it.
    csp = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; "
           f"connect-src 'self' {socket_origins(rasa_url)}; object-src 'none'; "
           "base-uri 'none'; form-action 'none'; "
           f"frame-ancestors {ancestors}")
    attrs = {
        "config": {"rasa_url": rasa_url, "timezone": timezone,
                   "max_message_chars": max_message_chars,
                   "demo_tokens": mint_token is not None, "host_origins": list(host_origins)},
        "flags": flag_meanings(),
        "mint_token": staticmethod(mint_token) if mint_token else None,
        "csp": csp,
    }
    cls = type("ConfiguredPanelHandler", (PanelHandler,), attrs)
    return functools.partial(cls, directory=str(directory))


class Replay(io.RawIOBase):
    """A connection read as a file: first the bytes the server has read from it already,
    then the socket's."""

    def __init__(self, head: bytes, connection: socket.socket) -> None:
        self.head = memoryview(head)
        self.connection = connection

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.head:
            n = min(len(buffer), len(self.head))
            buffer[:n] = self.head[:n]
            self.head = self.head[n:]
            return n
        return self.connection.recv_into(buffer)


@dataclass
class Waiting:
    """A connection whose request has not arrived whole yet."""

    address: Any
    deadline: float
    head: bytearray = field(default_factory=bytearray)


SERVICE_UNAVAILABLE = (b"HTTP/1.0 503 Service Unavailable\r\nServer: helpline-panel\r\n"
                       b"Retry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")


class PanelServer(http.server.ThreadingHTTPServer):
    """A ThreadingHTTPServer that idle and half-sent connections cannot take down.

    A plain ThreadingHTTPServer starts a thread per connection, which then waits for the
    request as long as the client likes: 800 connections that sent half a request held 800
    threads. Here one thread reads the start of every new connection (a selector) and a
    connection gets a thread of its own only once its request head has arrived; at most
    ``max_workers`` answer at once (beyond that: 503 at once). A connection whose head is not
    complete ``request_timeout`` seconds after it was accepted is closed, however slowly it
    trickles in; when ``max_waiting`` connections wait, the one that has waited longest is
    closed to make room, so a new request is served even then.
    """

    daemon_threads = True
    request_queue_size = 128
    #: A request head (request line and headers) longer than this is dropped.
    max_head_bytes = 64 * 1024

    def __init__(self, address: tuple[str, int], handler: Callable[..., Any], *,
                 request_timeout: float = 10.0, max_workers: int = 64,
                 max_waiting: int = 256) -> None:
        self.request_timeout = request_timeout
        self.max_waiting = max_waiting
        self.workers = threading.BoundedSemaphore(max_workers)
        self.heads: dict[socket.socket, bytes] = {}  # read, for the worker that answers
        self.arrivals: queue.SimpleQueue = queue.SimpleQueue()
        self.waiting: OrderedDict[socket.socket, Waiting] = OrderedDict()  # reader's only
        self.selector = selectors.DefaultSelector()
        self.wake_up, self.wake_call = socket.socketpair()
        self.wake_up.setblocking(False)
        self.wake_call.setblocking(False)
        self.selector.register(self.wake_up, selectors.EVENT_READ)
        self.closing = False
        self.reader = threading.Thread(target=self.read_heads, name="panel-server-heads",
                                       daemon=True)
        super().__init__(address, handler)
        self.reader.start()

    # -- in the serve_forever thread -------------------------------------------------------
    def process_request(self, request: socket.socket, client_address: Any) -> None:
        """Pass a new connection to the reader thread; no thread of its own yet."""
        self.arrivals.put((request, client_address))
        self.wake()

    def wake(self) -> None:
        try:
            self.wake_call.send(b"\0")
        except OSError:  # its buffer is full: a wake-up is pending anyway
            pass

    # -- in the reader thread --------------------------------------------------------------
    def read_heads(self) -> None:
        while not self.closing:
            self.admit_arrivals()
            for key, _ in self.selector.select(self.drop_expired()):
                if key.fileobj is self.wake_up:
                    try:
                        while self.wake_up.recv(4096):
                            pass
                    except OSError:
                        pass
                else:
                    self.read_head(key.fileobj)
        self.admit_arrivals()
        for conn in list(self.waiting):
            self.drop(conn)

    def admit_arrivals(self) -> None:
        while True:
            try:
                conn, address = self.arrivals.get_nowait()
            except queue.Empty:
                return
            if len(self.waiting) >= self.max_waiting:
                self.drop(next(iter(self.waiting)))  # the one that has waited longest
            conn.setblocking(False)
            self.waiting[conn] = Waiting(address, time.monotonic() + self.request_timeout)
            self.selector.register(conn, selectors.EVENT_READ)

    def drop_expired(self) -> float | None:
        """Close the connections past their deadline; seconds until the next one's."""
        now = time.monotonic()
        while self.waiting:
            conn, waiting = next(iter(self.waiting.items()))  # in order of arrival
            if waiting.deadline > now:
                return waiting.deadline - now
            self.drop(conn)
        return None

    def read_head(self, conn: socket.socket) -> None:
        waiting = self.waiting[conn]
        try:
            data = conn.recv(65536)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:  # the client has gone
            return self.drop(conn)
        waiting.head += data
        if b"\r\n\r\n" in waiting.head or b"\n\n" in waiting.head:
            self.selector.unregister(conn)
            del self.waiting[conn]
            self.dispatch(conn, waiting.address, bytes(waiting.head))
        elif len(waiting.head) > self.max_head_bytes:
            self.drop(conn)

    def drop(self, conn: socket.socket) -> None:
        self.selector.unregister(conn)
        del self.waiting[conn]
        self.shutdown_request(conn)

    def dispatch(self, conn: socket.socket, address: Any, head: bytes) -> None:
        """Answer a connection whose request head has arrived, in a thread of its own."""
        conn.setblocking(True)
        if not self.workers.acquire(blocking=False):
            try:
                conn.send(SERVICE_UNAVAILABLE, socket.MSG_DONTWAIT)
            except OSError:
                pass
            self.shutdown_request(conn)
            return
        self.heads[conn] = head
        try:
            threading.Thread(target=self.answer, args=(conn, address), daemon=True).start()
        except RuntimeError:  # no thread to be had
            self.heads.pop(conn, None)
            self.workers.release()
            self.shutdown_request(conn)

    # -- in a worker thread ----------------------------------------------------------------
    def answer(self, conn: socket.socket, address: Any) -> None:
        try:
            self.process_request_thread(conn, address)  # the handler, then close
        finally:
            self.heads.pop(conn, None)
            self.workers.release()

    def take_head(self, conn: socket.socket) -> bytes:
        """The start of ``conn``'s request, read by the reader thread (for the handler)."""
        return self.heads.pop(conn, b"")

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that went away or stalled while being answered is not worth a
        traceback; anything else is a fault of the server and is printed."""
        if isinstance(sys.exc_info()[1], OSError):
            return
        super().handle_error(request, client_address)

    def server_close(self) -> None:
        self.closing = True
        self.wake()
        if self.reader.is_alive():
            self.reader.join(timeout=5)
        super().server_close()
        self.selector.close()
        self.wake_up.close()
        self.wake_call.close()


def serve(host: str, port: int, handler: Callable[..., Any], **options: Any) -> PanelServer:
    """A :class:`PanelServer` on ``host:port`` (port 0: any free one), serving in a daemon
    thread; stop it with ``shutdown()`` and ``server_close()``. ``options`` are
    PanelServer's: ``request_timeout``, ``max_workers``, ``max_waiting``."""
    server = PanelServer((host, port), handler, **options)
    threading.Thread(target=server.serve_forever, name="panel-server", daemon=True).start()
    return server
