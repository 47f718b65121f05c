#!/usr/bin/env python
"""`make bench`: how fast the assistant answers, and what it costs in memory.

1. The per-message rule checks alone (red flags + deadline), in process.
2. The whole stack over HTTP: a real Rasa server and action server on free ports with
   stores in a temporary folder; sequential REST round trips over several conversations.
Prints figures; asserts nothing (targets belong to people reading the figures).
"""
from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import requests
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

MESSAGES = [c["text"] for c in yaml.safe_load(
    (ROOT / "tests" / "eval" / "red_flags.yml").read_text())["cases"]]


def percentiles(samples_ms: list[float]) -> str:
    s = sorted(samples_ms)
    pick = lambda q: s[min(len(s) - 1, int(q * len(s)))]  # noqa: E731
    return (f"mean {statistics.mean(s):.2f} ms, p50 {pick(0.5):.2f} ms, p95 {pick(0.95):.2f} ms, "
            f"p99 {pick(0.99):.2f} ms, max {s[-1]:.2f} ms")


def bench_rules(rounds: int) -> None:
    from actions import deadlines, risk

    tz = ZoneInfo("Europe/London")
    now = datetime.now(timezone.utc)
    risk.detect_flags("warm up")  # builds the pipeline and matchers once
    deadlines.find_deadline("warm up by 9pm", now, tz)
    samples = []
    started = time.perf_counter()
    for _ in range(rounds):
        for text in MESSAGES:
            t0 = time.perf_counter()
            risk.detect_flags(text)
            deadlines.find_deadline(text, now, tz)
            samples.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    print(f"Rule checks, {len(samples)} messages: {percentiles(samples)}; "
          f"{len(samples) / elapsed:.0f} messages/s on one core")


def rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def bench_stack(conversations: int, turns: int) -> None:
    import stack as stack_module
    from cryptography.fernet import Fernet

    tmp = Path(tempfile.mkdtemp(prefix="helpline-bench-"))
    env = dict(os.environ)
    env.update({
        "RASA_PORT": str(stack_module.free_port()), "ACTIONS_PORT": str(stack_module.free_port()),
        "PANEL_PORT": str(stack_module.free_port()), "RASA_JWT_SECRET": secrets.token_urlsafe(32),
        "CASE_DB_URL": f"sqlite:///{tmp / 'cases.db'}", "TRACKER_DB_URL": f"sqlite:///{tmp / 'tracker.db'}",
        "CASE_NOTES_KEY": Fernet.generate_key().decode(), "AUDIT_LOG": str(tmp / "audit.log"),
    })
    running = stack_module.Stack(env=env, log_dir=tmp / "log")
    t0 = time.perf_counter()
    running.start()
    try:
        running.wait_ready(timeout=300)
        print(f"Stack ready in {time.perf_counter() - t0:.1f} s (model load included)")
        url = f"{running.rasa_url}/webhooks/rest/webhook"
        samples = []
        started = time.perf_counter()
        for c in range(conversations):
            sender = f"bench-{uuid.uuid4().hex[:8]}"
            script = ['/start_case{"caller_role":"child"}'] + [
                MESSAGES[(c * turns + i) % len(MESSAGES)] for i in range(turns - 1)]
            for message in script:
                t = time.perf_counter()
                requests.post(url, json={"sender": sender, "message": message}, timeout=60).raise_for_status()
                samples.append((time.perf_counter() - t) * 1000)
        elapsed = time.perf_counter() - started
        print(f"REST round trips, {len(samples)} messages in {conversations} conversations: "
              f"{percentiles(samples)}; {len(samples) / elapsed:.1f} messages/s sequential")
        names = ["action server", "Rasa server"]
        print("Memory (RSS): " + ", ".join(f"{n} {rss_mb(p.pid):.0f} MB"
                                           for n, p in zip(names, running.processes)))
    finally:
        running.stop()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=25)
    parser.add_argument("--conversations", type=int, default=10)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--rules-only", action="store_true")
    args = parser.parse_args()
    bench_rules(args.rounds)
    if not args.rules_only:
        bench_stack(args.conversations, args.turns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
