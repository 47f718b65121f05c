#!/usr/bin/env python
"""`make bench`: how fast the assistant answers under load, and what it costs in memory.

1. The per-message rule checks alone (red flags + deadline), in process.
2. The whole stack: a real Rasa server and action server on free ports, stores in a
   temporary folder (SQLite; ``--postgres`` for a throw-away PostgreSQL database), the
   REST channel with an admin bearer token. For 1, 10 and 50 concurrent conversations,
   each conversation sends a counsellor's scripted call (open a case, a note, a deadline,
   "what next?"): every turn runs the per-message check and a predicted custom action,
   both writing case notes, and Rasa saves the encrypted tracker.
3. The floor, in the same run and at the same concurrency: the same stack answering
   ``/restart`` over the same REST channel. Rasa reads the intent from the payload (no
   NLU), loads and saves the tracker, and calls the per-message hook (every user message
   does, see rasa/core/processor.py ``run_action_extract_slots``), which returns nothing
   for a restart; the predicted action is Rasa's own ``action_restart``. So no custom
   action does any work and nothing is written to the case notes. Also shown: the NLU
   alone (``POST /model/parse``, the HTTP API, no tracker, no actions).
4. The meaning voter's cost: its sentence encoder alone, in process (per message), and the
   case turns at 10 conversations on a second stack with ``HELPLINE_MEANING_VOTER=off``
   against the same row with it on (target: p95 at most 1.2 x), with the memory it adds.
5. Message -> board: a third stack, with the panel server and one supervisor's board open
   (``GET /supervisor/stream``, read in a thread). At 10 and 50 concurrent conversations,
   each opens a case and sends a red flag; for each, the time from just before that POST
   to the parsed stream event whose row for its case shows the flag (``--no-board`` skips
   it, ``--board-only`` runs only it).

Prints a table and writes it to ``results/bench-<UTC time>.md``. Asserts nothing: the
targets (p95 at 10 conversations at most 3 x the floor; no errors at 50) are judged by
whoever reads the figures. Timings depend on what else the machine is doing. Progress
bars go to stderr (when it is a terminal); what is printed to stdout is unchanged.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import platform
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from tqdm import tqdm

ROOT = Path(__file__).resolve().parent.parent

MESSAGES = [c["text"] for c in yaml.safe_load(
    (ROOT / "tests" / "eval" / "red_flags.yml").read_text())["cases"]]

# A counsellor's call in four turns: each conversation picks one line of each kind.
OPENINGS = ['/start_case{"caller_role":"child"}', '/start_case{"caller_role":"parent_carer"}']
NOTES = [
    "14yo girl, met him on instagram, he said he was 15",
    "boy aged 13, sent two pictures on snapchat, he is asking for money",
    "mum says her son is really upset, the account was fake",
    "she has blocked him but he messaged her from another account",
]
DEADLINES = [
    "he gave her an hour to send more or he posts them",
    "he said she has until 9pm tonight to pay",
    "he wants £200 within 30 minutes or he sends them to her friends",
    "deadline is tomorrow at 8am",
]
NEXT = ["what next?", "what should I do next", "next step?"]
FLOOR_MESSAGE = "/restart"
LEVELS = (1, 10, 50)

# Progress on stderr, never in the figures (stdout); no bars when stderr is not a terminal.
# Bars advance once per round or per turn, outside each timed message or request.
progress = partial(tqdm, file=sys.stderr, leave=False, disable=None, dynamic_ncols=True)


def say(line: str) -> None:
    """Print a line to stdout while a bar may be showing on the same terminal."""
    with tqdm.external_write_mode(file=sys.stdout):
        print(line, flush=True)


def script(n: int) -> list[str]:
    return [OPENINGS[n % len(OPENINGS)], NOTES[n % len(NOTES)],
            DEADLINES[(n // len(NOTES)) % len(DEADLINES)], NEXT[n % len(NEXT)]]


def pct(samples: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    s = sorted(samples)
    return s[min(len(s) - 1, max(0, int(round(q * len(s) + 0.5)) - 1))] if s else float("nan")


# --- rule checks in process ---------------------------------------------------------------

def bench_rules(rounds: int) -> str:
    from actions import deadlines, risk

    tz = ZoneInfo("Europe/London")
    now = datetime.now(timezone.utc)
    risk.detect_flags("warm up")  # builds the pipeline and matchers once
    deadlines.find_deadline("warm up by 9pm", now, tz)
    samples = []
    started = time.perf_counter()
    for _ in progress(range(rounds), desc="rule checks", unit="round"):
        for text in MESSAGES:
            t0 = time.perf_counter()
            risk.detect_flags(text)
            deadlines.find_deadline(text, now, tz)
            samples.append((time.perf_counter() - t0) * 1000)
    elapsed = time.perf_counter() - started
    line = (f"Rule checks in process (red flags + deadline), {len(samples)} messages: "
            f"p50 {pct(samples, .5):.2f} ms, p95 {pct(samples, .95):.2f} ms, "
            f"p99 {pct(samples, .99):.2f} ms; {len(samples) / elapsed:.0f} messages/s on one core")
    print(line, flush=True)
    return line


def bench_deadlines(rounds: int) -> str:
    """The deadline reader alone, per message: Duckling with the helpline's logic (the
    default), and the reader before Duckling (HELPLINE_DEADLINE_READER=regex)."""
    from actions import deadlines, timeparse

    tz = ZoneInfo("Europe/London")
    now = datetime.now(timezone.utc)
    t0 = time.perf_counter()
    timeparse.warm_up()
    start_ms = (time.perf_counter() - t0) * 1000
    figures = {}
    for reader in ("duckling", "regex"):
        os.environ["HELPLINE_DEADLINE_READER"] = reader
        deadlines.find_deadline("warm up by 9pm", now, tz)
        samples = []
        for _ in progress(range(rounds), desc=f"deadline reader ({reader})", unit="round"):
            for text in MESSAGES:
                t1 = time.perf_counter()
                deadlines.find_deadline(text, now, tz)
                samples.append((time.perf_counter() - t1) * 1000)
        figures[reader] = (pct(samples, .5), pct(samples, .95))
    os.environ.pop("HELPLINE_DEADLINE_READER", None)
    (d50, d95), (r50, r95) = figures["duckling"], figures["regex"]
    # a note with many times side by side: Duckling's work grows exponentially with them,
    # so it reads such a note in pieces (timeparse.pieces); the reader's own checks remain
    crowded = []
    for repeats in (10, 100, 1000):
        t1 = time.perf_counter()
        deadlines.find_deadline("by 9pm " * repeats, now, tz)
        crowded.append(f"{repeats} times {time.perf_counter() - t1:.2f} s")
    line = (f"Deadline reader per message ({rounds * len(MESSAGES)} messages): with Duckling "
            f"p50 {d50:.2f} ms, p95 {d95:.2f} ms; the reader before Duckling p50 {r50:.2f} ms, "
            f"p95 {r95:.2f} ms; Duckling's start {start_ms:.0f} ms, once per process. "
            f"A note of \"by 9pm\" over and over: {', '.join(crowded)}")
    print(line, flush=True)
    return line


def bench_encoder(rounds: int) -> str:
    """The meaning voter's sentence encoder alone, in this process: one message at a time."""
    before = rss_kb(os.getpid())
    # this process starts the stacks after encoding: without this, every start prints the
    # tokenizers library's warning about forking after it used threads
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from rasa_plugins.encoder import Encoder

    encoder = Encoder()
    loaded = rss_kb(os.getpid())
    samples = []
    for _ in progress(range(rounds), desc="sentence encoder", unit="round"):
        for text in MESSAGES:
            t0 = time.perf_counter()
            encoder.encode([text])
            samples.append((time.perf_counter() - t0) * 1000)
    line = (f"Sentence encoder in process (all-MiniLM-L6-v2, TensorFlow graph), {len(samples)} "
            f"messages one at a time: p50 {pct(samples, .5):.1f} ms, p95 {pct(samples, .95):.1f} ms; "
            f"loading it (TensorFlow, transformers and the weights) took "
            f"{(loaded - before) / 1024:.0f} MB in a bare Python process")
    print(line, flush=True)
    return line


