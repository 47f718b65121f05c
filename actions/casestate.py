"""The state of one case and the checks run on every counsellor message.

Plain Python: no Rasa here. The action layer (actions/actions.py) turns the tracker's
slots into a :class:`CaseState`, calls :func:`check_message`, and turns the result back
into slot events, bot messages and case-note events.
"""
from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Iterable
from zoneinfo import ZoneInfo

import yaml

from actions import deadlines, guidance, risk, settings

# Classifier intents that stand for a red flag, used together with the rules (union).
FLAG_INTENTS = {
    "report_self_harm": "self_harm_risk",
    "report_offender_known": "offender_known",
    "report_ongoing_risk": "ongoing_risk",
}
CLASSIFIER_THRESHOLD = 0.6
# Intents whose message answers the checklist item the assistant last asked about.
ANSWER_INTENTS = {"inform", "affirm", "deny", "report_self_harm", "report_offender_known",
                  "report_ongoing_risk", "report_deadline", "nlu_fallback", "out_of_scope"}
QUOTE_LIMIT = 160


@dataclass
class CaseState:
    """Mirror of the tracker slots that carry a case (see domain.yml)."""

    case_id: str | None = None
    caller_role: str | None = None
    stage: str | None = None
    red_flags: list[str] = field(default_factory=list)
    deadline_at: str | None = None
    escalated: bool = False  # derived: escalation confirmed for every flag (sync_escalation)
    escalated_at: str | None = None
    escalated_flags: list[str] = field(default_factory=list)  # flags escalation covers
    steps_shown: list[str] = field(default_factory=list)  # flags whose step "what next?" gave
    deadline_status: str | None = None
    deadline_words: str | None = None
    flag_words: dict[str, str] = field(default_factory=dict)
    dismissed_flags: list[str] = field(default_factory=list)
    checklist_done: list[str] = field(default_factory=list)
    pending_item: str | None = None

    @classmethod
    def from_slots(cls, slots: dict[str, Any]) -> "CaseState":
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in slots.items() if k in known and v is not None}
        state = cls(**values)
        state.red_flags = list(state.red_flags or [])
        state.flag_words = dict(state.flag_words or {})
        state.dismissed_flags = list(state.dismissed_flags or [])
        state.checklist_done = list(state.checklist_done or [])
        state.escalated_flags = list(state.escalated_flags or [])
        state.steps_shown = list(state.steps_shown or [])
        if state.escalated and not state.escalated_flags:  # a case from before per-flag state
            state.escalated_flags = list(state.red_flags)
        sync_escalation(state)
        return state

    def to_slots(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    def copy(self) -> "CaseState":
        return CaseState.from_slots(self.to_slots())

    @property
    def path_role(self) -> str:
        """The guidance path to follow (the child path until the caller is known)."""
        return guidance.path_for(self.caller_role)

    def panel_message(self) -> dict[str, Any]:
        """The ``case_state`` custom message of DESIGN.md, for the side panel."""
        return {
            "type": "case_state",
            "case_id": self.case_id,
            "caller_role": self.caller_role,
            "stage": self.stage,
            "red_flags": list(self.red_flags),
            "deadline_at": self.deadline_at,
            "escalated": self.escalated,
            "escalated_at": self.escalated_at,
            "deadline_status": self.deadline_status,
            "flags": [
                {"code": code, "label": risk.flag_info(code)["label"],
                 "meaning": risk.flag_info(code)["meaning"], "words": self.flag_words.get(code),
                 "escalated": code in self.escalated_flags}
                for code in self.red_flags
            ],
            "checklist": guidance.checklist_state(self.path_role, self.checklist_done),
        }


def sync_escalation(state: CaseState) -> None:
    """``escalated`` (the contract's slot) from the per-flag record: true when escalation is
    recorded and covers every red flag raised so far; a flag raised later makes it false."""
    state.escalated_flags = [f for f in state.escalated_flags if f in state.red_flags]
    state.escalated = state.escalated_at is not None and all(
        f in state.escalated_flags for f in state.red_flags)


@lru_cache(maxsize=1)
def escalation_cues() -> dict[str, list[re.Pattern]]:
    with open(settings.ROOT / "data" / "risk" / "escalation.yml", encoding="utf-8") as f:
        cues = yaml.safe_load(f)
    return {kind: [re.compile(rf"(?<![a-z]){re.escape(cue.lower())}(?![a-z])") for cue in words]
            for kind, words in cues.items()}


def escalation_said(text: str) -> str:
    """What a counsellor's words say of escalation: ``started`` (the button sends no words),
    ``not_started`` or ``planned`` (data/risk/escalation.yml)."""
    lowered = " ".join(text.lower().replace("’", "'").replace("n't", " not").split())
    for kind in ("not_started", "planned"):
        if any(cue.search(lowered) for cue in escalation_cues()[kind]):
            return kind
    return "started"


def record_escalation(state: CaseState, now: datetime) -> list[str]:
    """Escalation has started for every flag not yet covered; returns those flags."""
    covered = [f for f in state.red_flags if f not in state.escalated_flags]
    state.escalated_flags += covered
    state.escalated_at = now.isoformat()
    sync_escalation(state)
    return covered


def undo_escalation(state: CaseState) -> list[str]:
    """Escalation had not started after all: returns the flags it was recorded for."""
    undone = list(state.escalated_flags)
    state.escalated_flags = []
    state.escalated_at = None
    sync_escalation(state)
    return undone


@dataclass
class Announcement:
    """Something the counsellor must see at once, in order."""

    text: str
    buttons: list[dict[str, str]] = field(default_factory=list)


@dataclass
class Outcome:
    state: CaseState
    announcements: list[Announcement] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)

    @property
    def new_flags(self) -> list[str]:
        return [e["code"] for e in self.events if e["kind"] == "red_flag"]


