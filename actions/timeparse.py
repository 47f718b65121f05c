"""Time expressions in a counsellor's note, read by Duckling.

Duckling (Facebook's rule-based parser of times and durations, the engine behind Rasa's
``DucklingEntityExtractor``) is embedded through ``pyduckling-native-phihos``: no server,
no Haskell toolchain. This module only finds the time expressions and what they say
("noon tomorrow", "half 9 tonight", "90 mins", "EOD"); which of them is the offender's
deadline is the helpline's logic, in :mod:`actions.deadlines`.

Two engines behind one interface (:class:`Times`): ``embedded`` (the default) and
``http`` (a Duckling server, ``DUCKLING_URL``, for a helpline that runs one: Rasa's own
extractor speaks the same API). Each gives :class:`Mention`s.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

#: where time-zone data is looked for (Duckling reads the TZif files itself)
TZ_DIRS = ("/usr/share/zoneinfo", "/usr/lib/zoneinfo", "/usr/share/lib/zoneinfo",
           "/etc/zoneinfo")
#: characters Duckling cannot take (a C string): NUL and lone surrogates
UNSAFE = re.compile("[\x00\ud800-\udfff]")
#: Duckling's grains, finest first; a time with a grain of a day or more names no hour
FINE_GRAINS = ("second", "minute", "hour")
LONGEST_DURATION = timedelta(days=366)  # longer durations are read as no duration


@dataclass(frozen=True)
class Mention:
    """One time expression: ``kind`` is ``duration`` (``delta`` set), ``time`` (``at``
    set: a moment, or the end of an interval such as "until noon") or ``day`` (a date or
    a part of the week with no hour: "by friday", "the weekend")."""

    kind: str
    start: int
    end: int
    said: str
    at: datetime | None = None
    delta: timedelta | None = None
    grain: str = ""
    interval: bool = False


def _tz_dir() -> str:
    try:  # the tzdata package (requirements.txt): the same data on any machine
        import tzdata

        found = Path(tzdata.__file__).parent / "zoneinfo"
        if (found / "Europe" / "London").exists():
            return str(found)
    except ImportError:
        pass
    for path in TZ_DIRS:
        if (Path(path) / "Europe" / "London").exists():
            return path
    raise RuntimeError("no time-zone data found: install the tzdata package (make install)")


def _keep_python_signal_handlers() -> None:
    """Duckling's Haskell runtime takes SIGINT at start-up (Ctrl-C would no longer stop
    the server): give Python's handlers back. Only the main thread may; the servers load
    Duckling there (:func:`warm_up`)."""
    import signal

    if threading.current_thread() is not threading.main_thread():
        return
    for name in ("SIGINT", "SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is None:  # no SIGHUP on Windows
            continue
        handler = signal.getsignal(number)
        if handler is not None:
            signal.signal(number, handler)  # Python's view was never changed: reinstall it


class _Embedded:
    """Duckling in this process. Its Haskell runtime is started once, on first use."""

    def __init__(self) -> None:
        import duckling  # imported here: the runtime starts on import

        _keep_python_signal_handlers()
        self._d = duckling
        self._zones = duckling.load_time_zones(_tz_dir())
        lang = duckling.parse_lang("EN")
        self._locale = duckling.parse_locale("EN_GB", duckling.default_locale_lang(lang))
        self._dims = duckling.parse_dimensions(["time", "duration"])
        self._lock = threading.Lock()

    def parse(self, text: str, now: datetime, tz: str) -> list[dict]:
        with self._lock:
            ref = self._d.parse_ref_time(self._zones, tz, int(now.timestamp()))
            return self._d.parse(text, self._d.Context(ref, self._locale), self._dims, False)


class _Http:
    """A Duckling server (``DUCKLING_URL``), the API Rasa's DucklingEntityExtractor uses."""

    def __init__(self, url: str) -> None:
        self._url = url.rstrip("/") + "/parse"

    def parse(self, text: str, now: datetime, tz: str) -> list[dict]:
        import requests

        reply = requests.post(self._url, timeout=3, data={
            "text": text, "locale": "en_GB", "tz": tz, "dims": json.dumps(["time", "duration"]),
            "reftime": int(now.timestamp() * 1000)})
        reply.raise_for_status()
        return reply.json()


@lru_cache(maxsize=1)
def engine() -> _Embedded | _Http:
    from actions import settings

    url = settings.duckling_url()
    return _Http(url) if url else _Embedded()


def warm_up() -> None:
    """Start the engine now, in the calling (main) thread, so the first note does not pay
    for it and Ctrl-C keeps working (:func:`_keep_python_signal_handlers`)."""
    try:
        engine()
    except (ImportError, OSError, RuntimeError):
        pass  # deadlines.duckling_mentions says so, once, and the built-in reader decides


def _when(said: str | None, tz: ZoneInfo) -> datetime | None:
    """A Duckling moment as the clock on the wall in ``tz`` reads it, with Python's own
    offset for that date (see :func:`_skew`); None for one Python cannot hold: "bc" in
    "now brought it forward to 7 bc she ignored him" is, to Duckling, a year before Christ."""
    if not said:
        return None
    try:
        return datetime.fromisoformat(said).replace(tzinfo=tz)
    except (ValueError, OverflowError):
        return None