# --- memory -------------------------------------------------------------------------------

def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        p = todo.pop()
        try:
            children = Path(f"/proc/{p}/task/{p}/children").read_text().split()
        except OSError:
            children = []
        for c in map(int, children):
            found.append(c)
            todo.append(c)
    return found


def tree_rss_mb(pid: int) -> float:
    return sum(rss_kb(p) for p in [pid] + descendants(pid)) / 1024


class MemoryWatch:
    """Samples the RSS of each process tree twice a second; keeps the peak per phase."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = pids
        self.peak = {name: 0.0 for name in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def now(self) -> dict[str, float]:
        return {name: tree_rss_mb(pid) for name, pid in self.pids.items()}

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            for name, mb in self.now().items():
                self.peak[name] = max(self.peak[name], mb)

    def reset(self) -> None:
        self.peak = self.now()

    def start(self) -> "MemoryWatch":
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()


# --- load ---------------------------------------------------------------------------------

@dataclass
class Result:
    name: str
    concurrency: int
    latencies_ms: list[float] = field(default_factory=list)
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0
    memory: dict[str, float] = field(default_factory=dict)

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1

    @property
    def turns(self) -> int:
        return len(self.latencies_ms) + self.errors

    def row(self, floor: "Result | None", names: list[str]) -> str:
        lat = self.latencies_ms
        ratio = (f"{pct(lat, .95) / pct(floor.latencies_ms, .95):.1f}x"
                 if floor and floor.latencies_ms and lat else "")
        mem = " | ".join(f"{self.memory.get(n, 0):.0f}" for n in names)
        return (f"| {self.name} | {self.concurrency} | {self.turns} | {pct(lat, .5):.0f} | "
                f"{pct(lat, .95):.0f} | {pct(lat, .99):.0f} | {ratio} | "
                f"{self.turns / self.elapsed_s if self.elapsed_s else 0:.1f} | {self.errors} | {mem} |")


async def post_turn(session, url: str, payload: dict, headers: dict, result: Result,
                    must_reply: bool) -> None:
    import aiohttp

    t0 = time.perf_counter()
    try:
        async with session.post(url, json=payload, headers=headers) as r:
            body = await r.read()
            if r.status != 200:
                result.error(f"HTTP {r.status}")
                return
            import json

            replies = json.loads(body) if body else None
            if url.endswith("/webhook") and not isinstance(replies, list):
                result.error("not a list")
                return
            if must_reply and not replies:
                result.error("no reply")  # silence is how a failed custom action looks
                return
    except asyncio.TimeoutError:
        result.error("timeout")
        return
    except aiohttp.ClientError as exc:
        result.error(type(exc).__name__)
        return
    result.latencies_ms.append((time.perf_counter() - t0) * 1000)


async def timed_gather(tasks, concurrency: int, timeout: float, bar, result):
    """Run the coroutines ``tasks(session)`` makes on one client session (``concurrency``
    connections), under the progress ``bar``; ``result.elapsed_s`` is their wall time."""
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency + 5)
    client_timeout = aiohttp.ClientTimeout(total=timeout)
    with bar:
        async with aiohttp.ClientSession(connector=connector, timeout=client_timeout) as session:
            started = time.perf_counter()
            await asyncio.gather(*tasks(session))
            result.elapsed_s = time.perf_counter() - started
    return result


async def run_level(base: str, token: str, kind: str, concurrency: int, turns: int,
                    timeout: float, show: str | None = None) -> Result:
    """``concurrency`` workers, each running conversations one after another, until about
    ``turns`` turns in all have been sent. With ``show``, a progress bar of that name."""
    result = Result(kind, concurrency)
    headers = {"Authorization": f"Bearer {token}"}
    per_conversation = 4
    conversations = max(concurrency, -(-turns // per_conversation))
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(conversations):
        queue.put_nowait(n)
    run_id = uuid.uuid4().hex[:6]
    bar = progress(total=conversations * per_conversation, desc=show, unit="turn",
                   disable=True if show is None else None)

    async def worker(session) -> None:
        while True:
            try:
                n = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            sender = f"bench-{run_id}-{kind}-{n}"
            if kind == "case turns":
                for text in script(n):
                    await post_turn(session, f"{base}/webhooks/rest/webhook",
                                    {"sender": sender, "message": text}, headers, result, True)
                    bar.update()
            elif kind == "floor: /restart":
                for _ in range(per_conversation):
                    await post_turn(session, f"{base}/webhooks/rest/webhook",
                                    {"sender": sender, "message": FLOOR_MESSAGE}, headers,
                                    result, False)
                    bar.update()
            else:  # NLU only
                for text in script(n)[1:] + [NOTES[(n + 1) % len(NOTES)]]:
                    await post_turn(session, f"{base}/model/parse", {"text": text}, headers,
                                    result, False)
                    bar.update()

    return await timed_gather(lambda session: [worker(session) for _ in range(concurrency)],
                              concurrency, timeout, bar, result)


# --- the stack ----------------------------------------------------------------------------

LONG_LENGTHS = (1_000, 5_000, 20_000, 160_000)
#: The attack test of 2026-11-29 (issue 12), before the NLU read only a message's start
#: and the channels and the HTTP API refused what is over the limit.
LONG_BEFORE = {20_000: "5.2 s, +1 GB", 160_000: "500 after 47.5 s, +19.6 GB; another "
               "conversation's turn waited 46.5 s"}


def bench_long_messages(base: str, token: str, rasa_pid: int) -> list[str]:
    """One long message at a time over the REST channel, while another conversation sends
    a short turn: how long each takes and how much the Rasa server grows."""
    import requests

    headers = {"Authorization": f"Bearer {token}"}
    lines = ["", "Long messages (REST channel, one at a time, a short turn of another "
             "conversation sent 0.2 s after each):", "",
             "| characters | answer | took | Rasa server growth | other turn took | before |",
             "|---:|---|---:|---:|---:|---|"]
    filler = "we talked about school and friends and what happened on the weekend. "
    for length in progress(LONG_LENGTHS, desc="long messages", unit="message"):
        text = (filler * (length // len(filler) + 1))[:length]
        before = rss_kb(rasa_pid)
        other: dict[str, float] = {}

        def short_turn() -> None:
            time.sleep(0.2)
            t0 = time.perf_counter()
            requests.post(f"{base}/webhooks/rest/webhook", headers=headers, timeout=300,
                          json={"sender": f"bench-other-{uuid.uuid4().hex[:8]}",
                                "message": "what next?"})
            other["s"] = time.perf_counter() - t0

        side = threading.Thread(target=short_turn)
        side.start()
        t0 = time.perf_counter()
        r = requests.post(f"{base}/webhooks/rest/webhook", headers=headers, timeout=300,
                          json={"sender": f"bench-long-{uuid.uuid4().hex[:8]}", "message": text})
        took = time.perf_counter() - t0
        side.join()
        grown = max(0, rss_kb(rasa_pid) - before) / 1024
        say(f"  long message {length:>7,} chars: HTTP {r.status_code} in {took:.2f} s, "
            f"Rasa +{grown:.0f} MB")
        lines.append(f"| {length:,} | HTTP {r.status_code} | {took:.2f} s | +{grown:.0f} MB | "
                     f"{other.get('s', 0):.2f} s | {LONG_BEFORE.get(length, '')} |")
    return lines


def postgres_database() -> tuple[str, callable]:
    """A throw-away database on the local PostgreSQL; returns its URL and a dropper."""
    import sqlalchemy as sa

    name = f"helpline_bench_{uuid.uuid4().hex[:8]}"
    base = os.environ.get("BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT", future=True)
    with admin.connect() as c:
        c.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.engine.make_url(base).set(database=name).render_as_string(hide_password=False)

    def drop() -> None:
        with admin.connect() as c:
            c.execute(sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = :n AND pid <> pg_backend_pid()"), {"n": name})
            c.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    return url, drop


def scratch_stores(args: argparse.Namespace, prefix: str
                   ) -> tuple[dict[str, str], Path, str, "callable | None"]:
    """A scratch stack's environment and temporary folder with the stores the command line
    asks for; also their description and, for PostgreSQL, the database's dropper."""
    import stack as stack_module

    env, tmp = stack_module.scratch_env(prefix)
    drop = None
    stores = "SQLite (temporary folder)"
    if args.postgres:
        url, drop = postgres_database()
        env["CASE_DB_URL"] = env["TRACKER_DB_URL"] = url
        subprocess.run([sys.executable, "-m", "actions.casenotes", "migrate"], cwd=ROOT, env=env,
                       check=True, capture_output=True)
        stores = "PostgreSQL (throw-away database)"
    if args.redis:
        env["REDIS_URL"] = args.redis
        stores += ", Redis lock store"
    return env, tmp, stores, drop


