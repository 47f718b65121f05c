"""Reading the offender's deadline from a counsellor's note.

Durations ("an hour", "1hr", "30 mins", "two days") count from the message's own time;
clock times ("by 9pm", "21:00", "midnight tonight", "noon tomorrow") are read in the
helpline's time zone. Vague deadlines ("before school tomorrow") come back as
``ambiguous`` so the assistant asks for the exact time instead of guessing. The words
are in ``data/risk/deadlines.yml``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

DATA = Path(__file__).resolve().parent.parent / "data" / "risk" / "deadlines.yml"


@dataclass(frozen=True)
class Deadline:
    status: str            # "set" | "ambiguous" | "withdrawn" | "passed"
    at: datetime | None    # aware, in the helpline's time zone; None unless set/passed
    words: str             # the words that gave it
    correction: bool       # "sorry, 2 hours not 1": replaces the deadline just given
    question: str | None = None  # for ambiguous: what to ask the counsellor


@lru_cache(maxsize=1)
def words() -> dict[str, Any]:
    with open(DATA, encoding="utf-8") as f:
        return yaml.safe_load(f)


def alternation(items: list[str]) -> str:
    return "|".join(re.escape(str(i)) for i in sorted(items, key=lambda s: -len(str(s))))


@lru_cache(maxsize=1)
def patterns() -> dict[str, re.Pattern[str]]:
    w = words()
    number_words = alternation(list(w["numbers"]))
    unit_words = alternation([u for units in w["units"].values() for u in units])
    phrase = lambda key: re.compile(rf"(?<![\w'])({alternation(w[key])})(?![\w])", re.I)  # noqa: E731
    return {
        "duration": re.compile(
            # digits may touch the unit ("1hr", "30mins"); a word needs a space ("an hour"),
            # so "and" is never "a" + "nd".
            rf"(?<![\w£$€.])(?:(?P<num>\d+(?:\.\d+)?)\s*-?\s*|(?P<word>half an?|{number_words})\s+)"
            rf"(?P<unit>{unit_words})(?![\w])(?P<ago>\s+ago)?"
            rf"(?P<half>\s+and\s+a\s+half)?", re.I),
        "clock": re.compile(
            r"(?<![\w£$€:.])(?:(?P<half>half past|quarter past|quarter to)\s+)?"
            r"(?P<h>[01]?\d|2[0-3])(?:[:.](?P<m>[0-5]\d))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)?(?![\w£$%])"
            r"|(?P<word>midnight|noon|midday)", re.I),
        "cue": phrase("cues"),
        "fixed": re.compile(rf"(?<![\w])({alternation(list(w['fixed_minutes']))})(?![\w])", re.I),
        "ambiguous": phrase("ambiguous"),
        "withdrawn": phrase("withdrawn"),
        "passed": phrase("passed"),
        "correction": phrase("corrections"),
    }


def to_number(raw: str) -> float:
    raw = raw.lower().strip()
    if raw.startswith("half"):
        return 0.5
    if re.fullmatch(r"\d+(?:\.\d+)?", raw):
        return float(raw)
    return float(words()["numbers"][raw])


def unit_of(raw: str) -> str:
    raw = raw.lower()
    for unit, names in words()["units"].items():
        if raw in [str(n).lower() for n in names]:
            return unit
    return "hours"


def find_duration(text: str, now: datetime) -> tuple[datetime, str] | None:
    fixed = patterns()["fixed"].search(text)
    if fixed:
        minutes = words()["fixed_minutes"][fixed.group(0).lower()]
        return now + timedelta(minutes=minutes), fixed.group(0)
    for m in patterns()["duration"].finditer(text):
        if m.group("ago"):
            continue
        amount = to_number(m.group("num") or m.group("word")) + (0.5 if m.group("half") else 0)
        unit = unit_of(m.group("unit"))
        if unit == "minutes" and amount > 24 * 60 or amount <= 0:
            continue
        if unit == "hours" and re.search(r"\b(yo|y/o|year)", text[m.end():m.end() + 5], re.I):
            continue
        delta = {"minutes": timedelta(minutes=amount), "hours": timedelta(hours=amount),
                 "days": timedelta(days=amount)}[unit]
        return now + delta, m.group(0).strip()
    return None


def day_offset(text: str) -> int | None:
    lowered = text.lower()
    if "tomorrow" in lowered:
        return 1
    if re.search(r"\b(tonight|today|this (evening|morning|afternoon))\b", lowered):
        return 0
    return None


def find_clock(text: str, now: datetime, tz: ZoneInfo, bare: bool) -> tuple[datetime, str] | None:
    """A clock time in the text as the next matching moment in ``tz`` (or today/tomorrow)."""
    local_now = now.astimezone(tz)
    for m in patterns()["clock"].finditer(text):
        word = (m.group("word") or "").lower()
        if word:
            hour, minute, ampm = (0 if word == "midnight" else 12), 0, None
        else:
            hour, minute = int(m.group("h")), int(m.group("m") or 0)
            ampm = (m.group("ampm") or "").lower().replace(".", "") or None
            if not ampm and not m.group("m") and not m.group("half") and not bare:
                # a bare number ("till 9") needs a cue right before it
                before = text[max(0, m.start() - 8):m.start()].lower()
                if not re.search(r"(till|til|until|by|at|before|for)\s*$", before):
                    continue
            if ampm == "pm" and hour < 12:
                hour += 12
            if ampm == "am" and hour == 12:
                hour = 0
            half = (m.group("half") or "").lower()
            if half == "half past":
                minute = 30
            elif half == "quarter past":
                minute = 15
            elif half == "quarter to":
                hour, minute = (hour - 1) % 24, 45
        offset = day_offset(text)
        if word == "midnight":
            offset = 1 if offset in (None, 0) else offset + 1
        base = local_now.date() + timedelta(days=offset or 0)
        candidates = [datetime.combine(base, time(hour % 24, minute), tz)]
        if not word and not ampm and hour < 12:
            candidates.append(datetime.combine(base, time(hour + 12, minute), tz))
            if re.search(r"\b(tonight|evening)\b", text, re.I):
                candidates = candidates[1:]
            elif re.search(r"\bmorning\b", text, re.I):
                candidates = candidates[:1]
        if offset is None:
            future = [c for c in candidates if c > local_now]
            if not future:
                future = [c + timedelta(days=1) for c in candidates]
            candidates = future
        else:
            future = [c for c in candidates if c > local_now]
            candidates = future or candidates
        return min(candidates), m.group(0).strip()
    return None


def hours_as_digits(text: str) -> str:
    """"half past eight" -> "half past 8", "at ten tonight" -> "at 10 tonight"."""
    names = words().get("hour_words", {})
    pattern = rf"\b(past|to|till|til|until|by|at|before)\s+({alternation(list(names))})\b"
    return re.sub(pattern, lambda m: f"{m.group(1)} {names[m.group(2).lower()]}", text,
                  flags=re.I)


def find_deadline(text: str, now: datetime, tz: ZoneInfo,
                  awaiting_time: bool = False) -> Deadline | None:
    """The deadline a counsellor's note gives, if any (see module docstring).

    ``awaiting_time``: the assistant has just asked for the exact time, or the classifier
    heard a deadline, so a bare "9pm" or "1hr" counts without a cue word.
    """
    if not text or not text.strip():
        return None
    text = hours_as_digits(text[:2000])
    p = patterns()
    if p["withdrawn"].search(text):
        return Deadline("withdrawn", None, p["withdrawn"].search(text).group(0), False)
    passed = p["passed"].search(text)
    correction = bool(p["correction"].search(text))
    cue = bool(p["cue"].search(text)) or awaiting_time or correction
    if passed:
        return Deadline("passed", None, passed.group(0), False)
    if not cue:
        return None
    found = find_duration(text, now) or find_clock(text, now, tz, bare=awaiting_time or correction)
    if found:
        at, said = found
        at = at.astimezone(tz)
        status = "set" if at > now else "passed"
        return Deadline(status, at, said, correction)
    vague = p["ambiguous"].search(text)
    if vague:
        # keep the day that goes with it: "before school tomorrow"
        tail = re.match(r"\s+(tomorrow|tonight|today|this \w+|on \w+day)\b", text[vague.end():], re.I)
        said = vague.group(0) + (tail.group(0) if tail else "")
        return Deadline("ambiguous", None, said, correction,
                        f"The deadline was given as “{said}”. What exact time is that? "
                        "Type it, for example 8am or 21:00.")
    return None
