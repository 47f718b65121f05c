"""A production-mode stack for the end-to-end tests: HELPLINE_ENV=production, one action
server and two Rasa servers sharing a PostgreSQL tracker store (a fresh database per run,
dropped at the end) and a Redis lock store (a fresh key prefix), with PostgreSQL reached
through a TCP proxy the tests can cut to make a real database outage."""
from __future__ import annotations

import os
import secrets
import socket
import subprocess
import threading
import time
import uuid
from types import SimpleNamespace

import pytest
import requests
import sqlalchemy as sa

import stack as stack_module
from support import Chat, start_once_more_if_it_exits

PG_HOST, PG_PORT = "127.0.0.1", 5432
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
PG_ADMIN_URL = os.environ.get("E2E_PG_ADMIN_URL", f"postgresql://postgres@{PG_HOST}:{PG_PORT}/test")


class TcpProxy:
    """Forwards a local port to a server; ``cut()`` drops every connection and stops
    listening (the server is gone, as far as clients can tell), ``restore()`` listens again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = stack_module.free_port()
        self.lock = threading.Lock()
        self.sockets: set[socket.socket] = set()
        self.listener: socket.socket | None = None
        self.restore()

    def restore(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        listener, self.listener = self.listener, None
        if listener:  # shutdown() wakes the accept() blocked in the other thread
            try:
                listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        with self.lock:
            for s in list(self.sockets):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
            self.sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            try:
                upstream = socket.create_connection(self.target, timeout=5)
                upstream.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


class ProductionStack(stack_module.Stack):
    """Stack plus a second Rasa server and the handles the fault tests need."""

    proxy: TcpProxy
    model: object
    rasa_ports: list[int]

    def rasa_urls(self) -> list[str]:
        return [f"http://{self.env['RASA_HOST']}:{p}" for p in self.rasa_ports]

    def chat(self, server: int, conversation_id: str | None = None) -> Chat:
        """A REST conversation with Rasa server 0 or 1 (same id: the same conversation)."""
        view = SimpleNamespace(rasa_url=self.rasa_urls()[server], secret=self.secret)
        return Chat(view, conversation_id)

    def case_store(self):
        """The case notes, read straight from PostgreSQL (not through the proxy)."""
        from actions.casenotes import CaseStore

        return CaseStore(url=self.direct_db_url, key=self.env["CASE_NOTES_KEY"])

    def logged(self, word: str) -> list[str]:
        """Log files of this stack that contain ``word``."""
        return [str(p) for p in self.log_dir.glob("*.log") if word.encode() in p.read_bytes()]

    def process(self, name: str) -> subprocess.Popen:
        return next(p for p in self.processes if self.names[p.pid] == name)

    def spawn(self, name: str, start) -> None:
        proc = start()
        self.names[proc.pid] = name

    def start_all(self) -> None:
        self.names: dict[int, str] = {}
        self.spawn("actions", self.start_actions)
        for n, port in enumerate(self.rasa_ports):
            self.spawn(f"rasa{n}", lambda port=port, n=n: self.start_rasa(self.model, port,
                                                                         f"rasa{n}"))

    def restart(self, name: str) -> None:
        """Kill a process outright (SIGKILL, as in a crash) and start it again."""
        self.kill(self.process(name))
        if name == "actions":
            self.spawn(name, self.start_actions)
        else:
            port = self.rasa_ports[int(name[4:])]
            self.spawn(name, lambda: self.start_rasa(self.model, port, name))

    def wait_all(self, timeout: float = 300) -> None:
        token = stack_module.admin_token(self.secret)
        urls = {f"{self.actions_url}/health": {}} | {
            f"{u}/status": {"Authorization": f"Bearer {token}"} for u in self.rasa_urls()}
        deadline = time.monotonic() + timeout
        while urls:
            for proc in self.processes:
                if proc.poll() is not None:
                    raise stack_module.ProcessExited(proc.returncode, self.log_tail(proc))
            for url, headers in list(urls.items()):
                try:
                    r = requests.get(url, headers=headers, timeout=2)
                    if r.ok and ("/status" not in url or r.json().get("model_file")):
                        del urls[url]
                except (requests.RequestException, ValueError):
                    pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"not ready after {timeout:.0f} s: {', '.join(urls)}")
            time.sleep(0.5)


def reachable(host: str, port: int) -> bool:
    return stack_module.port_open(host, port)


def production_env(workdir, database: str, proxy_port: int) -> dict[str, str]:
    from cryptography.fernet import Fernet

    pg = f"postgresql://postgres@127.0.0.1:{proxy_port}/{database}"
    return {
        "HELPLINE_ENV": "production",
        "RASA_JWT_SECRET": secrets.token_urlsafe(32),
        "CASE_NOTES_KEY": Fernet.generate_key().decode(),
        "TRACKER_DB_URL": pg,
        "CASE_DB_URL": pg,
        "REDIS_URL": f"redis://{REDIS_HOST}:{REDIS_PORT}/1",
        "REDIS_KEY_PREFIX": f"e2e{uuid.uuid4().hex[:10]}",
        "ACTIONS_PORT": str(stack_module.free_port()),
        "PANEL_PORT": str(stack_module.free_port()),
        "RASA_PORT": str(stack_module.free_port()),
        "ACTION_TIMEOUT": "5",
        "AUDIT_LOG": str(workdir / "prod-audit.log"),
        "HELPLINE_TIMEZONE": "Europe/London",
        "HELPLINE_COUNTRY": "GB",
    }


@pytest.fixture(scope="session")
def production_stack(workdir, isolated_env):
    """One action server and two Rasa servers in production mode (see the module doc)."""
    for name, (host, port) in {"PostgreSQL": (PG_HOST, PG_PORT),
                               "Redis": (REDIS_HOST, REDIS_PORT)}.items():
        if not reachable(host, port):
            pytest.skip(f"{name} is not reachable at {host}:{port}; production tests need it")
    database = f"helpline_e2e_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{database}"'))
    proxy = TcpProxy((PG_HOST, PG_PORT))
    env = dict(os.environ)
    env.update(production_env(workdir, database, proxy.port))
    running = ProductionStack(env=env, log_dir=workdir / "prod-log")
    running.proxy = proxy
    running.direct_db_url = f"postgresql://postgres@{PG_HOST}:{PG_PORT}/{database}"
    running.rasa_ports = [int(env["RASA_PORT"]), stack_module.free_port()]
    saved = {k: os.environ.get(k) for k in ("CASE_DB_URL", "TRACKER_DB_URL", "CASE_NOTES_KEY")}
    try:
        subprocess.run([stack_module.sys.executable, "-m", "actions.casenotes", "migrate"],
                       cwd=stack_module.ROOT, env=env, check=True, capture_output=True)
        # The tracker table, made once here: two servers starting at once would race to.
        os.environ.update({k: env[k] for k in saved})
        from rasa_plugins.tracker_store import EncryptedSQLTrackerStore

        EncryptedSQLTrackerStore().engine.dispose()
        running.model = stack_module.current_model()

        def start():
            try:
                running.start_all()
                running.wait_all(timeout=400)
            except stack_module.ProcessExited:
                running.stop()
                running.env.update(ACTIONS_PORT=str(stack_module.free_port()),
                                   RASA_PORT=str(stack_module.free_port()))
                running.rasa_ports = [int(running.env["RASA_PORT"]), stack_module.free_port()]
                raise

        start_once_more_if_it_exits(start)
    except BaseException:
        running.stop()
        for log in (workdir / "prod-log").glob("*.log"):
            print(f"--- {log.name} (tail) ---\n" + log.read_text(errors="replace")[-3000:])
        raise
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    yield running
    running.stop()
    proxy.cut()
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
    admin.dispose()