def bench_stack(args: argparse.Namespace) -> tuple[list[Result], dict[str, float], str,
                                                  list[str]]:
    import stack as stack_module

    env, tmp, stores, drop = scratch_stores(args, "helpline-bench-")
    running = stack_module.Stack(env=env, log_dir=tmp / "log")
    results: list[Result] = []
    try:
        t0 = time.perf_counter()
        print(f"Starting the stack (stores: {stores}; logs in {tmp / 'log'}) ...", flush=True)
        running.start(panel=False)
        running.wait_ready(timeout=300)
        print(f"Stack ready in {time.perf_counter() - t0:.1f} s (model load included)", flush=True)
        watch = MemoryWatch({"Rasa server": running.processes[1].pid,
                             "action server": running.processes[0].pid}).start()
        idle = watch.now()
        token = stack_module.admin_token(running.secret)
        base = running.rasa_url
        # warm up: first requests load lazy parts (spaCy pipeline, DB connections)
        asyncio.run(run_level(base, token, "case turns", 1, 8, args.timeout))
        asyncio.run(run_level(base, token, "floor: /restart", 1, 4, args.timeout))
        kinds = ["case turns", "floor: /restart"] + ([] if args.no_nlu else ["NLU only: /model/parse"])
        rows = progress(total=len(args.levels) * len(kinds), desc="stack rows", unit="row")
        for level in args.levels:
            for kind in kinds:
                watch.reset()
                label = f"  {kind:<24} {level:>3} concurrent ..."
                r = asyncio.run(run_level(base, token, kind, level, args.turns, args.timeout,
                                          show=f"{kind}, {level} concurrent"))
                r.memory = dict(watch.peak)
                results.append(r)
                # the same line as before, printed whole once the row is done
                say(f"{label} {r.turns} turns in {r.elapsed_s:.1f} s, "
                    f"p95 {pct(r.latencies_ms, .95):.0f} ms, {r.errors} errors")
                rows.update()
        rows.close()
        watch.stop()
        long_lines = bench_long_messages(base, token, running.processes[1].pid)
    finally:
        running.stop()
    try:
        if not args.no_voter_comparison:
            long_lines += voter_comparison(env, tmp, args, results, idle)
        return results, idle, stores, long_lines
    finally:
        if drop:
            drop()


