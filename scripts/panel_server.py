"""The side panel's web server: the static files of webchat/, small JSON endpoints, and the
supervisor's board.

    GET  /config.json   where the Rasa server is, the helpline's time zone, whether demo
                        tokens are on
    GET  /flags.json    label, meaning and escalation of each red flag, from data/risk/flags.yml
    GET  /roles.json    the name of each caller role and the buttons that choose one, from
                        data/messages.yml (actions/roles.py)
    POST /demo/token    development only (off when HELPLINE_ENV=production): a token of role
                        `user` for a fresh conversation, as a helpline's back end would mint

With a :class:`Board` (the case-notes store and the token secret), also:

    GET  /supervisor/cases      the board's rows (actions/board.py): role supervisor or admin
    GET  /supervisor/stream     the same rows as Server-Sent Events, pushed when they change
    POST /supervisor/ack        {"case_id", "code"}: a supervisor has seen a red flag
    GET  /supervisor/case/<id>  an open case's handover text; writes an audit line
    GET  /panel/acks            a counsellor's panel (role user): the acknowledged flags of
                                its own conversation's open cases

Tokens travel in the ``Authorization: Bearer`` header only (``?token=`` is refused), read
by rasa_plugins/tokens.py as on the Rasa server: 401 without a valid one, 403 for the
wrong role, each with a short JSON error. Nothing of a request body reaches a log.

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
from datetime import datetime, timezone
from http import HTTPStatus
from pathlib import Path
from typing import Any, Callable
from urllib.parse import parse_qs, urlsplit

import yaml

ROOT = Path(__file__).resolve().parent.parent
from actions import board as board_rows
from actions import roles as caller_roles
from actions.casenotes import StoreUnavailable, audit, summarise, to_handover
from rasa_plugins import tokens
WEBCHAT = ROOT / "webchat"
FLAGS = ROOT / "data" / "risk" / "flags.yml"
#: ``scheme://host[:port]``, nothing else: an origin goes into a Content-Security-Policy.
ORIGIN = re.compile(r"https?://([a-z0-9.-]+|\[[0-9a-f:.]+\])(:[0-9]{1,5})?", re.IGNORECASE)
#: ``/supervisor/case/<case id>``: the handover of one open case.
CASE_PATH = re.compile(r"/supervisor/case/([0-9a-f]{32})")
#: The largest body ``POST /supervisor/ack`` reads (a case id and a flag code need ~80 bytes).
MAX_ACK_BYTES = 1024
UNAVAILABLE = "the case notes cannot be read right now; try again shortly"


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
    roles: dict[str, Any] = {}
    mint_token: Callable[[str], str] | None = None
    board: "Board | None" = None
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

    def send_json(self, body: Any, status: int = 200,
                  headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        parts = urlsplit(self.path)
        path = parts.path
        if path == "/config.json":
            return self.send_json(self.config)
        if path == "/flags.json":
            return self.send_json(self.flags)
        if path == "/roles.json":
            return self.send_json(self.roles)
        if path.startswith("/demo/token"):
            return self.send_json({"error": "use POST"}, 405)
        if path.startswith("/supervisor/") or path == "/panel/acks":
            return self.board_get(path, parts.query)
        return super().do_GET()

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        if parts.path == "/supervisor/ack":
            return self.board_ack(parts.query)
        if parts.path != "/demo/token" or self.mint_token is None:
            return self.send_json({"error": "not found"}, 404)
        conversation_id = f"panel-{uuid.uuid4().hex}"
        self.send_json({"token": self.mint_token(conversation_id),
                        "conversation_id": conversation_id})

    # -- the supervisor's board and the panels' acknowledgements ---------------------------
    def token_claims(self, query: str, board_route: bool) -> "tokens.Claims | None":
        """The request's claims if its token may use this route; else the refusal is sent
        and None returned. ``board_route``: the board's (supervisor or admin); otherwise
        a counsellor's panel's (user)."""
        if self.board is None:
            self.send_json({"error": "not found"}, 404)
            return None
        if "token" in parse_qs(query, keep_blank_values=True):
            self.send_json({"error": "send the token in an Authorization header, not the URL"},
                           401, {"WWW-Authenticate": "Bearer"})
            return None
        try:
            claims = self.board.claims(self.headers.get("Authorization"))
        except tokens.TokenRefused as exc:
            self.send_json({"error": str(exc)}, 401, {"WWW-Authenticate": "Bearer"})
            return None
        if board_route and not claims.board:
            self.send_json({"error": "this token may not open the supervisor's board"}, 403)
            return None
        if not board_route and claims.role != "user":
            self.send_json({"error": "this route is for a counsellor's panel (a user token)"},
                           403)
            return None
        return claims

    def board_get(self, path: str, query: str) -> None:
        case = CASE_PATH.fullmatch(path)
        if path not in ("/supervisor/cases", "/supervisor/stream", "/panel/acks") and not case:
            return self.send_json({"error": "not found"}, 404)
        claims = self.token_claims(query, board_route=path != "/panel/acks")
        if claims is None:
            return None
        board = self.board
        assert board is not None
        try:
            if path == "/supervisor/stream":
                return board.stream(self, claims)
            if path == "/supervisor/cases":
                return self.send_json(board.snapshot())
            if path == "/panel/acks":
                assert claims.conversation_id is not None
                return self.send_json({"acks": board_rows.conversation_acks(
                    board.store, claims.conversation_id)})
            assert case is not None
            return self.send_json(board.handover(case.group(1), claims))
        except board_rows.BoardRefusal as exc:
            return self.send_json({"error": exc.reason}, exc.status)
        except StoreUnavailable:
            return self.send_json({"error": UNAVAILABLE}, 503, {"Retry-After": "5"})

    def read_body(self, size: int) -> bytes | None:
        """``size`` bytes of the body, within one ``timeout`` however slowly they trickle
        in (a worker thread is not held longer); None if they did not all arrive."""
        deadline = time.monotonic() + (self.timeout or 10.0)
        data = b""
        try:
            while len(data) < size:
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.connection.settimeout(left)
                chunk = self.rfile.read1(size - len(data))
                if not chunk:
                    return None
                data += chunk
        except OSError:
            return None
        finally:
            self.connection.settimeout(self.timeout)
            self.close_connection = True
        return data

    def board_ack(self, query: str) -> None:
        claims = self.token_claims(query, board_route=True)
        if claims is None:
            return None
        board = self.board
        assert board is not None
        length = (self.headers.get("Content-Length") or "").strip()
        if not length.isdigit():
            return self.send_json({"error": "a Content-Length is required"}, 411)
        if int(length) > MAX_ACK_BYTES:
            return self.send_json({"error": f"the body is larger than {MAX_ACK_BYTES} bytes"},
                                  413)
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if content_type != "application/json":
            return self.send_json({"error": "the body must be JSON "
                                            "(Content-Type: application/json)"}, 415)
        raw = self.read_body(int(length))
        if raw is None:
            return self.send_json({"error": "the body did not arrive in time"}, 408)
        try:
            body = json.loads(raw or b"null")
        except (ValueError, RecursionError):
            body = None
        if not isinstance(body, dict):
            return self.send_json({"error": "the body must be a JSON object with case_id and "
                                            "code"}, 400)
        try:
            done = board_rows.acknowledge(board.store, body.get("case_id"), body.get("code"),
                                          actor=claims.staff_id or claims.role)
        except board_rows.BoardRefusal as exc:
            return self.send_json({"error": exc.reason}, exc.status)
        except StoreUnavailable:
            return self.send_json({"error": UNAVAILABLE}, 503, {"Retry-After": "5"})
        board.nudge()
        return self.send_json(done, 201 if done["new"] else 200)


def handler(rasa_url: str, timezone: str, mint_token: Callable[[str], str] | None,
            host_origins: list[str], directory: Path = WEBCHAT,
            max_message_chars: int = 20000, board: "Board | None" = None
            ) -> Callable[..., PanelHandler]:
    """A request handler class for :class:`PanelServer`. ``mint_token(conversation_id)``
    turns on /demo/token; pass None in production. ``host_origins`` are the origins of the
    pages that may frame the panel and hand it a token (``settings.host_origins``, the
    panel's own origin first); the browser enforces them (``frame-ancestors``) and so does
    panel.js (it reads them from /config.json). ``board`` turns on the supervisor's routes
    and the panels' ``/panel/acks``."""
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
                   "demo_tokens": mint_token is not None, "host_origins": list(host_origins),
                   "board": board is not None},
        "flags": flag_meanings(),
        "roles": caller_roles.served(),
        "mint_token": staticmethod(mint_token) if mint_token else None,
        "csp": csp,
        "board": board,
    }
    cls = type("ConfiguredPanelHandler", (PanelHandler,), attrs)
    return functools.partial(cls, directory=str(directory))


