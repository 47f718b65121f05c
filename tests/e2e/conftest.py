"""A real stack for the end-to-end tests: the action server and the Rasa server on free
ports, the current model (trained once by `make test` before pytest runs), stores under
the session's temporary folder."""
from __future__ import annotations

import os
import secrets

import pytest

import stack as stack_module
from support import Chat, start_once_more_if_it_exits
from e2e.production import production_stack  # noqa: F401  (PostgreSQL + Redis, two Rasa servers)


def fresh_ports(env: dict[str, str]) -> dict[str, str]:
    return dict(env, RASA_PORT=str(stack_module.free_port()),
                ACTIONS_PORT=str(stack_module.free_port()),
                PANEL_PORT=str(stack_module.free_port()))


@pytest.fixture(scope="session")
def stack(workdir, isolated_env):
    env = dict(os.environ)
    env.update(isolated_env)
    env["RASA_JWT_SECRET"] = secrets.token_urlsafe(32)

    def start():
        running = stack_module.Stack(env=fresh_ports(env), log_dir=workdir / "log")
        try:
            running.start()
            running.wait_ready(timeout=300)
        except BaseException:
            running.stop()
            for log in (workdir / "log").glob("*.log"):
                print(f"--- {log.name} (tail) ---\n" + log.read_text(errors="replace")[-3000:])
            raise
        return running

    running = start_once_more_if_it_exits(start)
    yield running
    running.stop()


@pytest.fixture
def chat(stack):
    return Chat(stack)
