#!/usr/bin/env python
"""Start the whole assistant on one machine: action server, Rasa server, side panel.

    python scripts/stack.py run     # what `make run` calls; Ctrl-C stops everything
    python scripts/stack.py shell   # what `make shell` calls: a terminal client over REST
    python scripts/stack.py actions|rasa|panel   # one process in the foreground (Procfile)

Also imported by the end-to-end tests, which start a stack on free ports.
Configuration is by environment variables only (docs/configuration.md).
"""
from __future__ import annotations

import functools
import http.server
import os
import random
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var"

from actions import settings
from rasa_plugins import tokens


_GIVEN_PORTS: set[int] = set()


def _ephemeral_low() -> int:
    """The first port the kernel hands to outgoing connections (Linux: 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """A port nothing listens on now, for a server started a few seconds later.

    Taken below the kernel's ephemeral range, so that no outgoing connection made in the
    meantime (a database pool, a health check) can be given it before the server binds it,
    and never the same port twice in one process. A CI run once lost its end-to-end tests
    to a server that found its port taken and exited."""
    low = _ephemeral_low()
    for _ in range(500):
        port = random.randint(20000, low - 1) if low > 20100 else 0
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            port = s.getsockname()[1]
        if port not in _GIVEN_PORTS:
            _GIVEN_PORTS.add(port)
            return port
    raise RuntimeError("no free port found on 127.0.0.1")


def scratch_env(prefix: str) -> tuple[dict[str, str], Path]:
    """The environment of a throw-away stack (benchmark, evaluation): free ports, a fresh
    secret and notes key, SQLite stores in a new temporary folder (also returned)."""
    from cryptography.fernet import Fernet

    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    env = dict(os.environ)
    env.update({
        "RASA_PORT": str(free_port()), "ACTIONS_PORT": str(free_port()),
        "PANEL_PORT": str(free_port()), "RASA_JWT_SECRET": secrets.token_urlsafe(32),
        "CASE_DB_URL": f"sqlite:///{tmp / 'cases.db'}", "TRACKER_DB_URL": f"sqlite:///{tmp / 'tracker.db'}",
        "CASE_NOTES_KEY": Fernet.generate_key().decode(), "AUDIT_LOG": str(tmp / "audit.log"),
        "HELPLINE_TIMEZONE": "Europe/London", "HELPLINE_COUNTRY": "GB",
    })
    return env, tmp


def port_open(host: str, port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


def dev_secret(env: dict[str, str]) -> tuple[str, bool]:
    """RASA_JWT_SECRET, or in development a secret kept under var/ (with a warning)."""
    secret = env.get("RASA_JWT_SECRET", "").strip()
    if secret:
        return secret, False
    if settings.production(env):
        raise SystemExit("ERROR: RASA_JWT_SECRET must be set when HELPLINE_ENV=production.")
    path = VAR / "jwt_secret"
    VAR.mkdir(mode=0o700, exist_ok=True)
    if not path.exists():
        path.write_text(secrets.token_urlsafe(48))
        path.chmod(0o600)
    return path.read_text().strip(), True


def check_production(env: dict[str, str]) -> None:
    """Refuse to start a production process without its secrets and shared stores (or
    with a HELPLINE_ENV that is neither development nor production)."""
    error = settings.production_error(env)
    if error:
        raise SystemExit(error)


def admin_token(secret: str, hours: float = 12) -> str:
    """A bearer JWT with role admin for Rasa's HTTP API (development and tests)."""
    return tokens.mint(secret, "admin", hours=hours)


def user_token(secret: str, conversation_id: str, hours: float = 12,
               counsellor: str | None = "dev-counsellor") -> str:
    """A bearer JWT scoped to one conversation (role user), as a panel would hold; it
    names the counsellor (``user.counsellor``, required in production; None: no claim)."""
    return tokens.mint(secret, "user", conversation_id, hours=hours, staff_id=counsellor)


def supervisor_token(secret: str, supervisor: str = "dev-supervisor", hours: float = 12) -> str:
    """A bearer JWT for the supervisor's board (role supervisor): it reads the board and
    acknowledges red flags, and may write into no conversation."""
    return tokens.mint(secret, "supervisor", hours=hours, staff_id=supervisor)


def current_model() -> Path:
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "model.py"), "path"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(out.stderr.strip() or "no trained model; run: make model")
    return Path(out.stdout.strip())


def die_with_parent() -> None:
    """Run in each child before exec: Linux sends it SIGTERM if the launcher dies, so no
    server outlives `make run` or `make shell`, even when the launcher is killed."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class ProcessExited(RuntimeError):
    """A server of the stack exited while starting; the message ends with its log's tail."""

    def __init__(self, code: int | None, tail: str) -> None:
        super().__init__(f"a process exited with code {code} while starting; {tail}")
        self.port_taken = "address already in use" in tail.lower() or \
            "unable to start server" in tail.lower()


