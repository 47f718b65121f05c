"""The launcher behind `make run`: start-up output, and Ctrl-C leaves nothing running."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import stack as stack_module
from support import ROOT


def children_of(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_run_prints_the_urls_and_ctrl_c_stops_every_process(isolated_env, workdir):
    env = dict(os.environ, **isolated_env)
    ports = {name: str(stack_module.free_port()) for name in ("RASA_PORT", "ACTIONS_PORT", "PANEL_PORT")}
    env.update(ports)
    proc = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "stack.py"), "run"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True)
    output = []
    deadline = time.monotonic() + 300
    try:
        for line in proc.stdout:
            output.append(line)
            if "Press Ctrl-C" in line or time.monotonic() > deadline:
                break
        text = "".join(output)
        assert f"http://127.0.0.1:{ports['RASA_PORT']}/webhooks/rest/webhook" in text
        assert f"http://127.0.0.1:{ports['PANEL_PORT']}/" in text
        assert "admin token" in text
        started = children_of(proc.pid)
        assert len(started) >= 2, "the action server and the Rasa server"
    finally:
        os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C in a terminal does
        proc.wait(timeout=60)
    time.sleep(1)
    assert [pid for pid in started if alive(pid)] == []
    assert "Stopped." in proc.stdout.read()


def test_no_suitable_python_stops_at_once_with_advice():
    system = [p for d in ("/usr/bin", "/bin", "/usr/local/bin") for v in ("3.8", "3.9", "3.10")
              for p in [Path(d) / f"python{v}"] if p.exists()]
    if system:
        pytest.skip(f"this machine has a system {system[0]}, so there is always a suitable Python")
    result = subprocess.run([str(ROOT / "scripts" / "find-python")], capture_output=True, text=True,
                            env={"PATH": "/usr/bin:/bin", "HOME": "/nonexistent",
                                 "PYENV_ROOT": "/nonexistent"}, timeout=30)
    assert result.returncode == 1
    assert "Install Python 3.10" in result.stderr


def test_shell_talks_to_the_running_stack_on_its_port_and_prints_no_case_json(stack):
    """`make shell` uses RASA_PORT (here the running stack's, which it reuses), goes through
    the same guard and REST channel as the panel, and shows the panel state as one line."""
    env = dict(stack.env)
    proc = subprocess.run([sys.executable, str(ROOT / "scripts" / "stack.py"), "shell"], cwd=ROOT,
                          env=env, input="new call, a young person\nhe gave her 2 hours to pay or he posts them\n/stop\n",
                          capture_output=True, text=True, timeout=240)
    out = proc.stdout
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"on {stack.rasa_url}" in out
    assert "[panel] red flags: active_deadline" in out
    assert "RED FLAG" in out
    assert '"case_state"' not in out and '"checklist"' not in out  # no JSON dump per turn
    assert stack.processes and all(p.poll() is None for p in stack.processes)  # left running