def quote(words: str) -> str:
    words = " ".join(words.split())
    return words if len(words) <= QUOTE_LIMIT else words[: QUOTE_LIMIT - 1] + "…"


def format_deadline(at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """'21:00 today (Europe/London), 2 h 30 min from now' or '... passed 5 min ago'."""
    local = at.astimezone(tz)
    now_local = now.astimezone(tz)
    days = (local.date() - now_local.date()).days
    day = {0: "today", 1: "tomorrow", -1: "yesterday"}.get(days, local.strftime("%a %d %b"))
    remaining = format_duration(at - now)
    when = f"{remaining} from now" if at > now else f"passed {format_duration(now - at)} ago"
    return f"{local:%H:%M} {day} ({tz.key}), {when}"


def format_duration(delta: Any) -> str:
    """'2 h 30 min', '45 min', '1 d 3 h'."""
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [f"{days} d"] * bool(days) + [f"{hours} h"] * bool(hours)
    parts += [f"{minutes} min"] * (bool(minutes) or not parts)
    return " ".join(parts)


ESCALATION_STARTED = {"title": "Escalation started", "payload": "/confirm_escalation"}


def flag_buttons(code: str) -> list[dict[str, str]]:
    return [
        ESCALATION_STARTED,
        {"title": "Raised in error", "payload": f'/dismiss_flag{{"flag":"{code}"}}'},
    ]


def raise_flag(state: CaseState, outcome: Outcome, code: str, words: str, source: str,
               now: datetime) -> None:
    """Raise a red flag once per case; a dismissed flag comes back only on new words."""
    words = quote(words)
    if code in state.red_flags:
        return
    if code in state.dismissed_flags and state.flag_words.get(code) == words:
        return
    was_escalated = state.escalated
    state.red_flags.append(code)
    state.flag_words[code] = words
    sync_escalation(state)
    info = risk.flag_info(code)
    outcome.events.append({"kind": "red_flag", "code": code, "text": words, "at": now,
                           "source": source})
    text = (f"⚠ RED FLAG: {info['label']} — raised by “{words}”.\n"
            f"{info['escalation']}\n"
            + ("Escalation was recorded for the earlier red flags; this one is NOT escalated "
               "yet. " if was_escalated else "")
            + "Tell me when escalation has started.")
    outcome.announcements.append(Announcement(text, flag_buttons(code)))


def check_message(state: CaseState, text: str, intent: str | None, confidence: float,
                  now: datetime, tz: ZoneInfo) -> Outcome:
    """Every check that runs on a counsellor message, whatever the intent.

    Red flags are the union of the deterministic rules and the classifier; a deadline
    found in the message replaces the current one. Returns the new state, what to tell the
    counsellor (in order) and the case-note events to write.
    """
    state = state.copy()
    outcome = Outcome(state)
    text = text or ""

    for flag in risk.detect_flags(text):
        raise_flag(state, outcome, flag.code, flag.words, f"rules:{flag.rule}", now)
    code = FLAG_INTENTS.get(intent or "")
    if code and confidence >= CLASSIFIER_THRESHOLD:
        raise_flag(state, outcome, code, text, f"classifier:{intent}", now)

    check_deadline(state, outcome, text, intent, confidence, now, tz)
    tick_checklist(state, outcome, text, intent, now)
    return outcome


def check_deadline(state: CaseState, outcome: Outcome, text: str, intent: str | None,
                   confidence: float, now: datetime, tz: ZoneInfo) -> None:
    # The offender's deadline changes only when the words are about a deadline. A bare time
    # ("9pm") counts only after the assistant asked for the exact time, or when the classifier
    # hears a deadline and none is set; never in a note of something else ("add note: mum
    # phoned police at 19:30"), and never over a set deadline. The strict reading comes
    # first, so "girl, 15, has till 10pm" is 10pm, not 15:00.
    live = state.deadline_status == "set" and bool(state.deadline_at)
    heard = intent == "report_deadline" and confidence >= CLASSIFIER_THRESHOLD
    awaiting = intent != "add_note" and (
        state.deadline_status == "ambiguous" or (heard and not live))
    found = deadlines.find_deadline(text, now, tz)
    if found is None and awaiting:
        found = deadlines.find_deadline(text, now, tz, awaiting_time=True)
    if found is not None and found.status == "ambiguous" and not deadlines.has_demand(text) \
            and any(f.code == "self_harm_risk" for f in risk.detect_flags(text)):
        found = None  # "he's going to kill himself tonight": a risk, not a deadline
    if found is None and intent == "report_deadline" and confidence >= CLASSIFIER_THRESHOLD \
            and not state.deadline_at:
        # The classifier hears a deadline the rules could not read: raise it and ask.
        found = deadlines.Deadline(status="ambiguous", at=None, words=text, correction=False,
                                   question=None)
    if found is None:
        return
    words = quote(found.words)
    if found.status == "set" and found.at is not None:
        if found.at <= now:
            found = dataclasses.replace(found, status="passed")
        else:
            previous = state.deadline_at
            new_at = found.at.replace(microsecond=0).isoformat()
            if new_at == previous:
                return  # said again: nothing changes, nothing to announce
            state.deadline_at = new_at
            state.deadline_status = "set"
            state.deadline_words = words
            outcome.events.append({"kind": "deadline", "code": "set", "at": now,
                                   "text": f"{state.deadline_at} ({words})"})
            raise_flag(state, outcome, "active_deadline", words, "rules:deadline", now)
            moved = ""
            if previous:
                old_at = datetime.fromisoformat(previous).astimezone(tz)
                moved = f"moved from {old_at:%H:%M}" + (
                    f" {old_at:%a}" if old_at.date() != found.at.astimezone(tz).date() else "")
            outcome.announcements.append(Announcement(
                f"⏱ Deadline {moved + ' to' if moved else 'set:'} "
                f"{format_deadline(found.at, now, tz)} — from “{words}”."
                + (" If that is not the offender's new deadline, type the right time."
                   if moved else "")))
            return
    if found.status == "ambiguous":
        state.deadline_status = "ambiguous"
        state.deadline_words = words
        outcome.events.append({"kind": "deadline", "code": "ambiguous", "text": words, "at": now})
        raise_flag(state, outcome, "active_deadline", words, "rules:deadline", now)
        question = found.question or (
            f"The deadline was given as “{words}”. What exact time is it? "
            "Type the time, for example 9pm or 21:00.")
        outcome.announcements.append(Announcement(f"⏱ {question}"))
        return
    if found.status in ("withdrawn", "passed") and (state.deadline_at or state.deadline_status):
        state.deadline_at = None
        state.deadline_status = found.status
        state.deadline_words = words
        outcome.events.append({"kind": "deadline", "code": found.status, "text": words, "at": now})
        outcome.announcements.append(Announcement(
            f"⏱ The deadline is {found.status}: no active deadline now (“{words}”). "
            "The case notes keep the history."))
    elif found.status in ("withdrawn", "passed"):
        state.deadline_status = found.status
        state.deadline_words = words
        outcome.events.append({"kind": "deadline", "code": found.status, "text": words, "at": now})


def tick_checklist(state: CaseState, outcome: Outcome, text: str, intent: str | None,
                   now: datetime) -> None:
    """Mark checklist items answered: the item just asked, and any the note covers."""
    covered: list[str] = []
    if state.pending_item and intent == "what_next":
        # "what next?" after a suggestion: the counsellor has covered it or moved on; never
        # loop on the same question.
        covered.append(state.pending_item)
        text = text or "(moved on)"
        state.pending_item = None
    elif state.pending_item and intent in ANSWER_INTENTS and text.strip():
        covered.append(state.pending_item)
        state.pending_item = None
    covered += guidance.items_covered(state.path_role, text)
    for item_id in dict.fromkeys(covered):
        if item_id not in state.checklist_done:
            state.checklist_done.append(item_id)
            outcome.events.append({"kind": "answer", "code": item_id, "text": quote(text),
                                   "at": now})


def changed(before: CaseState, after: CaseState) -> dict[str, Any]:
    """Slots whose value differs between two states."""
    old, new = before.to_slots(), after.to_slots()
    return {k: v for k, v in new.items() if old.get(k) != v}


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