def voter_comparison(env: dict[str, str], tmp: Path, args: argparse.Namespace,
                     results: list[Result], idle: dict[str, float]) -> list[str]:
    """The same case turns at 10 conversations on a second stack with the meaning voter
    off (HELPLINE_MEANING_VOTER=off), against the row with it on from this run."""
    import stack as stack_module

    with_voter = next((r for r in results if r.name == "case turns" and r.concurrency == 10), None)
    if with_voter is None:
        return []
    env = {**env, "HELPLINE_MEANING_VOTER": "off", "RASA_PORT": str(stack_module.free_port()),
           "ACTIONS_PORT": str(stack_module.free_port())}
    running = stack_module.Stack(env=env, log_dir=tmp / "log-no-voter")
    try:
        print("Starting a second stack with the meaning voter off ...", flush=True)
        running.start(panel=False)
        running.wait_ready(timeout=300)
        without_idle = tree_rss_mb(running.processes[1].pid)
        token = stack_module.admin_token(running.secret)
        asyncio.run(run_level(running.rasa_url, token, "case turns", 1, 8, args.timeout))
        without = asyncio.run(run_level(running.rasa_url, token, "case turns", 10, args.turns,
                                        args.timeout, show="case turns, voter off, 10 concurrent"))
        print(f"  {'case turns, voter off':<24} {10:>3} concurrent ... {without.turns} turns, "
              f"p95 {pct(without.latencies_ms, .95):.0f} ms", flush=True)
    finally:
        running.stop()
    on, off = pct(with_voter.latencies_ms, .95), pct(without.latencies_ms, .95)
    ratio = on / off if off else float("nan")
    return ["", "## The meaning voter's cost", "",
            f"Case turns at 10 conversations, p95: {on:.0f} ms with the meaning voter, {off:.0f} ms "
            f"without (a second stack, HELPLINE_MEANING_VOTER=off, same run): {ratio:.2f} x "
            f"(target <= 1.2 x: {'met' if ratio <= 1.2 else 'NOT met'}); p50 "
            f"{pct(with_voter.latencies_ms, .5):.0f} ms with, {pct(without.latencies_ms, .5):.0f} ms "
            "without.",
            f"Rasa server memory after start: {idle['Rasa server']:.0f} MB with the voter, "
            f"{without_idle:.0f} MB without (the voter adds {idle['Rasa server'] - without_idle:.0f} MB: "
            "the encoder's weights and transformers; TensorFlow is loaded either way).",
            args.encoder_line + "."]


