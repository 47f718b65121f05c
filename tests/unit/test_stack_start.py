"""How the launcher (scripts/stack.py) starts servers: ports that stay free until a server
binds them, and a clear account of a server that exits while starting."""
from __future__ import annotations

import socket
import sys

import pytest

import stack as stack_module
from support import start_once_more_if_it_exits


def test_free_ports_are_below_the_range_given_to_outgoing_connections_and_never_repeat():
    low = stack_module._ephemeral_low()
    ports = [stack_module.free_port() for _ in range(300)]
    assert len(set(ports)) == len(ports)
    assert all(20000 <= p < low for p in ports)
    with socket.socket() as s:  # and one can be bound
        s.bind(("127.0.0.1", ports[-1]))


def test_a_port_something_listens_on_is_not_given(monkeypatch):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        busy = taken.getsockname()[1]
        picks = iter([busy, busy, 20001 if busy != 20001 else 20003])
        monkeypatch.setattr(stack_module.random, "randint", lambda a, b: next(picks))
        monkeypatch.setattr(stack_module, "_ephemeral_low", lambda: max(busy + 1, 32768))
        monkeypatch.setattr(stack_module, "_GIVEN_PORTS", set())
        assert stack_module.free_port() != busy


def test_a_server_that_exits_while_starting_is_named_with_its_log(tmp_path):
    running = stack_module.Stack(env=dict(stack_module.os.environ), log_dir=tmp_path)
    proc = running._spawn("actions", [sys.executable, "-c",
                                      "print('Unable to start server: address already in use')"])
    proc.wait(timeout=30)
    with pytest.raises(stack_module.ProcessExited) as exited:
        running.wait_ready(timeout=5)
    assert "actions.log" in str(exited.value)
    assert "address already in use" in str(exited.value)
    assert exited.value.port_taken


def test_a_start_that_fails_once_is_tried_once_more_and_a_second_failure_is_raised():
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 1:
            raise stack_module.ProcessExited(0, "rasa.log:\nUnable to start server")
        return "started"

    with pytest.warns(UserWarning, match="started again on fresh ports"):
        assert start_once_more_if_it_exits(flaky) == "started"

    def broken():
        raise stack_module.ProcessExited(1, "actions.log:\nImportError")

    with pytest.warns(UserWarning), pytest.raises(stack_module.ProcessExited, match="ImportError"):
        start_once_more_if_it_exits(broken)