@dataclass
class Stack:
    """The processes of one assistant; ports default to the environment's."""

    env: dict[str, str] = field(default_factory=lambda: dict(os.environ))
    log_dir: Path = VAR / "log"
    processes: list[subprocess.Popen] = field(default_factory=list)
    panel_server: http.server.ThreadingHTTPServer | None = None

    def __post_init__(self) -> None:
        env = self.env
        env.setdefault("RASA_PORT", "5005")
        env.setdefault("ACTIONS_PORT", "5055")
        env.setdefault("PANEL_PORT", "8080")
        env.setdefault("RASA_HOST", "127.0.0.1")
        env.setdefault("ACTIONS_HOST", "127.0.0.1")
        env.setdefault("HELPLINE_TIMEZONE", "UTC")
        env.setdefault("RASA_TELEMETRY_ENABLED", "false")
        env.setdefault("SQLALCHEMY_SILENCE_UBER_WARNING", "1")
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        env["SANIC_HOST"] = env["ACTIONS_HOST"]  # the interface rasa_sdk binds
        env.setdefault("PANEL_ORIGIN", f"http://{env['RASA_HOST']}:{env['PANEL_PORT']}")
        check_production(env)
        self.secret, self.generated_secret = dev_secret(env)
        env["RASA_JWT_SECRET"] = self.secret

    @property
    def rasa_url(self) -> str:
        return f"http://{self.env['RASA_HOST']}:{self.env['RASA_PORT']}"

    @property
    def actions_url(self) -> str:
        return f"http://{self.env['ACTIONS_HOST']}:{self.env['ACTIONS_PORT']}"

    @property
    def panel_url(self) -> str:
        return f"http://{self.env['RASA_HOST']}:{self.env['PANEL_PORT']}"

    def log_tail(self, proc: subprocess.Popen, lines: int = 30) -> str:
        """The last lines of one process's log (the logs hold no message text)."""
        name = getattr(proc, "log_name", "")
        try:
            text = (self.log_dir / f"{name}.log").read_text(errors="replace")
        except OSError:
            return f"{name}: no log"
        return f"{name}.log:\n" + "\n".join(text.splitlines()[-lines:])

    def _spawn(self, name: str, cmd: list[str]) -> subprocess.Popen:
        self.log_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(self.log_dir / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        os.fchmod(fd, 0o600)  # also a log file left by an older version
        log = os.fdopen(fd, "ab")
        proc = subprocess.Popen(cmd, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True,
                                preexec_fn=die_with_parent)
        proc.log_name = name  # type: ignore[attr-defined]
        self.processes.append(proc)
        return proc

    def actions_command(self) -> list[str]:
        """The action server; it binds ACTIONS_HOST (rasa_sdk reads SANIC_HOST)."""
        # run_actions is rasa_sdk without TensorFlow/JAX loaded: ~135 MB instead of ~670 MB
        return [sys.executable, "-m", "rasa_plugins.run_actions", "--actions", "actions.actions",
                "--port", self.env["ACTIONS_PORT"]]

    def rasa_command(self, model: Path, port: int | str | None = None) -> list[str]:
        """The Rasa server. rasa_plugins/run_rasa.py adds --jwt-secret from RASA_JWT_SECRET
        inside the process, so the secret is not on the command line (``ps`` shows those)."""
        return [sys.executable, "-m", "rasa_plugins.run_rasa", "run", "--enable-api",
                "--model", str(model), "--interface", self.env["RASA_HOST"],
                "--port", str(port or self.env["RASA_PORT"]), "--jwt-method", "HS256",
                "--endpoints", "endpoints.yml", "--credentials", "credentials.yml",
                "--cors", settings.panel_origin(self.env)]

    def start_actions(self) -> subprocess.Popen:
        port = int(self.env["ACTIONS_PORT"])
        if port_open(self.env["ACTIONS_HOST"], port):
            raise SystemExit(f"ERROR: port {port} is already in use; set ACTIONS_PORT to another.")
        return self._spawn("actions", self.actions_command())

    def start_rasa(self, model: Path, port: int | None = None,
                   name: str = "rasa") -> subprocess.Popen:
        port = port or int(self.env["RASA_PORT"])
        if port_open(self.env["RASA_HOST"], port):
            raise SystemExit(f"ERROR: port {port} is already in use; set RASA_PORT to another.")
        return self._spawn(name, self.rasa_command(model, port))

    def kill(self, proc: subprocess.Popen, sig: int = signal.SIGKILL) -> None:
        """Stop one process (SIGKILL: a crash, as far as everything else can tell)."""
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        proc.wait(timeout=30)
        self.processes.remove(proc)

    def start_panel(self) -> None:
        import panel_server
        from actions.casenotes import CaseStore

        production = settings.production(self.env)
        mint = None if production else functools.partial(user_token, self.secret)
        # the supervisor's board reads the case notes (and the handover decrypts them)
        store = CaseStore(self.env.get("CASE_DB_URL", "").strip() or None,
                          key=self.env.get("CASE_NOTES_KEY", "").strip() or None)
        board = panel_server.Board(self.secret, store, production=production)
        handler = panel_server.handler(self.rasa_url, self.env["HELPLINE_TIMEZONE"], mint,
                                       settings.host_origins(self.env),
                                       max_message_chars=settings.max_message_chars(),
                                       board=board)
        self.panel_server = panel_server.serve(self.env["RASA_HOST"],
                                               int(self.env["PANEL_PORT"]), handler)

    def wait_ready(self, timeout: float = 240) -> None:
        """Wait until the action server answers and the Rasa server has loaded its model."""
        deadline = time.monotonic() + timeout
        headers = {"Authorization": f"Bearer {admin_token(self.secret)}"}
        checks = {"action server": (f"{self.actions_url}/health", {}),
                  "Rasa server": (f"{self.rasa_url}/status", headers)}
        pending = dict(checks)
        while pending:
            for proc in self.processes:
                if proc.poll() is not None:
                    raise ProcessExited(proc.returncode, self.log_tail(proc))
            for name, (url, hdrs) in list(pending.items()):
                try:
                    r = requests.get(url, headers=hdrs, timeout=2)
                    if r.ok and (name != "Rasa server" or r.json().get("model_file")):
                        del pending[name]
                except (requests.RequestException, ValueError):
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout:.0f} s: {', '.join(pending)}")
            time.sleep(0.5)

    def start(self, model: Path | None = None, panel: bool = True) -> "Stack":
        model = model or current_model()
        self.start_actions()
        self.start_rasa(model)
        if panel:
            self.start_panel()
        return self

    def stop(self) -> None:
        for proc in self.processes:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for proc in self.processes:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        if self.panel_server:
            self.panel_server.shutdown()
            self.panel_server.server_close()
        self.processes.clear()


