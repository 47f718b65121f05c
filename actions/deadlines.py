"""Reading the offender's deadline from a counsellor's note.

The time expressions are read by Duckling (:mod:`actions.timeparse`), beside this module's
own reader where it measurably adds to Duckling ("1h30", "1hr 15", bare hours after a
demand word, "tonight"/"morning" for a bare hour); the helpline's logic is here: which time
is the offender's demand and which is a curfew, a meeting or the call's own time, when the
offender's message came, corrections, withdrawn and passed deadlines, a vague deadline,
another time zone named in the note ("9pm his time, he's in Lagos").

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

import contextvars
import dataclasses
import logging
import re
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator, Sequence
from zoneinfo import ZoneInfo

import yaml

from actions import settings
from actions.messages import say
from actions.nlp import alternation

log = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent.parent / "data" / "risk" / "deadlines.yml"


@dataclass(frozen=True)
class Deadline:
    status: str            # "set" | "ambiguous" | "withdrawn" | "passed"
    at: datetime | None    # aware, in the helpline's time zone; None unless set/passed
    words: str             # the words that gave it
    correction: bool       # "sorry, 2 hours not 1": replaces the deadline just given
    question: str | None = None  # for ambiguous: what to ask the counsellor
    #: status "shift": the offender moved the deadline by this much ("pushed it back an
    #: hour") and the note names no time to move: the case's deadline moves (casestate)
    shift: timedelta | None = None


@lru_cache(maxsize=1)
def words() -> dict[str, Any]:
    with open(DATA, encoding="utf-8") as f:
        return yaml.safe_load(f)


@lru_cache(maxsize=1)
def patterns() -> dict[str, re.Pattern[str]]:
    w = words()
    number_words = alternation(list(w["numbers"]))
    plan_verbs = alternation(w["own_plan_verbs"], spaces=True, apostrophe="'?")
    unit_words = alternation([u for units in w["units"].values() for u in units])

    zones = w.get("zones") or {}
    never = r"(?!x)x"  # an empty word list matches nothing
    marks = alternation(zones.get("marks") or []) or never  # "his time", "their time"
    many = alternation(zones.get("many_zones") or []) or never  # "US time": several zones
    places = alternation([str(k) for k in (zones.get("places") or {})]
                         + [str(k) for k in (zones.get("many_zones") or [])]) or never

    def phrase(key: str) -> re.Pattern[str]:
        # "dropped the * deadline": one word may stand at "*"
        return re.compile(f"({alternation(w.get(key) or [], bounded=True, wildcard=True)})",
                          re.I)

    return {
        "duration": re.compile(
            # digits may touch the unit ("1hr", "30mins"); a word needs a space ("an hour"),
            # so "and" is never "a" + "nd".
            rf"(?<![\w£$€.])(?:(?P<num>\d+(?:\.\d+)?)\s*-?\s*|(?P<word>half an?|{number_words})\s+)"
            rf"(?P<half1>and\s+a\s+half\s+)?"
            rf"(?P<unit>{unit_words})(?![^\W\d])(?P<ago>\s+ago)?"
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
        # "messaged 10 mins ago": the sending word just before a duration "ago"
        "sent_ago_before": re.compile(
            rf"(?<![\w])(?:{alternation(w['sent_at_before'])})\b[^,.;]{{0,20}}$", re.I),
        "zone_mark": re.compile(rf"(?<![\w])(?:{marks})(?![\w])", re.I),
        "many_zones_time": re.compile(rf"(?<![\w])(?:{many})['’]?\s+time\b", re.I),
        "clock_his_zone": re.compile(rf"(?:\d(?:\s*[ap]\.?m\.?)?|midnight|noon|midday)\s+"
                                     r"(?:(?:tomorrow|tmrw|tonight|today)\s+)?"  # "noon tomorrow my time"
                                     rf"(?:{marks}|(?:{places})['’]?\s+time\b)", re.I),
        "elapsed": re.compile(
            rf"(?:(?<![\w])(?:{alternation(w.get('elapsed_before') or [])})"
            rf"|(?:\b(?:not|never|hasnt|havent|hadnt|didnt|doesnt|dont|wont|isnt|wasnt|cant)|n[’']t)\b[^,.;:!?]*\b(?:{alternation(w.get('elapsed_after_not') or [])}))"
            rf"\s+(?:a\s+|an\s+)?$", re.I),
        "not_vague": re.compile(
            rf"(?<![\w])({alternation((w.get('not_vague_before') or []) + w['not_deadline_before'])})"
            r"\s+(?:(?:at\s+|around\s+|about\s+)?\d{1,2}(?:[:.]\d\d)?\s*(?:am|pm)?\s+)?$", re.I),
        "past_day": re.compile(rf"(?<![\w])({alternation(w.get('past_days') or [])})(?![\w])", re.I),
        "now_word": re.compile(rf"(?<![\w])({alternation(w.get('now_words') or [])})(?![\w])", re.I),
        "long_ago": phrase("long_ago"),
        "other_event": phrase("other_events"),
        "offender": phrase("offender_words"),
        "demand_in_clause": phrase("demand_in_clause"),
        "weekday": re.compile(rf"(?<![\w])(next\s+)?({alternation(list(w['weekdays']))})(?![\w])", re.I),
        "unsure": phrase("unsure"),
        "hypothetical": phrase("hypothetical"),
        "offender_gave": re.compile(
            rf"\b(?:{alternation(w['offender_words_plan'], spaces=True)})\s*(?:'s|\s+has|\s+have|'ve)?\s+"
            r"(?:given|gave|said|says)\b", re.I),
        "own_plan": re.compile(
            rf"\b(?:{alternation(w['own_plan_people'], spaces=True)})(?:\s+|(?=['’]))(?:(?:{alternation(w['own_plan_fillers'], spaces=True)})\s+)?"
            rf"(?:{plan_verbs})\b", re.I),
        "other_deadline": re.compile(
            rf"\b(?:{alternation(w.get('other_deadlines') or [], spaces=True)})\s+(?:(?:is|was|are|were)\s+)?(?:deadline|due)\b", re.I),
        "offender_sent": re.compile(
            rf"[\s,]*(?:{alternation(w['offender_words_plan'], spaces=True)})\s+"
            rf"(?:{alternation(w['offender_sent_verbs'])})\b", re.I),
        "offender_says": re.compile(
            rf"\b(?:{alternation(w['offender_words_plan'], spaces=True)})\s+(?:{alternation(w['offender_says_verbs'], spaces=True)})\b"
            r"|\b(?:if|unless|or)\s+(?:he|they)\b", re.I),
        "shift_before": re.compile(
            rf"\b(?:(?P<cut>{alternation(w['shift_cut'], spaces=True)})(?:\s+(?:it|the\s+deadline|that))?(?:\s+down)?"
            rf"|(?P<later>{alternation(w['shift_verbs'], spaces=True)}|(?:given|gave)\s+(?:her|him|them)\s+|gave\s+|given\s+)?"
            r"(?:an?\s+)?(?:extension|ext)\s+of"
            rf"|{alternation(w['shift_verbs'], spaces=True)})"
            r"(?:\s+(?:it|the\s+deadline|that|the\s+time))?"
            rf"(?:\s+(?P<dir>{alternation(w['shift_directions'], spaces=True)}))?"
            r"\s+(?:by\s+)?(?:another\s+|an\s+extra\s+|a\s+further\s+|extra\s+)?$", re.I),
    }


#: ``HELPLINE_DEADLINE_READER``: ``duckling`` (the default: Duckling and this module's reader)
#: or ``regex`` (this module's reader alone, as before Duckling; for comparison and as the
#: fallback if the Duckling wheel ever stops installing)
READERS = ("duckling", "regex")


#: the reader for this context, when set by :func:`reading`
_reader: contextvars.ContextVar[str | None] = contextvars.ContextVar("deadline_reader",
                                                                     default=None)


def reader() -> str:
    name = (_reader.get() or settings.env("HELPLINE_DEADLINE_READER") or "duckling")
    name = name.strip().lower()
    return name if name in READERS else "duckling"


@contextmanager
def reading(name: str) -> Iterator[None]:
    """Read deadlines with this reader inside the block (the Rasa server's risk featurizer
    uses ``regex``: Duckling's runtime stays out of the NLU process and of training)."""
    token = _reader.set(name)
    try:
        yield
    finally:
        _reader.reset(token)


_warned = False
#: a sum of money ("£50", "$1,200", "€2k")
MONEY = re.compile(r"[£$€]\s?\d[\d,.]*k?", re.I)
#: an amount Duckling may take for a time ("300 in gift cards by friday" is not 3:00)
AMOUNT = re.compile(r"(?<![\d:.])\d{3,}(?![\d:.]|\s*[ap]\.?m)", re.I)


def duckling_mentions(text: str, now: datetime, tz: ZoneInfo) -> list[Any]:
    """Duckling's time expressions in the text; none with the ``regex`` reader, or if the
    embedded engine cannot start (said once in the log; the reader alone then decides)."""
    global _warned
    if reader() != "duckling":
        return []
    from actions import timeparse

    # amounts are not times: "300 by friday" is not 3:00, "£50 at 4" not 50 past
    masked = MONEY.sub(lambda m: m.group(0)[0] + "x" * (len(m.group(0)) - 1), text)
    masked = AMOUNT.sub(lambda m: "x" * len(m.group(0)), masked)
    try:
        return timeparse.mentions(masked, now, tz)
    except (ImportError, OSError, RuntimeError) as exc:
        if not _warned:
            _warned = True
            log.warning("Duckling unavailable (%s): deadlines read by the built-in reader",
                        type(exc).__name__)
        return []


def overlaps(start: int, end: int, candidates: list["Candidate"]) -> list["Candidate"]:
    return [c for c in candidates if start < c.start + len(c.said) and c.start < end]


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


def durations(text: str, now: datetime, duck: Sequence[Any] = ()) -> list[Candidate]:
    """Durations in the text, as deadlines counted from ``now``: this module's reader's,
    and Duckling's (``duck``) where it reads more ("a week", "an hour and a half")."""
    found = []
    for m in patterns()["fixed"].finditer(text):
        minutes = words()["fixed_minutes"][m.group(0).lower()]
        found.append(Candidate(now + timedelta(minutes=minutes), m.group(0), m.start(), "duration"))
    for m in patterns()["duration"].finditer(text):
        if m.group("ago") or any(c.start <= m.start() < c.start + len(c.said) for c in found):
            continue
        if patterns()["elapsed"].search(text[max(0, m.start() - 80):m.start()]) \
                or BEEN_DOING.search(text[max(0, m.start() - 40):m.start()]):
            continue  # "crying for 2 hours", "hasn't eaten in 3 days": time gone by
        half = 0.5 if (m.group("half") or m.group("half1")) else 0
        amount = to_number(m.group("num") or m.group("word")) + half
        unit = unit_of(m.group("unit"))
        if unit == "minutes" and amount > 24 * 60 or amount <= 0:
            continue
        if unit == "hours" and re.search(r"\b(yo|y/o|year)", text[m.end():m.end() + 5], re.I):
            continue
        if not_a_duration_after(text, m.end()):
            continue  # "by 22h abidjan time" is a clock; "8 hours ahead" a time difference
        if age_and_sex(text, m.start(), m.end()):
            continue  # "15m, he's been told..." is a 15-year-old boy
        delta = timedelta(**{unit: amount})
        said = m.group(0).strip()
        more = re.match(r"\s*(?:and\s+)?(\d{1,2})\s*(?:m|min|mins|minutes)?(?![\w:])", text[m.end():], re.I)
        if unit == "hours" and more and not m.group("half") and int(more.group(1)) < 60:
            delta += timedelta(minutes=int(more.group(1)))  # "1hr 15", "1 hour 40 mins"
            said = text[m.start():m.end() + more.end()].strip()
        found.append(Candidate(now + delta, said, m.start(), "duration"))
    for m in duck:
        if m.kind != "duration" or not timedelta(0) < m.delta <= timedelta(days=31) \
                or VAGUE_AMOUNT.search(m.said) or not re.search(r"[a-z]", m.said, re.I):
            continue
        same = overlaps(m.start, m.end, found)
        # Duckling reads "an hour and a half" or "2 hours 30 minutes" whole; the reader
        # keeps "1h30" (Duckling takes it for half past one at night)
        if same and (re.search(r"\dh\d", m.said, re.I)
                     or any(len(c.said) >= m.end - m.start for c in same)):
            continue
        if re.match(r"\s*ago\b", text[m.end:], re.I) or not_a_duration_after(text, m.end) \
                or age_and_sex(text, m.start, m.end) \
                or patterns()["elapsed"].search(text[max(0, m.start - 80):m.start]) \
                or BEEN_DOING.search(text[max(0, m.start - 40):m.start]):
            continue
        found = [c for c in found if c not in same]
        found.append(Candidate(now + m.delta, m.said, m.start, "duration"))
    return sorted(found, key=lambda c: c.start)


#: "15m" (glued) with an age a helpline hears: the notes' shorthand for a boy of 15
AGE_M = re.compile(r"(?:[5-9]|1\d)\s?m", re.I)
#: what stands before such an age: the note's start, a person, punctuation
AGE_BEFORE = re.compile(r"(?:^|[,(;:/\-–]|\b(?:yp|cyp|ds|son|boy|lad|child|caller|aged?|"
                        r"brother|nephew|grandson|pupil|student))\s*$", re.I)
#: what follows such an age: punctuation or what the note says of him
AGE_AFTER = re.compile(r"\s*(?:[,.;:)/\-–]|$|(?:says|said|told|tells|is|was|has|had|disclosed|"
                       r"called|calling|rang|on|in|at|from|who|and|been|got|getting)\b)", re.I)
#: what makes it minutes after all: "gave her 15m", "in 15m", "only 15m left"
MINUTES_BEFORE_AGE = re.compile(r"\b(?:gave|give|given|giving|got|get|has|have|had|in|within|"
                                r"only|just|another|extra|left|for)\s+(?:(?:her|him|them|me|"
                                r"us|you)\s+)?$", re.I)

#: "15m to pay", "15m left": minutes
MINUTES_AFTER_AGE = re.compile(r"\s*(?:to|till|til|until|left|or|and\s+counting)\b", re.I)


def age_and_sex(text: str, start: int, end: int) -> bool:
    """The words at ``start:end`` are an age and sex ("15m", "yp 13m says ...") rather than
    minutes: a glued "<5-19>m" after the note's start, a person or punctuation, or before
    punctuation or what the note says of him, and not after "gave her" or "in"."""
    said = text[start:end].strip()
    if not AGE_M.fullmatch(said):
        return False
    before = text[:start]
    if MINUTES_BEFORE_AGE.search(before) or MINUTES_AFTER_AGE.match(text, end):
        return False
    return bool(AGE_BEFORE.search(before) or AGE_AFTER.match(text, end))


#: "we've been talking 40 mins": time gone by, not time left
BEEN_DOING = re.compile(r"\bbeen\s+[a-z]+ing\s+(?:for\s+)?(?:about\s+|around\s+)?$", re.I)


def not_a_duration_after(text: str, end: int) -> bool:
    """What follows an amount of time makes it something else: a time difference ("8 hours
    ahead") or a clock in a named zone ("22h Abidjan time")."""
    after = text[end:end + 30].lower()
    if re.match(r"\s*(?:ahead|behind)\b", after):
        return True
    places = (words().get("zones") or {}).get("places") or {}
    return any(re.match(rf"\s*{re.escape(str(name).lower())}(?:\s+time)?(?![\w])", after)
               for name in places)


#: "sat", "sun" are days only beside a clock or after "by"/"on" ("by sat 6pm", "noon sun"),
#: not in "she sat with mum" or "the sun"
WEEKEND_DAYS = {"sat": 5, "sun": 6}
WEEKEND_SHORT = re.compile(
    r"(?:(?<=\bby )|(?<=\bon )|(?<=\btill )|(?<=\buntil )|(?<=\bbefore )|(?<=\bthis )|"
    r"(?<=\d )|(?<=\dpm )|(?<=\dam )|(?<=noon )|(?<=midnight )|(?<=\bis ))(next\s+)?(sat|sun)"
    r"(?![\w])|(next\s+)?(?<![\w])(sat|sun)(?=\.?\s+(?:at\s+)?(?:\d|noon|midday|midnight))")


#: a day word right after a clock time: today's (group 1) or tomorrow's
DAY_AFTER_CLOCK = re.compile(r"\s*(?:o'?clock\s*)?(?:(tonight|today|this\s+(?:evening|afternoon))"
                             r"|(tomorrow))\b", re.I)


#: a weekday named right before a clock time ("friday 5pm", "sat at 3", "tuesday, 4pm")
DAY_BEFORE_CLOCK = re.compile(r"(?<!last\s)(?<!past\s)\b(next\s+)?([a-z]+)\.?,?\s+(?:at\s+|@\s*)?$", re.I)


def day_before_clock(before: str, today_date: date) -> int | None:
    """Days from today to the weekday named just before a clock time, if one is: that
    day decides over the note's other day words ("he set tuesday 4pm, she has the
    dentist tomorrow at 2")."""
    said = DAY_BEFORE_CLOCK.search(before)
    if not said:
        return None
    name = said.group(2).lower()
    day = words()["weekdays"].get(name, WEEKEND_DAYS.get(name))
    if day is None:
        return None
    ahead = (day - today_date.weekday()) % 7
    return ahead + 7 if said.group(1) and ahead == 0 else ahead


@lru_cache(maxsize=256)  # the same note's day, asked once per clock time in it
def day_offset(text: str, today_date: date) -> int | None:
    """Days from today that the note's deadline falls on ("tomorrow", "friday"), if said."""
    lowered = text.lower()
    if re.search(r"\bday after tomorrow\b", lowered):
        return 2
    if "tomorrow" in lowered:
        if re.search(r"\b(?:tonight|today|this (?:evening|afternoon))\b",
                     lowered[lowered.rindex("tomorrow"):]):
            return 0  # "originally tomorrow noon but now by 9 tonight"; "football at 10
            # tomorrow, but he wants £200 by 8 tonight"
        return 1
    past = re.search(r"\b(?:yesterday|last night)\b", lowered)
    later = past and re.search(r"\b(?:today|tonight|this (?:evening|afternoon))\b",
                               lowered[past.end():])
    if past and later and re.match(r"\s*(?:he|they|the offender|offender|scammer)\s+(?:said|told|wrote|"
                                   r"gave)\b[^.;!?]*$", lowered[past.end():past.end() + later.start()]) \
            and not patterns()["revision"].search(lowered, past.end() + later.end()):
        return -1  # "yesterday he said 'by 10 tonight', nothing since": last night's
    if later:
        return 0  # "missed yesterday's 5pm deadline, he's now extended it to 5pm today"
    if past:  # "by 8pm yesterday": passed
        return -1
    numeric = re.search(r"(?<![\d/])([0-3]?\d)/(1[0-2]|0?[1-9])(?:/(?:20)?\d\d)?(?![\d/])", lowered)
    if numeric:  # "by 24/12 at 6pm" (day first, as in the UK)
        for year in (today_date.year, today_date.year + 1):
            try:
                ahead = (date(year, int(numeric.group(2)), int(numeric.group(1))) - today_date).days
            except ValueError:
                break
            if 0 <= ahead <= 31:
                return ahead
    for m in re.finditer(r"\b([0-3]?\d)(?:(?:st|nd|rd|th)(?:\s+(?:of\s+)?([a-z]{3})[a-z]*)?"
                         r"|\s+(?:of\s+)?(?=(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec))"
                         r"([a-z]{3})[a-z]*)\b", lowered):
        if re.search(r"(birthday|born|dob|bday|since|from)\W+$", lowered[:m.start()]):
            continue
        named = m.group(2) or m.group(3)
        month = MONTHS.get(named or "", today_date.month) if named else today_date.month
        for year in (today_date.year, today_date.year + 1):
            try:
                day = date(year, month, int(m.group(1)))
            except ValueError:
                break
            if day < today_date and not named:  # "the 3rd": next month's
                nxt = (today_date.replace(day=28) + timedelta(days=4)).replace(day=1)
                try:
                    day = date(nxt.year, nxt.month, int(m.group(1)))
                except ValueError:
                    break
            if day >= today_date:
                if (day - today_date).days <= 31:  # a deadline, not a date in the past or far off
                    return (day - today_date).days
                break
    for name, (month, day_of_month) in words()["holidays"].items():  # "by 6pm on christmas eve"
        if re.search(rf"(?<![\w]){re.escape(name)}(?![\w])", lowered):
            for year in (today_date.year, today_date.year + 1):
                ahead = (date(year, month, day_of_month) - today_date).days
                if 0 <= ahead <= 31:
                    return ahead
    weekday = patterns()["weekday"].search(text) or WEEKEND_SHORT.search(lowered)
    if weekday and re.search(r"\b(?:tonight|today|this (?:evening|afternoon))\b", lowered[weekday.end():]):
        return 0  # "originally said monday, now he's brought it forward to 11:30 tonight"
    if weekday:
        # (next, day) in each alternative of the pattern: "sun at 9" fills the second pair
        name = next(g for g in weekday.groups()[1::2] if g).lower()
        said_next = any(weekday.groups()[0::2])
        ahead = (words()["weekdays"].get(name, WEEKEND_DAYS.get(name, 0))
                 - today_date.weekday()) % 7
        return ahead + 7 if said_next and ahead == 0 else ahead
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
BARE_BEFORE = re.compile(r"(\b(till|til|until|untill|by|b4|at|before|for|said|sed|says|saying)|(changed|moved|brought|pushed|put)\s+(it\s+)?(forward\s+|back\s+|earlier\s+|later\s+)?to)\s*$", re.I)
NOT_A_TIME_AFTER = re.compile(
    r"\s*-?\s*(?:days?|weeks?|months?|years?|yrs?|hours?|hrs?|mins?|minutes?|secs?|seconds?|"
    r"yo|y/o|pics?|photos?|videos?|vids?|times?|messages?|msgs?|people|ppl|followers|quid|"
    r"pounds?|dollars?|%)(?![\w])", re.I)
BARE_AFTER = re.compile(r"^\s*(tonight|tomorrow|today|this evening|o'?clock)\b", re.I)


#: "a few hours", "a couple of days": vague, asked about, never a guessed length
VAGUE_AMOUNT = re.compile(r"\b(?:few|couple|some|several)\b", re.I)
#: an hour said in full: am/pm, minutes, noon or midnight
HOUR_SAID = re.compile(r"\d\s*[ap]\.?m\b|\d[:.]\d\d|\b(?:noon|midday|midnight)\b", re.I)
#: a Duckling time at midnight is a date ("by 28 November") unless midnight was said
MIDNIGHT = re.compile(r"midnight|\b0?0[:.]00\b|\b12\s*a\.?m|\b24[:.]00\b", re.I)


def is_date_only(mention: Any) -> bool:
    """A Duckling time that names a day but no hour."""
    return mention.kind == "day" or (
        mention.kind == "time" and mention.at.hour == 0 and mention.at.minute == 0
        and not MIDNIGHT.search(mention.said))


#: words a Duckling time may start with that say how it is tied to the demand ("till")
LEAD = re.compile(r"(?:by|till|til|until|untill|before|at|for|on)\s+", re.I)
WEEKLY = re.compile(r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)days\b", re.I)
#: a day said with these is a deadline on its own ("by sat, no time given")
DAY_LEAD = re.compile(r"(?:by|before)\s+", re.I)
#: a Duckling time is a clock time only with digits or one of these: "tonight" or "before
#: lunch" alone is vague (asked about), never a guessed hour
EXACT = re.compile(r"\d|\b(?:noon|midday|midnight|o'?clock)\b", re.I)


MINUTES_BEFORE = re.compile(r"\b(?:to|past)\s+(?:midnight|noon|midday)\b", re.I)


def duckling_clocks(text: str, duck: list[Any], found: list[Candidate]) -> list[Candidate]:
    """Duckling's clock times that this module's reader did not find ("noon tomorrow",
    "9.15pm friday"), through the same gates: not the time of another event, not a number
    of things, not a time gone by."""
    extra = []
    times = [m for m in duck if m.kind == "time" and EXACT.search(m.said) and not is_date_only(m)
             and not AMOUNT.search(m.said)]
    # of two readings of the same words keep the one that reads furthest ("by 6 tomorrow"
    # and "6 tomorrow evening": the evening)
    times = [m for m in times if not any(o is not m and o.start < m.end and m.start < o.end
                                         and (o.end, o.end - o.start) > (m.end, m.end - m.start)
                                         for o in times)]
    for m in times:
        inside = overlaps(m.start, m.end, found)
        # Duckling reads "by 5 December at 10am" whole, where the reader took "by 5"; the
        # reader keeps its own hour where Duckling adds no am/pm ("friday at 5": 5pm)
        within = inside and all(m.start <= c.start and c.start + len(c.said) <= m.end
                                and len(c.said) < len(m.said) - 3 for c in inside)
        if inside and not (within and (any(not HOUR_SAID.search(c.said) for c in inside)
                                       and HOUR_SAID.search(m.said)
                                       or MINUTES_BEFORE.search(m.said))):
            continue
        lead = LEAD.match(m.said)
        start = m.start + (lead.end() if lead else 0)
        if re.search(r"\bago\b", m.said, re.I) or re.match(r"(?:in|within|since|from)\b", m.said,
                                                              re.I):
            # "2 hours ago"; "in 2 hours" is a duration, read as one; "since 6pm" is when
            # something began
            continue
        if patterns()["not_before"].search(text[max(0, start - 30):start]):
            continue  # "the call started 18:20"
        if NOT_A_TIME_AFTER.match(text, m.end) and not re.search(
                r"[:.]\d\d|[ap]\.?m|noon|midday|midnight", m.said, re.I):
            continue  # "10 mins", "3 days", "15 yo"
        for c in inside:
            found.remove(c)
        extra.append(Candidate(m.at, text[start:m.end], start, "clock"))
    return extra


def clocks(text: str, now: datetime, tz: ZoneInfo, bare: bool,
           duck: list[Any] | None = None) -> list[Candidate]:
    """Clock times in the text, each as the next matching moment in ``tz``; ``duck``:
    Duckling's reading of the text in ``tz``, when the caller has it already."""
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
            if hour == 12 and not ampm \
                    and re.match(r"\s*(o'?clock\s*)?(tonight|at night)\b", text[m.end():], re.I):
                hour, word = 0, "midnight"  # "by 12 tonight", "half twelve tonight": 00:30
        # the day said right after the clock decides ("9pm tonight, she has netball
        # tomorrow"); else the note's day word, wherever it is
        said_day = DAY_AFTER_CLOCK.match(text, m.end()) if not re.search(
            r"\b(?:yesterday|last night)\b", text, re.I) else None
        offset = (0 if said_day.group(1) else 1) if said_day else day_before_clock(
            text[max(0, m.start() - 25):m.start()], local_now.date())
        if offset is None:
            offset = day_offset(text, local_now.date())
        if word == "midnight":
            offset = 1 if offset in (None, 0) else offset + 1
        base = local_now.date() + timedelta(days=offset or 0)
        candidates = [datetime.combine(base, time(hour % 24, minute), tz)]
        if not word and not ampm and hour < 12:
            candidates.append(datetime.combine(base, time(hour + 12, minute), tz))
            if 1 <= hour <= 4 and re.match(r"\s*(?:o'?clock\s*)?(?:tonight|at night)\b",
                                            text[m.end():], re.I):
                candidates = [candidates[0] + timedelta(days=1)]  # "1 o'clock tonight"
            elif re.search(r"\b(tonight|evening|night)\b", text, re.I):
                candidates = candidates[1:]
            elif re.search(r"\bmorning\b", text, re.I):
                candidates = candidates[:1]
            elif offset and 1 <= hour <= 6:
                candidates = candidates[1:]  # "friday at 5": 5pm, not 5am
        if ampm == "am" and hour < 6 and offset == 0 and re.match(
                r"\s*(?:tonight|at night)\b", text[m.end():], re.I):
            candidates = [c + timedelta(days=1) for c in candidates]  # "2am tonight"
        if offset is None:
            future = [c for c in candidates if c > local_now]
            if not future:
                future = [c + timedelta(days=1) for c in candidates]
            candidates = future
        else:
            future = [c for c in candidates if c > local_now]
            candidates = future or candidates
        found.append(Candidate(min(candidates), m.group(0).strip(), m.start(), "clock"))
    if duck is None:
        duck = duckling_mentions(text, now, tz)
    return found + duckling_clocks(text, duck, found)


#: a day gone by and its clock: when the offender's message came ("last night at 10pm he
#: told her 'you've got 24 hours'", "sunday evening at 7 he gave her three days", "he said
#: 48 hrs, that was yesterday at 6pm")
PAST_DAY_CLOCK = re.compile(
    r"(?<![\w])(?P<day>yesterday|last\s+night|(?:on\s+|last\s+)?(?P<wd>monday|tuesday|wednesday|"
    r"thursday|friday|saturday|sunday|mon|tues|tue|wed|thurs|thur|thu|fri|sat|sun))"
    r"(?:\s+(?P<part>morning|afternoon|evening|night|eve))?(?:\s+at|,)?\s+"
    r"(?P<h>\d{1,2})(?:[:.](?P<m>[0-5]\d))?\s*(?P<ampm>am|pm)?(?![\w:])", re.I)
WEEKDAY_INDEX = {"mon": 0, "tue": 1, "wed": 2, "thu": 3, "fri": 4, "sat": 5, "sun": 6}
#: between such a day and the duration before it: "that was", "on", "sent"
DAY_AFTER_DURATION = re.compile(r"^[^.;!?]{0,30}?\b(?:that\s+was|was\s+sent|sent|on|was)\s*$",
                                re.I)


def day_and_clock_sent(text: str, duration: Candidate, local_now: datetime,
                       tz: ZoneInfo) -> datetime | None:
    """When the offender's message came, from a day gone by and a clock beside the duration
    (:data:`PAST_DAY_CLOCK`): the most recent such moment before now."""
    end = duration.start + len(duration.said)
    for m in PAST_DAY_CLOCK.finditer(text):
        if m.start() < end and m.end() > duration.start:
            continue
        between = text[m.end():duration.start] if m.end() <= duration.start else text[end:m.start()]
        if m.end() <= duration.start:
            if len(between) > 40 or re.search(r"[.;!?]", between):
                continue
        elif not DAY_AFTER_DURATION.match(between):
            continue
        hour, minute = int(m.group("h")), int(m.group("m") or 0)
        ampm, part = (m.group("ampm") or "").lower(), (m.group("part") or "").lower()
        if hour > 23 or minute > 59:
            continue
        if (ampm == "pm" or part in ("evening", "night", "eve") or
                m.group("day").lower().startswith("last") or (not ampm and not part and 1 <= hour <= 7)) \
                and hour < 12:
            hour += 12
        if ampm == "am" and hour == 12:
            hour = 0
        day = m.group("day").lower()
        if m.group("wd"):
            target = WEEKDAY_INDEX[m.group("wd").lower()[:3]]
            back = (local_now.weekday() - target) % 7
        else:
            back = 1
        moment = datetime.combine(local_now.date() - timedelta(days=back), time(hour % 24, minute), tz)
        if moment > local_now:
            moment -= timedelta(days=7 if m.group("wd") else 1)
        if "last" in day and m.group("wd") and back == 0:
            moment -= timedelta(days=7)
        return moment
    return None


#: who sent, right after a clock ("at 9.15pm he gave her 1 hour")
SENT_AFTER_CLOCK = re.compile(r"[\s,]*(?:(?:today|yesterday|this\s+(?:morning|afternoon))\s+)?"
                              r"(?:(?:he|they|she|the offender|offender|the guy)\s+)?"
                              r"(?:gave|sent|messaged|said|told|texted|wrote)\b", re.I)


#: "msg sent 20:50", "sent 21.05": the word right before a clock with its minutes
SENT_RIGHT_BEFORE = re.compile(r"(?<![\w])(?:sent|msg|messaged|texted|timestamp|came in)\s+$",
                               re.I)


def length_of(m: re.Match[str]) -> timedelta:
    """How long a ``duration`` match says ("10 mins ago", "2 hours"), halves left out."""
    return timedelta(**{unit_of(m.group("unit")): to_number(m.group("num") or m.group("word"))})


def sent_at(text: str, duration: Candidate, now: datetime, tz: ZoneInfo) -> datetime | None:
    """When the offender's message came, if the note says ("messaged at 6 saying she had
    2 hours", "he gave him an hour at 5:15"): the latest such moment not after now."""
    local_now = now.astimezone(tz)
    # "gave him 30 mins, that was 10 mins ago"
    after = text[duration.start + len(duration.said):][:60]
    # ("that msg was 10 mins ago", "2hrs to pay - sent 5 mins ago")
    said_ago = re.match(r"[^.;!?]{0,25}?\b(?:that|which|this|it)(?:\s+(?:msg|message|text|dm|"
                        r"snap|one))?\s+(?:was|came)\s+(?:in\s+)?(?:about\s+|around\s+)?",
                        after, re.I) \
        or re.match(r"(?:[^.;!?]{0,25}?[\s,\-–—])?(?:sent|msg|messaged|texted|came)\s+(?:in\s+)?"
                    r"(?:about\s+|around\s+)?", after, re.I) \
        or re.match(r"[\s'\"’”)]*(?:from now[\s'\"’”]*)?(?:about\s+|around\s+|roughly\s+)?", after, re.I)
    if said_ago:
        m = patterns()["duration"].match(after, said_ago.end())
        if m and m.group("ago"):
            return now - length_of(m)
    # "messaged 10 mins ago saying she has 1hr": counted from then
    for m in patterns()["duration"].finditer(text[:duration.start]):
        if m.group("ago") and patterns()["sent_ago_before"].search(text[:m.start()]):
            return now - length_of(m)
    # "5 mins ago he wrote 'half an hour'": the offender's message, that long ago
    for m in patterns()["duration"].finditer(text[:duration.start]):
        if m.group("ago") and patterns()["offender_sent"].match(text, m.end()):
            return now - length_of(m)
    sent_day = day_and_clock_sent(text, duration, local_now, tz)
    if sent_day is not None:
        return sent_day
    earlier_day = [m for m in patterns()["past_day"].finditer(text[:duration.start])
                   if duration.start - m.end() < 120]
    if earlier_day and not patterns()["now_word"].search(text, earlier_day[-1].end(), duration.start):
        return now - timedelta(days=1)  # "on sat night ... within 30 mins": long gone
    for m in patterns()["clock"].finditer(text):
        before = text[max(0, m.start() - 40):m.start()]
        right_after = m.start() - (duration.start + len(duration.said)) in range(0, 5) \
            and re.search(r"\bat\s+$", before)
        # "at 9.15pm he gave her 1 hour": the clock, then who sent
        then_sent = m.end() <= duration.start and re.search(r"(?:^|[\s,;(])at\s+$", before) \
            and SENT_AFTER_CLOCK.match(text, m.end())
        # "msg sent 20:50": a clock with its minutes right after the word "sent"
        sent_colon = m.group("m") and SENT_RIGHT_BEFORE.search(before)
        if not (patterns()["sent_before"].search(before) or right_after or then_sent
                or sent_colon):
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
    # "'2230 or ur nudes go'": the offender's four-digit time opening his quoted words
    text = re.sub(r"(?<=[\"'“‘])([01]\d|2[0-3])([0-5][1-9]|[1-5]0)(?=\s+or\b)", r"\1:\2", text)
    text = re.sub(r"\b(deadline(?: is)?|by|till|til|until|at|before)\s+([01]\d|2[0-3])([0-5]\d)\b(?!\s*(?:£|pounds|quid|dollars|euros))",
                  r"\1 \2:\3", text, flags=re.I)  # "deadline 2130"
    # "0100hrs", "2300 hours": a 24-hour clock, not a hundred hours
    text = re.sub(r"(?<![\w:.])([01]\d|2[0-3])([0-5]\d)\s?(?:hrs|hours|h)\b", r"\1:\2", text,
                  flags=re.I)
    # "hour and 15 mins" (no "an", no "1"): one hour and fifteen minutes
    text = re.sub(r"(?<!\d\s)(?<![\d])\b(?:an?\s+)?hour\s+and\s+(\d{1,2})\s*(mins?|minutes)\b",
                  r"1 hour \1 \2", text, flags=re.I)
    pattern = rf"\b(past|to|till|til|until|by|at|before|is|said|says)\s+({alternation(list(names))})\b"
    return re.sub(pattern, lambda m: f"{m.group(1)} {names[m.group(2).lower()]}", text,
                  flags=re.I)


def shifted(text: str, found: list[Candidate], now: datetime) -> Deadline | None:
    """A deadline the offender moved by an amount: the other time the note gives, moved
    ("deadline was 10 but he pushed it back 30 mins": 10:30; "said 8pm then brought it
    forward an hour": 19:00); with no other time, a ``shift`` for the case's deadline."""
    for d in found:
        if d.kind != "duration":
            continue
        lead = patterns()["shift_before"].search(text[max(0, d.start - 60):d.start])
        extra = re.match(r"(?:another|an\s+extra|a\s+further|extra)\b", d.said, re.I) and \
            re.search(r"\b(?:gave|given|give|giving)\s+(?:her|him|them)\s+$", text[:d.start], re.I)
        if not lead and not extra:
            continue
        phrase = lead.group(0).lower() if lead else "gave another"
        direction = ((lead.group("dir") if lead else "") or "").lower()
        if "brought" in phrase and direction not in ("forward", "earlier"):
            direction = "forward"  # "brought it forward" is the usual sense
        if phrase.split()[0] in ("moved", "put") and direction not in (
                "back", "forward", "later", "earlier", "on", "out"):
            continue  # "moved it 2 hours" says nothing of which way
        # the amount itself, not counted from when the message came
        own = durations(d.said, now)
        delta = (own[0].at if own else d.at) - now
        if direction in ("forward", "earlier") or (lead and lead.group("cut")):
            delta = -delta
        said = ((lead.group(0) if lead else "") + d.said).strip()
        bases = [c for c in found if c is not d and c.kind != "shift"]
        if bases:
            base = pick(bases, text)  # the deadline the note gives, as if unmoved
            return Deadline("set", base.at + delta, said, False)
        return Deadline("shift", None, said, False, shift=delta)
    return None


#: "moved it from ... to ...": the time after "to" is the deadline now
MOVED_FROM = re.compile(r"\b(?:moved|changed|pushed|brought|put|switched)\b[^.;!?]{0,30}\bfrom\s+"
                        r"(?:\S+\s+){0,3}$", re.I)


def pick(found: list[Candidate], text: str) -> Candidate:
    """The deadline among several: the last if a revision word ("changed it to", "now")
    stands between them, otherwise the first duration, then the first clock time tied to
    the demand ("till 10pm", ``demand_before_time``), then the first clock time."""
    ordered = sorted(found, key=lambda c: c.start)
    if len(ordered) > 1:
        between = text[ordered[0].start + len(ordered[0].said):ordered[-1].start]
        if patterns()["revision"].search(between) or patterns()["correction"].search(between):
            return ordered[-1]  # "he said 9pm - sorry, 8 not 9"
        if MOVED_FROM.search(text[:ordered[0].start]) and re.fullmatch(
                r"[^.;!?]{0,25}?\bto\s+", between, re.I):
            return ordered[-1]  # "he moved the deadline from 1am to 3am"
    durations_ = [c for c in ordered if c.kind == "duration"]
    if durations_:
        return durations_[0]
    # "messaged at 7 saying he had till 10pm": 10pm, not the time of the message
    demanded = [c for c in ordered
                if patterns()["demand_before"].search(text[max(0, c.start - 30):c.start])]
    # "netball til 7, he says pay by quarter past 9": the time in the demand's own clause
    in_demand = [c for c in demanded or ordered if patterns()["demand_in_clause"].search(
        clause_around(text, c.start, c.start + len(c.said)))]
    return (in_demand or demanded or ordered)[0]


def is_vague_deadline(text: str, vague: re.Match | VagueMention, cue_anywhere: bool) -> bool:
    """A vague time in the note is the offender's deadline, not when something happened."""
    first = vague.group(0).split()[0].lower()
    if first in DEADLINE_WORDS:  # "before school tomorrow"
        return True
    if vague.group(0).lower() in (words().get("vague_needs_offender") or []):
        # "he said soon" is his; "yp wants to stop soon" is not
        begin = max((m.end() for m in re.finditer(r"[.!?;\n]", text[:vague.start()])), default=0)
        stop = re.search(r"[.!?;\n]|$", text[vague.end():])
        assert stop is not None  # "|$" always matches
        end = stop.start() + vague.end()
        sentence = text[begin:end]
        return has_demand(sentence) or bool(patterns()["offender"].search(sentence))
    if patterns()["not_vague"].search(text[:vague.start()]):  # "said tonight '...'"
        return False
    if first not in BARE_DAY_WORDS or cue_anywhere:
        return True
    # a bare "tonight" needs its own cue in its clause: "he wants it tonight", not
    # "says she's ok, going to tell his dad tonight"
    clause = re.split(r"[,.;!?]", text[:vague.start()])[-1] + re.split(r"[,.;!?]", text[vague.start():])[0]
    return bool(patterns()["cue"].search(clause))


CLAUSE_BREAK = re.compile(r"[,;.!?:()]|\s[-–—]\s|\s(?:but|and then|then|while)\s", re.I)


#: a clause is read at most this far either side of its time: a note of 20,000 characters
#: with no punctuation and hundreds of times is read in seconds, not minutes
CLAUSE_REACH = 300


def clause_around(text: str, start: int, end: int) -> str:
    """The clause of ``text`` that holds ``start:end``, at most CLAUSE_REACH characters
    either side of it."""
    reach = max(0, start - CLAUSE_REACH)
    begin = max((m.end() for m in CLAUSE_BREAK.finditer(text, reach, start)), default=reach)
    after = CLAUSE_BREAK.search(text, end, end + CLAUSE_REACH)
    return text[begin:after.start() if after else min(len(text), end + CLAUSE_REACH)]


def own_plan(text: str, start: int) -> bool:
    """The time at ``start`` is in a sentence of someone's own plan ("yp wants to block him
    by 9": ``own_plan_*`` in the data file), with no word of the offender's after it ("yp
    wants to pay but he said by 9pm")."""
    reach = max(0, start - CLAUSE_REACH)
    begin = max((m.end() for m in re.finditer(r"[.;!?\n]", text[reach:start])), default=0) + reach
    before = text[begin:start]
    plan = patterns()["own_plan"].search(before)
    return plan is not None and not patterns()["offender_says"].search(before[plan.end():])


def about_something_else(text: str, start: int, end: int) -> bool:
    """The time belongs to another event, not to the demand: its clause speaks of
    something else (``other_events``: the police calling back, a session ending, a
    platform's review, a phone battery) and not of the demand, or it is a span ("at her
    dad's from 6 tonight till sunday")."""
    if own_plan(text, start):
        return True
    clause = clause_around(text[:start] + " " * (end - start) + text[end:], start, end)
    p = patterns()
    # ("u got 2 hrs to pay £300" is no payment: "to" is never one of the words between)
    if re.search(r"\b(?:sent|paid|transferred|got|received|spent)\s+(?:(?!to\b)\S+\s+){0,2}?"
                 r"(?:[£$€]|money|cash|gift)",
                 clause, re.I) \
            and not re.search(r"\b(?:till|til|until|by|before|deadline|within)\b", clause, re.I):
        return True  # "she sent $50 at 3pm yesterday": when a payment was made
    if p["other_deadline"].search(clause):
        return True  # "coursework deadline fri 9am": someone else's deadline
    if TIME_NOW_BEFORE.search(text[max(0, start - 40):start]) and TIME_NOW_AFTER.match(text, end):
        return True  # "he's in new york and it's 11am there": what the time is, not a demand
    if p["demand_in_clause"].search(clause) or DEMAND_AMOUNT.search(clause):
        return False
    if p["other_event"].search(clause):
        return True
    # a span ("at her dad's from 6 tonight till sunday"), not a deadline moved from one
    # day to another ("he moved it from friday to tomorrow 6pm")
    return bool(re.search(r"\bfrom\s+\S+.*\b(?:till|til|until|to)\b", clause, re.I)) \
        and not p["revision"].search(clause)


#: a sum asked for, with or without its currency ("wants 300 by 7am tmrw before school")
DEMAND_AMOUNT = re.compile(r"\b(?:wants|want|wanted|demanding|demands|demanded|asking\s+for|"
                           r"asked\s+for|pay|send)\s+(?:another\s+|a\s+further\s+)?\d{2,}", re.I)

#: "it's 11am there", "it's nearly 4 now": a statement of what the time is somewhere
TIME_NOW_BEFORE = re.compile(r"\bit(?:['’]?s|\s+is)\s+(?:now\s+|only\s+|already\s+|nearly\s+|almost\s+"
                             r"|just\s+(?:gone|after)\s+)?$", re.I)
TIME_NOW_AFTER = re.compile(r"\s*(?:there|here|now|for\s+(?:him|them)|where\s+(?:he|they)\s+(?:is|are))\b",
                            re.I)

#: "by 11pm there": the clock of the place the note names
CLOCK_THERE = re.compile(r"(?:\d(?:\s*[ap]\.?m\.?)?|midnight|noon|midday)\s+"
                         r"(?:(?:over\s+)?there|local)\b")


def named_zone(text: str) -> ZoneInfo | None:
    """Another time zone the note names for its clock times ("9pm his time, he's in
    Lagos", "8am manila time", "10pm EST"): ``zones`` in data/risk/deadlines.yml."""
    spec = words().get("zones") or {}
    names = {str(k).lower(): str(v) for k, v in (spec.get("places") or {}).items()}
    lowered = text.lower()
    for name in sorted(names, key=len, reverse=True):
        for place in re.finditer(rf"(?<![\w]){re.escape(name)}(?![\w])", lowered):
            # "manila time", "EST": the name is the zone; "his time ... he's in lagos": a
            # mark ("his time", "their time") ties a place named anywhere to the times
            if re.match(r"\s+time\b", lowered[place.end():]) \
                    or name in (spec.get("abbreviations") or []) \
                    or patterns()["zone_mark"].search(lowered) \
                    or CLOCK_THERE.search(lowered):
                return ZoneInfo(names[name])
    return None


class VagueMention:
    """A Duckling time with no hour, standing in for a vague-deadline match."""

    def __init__(self, mention: Any) -> None:
        self._said, self._start = mention.said, mention.start

    def group(self, _: int = 0) -> str:
        return self._said

    def start(self) -> int:
        return self._start

    def end(self) -> int:
        return self._start + len(self._said)


def zone_of_clock(text: str, clock: Candidate) -> ZoneInfo | None:
    """The zone named right after one clock time ("midnight uk time"), if any."""
    spec = words().get("zones") or {}
    after = text[clock.start + len(clock.said):][:25].lower()
    places = ((str(k).lower(), str(v)) for k, v in (spec.get("places") or {}).items())
    for name, zone in sorted(places, key=lambda kv: -len(kv[0])):
        said = re.match(rf"\s*{re.escape(name)}(\s+time)?(?![\w])", after)
        if said and (said.group(1) or name.endswith(" time")
                     or name in (spec.get("abbreviations") or [])
                     or name in (spec.get("after_clock") or [])):
            return ZoneInfo(zone)
    return None


def has_demand(text: str) -> bool:
    """The words speak of the offender's demand (``demand_words`` in data/risk/deadlines.yml:
    pay, send, post, deadline ...), not only of a time."""
    return bool(patterns()["demand"].search(text or ""))


# a duration right after these is how long or how often something happened, not a deadline
LENGTH_OR_FREQUENCY = re.compile(
    r"\b(?:for|every|each)\s+(?:about\s+|around\s+|nearly\s+|almost\s+|over\s+|like\s+)?$",
    re.I)
FREQUENCY_AFTER = re.compile(r"\s+(?:every|each|a\s+day|a\s+night|per)\b", re.I)
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
    none = p["none"].search(text)
    if none and re.match(r"\s+exactly\b", text[none.end():]):
        none = None  # "later tonight, he hasnt said when exactly": a time to ask about
    if none and none.group(0).lower() not in {str(w).lower() for w in words()["none_hour_only"]}:
        return None
    if none:  # "by friday, no time given": read on without those words
        text = text[:none.start()] + " " * len(none.group(0)) + text[none.end():]
    hypothetical = p["hypothetical"].search(text)
    if hypothetical and not awaiting_time:
        # "what if he gives me till tonight?" is no deadline; "he gave her till ten past
        # nine, she's asking what happens if she doesn't" is one, said before the question
        breaks = list(re.finditer(r"[,.;!?]|\s[-–—]\s|\b(?:and|but|so)\b",
                                  text[:hypothetical.start()]))
        if not breaks:
            return None
        earlier = _read(text[:breaks[-1].start()], now, tz, awaiting_time)
        return earlier if earlier is not None and earlier.status != "withdrawn" else None
    withdrawn = p["withdrawn"].search(text)
    if withdrawn:
        # "he called off the 9pm thing, then came back saying 11.30 tonight": the new one
        revision = p["revision"].search(text, withdrawn.end())
        later = _read(text[revision.end():], now, tz, awaiting_time) if revision else None
        if later is not None and later.status == "set":
            return later
        return Deadline("withdrawn", None, withdrawn.group(0), False)
    passed = next((m for m in p["passed"].finditer(text)  # not "last msg was at 4pm"
                   if not about_something_else(text, m.start(), m.end())), None)
    if passed:
        # "the deadline passed but now he's given her till 10": the new one counts
        revision = p["revision"].search(text, passed.end())
        later = find_deadline(text[revision.end():], now, tz, awaiting_time) if revision else None
        if later is not None and later.status == "set":
            return later
        if later is not None and later.status == "shift":
            # "deadline was 10 but he pushed it back 30 mins": the time said before, moved
            # (later was read after the revision; a "shift" always carries its amount)
            assert revision is not None and later.shift is not None
            before = clocks(text[:revision.start()], now, tz, True)
            if before:
                at = before[0].at + later.shift
                return Deadline("set" if at > now else "passed", at, later.words, False)
        return Deadline("passed", None, passed.group(0), False)
    duck = duckling_mentions(text, now, tz)  # once per message, in the helpline's zone
    long_ago = p["long_ago"].search(text)
    if long_ago and not p["now_word"].search(text, long_ago.end()) \
            and not p["revision"].search(text, long_ago.end()):
        # "he said by 9pm, that was weeks ago": long over, whatever the hour said
        if p["cue"].search(text) and (durations(text, now) or clocks(text, now, tz, False, duck)
                                      or p["ambiguous"].search(text)
                                      or any(is_date_only(m) for m in duck)):
            return Deadline("passed", None, long_ago.group(0), False)
    correction = bool(p["correction"].search(text))
    cue = bool(p["cue"].search(text)) or awaiting_time or correction or clock_in_his_zone(text)
    found: list[Candidate] = []
    vague_spans = [(v.start(), v.end()) for v in p["ambiguous"].finditer(text)]
    for d in durations(text, now, duck):
        if any(a <= d.start < b for a, b in vague_spans):
            continue  # "a couple of hours", "a day or two": not an exact time
        if LENGTH_OR_FREQUENCY.search(text[:d.start]) \
                or FREQUENCY_AFTER.match(text, d.start + len(d.said)):
            # "spoke to him for about 2 hrs", "msgd every 15 mins", "talked 3 hrs every
            # night": no deadline
            continue
        if cue or p["duration_cue"].search(text) \
                or re.search(r"\b(in|within)\s+(the\s+next\s+)?$", text[:d.start], re.I) \
                or re.search(r"(?:^|\s)['\"‘“]\s*$", text[:d.start]):  # "'45 mins. tick tock'"
            anchor = sent_at(text, d, now, tz)
            found.append(Candidate(anchor + (d.at - now), d.said, d.start, d.kind) if anchor else d)
    if cue:
        # clock times in the zone the note names for them ("9pm new york time", "9pm his
        # time, he's in Lagos"), else the helpline's
        zone = named_zone(text)
        read = clocks(text, now, tz, bare=awaiting_time or correction, duck=duck)
        for there_zone in {z for z in [zone] + [zone_of_clock(text, c) for c in read] if z}:
            there = clocks(text, now, there_zone, bare=awaiting_time or correction)
            read = [next((t for t in there if t.start == c.start), c)
                    if (zone_of_clock(text, c) or zone) == there_zone else c for c in read]
        found += [c for c in read if not overlaps(c.start, c.start + len(c.said),
                                                  [f for f in found if f.kind == "duration"])]
    # "by 11 tonight, not an hour": the time said not to be it is not it
    found = [c for c in found if not re.search(r"\b(?:not|n't)\s+$", text[:c.start], re.I)
             and not about_something_else(text, c.start, c.start + len(c.said))]
    moved = shifted(text, found, now)
    if moved is not None:
        if moved.status == "shift":
            return moved
        assert moved.at is not None  # shifted() gives a time to all but a "shift"
        return dataclasses.replace(
            moved, status="set" if moved.at > now else "passed", correction=correction)
    if found:
        chosen = pick(found, text)
        if chosen.kind != "duration" and zone_unknown(text, chosen):
            return Deadline("ambiguous", None, chosen.said, correction, ask_zone(chosen.said))
        if unsure(text):  # "between 6 and 7 tonight", "by 8, not sure if he meant am or pm"
            span = RANGE.search(text)
            said = span.group(0) if span else chosen.said
            return Deadline("ambiguous", None, said, correction, ask_exact(said))
        if pm_just_passed(text, chosen, now, tz):
            return Deadline("ambiguous", None, chosen.said, correction, ask_exact(chosen.said))
        at = chosen.at.astimezone(tz)
        status = "set" if at > now else "passed"
        return Deadline(status, at, chosen.said, correction)
    vague: re.Match | VagueMention | None
    vague = next((v for v in p["ambiguous"].finditer(text)
                  if is_vague_deadline(text, v, cue_anywhere=awaiting_time or correction)
                  and not about_something_else(text, v.start(), v.end())), None)
    if vague is None and cue:
        # a day with no hour, by Duckling ("by 5 December", "by the weekend", "EOD"), said
        # of the demand: words of the demand beside it ("until friday to hand in her
        # homework" is not one)
        days = (VagueMention(m) for m in duck
                if not WEEKLY.search(m.said)  # "pocket money on fridays": every week
                and (is_date_only(m) or (m.kind == "time" and not EXACT.search(m.said)
                                        and LEAD.match(m.said)))
                and (awaiting_time or DAY_LEAD.match(m.said)
                     or (has_demand(text[:m.start] + " " + text[m.end:])
                         # a date in brackets, or in a clause of its own with no word
                         # of a deadline, is when something else was ("(2nd march)")
                         and (LEAD.match(m.said) or p["cue"].search(
                             clause_around(text[:m.start] + " " * (m.end - m.start)
                                           + text[m.end:], m.start, m.end))))
                     or p["offender_gave"].search(text[:m.start])))
        vague = next((v for v in days if is_vague_deadline(
            text, v, cue_anywhere=awaiting_time or correction)
            and not about_something_else(text, v.start(), v.end())), None)
    if vague and cue:
        # keep the day that goes with it: "before school tomorrow"
        tail = re.match(r"\s+(tomorrow|tonight|today|this \w+|on \w+day)\b", text[vague.end():], re.I)
        said = vague.group(0) + (tail.group(0) if tail else "")
        return Deadline("ambiguous", None, said, correction, ask_exact(said))
    return None


def clock_in_his_zone(text: str) -> bool:
    """A clock time said to be in the offender's zone ("'10pm my time'", "9pm his time",
    "midnight berlin time", "8pm US time"): the offender's time, a cue on its own."""
    return bool(patterns()["clock_his_zone"].search(text))


def ask_zone(said: str) -> str:
    return say("deadline.ask_zone", words=said)


def zone_unknown(text: str, clock: Candidate) -> bool:
    """The note says the time is the offender's ("his time", "US time") but names no zone
    the assistant can use: a countdown in the helpline's zone would be wrong."""
    if named_zone(text) or zone_of_clock(text, clock):
        return False
    return bool(patterns()["zone_mark"].search(text) or patterns()["many_zones_time"].search(text))


def pm_just_passed(text: str, chosen: Candidate, now: datetime, tz: ZoneInfo) -> bool:
    """A bare hour read as tomorrow morning because the afternoon one went by in the last
    three hours ("'by 4' - he sent it a minute ago", read at 16:20): the offender more
    likely meant the 4pm just gone than 4am, so the assistant asks instead of counting
    down to 4am."""
    bare = re.fullmatch(r"(?:[a-z]+\s+)?(\d{1,2})", chosen.said.strip(), re.I)
    if chosen.kind != "clock" or not bare or not 1 <= int(bare.group(1)) <= 11 \
            or re.search(r"\b(?:morning|am|a\.m\.?)(?![\w])", text, re.I) \
            or day_offset(text, now.astimezone(tz).date()) is not None:
        return False
    local, at = now.astimezone(tz), chosen.at.astimezone(tz)
    afternoon = local.replace(hour=int(bare.group(1)) + 12, minute=0, second=0, microsecond=0)
    return afternoon <= local < afternoon + timedelta(hours=3) and at.date() > local.date() \
        and at.hour == int(bare.group(1))


def ask_exact(said: str) -> str:
    return say("deadline.ask_exact_time", words=said)


#: a range of times ("24-48hrs", "between 6 and 7 tonight", "either 6 or 8") or a time with
#: "ish" ("by 9ish"): a deadline to ask about
RANGE = re.compile(
    r"(?<![\w£$€])\d{1,2}(?:[:.]\d\d)?\s*(?:-|–|to|or)\s*\d{1,2}(?:[:.]\d\d)?\s*"
    r"(?:hrs?|hours?|h|mins?|minutes?|days?)\b"
    r"|\b(?:between|either)\s+\d{1,2}(?:[:.]\d\d)?\s*(?:am|pm)?\s+(?:and|or)\s+\d"
    r"|(?:\d|am|pm)\s*-?\s*ish\b", re.I)


def unsure(text: str) -> bool:
    """The note says the time is uncertain (``unsure`` in the data file) or gives a range."""
    return bool(patterns()["unsure"].search(text) or RANGE.search(text))