class Board:
    """The supervisor's board at the panel server: tokens, rows and the live stream.

    All state is in the case-notes database, so any number of Rasa servers, action servers
    and panel servers can run: each panel server finds changes itself. While at least one
    board is connected to ``/supervisor/stream``, one thread per panel server polls
    :func:`actions.board.change_mark` (two index reads) every ``poll_seconds``, computes the
    rows once when it changes (and every ``refresh_seconds`` regardless, so the minutes
    since a flag move on), and every connected board gets them when they differ from the
    last. No board connected: no polling at all.

    A stream holds one of the server's worker threads, so at most ``max_streams`` are open
    at once (then 503); each ends after ``stream_seconds`` or when its token expires (the
    page reconnects, and its token is checked again), a comment line every
    ``keepalive_seconds`` finds a client that has gone, and a client that stops reading is
    dropped when a write has waited the server's ``request_timeout``.
    """

    def __init__(self, secret: str, store: Any, production: bool = False, *,
                 poll_seconds: float = 1.0, refresh_seconds: float = 30.0,
                 max_streams: int = 16, stream_seconds: float = 600.0,
                 keepalive_seconds: float = 15.0) -> None:
        if not secret:
            raise ValueError("the board needs the token secret (RASA_JWT_SECRET)")
        self.secret = secret
        self.store = store
        self.production = production
        self.poll_seconds = poll_seconds
        self.refresh_seconds = refresh_seconds
        self.max_streams = max_streams
        self.stream_seconds = stream_seconds
        self.keepalive_seconds = keepalive_seconds
        self.changed = threading.Condition()
        self.wake = threading.Event()
        self.streams = 0
        self.version = 0
        self.message: bytes | None = None  # the latest rows, as one line of JSON
        self.cases: str | None = None  # the latest rows alone, to compare the next with
        self.error: str | None = None  # the store could not be read at the last poll
        self.poller: threading.Thread | None = None
        self.closing = False

    def claims(self, header: str | None) -> tokens.Claims:
        return tokens.claims(tokens.bearer(header), self.secret, production=self.production)

    def snapshot(self) -> dict[str, Any]:
        return {"now": datetime.now(timezone.utc).isoformat(),
                "cases": board_rows.open_cases(self.store)}

    def handover(self, case_id: str, claims: tokens.Claims) -> dict[str, Any]:
        """An open case's handover text, after the audit line (who, when, which case)."""
        board_rows.open_case_row(self.store, case_id)
        audit("board_handover", case_id, actor=claims.staff_id or claims.role,
              route="/supervisor/case")
        return {"case_id": case_id, "text": to_handover(summarise(self.store, case_id))}

    def nudge(self) -> None:
        """Look for changes now (after an acknowledgement), not at the next poll."""
        self.wake.set()

    def close(self) -> None:
        with self.changed:
            self.closing = True
            self.changed.notify_all()
        self.wake.set()

    # -- the poller ------------------------------------------------------------------------
    def poll(self) -> None:
        mark: Any = None
        refreshed = 0.0
        while True:
            with self.changed:
                if self.closing or self.streams == 0:
                    self.poller = None
                    return
            try:
                now_mark = board_rows.change_mark(self.store)
                if now_mark != mark or time.monotonic() - refreshed >= self.refresh_seconds:
                    snapshot = self.snapshot()
                    mark, refreshed = now_mark, time.monotonic()
                    self.publish(snapshot, None)
            except StoreUnavailable:
                mark = None
                self.publish(None, UNAVAILABLE)
            except Exception as exc:  # a fault of the board: said without content, kept on
                mark = None
                print(f"supervisor board: rows not computed ({type(exc).__name__})",
                      file=sys.stderr)
                self.publish(None, "the board could not be computed; see the server's log")
            self.wake.wait(self.poll_seconds)
            self.wake.clear()

    def publish(self, snapshot: dict[str, Any] | None, error: str | None) -> None:
        """Hand the streams new rows (or the store's failure), if they differ from the last."""
        with self.changed:
            if snapshot is not None:
                cases = json.dumps(snapshot["cases"], sort_keys=True)
                if self.error is None and cases == self.cases:
                    return
                self.cases = cases
                self.message = json.dumps(snapshot, separators=(",", ":")).encode()
            elif self.error == error:
                return
            self.error = error
            self.version += 1
            self.changed.notify_all()

    # -- one stream ------------------------------------------------------------------------
    def stream(self, handler: PanelHandler, claims: tokens.Claims) -> None:
        with self.changed:
            full = self.closing or self.streams >= self.max_streams
            if not full:
                self.streams += 1
                if self.poller is None:
                    self.poller = threading.Thread(target=self.poll, name="board-poller",
                                                   daemon=True)
                    self.poller.start()
        if full:
            return handler.send_json({"error": "too many boards are open; try again shortly"},
                                     503, {"Retry-After": "5"})
        try:
            handler.send_response(200)
            handler.send_header("Content-Type", "text/event-stream; charset=utf-8")
            handler.send_header("Cache-Control", "no-store")
            handler.send_header("X-Accel-Buffering", "no")  # nginx: pass each event on at once
            handler.end_headers()
            handler.wfile.write(b"retry: 2000\n\n")
            handler.wfile.flush()
            ends = time.monotonic() + max(0.0, min(self.stream_seconds,
                                                   claims.expires - time.time()))
            sent = 0
            while True:
                with self.changed:
                    left = ends - time.monotonic()
                    if self.closing or left <= 0:
                        break
                    self.changed.wait_for(lambda: self.version != sent or self.closing,
                                          timeout=min(self.keepalive_seconds, left))
                    if self.closing:
                        break
                    version, message, error = self.version, self.message, self.error
                if version != sent:
                    sent = version
                    chunk = (b"event: unavailable\ndata: " + json.dumps({"error": error}).encode()
                             if error else b"event: cases\ndata: " + (message or b"{}")) + b"\n\n"
                else:
                    chunk = b": keep-alive\n\n"
                handler.wfile.write(chunk)
                handler.wfile.flush()
        except OSError:  # the client has gone, or stopped reading
            pass
        finally:
            with self.changed:
                self.streams -= 1
            handler.close_connection = True


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
        handler_class = getattr(self.RequestHandlerClass, "func", self.RequestHandlerClass)
        board = getattr(handler_class, "board", None)
        if board is not None:  # open streams end now
            board.close()
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