def banner(stack: Stack) -> str:
    lines = [
        "",
        "Helpline sextortion assistant is running.",
        f"  Side panel     {stack.panel_url}/",
        f"  Rasa REST      {stack.rasa_url}/webhooks/rest/webhook",
        f"  Rasa socketio  {stack.rasa_url}/socket.io/",
        f"  Rasa HTTP API  {stack.rasa_url}/  (bearer JWT, HS256, RASA_JWT_SECRET)",
        f"  Action server  {stack.actions_url}/webhook",
        f"  Logs           {stack.log_dir}/",
    ]
    if not settings.production(stack.env):
        lines += ["", f"Development admin token (12 h): {admin_token(stack.secret)}"]
        lines.insert(3, f"  Demo helpline  {stack.panel_url}/demo.html  (panel beside a mock screen)")
        # the floor demo's board takes this token from the URL's fragment (never sent to a
        # server); named apart from the board's own in audit lines
        lines.insert(4, f"  Demo floor     {stack.panel_url}/demo-floor.html#token="
                        f"{supervisor_token(stack.secret, 'demo-supervisor')}  (two panels "
                        "beside the board)")
        lines.insert(5, f"  Supervisor     {stack.panel_url}/supervisor.html#token="
                        f"{supervisor_token(stack.secret)}  (the board; development token, 12 h)")
        lines.append("WARNING: development mode: the side panel mints its own tokens "
                     "(/demo/token); set HELPLINE_ENV=production to turn that off.")
        if stack.generated_secret:
            lines.append("WARNING: RASA_JWT_SECRET is not set; using a development secret "
                         "kept in var/jwt_secret, so anyone who can read it can open any "
                         "conversation in the side panel. Set it in production.")
    else:
        lines.insert(3, f"  Supervisor     {stack.panel_url}/supervisor.html  (the board; a "
                        "supervisor token from the helpline's back end)")
    lines += ["", "Press Ctrl-C to stop everything."]
    return "\n".join(lines)


