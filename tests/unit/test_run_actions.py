"""The action server launcher keeps TensorFlow out and the red-flag rules still work."""
from __future__ import annotations

import subprocess
import sys

from support import ROOT

PROBE = """
import sys
from rasa_plugins import run_actions
run_actions.block_unused()
import actions.actions
from actions import deadlines, risk, settings
from datetime import datetime, timezone
print(sorted(f.code for f in risk.detect_flags("she wants to kill herself, it's her uncle")))
print(deadlines.find_deadline("he gave her an hour", datetime(2026, 11, 24, 18, 30,
      tzinfo=timezone.utc), settings.timezone()).at.isoformat())
print(sys.modules.get("tensorflow") is None, sys.modules.get("jax") is None)
"""


def test_actions_run_without_tensorflow():
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True,
                         text=True, timeout=120, env={"PATH": "/usr/bin:/bin",
                                                      "HELPLINE_TIMEZONE": "UTC"})
    assert out.returncode == 0, out.stderr[-2000:]
    lines = out.stdout.strip().splitlines()
    assert lines == ["['offender_known', 'self_harm_risk']", "2026-11-24T19:30:00+00:00",
                     "True True"]


def test_the_launcher_takes_rasa_sdk_arguments():
    out = subprocess.run([sys.executable, "-m", "rasa_plugins.run_actions", "--help"],
                         cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "--actions" in out.stdout and "--port" in out.stdout
