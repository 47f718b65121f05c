"""Reading the offender's deadline from a counsellor's note.

Durations ("an hour", "1hr", "30 mins", "two and a half hours") count from the message's
own time, or from the time the offender's message came if the note gives it ("messaged at
6 saying she had 2 hours"); clock times ("by 9pm", "21:00", "half 10", "twenty to ten",
"midnight tonight", "noon tomorrow", "friday 5pm") are read in the helpline's time zone.
When a note gives two deadlines and a word like "changed" or "now" between them, the later
one wins. Vague deadlines ("before school tomorrow") come back as ``ambiguous`` so the
assistant asks for the exact time instead of guessing. The words are in
``data/risk/deadlines.yml``.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
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

    def phrase(key: str) -> re.Pattern[str]:
        # "dropped the * deadline": one word may stand at "*"
        body = alternation(w.get(key) or []).replace(r"\ \*\ ", r"\s+(?:\S+\s+)?")
        return re.compile(rf"(?<![\w])(?<!\w')({body})(?![\w])", re.I)

    return {
        "duration": re.compile(
            # digits may touch the unit ("1hr", "30mins"); a word needs a space ("an hour"),
            # so "and" is never "a" + "nd".
            rf"(?<![\w£$€.])(?:(?P<num>\d+(?:\.\d+)?)\s*-?\s*|(?P<word>half an?|{number_words})\s+)"
            rf"(?P<half1>and\s+a\s+half\s+)?"
            rf"(?P<unit>{unit_words})(?![\w])(?P<ago>\s+ago)?"
            rf"(?P<half>\s+and\s+a\s+half)?", re.I),
        "clock": re.compile(
            r"(?<![\w£$€:.])(?:(?P<half>half past|quarter past|quarter to)\s+)?"
            r"(?P<h>[01]?\d|2[0-3])(?:[:.](?P<m>[0-5]\d))?\s*(?P<ampm>a\.?m\.?|p\.?m\.?)?(?![\w£$%])"
            r"|(?P<word>midnight|noon|midday)", re.I),
        "cue": phrase("cues"),
        "demand": phrase("demand_words"),
        "duration_cue": phrase("duration_cues"),
        "fixed": re.compile(rf"(?<![\w])({alternation(list(w['fixed_minutes']))})(?![\w])", re.I),
        "ambiguous": phrase("ambiguous"),
        "withdrawn": phrase("withdrawn"),
        "passed": phrase("passed"),
        "none": phrase("none"),
        "correction": phrase("corrections"),
        "revision": phrase("revisions"),
        "not_before": re.compile(rf"(?<![\w])({alternation(w['not_deadline_before'])})\s+(?:at\s+|around\s+|about\s+)?$", re.I),
        "demand_before": re.compile(
            rf"(?<![\w])({alternation(w.get('demand_before_time') or [])})\s+"
            r"(?:at\s+|about\s+|around\s+|like\s+)?$", re.I),
        "sent_before": re.compile(rf"(?<![\w])({alternation(w['sent_at_before'])})\b.{{0,25}}\bat\s+$", re.I),
        "elapsed": re.compile(
            rf"(?:(?<![\w])(?:{alternation(w.get('elapsed_before') or [])})"
            rf"|(?:\b(?:not|never|hasnt|havent|hadnt|didnt|doesnt|dont|wont|isnt|wasnt|cant)|n[’']t)\b[^,.;:!?]*\b(?:{alternation(w.get('elapsed_after_not') or [])}))"
            rf"\s+(?:a\s+|an\s+)?$", re.I),
        "not_vague": re.compile(
            rf"(?<![\w])({alternation((w.get('not_vague_before') or []) + w['not_deadline_before'])})"
            r"\s+(?:(?:at\s+|around\s+|about\s+)?\d{1,2}(?:[:.]\d\d)?\s*(?:am|pm)?\s+)?$", re.I),
        "past_day": re.compile(rf"(?<![\w])({alternation(w.get('past_days') or [])})(?![\w])", re.I),
        "now_word": re.compile(rf"(?<![\w])({alternation(w.get('now_words') or [])})(?![\w])", re.I),
        "weekday": re.compile(rf"(?<![\w])(next\s+)?({alternation(list(w['weekdays']))})(?![\w])", re.I),
    }


@dataclass(frozen=True)
class Candidate:
    at: datetime
    said: str
    start: int             # where in the text it was said
    kind: str              # "duration" | "clock"


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


def durations(text: str, now: datetime) -> list[Candidate]:
    found = []
    for m in patterns()["fixed"].finditer(text):
        minutes = words()["fixed_minutes"][m.group(0).lower()]
        found.append(Candidate(now + timedelta(minutes=minutes), m.group(0), m.start(), "duration"))
    for m in patterns()["duration"].finditer(text):
        if m.group("ago") or any(c.start <= m.start() < c.start + len(c.said) for c in found):
            continue
        if patterns()["elapsed"].search(text[max(0, m.start() - 80):m.start()]):
            continue  # "crying for 2 hours", "hasn't eaten in 3 days": time gone by
        half = 0.5 if (m.group("half") or m.group("half1")) else 0
        amount = to_number(m.group("num") or m.group("word")) + half
        unit = unit_of(m.group("unit"))
        if unit == "minutes" and amount > 24 * 60 or amount <= 0:
            continue
        if unit == "hours" and re.search(r"\b(yo|y/o|year)", text[m.end():m.end() + 5], re.I):
            continue
        delta = {"minutes": timedelta(minutes=amount), "hours": timedelta(hours=amount),
                 "days": timedelta(days=amount)}[unit]
        said = m.group(0).strip()
        more = re.match(r"\s*(?:and\s+)?(\d{1,2})\s*(?:m|min|mins|minutes)?(?![\w:])", text[m.end():], re.I)
        if unit == "hours" and more and not m.group("half") and int(more.group(1)) < 60:
            delta += timedelta(minutes=int(more.group(1)))  # "1hr 15", "1 hour 40 mins"
            said = text[m.start():m.end() + more.end()].strip()
        found.append(Candidate(now + delta, said, m.start(), "duration"))
    return sorted(found, key=lambda c: c.start)


def day_offset(text: str, today_date: date) -> int | None:
    """Days from today that the note's deadline falls on ("tomorrow", "friday"), if said."""
    lowered = text.lower()
    if "tomorrow" in lowered:
        return 1
    if "yesterday" in lowered or "last night" in lowered:  # "by 8pm yesterday": passed
        return -1
    for m in re.finditer(r"\b([0-3]?\d)(?:st|nd|rd|th)(?:\s+(?:of\s+)?([a-z]{3})[a-z]*)?\b", lowered):
        if re.search(r"(birthday|born|dob|bday|since|from)\W+$", lowered[:m.start()]):
            continue
        month = MONTHS.get(m.group(2) or "", today_date.month) if m.group(2) else today_date.month
        for year in (today_date.year, today_date.year + 1):
            try:
                day = date(year, month, int(m.group(1)))
            except ValueError:
                break
            if day < today_date and not m.group(2):  # "the 3rd": next month's
                nxt = (today_date.replace(day=28) + timedelta(days=4)).replace(day=1)
                try:
                    day = date(nxt.year, nxt.month, int(m.group(1)))
                except ValueError:
                    break
            if day >= today_date:
                if (day - today_date).days <= 31:  # a deadline, not a date in the past or far off
                    return (day - today_date).days
                break
    day = patterns()["weekday"].search(text)
    if day:
        ahead = (words()["weekdays"][day.group(2).lower()] - today_date.weekday()) % 7
        return ahead + 7 if day.group(1) and ahead == 0 else ahead
    if re.search(r"\b(tonight|today|this (evening|morning|afternoon))\b", lowered):
        return 0
    return None