@lru_cache(maxsize=64)
def _skew(zone: str, hour: int) -> timedelta:
    """How far Python's offset for ``zone`` at ``hour`` (hours since 1970) is ahead of
    Duckling's. Duckling reads zone files but not the rule at their end that "slim" files
    (the tzdata package's) give future summer times by: it put 9pm in London in July at
    21:00 UTC, an hour late. Duckling is given a reference time moved by this much, so its
    clock on the wall is the right one, and its answers are read as wall-clock times in
    the zone (:func:`_when`)."""
    now = datetime.fromtimestamp(hour * 3600, ZoneInfo("UTC"))
    ours = now.astimezone(ZoneInfo(zone)).utcoffset() or timedelta(0)
    try:
        said = next(e for e in engine().parse("now", now, zone) if e.get("dim") == "time")
        theirs = datetime.fromisoformat(said["value"]["value"]).utcoffset() or timedelta(0)
    except (StopIteration, KeyError, TypeError, ValueError):
        return timedelta(0)
    return ours - theirs


def _moment(value: dict, tz: ZoneInfo) -> tuple[datetime | None, str, bool]:
    """(when, grain, interval) of a Duckling time value: a moment's value, or an
    interval's end ("until noon", "by 9") or, open-ended, its start ("after 9")."""
    if value.get("type") == "interval":
        end = value.get("to") or value.get("from") or {}
        return _when(end.get("value"), tz), end.get("grain", ""), True
    return _when(value.get("value"), tz), value.get("grain", ""), False


#: words Duckling may combine into one time ("9", "pm", "tomorrow", "half"): its work grows
#: exponentially with how many stand together ("by 9pm" ten times over took 8 s, twenty-five
#: times minutes), so no piece it reads holds more than MAX_TIME_WORDS of them
TIME_WORDS = frozenset((
    "noon midday midnight tonight today tomorrow tmrw morning afternoon evening night am pm "
    "half quarter hour hours hr hrs min mins minute minutes day days week weeks weekend mon "
    "tue tues wed thu thurs fri sat sun monday tuesday wednesday thursday friday saturday "
    "sunday").split())
TOKEN = re.compile(r"\d+|[^\W\d_]+")
MAX_TIME_WORDS = 10
SENTENCE_END = re.compile(r"[.!?;\n]+")


def time_words(text: str) -> list[re.Match[str]]:
    """The numbers and time words of ``text`` ("9pm": two)."""
    return [m for m in TOKEN.finditer(text) if m.group().isdigit() or m.group().lower() in TIME_WORDS]


def pieces(text: str) -> list[tuple[int, str]]:
    """(offset, piece) to read: the whole text when it holds few time words (Duckling sees
    every combination), else its sentences, and a sentence with too many of them in runs
    of MAX_TIME_WORDS time words."""
    if len(time_words(text)) <= MAX_TIME_WORDS:
        return [(0, text)]
    out = []
    begin = 0
    for end in [m.end() for m in SENTENCE_END.finditer(text)] + [len(text)]:
        sentence = text[begin:end]
        words = time_words(sentence)
        cut = 0
        for i in range(MAX_TIME_WORDS, len(words), MAX_TIME_WORDS):
            split = words[i].start()  # a run ends before its next time word's own word
            split = sentence.rfind(" ", cut, split) + 1 or split
            out.append((begin + cut, sentence[cut:split]))
            cut = split
        out.append((begin + cut, sentence[cut:]))
        begin = end
    return [(offset, piece) for offset, piece in out if piece.strip()]


ALNUM_RUN = re.compile(r"[A-Za-z0-9]+")


def inside_a_code(text: str, start: int, end: int) -> bool:
    """The words stand inside a run of letters and digits that switches between them three
    times or more: a reference or an id ("scale-a3h9b0c1", "ref 7b2h91"), not a time
    ("1h30", "till9pm" and "9pmish" stay times)."""
    before = start > 0 and text[start - 1].isascii() and text[start - 1].isalnum()
    after = end < len(text) and text[end].isascii() and text[end].isalnum()
    if not (before or after):
        return False
    left = start
    while left > 0 and text[left - 1].isascii() and text[left - 1].isalnum():
        left -= 1
    run = ALNUM_RUN.match(text, left)
    word = run.group(0) if run else ""
    return len(re.findall(r"[0-9]+|[A-Za-z]+", word)) >= 4


def mentions(text: str, now: datetime, tz: ZoneInfo) -> list[Mention]:
    """Every time expression in ``text``, as Duckling reads it at ``now`` in ``tz``,
    in the order they are said."""
    if not text or not text.strip():
        return []
    # Duckling takes a C string: a NUL or a lone surrogate would end or break it. Each
    # becomes a space, so positions stay those of the note.
    text = UNSAFE.sub(" ", text)
    found = []
    parsed = []
    ref = now + _skew(tz.key, int(now.timestamp()) // 3600)
    for offset, piece in pieces(text):
        try:
            read = engine().parse(piece, ref, tz.key)
        except BaseException as exc:  # a Rust panic (pyo3) is not an Exception
            if type(exc).__name__ == "PanicException":
                raise RuntimeError("Duckling could not read this text") from None
            raise
        parsed += [dict(entity, start=entity["start"] + offset, end=entity["end"] + offset)
                   for entity in read]
    for entity in parsed:
        value = entity.get("value") or {}
        start, end, said = entity["start"], entity["end"], entity["body"]
        if inside_a_code(text, start, end):
            continue
        if entity.get("dim") == "duration":
            seconds = (value.get("normalized") or {}).get("value")
            # no offender's deadline lies a year off; "13M year 8" is a boy in year 8, not
            # thirteen million years (a timedelta that long overflows)
            if seconds and seconds <= LONGEST_DURATION.total_seconds():
                found.append(Mention("duration", start, end, said,
                                     delta=timedelta(seconds=seconds), grain=value.get("unit", "")))
            continue
        when, grain, interval = _moment(value, tz)
        if when is None:
            continue
        kind = "time" if grain in FINE_GRAINS else "day"
        found.append(Mention(kind, start, end, said, at=when, grain=grain, interval=interval))
    return sorted(found, key=lambda m: m.start)
