"""The state of one case and the checks run on every counsellor message.

Plain Python: no Rasa here. The action layer (actions/actions.py) turns the tracker's
slots into a :class:`CaseState`, calls :func:`check_message`, and turns the result back
into slot events, bot messages and case-note events.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable
from zoneinfo import ZoneInfo

from actions import deadlines, guidance, risk

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
    escalated: bool = False
    escalated_at: str | None = None
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
        state.escalated = bool(state.escalated)
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
                 "meaning": risk.flag_info(code)["meaning"], "words": self.flag_words.get(code)}
                for code in self.red_flags
            ],
            "checklist": guidance.checklist_state(self.path_role, self.checklist_done),
        }


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


def flag_buttons(code: str) -> list[dict[str, str]]:
    return [
        {"title": "Escalation started", "payload": "/confirm_escalation"},
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
    state.red_flags.append(code)
    state.flag_words[code] = words
    info = risk.flag_info(code)
    outcome.events.append({"kind": "red_flag", "code": code, "text": words, "at": now,
                           "source": source})
    text = (f"⚠ RED FLAG: {info['label']} — raised by “{words}”.\n"
            f"{info['escalation']}\n"
            "Tell me when escalation has started.")
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
    # After "what exact time?" or when the classifier hears a deadline, a bare "9pm" counts.
    awaiting = state.deadline_status == "ambiguous" or (
        intent == "report_deadline" and confidence >= CLASSIFIER_THRESHOLD)
    found = deadlines.find_deadline(text, now, tz, awaiting_time=awaiting)
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
            state.deadline_at = found.at.replace(microsecond=0).isoformat()
            state.deadline_status = "set"
            state.deadline_words = words
            outcome.events.append({"kind": "deadline", "code": "set", "at": now,
                                   "text": f"{state.deadline_at} ({words})"})
            verb = "Deadline corrected" if previous else "Deadline"
            raise_flag(state, outcome, "active_deadline", words, "rules:deadline", now)
            outcome.announcements.append(Announcement(
                f"⏱ {verb}: {format_deadline(found.at, now, tz)} — from “{words}”."))
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