def run() -> int:
    stack = Stack()
    stopping = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stopping.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        print("Starting the action server and the Rasa server (loading the model takes "
              "about a minute) ...", flush=True)
        stack.start()
        ready = threading.Thread(target=stack.wait_ready, daemon=True)
        ready.start()
        while ready.is_alive() and not stopping.is_set():
            ready.join(0.5)
        if not stopping.is_set():
            print(banner(stack), flush=True)
        parent = os.getppid()
        while not stopping.is_set():
            if any(p.poll() is not None for p in stack.processes):
                print(f"A process stopped; see {stack.log_dir}/. Stopping.", file=sys.stderr)
                return 1
            if os.getppid() != parent:  # make (or the terminal) went away: stop too
                return 1
            stopping.wait(1)
        return 0
    except (RuntimeError, SystemExit) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    finally:
        print("Stopping ...", flush=True)
        stack.stop()
        print("Stopped.", flush=True)


def foreground(name: str) -> int:
    """One process in the foreground, for a process manager (Procfile, systemd):
    ``stack.py actions``, ``stack.py rasa`` or ``stack.py panel``. Same commands and
    checks as ``make run``; the process replaces this one."""
    stack = Stack()
    if name == "panel":
        stack.start_panel()
        print(f"Side panel on {stack.panel_url}/, supervisor board on "
              f"{stack.panel_url}/supervisor.html", flush=True)
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
        try:
            signal.pause()
        except KeyboardInterrupt:
            pass
        return 0
    command = stack.actions_command() if name == "actions" else stack.rasa_command(current_model())
    sys.stdout.flush()
    os.chdir(ROOT)
    os.execve(command[0], command, stack.env)
    return 1  # not reached


def panel_line(custom: dict) -> str:
    """A case_state message as one line of what the panel's banner would show."""
    flags = ", ".join(str(c) for c in custom.get("red_flags") or []) or "none"
    deadline = custom.get("deadline_at") or custom.get("deadline_status") or "none"
    return (f"  [panel] red flags: {flags} | deadline: {deadline} | "
            f"escalated: {'yes' if custom.get('escalated') else 'no'} | "
            f"stage: {custom.get('stage') or '-'}")


def shell() -> int:
    """Talk to the assistant in the terminal, through the same Rasa server, guard and REST
    channel the panel uses (``RASA_PORT``, bound to ``RASA_HOST``). A running ``make run``
    is reused; otherwise its servers are started and stopped again. Numbers pick a button."""
    stack = Stack()
    signal.signal(signal.SIGHUP, lambda *_: sys.exit(1))  # terminal closed: still clean up
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    try:
        if not port_open(stack.env["ACTIONS_HOST"], int(stack.env["ACTIONS_PORT"])):
            stack.start_actions()
        if not port_open(stack.env["RASA_HOST"], int(stack.env["RASA_PORT"])):
            print(f"Starting the assistant on {stack.rasa_url} (about a minute) ...", flush=True)
            stack.start_rasa(current_model())
        stack.wait_ready()
    except (RuntimeError, SystemExit) as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        stack.stop()
        return 1
    conversation = f"shell-{secrets.token_hex(8)}"
    headers = {"Authorization": f"Bearer {user_token(stack.secret, conversation)}"}
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    print(f"Conversation {conversation} on {stack.rasa_url}. Type a note or a question; "
          "a number picks a button; Ctrl-D or /stop ends.", flush=True)
    buttons: list[dict] = []
    try:
        while True:
            try:
                text = input("you> ").strip()
            except EOFError:
                break
            if text == "/stop":
                break
            if text.isdigit() and 0 < int(text) <= len(buttons):
                text = buttons[int(text) - 1]["payload"]
            if not text:
                continue
            try:
                r = requests.post(url, json={"sender": conversation, "message": text},
                                  headers=headers, timeout=60)
            except requests.RequestException as exc:
                print(f"  (the assistant did not answer: {type(exc).__name__})")
                continue
            if not r.ok:
                print(f"  (refused: HTTP {r.status_code} {r.text[:200]})")
                continue
            buttons = []
            for message in r.json():
                custom = message.get("custom")
                if isinstance(custom, dict) and custom.get("type") == "case_state":
                    print(panel_line(custom))
                elif isinstance(custom, dict):
                    print(f"  [panel] {custom.get('type', 'custom message')}")
                if message.get("text"):
                    print("bot> " + message["text"].replace("\n", "\n     "))
                for b in message.get("buttons") or []:
                    buttons.append(b)
                    print(f"     [{len(buttons)}] {b.get('title')}")
    except KeyboardInterrupt:
        pass
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    os.umask(0o077)  # databases, keys and logs under var/ are the service user's alone
    command = sys.argv[1] if len(sys.argv) > 1 else "run"
    if command in ("actions", "rasa", "panel"):
        sys.exit(foreground(command))
    sys.exit({"run": run, "shell": shell}[command]())