# --- message -> board ---------------------------------------------------------------------

BOARD_LEVELS = (10, 50)
BOARD_OPENING = '/start_case{"caller_role":"child"}'
#: The red flag each conversation raises (as tests/browser/panel_page.py SELF_HARM_NOTE).
BOARD_MESSAGE = "she said she wants to kill herself"
BOARD_FLAG = "self_harm_risk"


class BoardWatch:
    """One supervisor's board: ``GET /supervisor/stream`` read in a thread of its own, as
    the board's page reads it. ``seen``: for each case, the ``time.perf_counter()`` at which
    the first ``cases`` event whose row for that case shows the flag ``code`` had been
    parsed. If the server ends the stream (it does after its ``stream_seconds``), it
    reconnects, as the page does; the server then sends the current rows at once."""

    def __init__(self, panel_url: str, token: str, code: str) -> None:
        from urllib.parse import urlsplit

        parts = urlsplit(panel_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.token = token
        self.code = code
        self.seen: dict[str, float] = {}
        self.waiting: dict[str, tuple] = {}  # case id -> (event loop, future) of a waiter
        self.lock = threading.Lock()
        self.events: dict[str, int] = {}  # events by name ("cases", "unavailable")
        self.rows = 0  # rows in the latest cases event
        self.largest = 0  # bytes of the largest cases event's data
        self.connects = 0
        self.first = threading.Event()  # a cases event has arrived
        self._stop = threading.Event()
        self._conn = None
        self._response = self._connect()  # here: a refusal is raised to the caller
        self._thread = threading.Thread(target=self._run, name="bench-board-stream",
                                        daemon=True)
        self._thread.start()

    def _connect(self):
        import http.client

        conn = http.client.HTTPConnection(self.host, self.port, timeout=60)
        conn.request("GET", "/supervisor/stream",
                     headers={"Authorization": f"Bearer {self.token}",
                              "Accept": "text/event-stream"})
        response = conn.getresponse()
        if response.status != 200:
            body = response.read()[:200]
            conn.close()
            raise RuntimeError(f"/supervisor/stream answered HTTP {response.status}: {body!r}")
        self._conn = conn
        self.connects += 1
        return response

    def _run(self) -> None:
        import json

        response = self._response
        while not self._stop.is_set():
            name, data = "message", []
            try:
                while True:
                    line = response.readline()
                    if not line:
                        break  # the server ended the stream
                    line = line.rstrip(b"\r\n")
                    if line.startswith(b"event:"):
                        name = line[6:].strip().decode()
                    elif line.startswith(b"data:"):
                        data.append(line[5:].strip())
                    elif not line:  # the end of an event
                        if data:
                            raw = b"\n".join(data)
                            if name == "cases":
                                cases = json.loads(raw)["cases"]
                                self.record(cases, time.perf_counter())  # parsed: timing ends
                                self.largest = max(self.largest, len(raw))
                                self.first.set()
                            self.events[name] = self.events.get(name, 0) + 1
                        name, data = "message", []
            except (OSError, ValueError):
                pass
            while not self._stop.is_set():
                try:
                    response = self._connect()
                    break
                except (OSError, RuntimeError):
                    self._stop.wait(2)  # the page's retry

    def record(self, cases: list[dict], parsed: float) -> None:
        self.rows = len(cases)
        for row in cases:
            case_id = row.get("case_id")
            if case_id in self.seen or not any(f.get("code") == self.code
                                               for f in row.get("flags") or []):
                continue
            with self.lock:
                self.seen[case_id] = parsed
                waiter = self.waiting.pop(case_id, None)
            if waiter:
                loop, future = waiter
                try:
                    loop.call_soon_threadsafe(
                        lambda f=future: f.done() or f.set_result(parsed))
                except RuntimeError:  # that level's event loop has ended
                    pass

    async def shown(self, case_id: str, within: float) -> float | None:
        """When the board first showed the flag on ``case_id`` (``seen``), waiting at most
        ``within`` seconds for it; None if it did not. Woken by the reader thread, so
        waiting costs the process nothing while the board's threads work."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        with self.lock:
            if case_id in self.seen:
                return self.seen[case_id]
            self.waiting[case_id] = (loop, future)
        try:
            return await asyncio.wait_for(future, timeout=max(0.0, within))
        except asyncio.TimeoutError:
            return None
        finally:
            with self.lock:
                self.waiting.pop(case_id, None)

    def close(self) -> None:
        import socket

        self._stop.set()
        conn = self._conn
        if conn is not None and conn.sock is not None:
            try:
                conn.sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._thread.join(timeout=5)
        if conn is not None:
            conn.close()


@dataclass
class BoardResult:
    concurrency: int
    board_ms: list[float] = field(default_factory=list)  # POST -> the event showing the flag
    turn_ms: list[float] = field(default_factory=list)  # POST -> the red-flag turn's reply
    lag_ms: list[float] = field(default_factory=list)  # the reply -> that event
    never: int = 0  # no event showed the flag within the wait
    not_in_reply: int = 0  # the reply's case_state did not list the flag
    errors: int = 0
    error_kinds: dict[str, int] = field(default_factory=dict)
    elapsed_s: float = 0.0

    def error(self, kind: str) -> None:
        self.errors += 1
        self.error_kinds[kind] = self.error_kinds.get(kind, 0) + 1


def case_state(replies: list[dict]) -> dict:
    """The last ``case_state`` custom message among a turn's replies, else {}."""
    states = [m["custom"] for m in replies if isinstance(m, dict)
              and isinstance(m.get("custom"), dict) and m["custom"].get("type") == "case_state"]
    return states[-1] if states else {}


async def post_replies(session, url: str, payload: dict, headers: dict,
                       result: BoardResult) -> list[dict] | None:
    """A REST channel turn's replies, or None with the error counted in ``result``."""
    import aiohttp

    try:
        async with session.post(url, json=payload, headers=headers) as r:
            if r.status != 200:
                result.error(f"HTTP {r.status}")
                return None
            replies = await r.json(content_type=None)
    except asyncio.TimeoutError:
        result.error("timeout")
        return None
    except (aiohttp.ClientError, ValueError) as exc:
        result.error(type(exc).__name__)
        return None
    if not isinstance(replies, list) or not replies:
        result.error("no reply")
        return None
    return replies


async def board_level(base: str, secret: str, watch: BoardWatch, concurrency: int,
                      timeout: float, wait: float, show: str | None = None) -> BoardResult:
    """``concurrency`` conversations at once, each: open a case, then the red flag; for each,
    wait up to ``wait`` seconds after that POST for the board to show the flag. Each uses a
    counsellor's token scoped to its conversation (role user, as a panel holds)."""
    import stack as stack_module

    result = BoardResult(concurrency)
    url = f"{base}/webhooks/rest/webhook"
    run_id = uuid.uuid4().hex[:6]
    bar = progress(total=concurrency, desc=show, unit="conversation",
                   disable=True if show is None else None)

    async def conversation(session, n: int) -> None:
        sender = f"bench-board-{run_id}-{n}"
        headers = {"Authorization": "Bearer " + stack_module.user_token(
            secret, sender, counsellor=f"bench-counsellor-{n}")}
        opened = await post_replies(session, url, {"sender": sender, "message": BOARD_OPENING},
                                    headers, result)
        if opened is None:
            return
        t0 = time.perf_counter()  # just before the red flag's POST
        replies = await post_replies(session, url, {"sender": sender, "message": BOARD_MESSAGE},
                                     headers, result)
        replied = time.perf_counter()
        if replies is None:
            return
        result.turn_ms.append((replied - t0) * 1000)
        state = case_state(replies) or case_state(opened)
        case_id = state.get("case_id")
        if not case_id:
            result.error("no case id in the replies")
            return
        if BOARD_FLAG not in (case_state(replies).get("red_flags") or []):
            result.not_in_reply += 1  # still waited for: the board is what is measured
        seen = await watch.shown(case_id, wait - (time.perf_counter() - t0))
        if seen is None or seen - t0 > wait:
            result.never += 1
        else:
            result.board_ms.append((seen - t0) * 1000)
            result.lag_ms.append((seen - replied) * 1000)

    async def counted(session, n: int) -> None:
        try:
            await conversation(session, n)
        finally:
            bar.update()

    return await timed_gather(lambda session: [counted(session, n) for n in range(concurrency)],
                              concurrency, timeout, bar, result)


def panel_board(running) -> object:
    """The Board of a Stack's panel server (scripts/panel_server.py)."""
    handler = running.panel_server.RequestHandlerClass
    return getattr(handler, "func", handler).board


def bench_board(args: argparse.Namespace) -> tuple[list[str], str]:
    """The message -> board section on a stack of its own; its report lines, and the stores."""
    import stack as stack_module
    from actions import board as board_rows

    env, tmp, stores, drop = scratch_stores(args, "helpline-bench-board-")
    running = stack_module.Stack(env=env, log_dir=tmp / "log-board")
    results: list[BoardResult] = []
    watch = None
    try:
        t0 = time.perf_counter()
        print(f"Starting a stack with the panel server and the supervisor's board (stores: "
              f"{stores}; logs in {tmp / 'log-board'}) ...", flush=True)
        running.start(panel=True)
        running.wait_ready(timeout=300)
        print(f"Stack ready in {time.perf_counter() - t0:.1f} s", flush=True)
        board = panel_board(running)
        watch = BoardWatch(running.panel_url, stack_module.supervisor_token(
            running.secret, "bench-supervisor"), BOARD_FLAG)
        if not watch.first.wait(30):
            print("  warning: no rows on the supervisor's stream after 30 s", flush=True)
        # warm up (not counted): lazy parts of both servers, and the board's first rows
        warm = asyncio.run(board_level(running.rasa_url, running.secret, watch, 1,
                                       args.timeout, args.board_wait))
        if not warm.board_ms:
            print(f"  warning: the warm-up conversation's flag did not show on the board "
                  f"({warm.never} never showed, {warm.errors} errors)", flush=True)
        for level in args.board_levels:
            r = asyncio.run(board_level(running.rasa_url, running.secret, watch, level,
                                        args.timeout, args.board_wait,
                                        show=f"message -> board, {level} concurrent"))
            results.append(r)
            say(f"  {'message -> board':<24} {level:>3} concurrent ... {level} conversations "
                f"in {r.elapsed_s:.1f} s, p95 {pct(r.board_ms, .95):.0f} ms, "
                f"{r.never} never showed, {r.errors} errors")
        # what the poller does each time the rows change, now that the board is full
        marks, snaps = [], []
        for _ in range(5):
            t1 = time.perf_counter()
            board_rows.change_mark(board.store)
            t2 = time.perf_counter()
            board.snapshot()
            t3 = time.perf_counter()
            marks.append((t2 - t1) * 1000)
            snaps.append((t3 - t2) * 1000)
        rows_on_board, largest = watch.rows, watch.largest
        events = dict(watch.events)
        connects = watch.connects
    finally:
        if watch is not None:
            watch.close()
        running.stop()
        if drop:
            drop()
    return board_lines(results, board, marks, snaps, rows_on_board, largest, events, connects,
                       args), stores


def board_lines(results: list[BoardResult], board, marks: list[float], snaps: list[float],
                rows_on_board: int, largest: int, events: dict[str, int], connects: int,
                args: argparse.Namespace) -> list[str]:
    wait = args.board_wait
    lines = [
        "", "## Message -> board", "",
        "A stack of its own (action server, Rasa server, and the panel server with the "
        "supervisor's board, which `make run` also starts in its launcher process; here that "
        "process is the benchmark's, so the board's threads share it with the client). One "
        "supervisor's board reads `GET /supervisor/stream` (Server-Sent Events, a supervisor "
        "token) in a thread. At each level that many conversations start at once; each "
        f"opens a case (`{BOARD_OPENING}`) and then sends \"{BOARD_MESSAGE}\" over the REST "
        "channel, each with a counsellor's token scoped to its conversation. Measured per "
        "conversation: from just before the red flag's POST to the parsing of the first "
        f"stream event whose row for its case shows `{BOARD_FLAG}` (nearest-rank "
        f"percentiles, ms); \"never showed\": no such event within {wait:.0f} s of the POST. "
        "Also: the red-flag turn itself (POST to reply), and the board after the reply "
        "(negative: the board showed it before the reply arrived). The conversations of a "
        "level start together and so meet the same few polls: a level's percentiles are a "
        "few poll ticks, not independent samples. The cases of a level stay open, so the "
        "board holds the earlier levels' cases too (and one warm-up case).",
        "",
        f"The floor: the panel server looks for a change every {board.poll_seconds:g} s "
        f"(`Board.poll_seconds`; two index reads, `actions/board.change_mark`), then computes "
        f"every open case's row and pushes them to the streams; the next look is "
        f"{board.poll_seconds:g} s after that push, so a flag written just after a look "
        f"waits up to {board.poll_seconds:g} s plus the rows' computing (half that "
        "on average, with no other delay). Rows are recomputed regardless every "
        f"{board.refresh_seconds:g} s (`refresh_seconds`). With {rows_on_board} open cases "
        f"on the board at the end: the change check took {pct(marks, .5):.1f} ms, computing "
        f"the rows {pct(snaps, .5):.0f} ms (median of 5, the store idle); the largest event "
        f"was {largest / 1024:.0f} KB.",
        "",
        "| concurrent | conversations | red-flag turn p50 | turn p95 | to the board p50 | "
        "p95 | max | board after the reply p50 | p95 | never showed | flag not in the reply "
        "| errors |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        top = max(r.board_ms) if r.board_ms else float("nan")
        lines.append(
            f"| {r.concurrency} | {r.concurrency} | {pct(r.turn_ms, .5):.0f} | "
            f"{pct(r.turn_ms, .95):.0f} | {pct(r.board_ms, .5):.0f} | {pct(r.board_ms, .95):.0f} | "
            f"{top:.0f} | {pct(r.lag_ms, .5):.0f} | {pct(r.lag_ms, .95):.0f} | {r.never} | "
            f"{r.not_in_reply} | {r.errors} |")
    lines.append("")
    lines.append("Stream events received: " + ", ".join(
        f"{name} x{n}" for name, n in sorted(events.items())) + f"; connections: {connects}.")
    errors = [f"{r.concurrency} concurrent: " + ", ".join(f"{k} x{v}"
                                                         for k, v in r.error_kinds.items())
              for r in results if r.errors]
    if errors:
        lines.append("Errors: " + "; ".join(errors) + ".")
    return lines


def heading(stores: str, args: argparse.Namespace) -> list[str]:
    """The report's title and its machine line."""
    now = datetime.now(timezone.utc)
    load = os.getloadavg()
    return [
        f"# Benchmark {now:%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {os.cpu_count()} cores, {platform.python_implementation()} "
        f"{platform.python_version()}, load average before the run "
        f"{args.load_before[0]:.2f}/{args.load_before[1]:.2f}/{args.load_before[2]:.2f}, "
        f"after {load[0]:.2f}/{load[1]:.2f}/{load[2]:.2f} (other work on the machine shows up "
        "in the figures). Stores: " + stores + ". Client: one asyncio/aiohttp process on the "
        "same machine. Command: `make bench`"
        + (f" ({' '.join(sys.argv[1:])})" if sys.argv[1:] else "") + ".",
    ]


def table(results: list[Result], idle: dict[str, float], stores: str, rules_line: str,
          args: argparse.Namespace, long_lines: list[str]) -> str:
    names = ["Rasa server", "action server"]
    lines = heading(stores, args) + [
        "",
        "- **case turns**: each conversation is a scripted call over the REST channel "
        "(`/start_case`, a note, a deadline, \"what next?\"); every turn runs NLU, the "
        "per-message check (red flags, deadline, case-note writes) and a predicted custom "
        "action (more case-note writes), and Rasa saves the encrypted tracker. A turn with an "
        "empty reply counts as an error (a failed action is silent).",
        "- **floor: /restart**: the same stack, same channel and concurrency, answering "
        "`/restart`: intent from the payload (no NLU), tracker loaded and saved, the "
        "per-message hook called but doing nothing, Rasa's own `action_restart`. No custom "
        "action does any work.",
        "- **NLU only**: `POST /model/parse` (HTTP API): the NLU pipeline on the same texts, "
        "no tracker, no actions.",
        "- Latency per turn in ms (nearest-rank percentiles); throughput in turns/s; "
        "\"p95 / floor\" is the row's p95 over the floor's p95 at the same concurrency. "
        "Memory: peak RSS in MB of each process tree during that row.",
        "",
        "| workload | concurrent | turns | p50 | p95 | p99 | p95 / floor | turns/s | errors | "
        + " | ".join(f"{n} MB" for n in names) + " |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|" + "---:|" * len(names),
    ]
    floors = {r.concurrency: r for r in results if r.name.startswith("floor")}
    for r in results:
        floor = None if r.name.startswith("floor") else floors.get(r.concurrency)
        lines.append(r.row(floor, names))
    errors = [f"{r.name} at {r.concurrency}: " + ", ".join(f"{k} x{v}" for k, v in r.error_kinds.items())
              for r in results if r.errors]
    lines += ["", "Idle memory after start: " + ", ".join(f"{n} {idle[n]:.0f} MB" for n in names) + ".",
              rules_line + "."]
    if errors:
        lines.append("Errors: " + "; ".join(errors) + ".")
    case10 = next((r for r in results if r.name == "case turns" and r.concurrency == 10), None)
    case50 = next((r for r in results if r.name == "case turns" and r.concurrency == 50), None)
    if case10 and 10 in floors and floors[10].latencies_ms and case10.latencies_ms:
        ratio = pct(case10.latencies_ms, .95) / pct(floors[10].latencies_ms, .95)
        lines.append(f"Target p95 at 10 conversations <= 3 x floor: {ratio:.1f} x "
                     f"({'met' if ratio <= 3 else 'NOT met'}).")
    if case50:
        lines.append(f"Target no errors at 50 conversations: {case50.errors} errors "
                     f"({'met' if case50.errors == 0 else 'NOT met'}).")
    return "\n".join(lines + long_lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=10, help="rounds of the rule-check set")
    parser.add_argument("--turns", type=int, default=200,
                        help="turns per row (at least 4 per concurrent conversation)")
    parser.add_argument("--levels", type=lambda s: [int(x) for x in s.split(",")],
                        default=list(LEVELS), help="concurrency levels, e.g. 1,10,50")
    parser.add_argument("--timeout", type=float, default=120, help="seconds per request")
    parser.add_argument("--postgres", action="store_true",
                        help="case notes and tracker in a throw-away PostgreSQL database "
                             "(BENCH_POSTGRES_URL, default postgresql://postgres@127.0.0.1:5432/postgres)")
    parser.add_argument("--redis", metavar="URL", help="use this Redis as the lock store")
    parser.add_argument("--no-nlu", action="store_true", help="skip the /model/parse rows")
    parser.add_argument("--rules-only", action="store_true")
    parser.add_argument("--no-voter-comparison", action="store_true",
                        help="skip the second stack with the meaning voter off")
    parser.add_argument("--no-board", action="store_true",
                        help="skip the message -> board section (a stack with the panel server)")
    parser.add_argument("--board-only", action="store_true",
                        help="run only the message -> board section")
    parser.add_argument("--board-levels", type=lambda s: [int(x) for x in s.split(",")],
                        default=list(BOARD_LEVELS),
                        help="concurrent conversations for message -> board, e.g. 10,50")
    parser.add_argument("--board-wait", type=float, default=30.0,
                        help="seconds after the red flag's POST before a conversation counts "
                             "as never shown on the board")
    parser.add_argument("--output", type=Path, help="default results/bench-<UTC time>.md")
    args = parser.parse_args()
    args.load_before = os.getloadavg()
    if args.board_only:
        board_lines, stores = bench_board(args)
        text = "\n".join(heading(stores, args) + board_lines) + "\n"
    else:
        deadline_line = bench_deadlines(args.rounds)  # first: it times Duckling's start
        rules_line = bench_rules(args.rounds) + ".\n" + deadline_line
        if args.rules_only:
            return 0
        args.encoder_line = bench_encoder(max(1, args.rounds // 2))
        results, idle, stores, long_lines = bench_stack(args)
        board_lines = [] if args.no_board else bench_board(args)[0]
        text = table(results, idle, stores, rules_line, args, long_lines + board_lines)
    out = args.output or ROOT / "results" / f"bench-{datetime.now(timezone.utc):%Y%m%d-%H%M%S}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print()
    print(text)
    print(f"Written to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