# A vague time that starts with one of these is a deadline even right after "said":
# "he said before school tomorrow", but not "she said tonight 'i should just ...'".
DEADLINE_WORDS = {"by", "before", "till", "til", "until", "after", "in", "within", "end", "first"}
# A vague time that starts with one of these needs a cue in its own clause.
BARE_DAY_WORDS = {"tonight", "tomorrow", "today", "this", "right", "straight"}

MONTHS = {m: n for n, m in enumerate(
    ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"], 1)}
BARE_BEFORE = re.compile(r"(\b(till|til|until|untill|by|at|before|for|said|says|saying)|(changed|moved|brought|pushed|put)\s+(it\s+)?(forward\s+|back\s+)?to)\s*$", re.I)
NOT_A_TIME_AFTER = re.compile(
    r"\s*-?\s*(?:days?|weeks?|months?|years?|yrs?|hours?|hrs?|mins?|minutes?|secs?|seconds?|"
    r"yo|y/o|pics?|photos?|videos?|vids?|times?|messages?|msgs?|people|ppl|followers|quid|"
    r"pounds?|dollars?|%)(?![\w])", re.I)
BARE_AFTER = re.compile(r"^\s*(tonight|tomorrow|today|this evening|o'?clock)\b", re.I)


def clocks(text: str, now: datetime, tz: ZoneInfo, bare: bool) -> list[Candidate]:
    """Clock times in the text, each as the next matching moment in ``tz``."""
    local_now = now.astimezone(tz)
    found = []
    for m in patterns()["clock"].finditer(text):
        if patterns()["not_before"].search(text[max(0, m.start() - 30):m.start()]):
            continue  # "the call started 18:20"
        word = (m.group("word") or "").lower()
        if not word and NOT_A_TIME_AFTER.match(text, m.end()):
            continue  # "10 mins ago", "3 days", "15 yo": a number, not a time
        if word:
            hour, minute, ampm = (0 if word == "midnight" else 12), 0, None
        else:
            hour, minute = int(m.group("h")), int(m.group("m") or 0)
            ampm = (m.group("ampm") or "").lower().replace(".", "") or None
            if not ampm and not m.group("m") and not m.group("half") and not bare:
                # a bare number ("till 9", "11 tonight") needs a word around it
                if not BARE_BEFORE.search(text[max(0, m.start() - 30):m.start()]) \
                        and not BARE_AFTER.search(text[m.end():m.end() + 14]):
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
            if hour == 12 and not ampm and not m.group("m") \
                    and re.match(r"\s*(o'?clock\s*)?(tonight|at night)\b", text[m.end():], re.I):
                hour, word = 0, "midnight"  # "by 12 tonight"
        offset = day_offset(text, local_now.date())
        if word == "midnight":
            offset = 1 if offset in (None, 0) else offset + 1
        base = local_now.date() + timedelta(days=offset or 0)
        candidates = [datetime.combine(base, time(hour % 24, minute), tz)]
        if not word and not ampm and hour < 12:
            candidates.append(datetime.combine(base, time(hour + 12, minute), tz))
            if re.search(r"\b(tonight|evening|night)\b", text, re.I):
                candidates = candidates[1:]
            elif re.search(r"\bmorning\b", text, re.I):
                candidates = candidates[:1]
            elif offset and 1 <= hour <= 6:
                candidates = candidates[1:]  # "friday at 5": 5pm, not 5am
        if offset is None:
            future = [c for c in candidates if c > local_now]
            if not future:
                future = [c + timedelta(days=1) for c in candidates]
            candidates = future
        else:
            future = [c for c in candidates if c > local_now]
            candidates = future or candidates
        found.append(Candidate(min(candidates), m.group(0).strip(), m.start(), "clock"))
    return found


def sent_at(text: str, duration: Candidate, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When the offender's message came, if the note says ("messaged at 6 saying she had
    2 hours", "he gave him an hour at 5:15"): the latest such moment not after now."""
    local_now = now.astimezone(tz)
    # "gave him 30 mins, that was 10 mins ago"
    after = text[duration.start + len(duration.said):][:60]
    said_ago = re.match(r"[^.;!?]{0,25}?\b(?:that|which|this|it)\s+was\s+(?:about\s+|around\s+)?", after, re.I) \
        or re.match(r"[\s'\"’”)]*(?:from now[\s'\"’”]*)?(?:about\s+|around\s+|roughly\s+)?", after, re.I)
    if said_ago:
        m = patterns()["duration"].match(after, said_ago.end())
        if m and m.group("ago"):
            amount = to_number(m.group("num") or m.group("word"))
            unit = unit_of(m.group("unit"))
            return now - {"minutes": timedelta(minutes=amount), "hours": timedelta(hours=amount),
                          "days": timedelta(days=amount)}[unit]
    earlier_day = [m for m in patterns()["past_day"].finditer(text[:duration.start])
                   if duration.start - m.end() < 120]
    if earlier_day and not patterns()["now_word"].search(text, earlier_day[-1].end(), duration.start):
        return now - timedelta(days=1)  # "on sat night ... within 30 mins": long gone
    for m in patterns()["clock"].finditer(text):
        before = text[max(0, m.start() - 40):m.start()]
        right_after = m.start() - (duration.start + len(duration.said)) in range(0, 5) \
            and re.search(r"\bat\s+$", before)
        if not (patterns()["sent_before"].search(before) or right_after):
            continue
        if m.group("word") or m.start() == duration.start:
            continue
        hour, minute = int(m.group("h")), int(m.group("m") or 0)
        ampm = (m.group("ampm") or "").lower().replace(".", "")
        hours = [hour + 12 if ampm == "pm" and hour < 12 else hour] if ampm else [hour, hour + 12]
        past = [datetime.combine(local_now.date() - timedelta(days=back), time(h % 24, minute), tz)
                for h in hours if h < 24 for back in (0, 1)]
        past = [p for p in past if p <= local_now]
        if past:
            return max(past)
    return None


def hours_as_digits(text: str) -> str:
    """Clock times in words, as digits: "half past eight" -> "8:30", "twenty to ten" ->
    "9:40", "half 10" -> "10:30", "nine thirty" -> "9:30", "at ten tonight" -> "at 10
    tonight"; also "tonite" -> "tonight" and the like."""
    w = words()
    for typo, right in (w.get("day_words") or {}).items():
        text = re.sub(rf"(?<![\w]){re.escape(str(typo))}(?![\w])", str(right), text, flags=re.I)
    names = {str(k): v for k, v in (w.get("hour_words") or {}).items()}
    hour = rf"(\d{{1,2}}|{alternation(list(names))})"
    as_int = lambda raw: int(raw) if raw.isdigit() else names[raw.lower()]  # noqa: E731
    minutes = {"five": 5, "ten": 10, "twenty": 20, "twenty five": 25, "twenty-five": 25,
               "quarter": 15, "half": 30, "5": 5, "10": 10, "20": 20, "25": 25}
    mins = alternation(list(minutes))

    def past_to(m: re.Match[str]) -> str:
        h, mm = as_int(m.group(3)), minutes[m.group(1).lower()]
        if h > 12:
            return m.group(0)
        if m.group(2).lower() == "to":
            h, mm = (h - 1) or 12, 60 - mm
        return f"{h}:{mm:02d}"

    text = re.sub(rf"(?<![\w:])({mins})\s+(past|to)\s+{hour}(?![\w:])", past_to, text, flags=re.I)
    # "half 10" (UK): half past; not "half an hour", "half 10 mins"
    text = re.sub(rf"(?<![\w])half\s+{hour}(?!\s*(?:[:.]\d|min|hour|hr|h\b))(?![\w])",
                  lambda m: f"{as_int(m.group(1))}:30" if as_int(m.group(1)) <= 12 else m.group(0),
                  text, flags=re.I)
    text = re.sub(rf"(?<![\w:])({alternation(list(names))})\s+(thirty|fifteen|forty[- ]five|o'?clock)(?![\w])",
                  lambda m: f"{names[m.group(1).lower()]}:" + {"thirty": "30", "fifteen": "15"}.get(
                      m.group(2).lower(), "45" if m.group(2).lower().startswith("forty") else "00"),
                  text, flags=re.I)
    text = re.sub(r"\b(deadline(?: is)?|by|till|til|until|at|before)\s+([01]\d|2[0-3])([0-5]\d)\b(?!\s*(?:£|pounds|quid|dollars|euros))",
                  r"\1 \2:\3", text, flags=re.I)  # "deadline 2130"
    pattern = rf"\b(past|to|till|til|until|by|at|before|is|said|says)\s+({alternation(list(names))})\b"
    return re.sub(pattern, lambda m: f"{m.group(1)} {names[m.group(2).lower()]}", text,
                  flags=re.I)


def pick(found: list[Candidate], text: str) -> Candidate:
    """The deadline among several: the last if a revision word ("changed it to", "now")
    stands between them, otherwise the first duration, then the first clock time tied to
    the demand ("till 10pm", ``demand_before_time``), then the first clock time."""
    ordered = sorted(found, key=lambda c: c.start)
    if len(ordered) > 1:
        between = text[ordered[0].start + len(ordered[0].said):ordered[-1].start]
        if patterns()["revision"].search(between):
            return ordered[-1]
    durations_ = [c for c in ordered if c.kind == "duration"]
    if durations_:
        return durations_[0]
    # "messaged at 7 saying he had till 10pm": 10pm, not the time of the message
    demanded = [c for c in ordered
                if patterns()["demand_before"].search(text[max(0, c.start - 30):c.start])]
    return demanded[0] if demanded else ordered[0]


def is_vague_deadline(text: str, vague: re.Match, cue_anywhere: bool) -> bool:
    """A vague time in the note is the offender's deadline, not when something happened."""
    first = vague.group(0).split()[0].lower()
    if first in DEADLINE_WORDS:  # "before school tomorrow"
        return True
    if patterns()["not_vague"].search(text[:vague.start()]):  # "said tonight '...'"
        return False
    if first not in BARE_DAY_WORDS or cue_anywhere:
        return True
    # a bare "tonight" needs its own cue in its clause: "he wants it tonight", not
    # "says she's ok, going to tell his dad tonight"
    clause = re.split(r"[,.;!?]", text[:vague.start()])[-1] + re.split(r"[,.;!?]", text[vague.start():])[0]
    return bool(patterns()["cue"].search(clause))


def has_demand(text: str) -> bool:
    """The words speak of the offender's demand (``demand_words`` in data/risk/deadlines.yml:
    pay, send, post, deadline ...), not only of a time."""
    return bool(patterns()["demand"].search(text or ""))


WINDOW = 2000  # characters the reader takes at a time (see find_deadline)


def find_deadline(text: str, now: datetime, tz: ZoneInfo,
                  awaiting_time: bool = False) -> Deadline | None:
    """The deadline a counsellor's note gives, if any (see module docstring).

    ``awaiting_time``: the assistant has just asked for the exact time, or the classifier
    heard a deadline, so a bare "9pm" or "1hr" counts without a cue word.
    """
    if not text or not text.strip():
        return None
    if len(text) > WINDOW:
        # The reader's cost grows faster than the text: a long paste is read in overlapping
        # windows, in order, as if they were messages one after another (the last finding
        # counts), so a deadline at character 19,000 is read and 20,000 characters of times
        # take about a second.
        from actions.risk import chunks

        found = None
        for piece in chunks(text, WINDOW, 200):
            found = _read(piece, now, tz, awaiting_time) or found
        return found
    return _read(text, now, tz, awaiting_time)


def _read(text: str, now: datetime, tz: ZoneInfo, awaiting_time: bool) -> Deadline | None:
    """:func:`find_deadline` on at most :data:`WINDOW` characters."""
    text = hours_as_digits(text)
    p = patterns()
    if p["none"].search(text):
        return None
    withdrawn = p["withdrawn"].search(text)
    if withdrawn:
        return Deadline("withdrawn", None, withdrawn.group(0), False)
    passed = p["passed"].search(text)
    if passed:
        # "the deadline passed but now he's given her till 10": the new one counts
        revision = p["revision"].search(text, passed.end())
        later = find_deadline(text[revision.end():], now, tz, awaiting_time) if revision else None
        if later is not None and later.status == "set":
            return later
        return Deadline("passed", None, passed.group(0), False)
    correction = bool(p["correction"].search(text))
    cue = bool(p["cue"].search(text)) or awaiting_time or correction
    found: list[Candidate] = []
    for d in durations(text, now):
        if cue or p["duration_cue"].search(text) \
                or re.search(r"\b(in|within)\s+(the\s+next\s+)?$", text[:d.start], re.I):
            anchor = sent_at(text, d, now, tz)
            found.append(Candidate(anchor + (d.at - now), d.said, d.start, d.kind) if anchor else d)
    if cue:
        found += clocks(text, now, tz, bare=awaiting_time or correction)
    # "by 11 tonight, not an hour": the time said not to be it is not it
    found = [c for c in found if not re.search(r"\b(?:not|n't)\s+$", text[:c.start], re.I)]
    if found:
        chosen = pick(found, text)
        at = chosen.at.astimezone(tz)
        status = "set" if at > now else "passed"
        return Deadline(status, at, chosen.said, correction)
    vague = next((v for v in p["ambiguous"].finditer(text)
                  if is_vague_deadline(text, v, cue_anywhere=awaiting_time or correction)), None)
    if vague and cue:
        # keep the day that goes with it: "before school tomorrow"
        tail = re.match(r"\s+(tomorrow|tonight|today|this \w+|on \w+day)\b", text[vague.end():], re.I)
        said = vague.group(0) + (tail.group(0) if tail else "")
        return Deadline("ambiguous", None, said, correction,
                        f"The deadline was given as “{said}”. What exact time is that? "
                        "Type it, for example 8am or 21:00.")
    return None
