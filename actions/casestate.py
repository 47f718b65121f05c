"""The state of one case and the checks run on every counsellor message.

Plain Python: no Rasa here. The action layer (actions/actions.py) turns the tracker's
slots into a :class:`CaseState`, calls :func:`check_message`, and turns the result back
into slot events, bot messages and case-note events.
"""
from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any, Iterable
from zoneinfo import ZoneInfo

import yaml

from actions import deadlines, guidance, risk, settings
from actions.messages import say

logger = logging.getLogger(__name__)

CLASSIFIER_THRESHOLD = 0.6
# Intents whose message answers the checklist item the assistant last asked about.
ANSWER_INTENTS = {"inform", "affirm", "deny", "report_self_harm", "report_offender_known",
                  "report_ongoing_risk", "report_deadline", "nlu_fallback", "out_of_scope"}
QUOTE_LIMIT = 160
#: "add note: ...", "note: ...", "log this - ..." at the start of a message: the words are a
#: note for the case record (ActionAddNote keeps what follows), never the answer to the
#: question the assistant last asked.
NOTE_PREFIX = re.compile(
    r"^\W*(?:please\s+|pls\s+)?(?:add\s+(?:a\s+)?notes?|add\s+to\s+(?:the\s+)?notes?|make\s+a\s+note"
    r"(?:\s+that)?|note\s+(?:down|this|it)|notes?|log(?:\s+this)?|record(?:\s+this)?|jot\s+down"
    r"|write\s+down)(?:\s*[:\-–]|\b)\s*", re.I)
#: The answer recorded for a checklist item the counsellor skipped ("what next?" after it
#: was suggested): never an answer, never shown as done (``checklist_skipped``; the
#: handover lists it as skipped). actions/casenotes/summary.py reads the same text.
MOVED_ON = "(moved on)"
#: the checklist items that ask about suicide and self-harm (data/guidance/paths.yml)
SELF_HARM_ITEMS = frozenset({"self_harm", "mental_health"})


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
    # flags whose step "what next?" gave, and "stage:<id>" for each stage introduced
    steps_shown: list[str] = field(default_factory=list)
    deadline_status: str | None = None
    deadline_words: str | None = None
    flag_words: dict[str, str] = field(default_factory=dict)
    # which check raised each flag: "rules:<pattern>", "classifier:<intent>",
    # "meaning:<score>", joined by " + " when several agreed on the same message
    flag_sources: dict[str, str] = field(default_factory=dict)
    dismissed_flags: list[str] = field(default_factory=list)
    checklist_done: list[str] = field(default_factory=list)
    # items "what next?" moved on from before an answer: not done, not suggested again
    checklist_skipped: list[str] = field(default_factory=list)
    pending_item: str | None = None
    # the deadline a move replaced, for "Undo: keep <old time>" (undo_deadline):
    # {"at": ISO, "status": ..., "words": ..., "to": the ISO it moved to}; None otherwise
    previous_deadline: dict[str, Any] | None = None

    @classmethod
    def from_slots(cls, slots: dict[str, Any]) -> "CaseState":
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in slots.items() if k in known and v is not None}
        state = cls(**values)
        state.red_flags = list(state.red_flags or [])
        state.flag_words = dict(state.flag_words or {})
        state.flag_sources = dict(state.flag_sources or {})
        state.dismissed_flags = list(state.dismissed_flags or [])
        state.checklist_done = list(state.checklist_done or [])
        state.checklist_skipped = [i for i in state.checklist_skipped or []
                                   if i not in state.checklist_done]
        state.escalated_flags = list(state.escalated_flags or [])
        state.steps_shown = list(state.steps_shown or [])
        if not isinstance(state.previous_deadline, dict):
            state.previous_deadline = None
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
        """The ``case_state`` custom message of docs/architecture.md, for the side panel."""
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
            "deadline_words": self.deadline_words,
            "flags": [
                {"code": code, "label": risk.flag_info(code)["label"],
                 "meaning": risk.flag_info(code)["meaning"], "words": self.flag_words.get(code),
                 "found_by": found_by(self.flag_sources.get(code)),
                 "escalated": code in self.escalated_flags}
                for code in self.red_flags
            ],
            "checklist": guidance.checklist_state(self.path_role, self.checklist_done,
                                                  self.checklist_skipped),
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


#: the only dismissal that always needs an explicit "yes" (besides any flag whose
#: data/risk/flags.yml entry has ``confirm_dismissal``)
ALWAYS_CONFIRM_DISMISSAL = frozenset({"self_harm_risk"})


def dismissal_needs_confirm(code: str) -> bool:
    return code in ALWAYS_CONFIRM_DISMISSAL or bool(risk.flag_info(code)["confirm_dismissal"])


def dismiss_flag(state: CaseState, code: str) -> None:
    """The flag was raised in error: off the list; it comes back only on new words
    (:func:`raise_flag`) or by :func:`restore_flag`."""
    state.red_flags = [c for c in state.red_flags if c != code]
    state.dismissed_flags = unique(state.dismissed_flags + [code])
    sync_escalation(state)


def restore_flag(state: CaseState, code: str) -> bool:
    """Undo a dismissal: the flag is back, NOT escalated (its escalation record went with
    the dismissal; the counsellor confirms it again), and "what next?" gives its step
    again. False if the flag is raised already or was never dismissed."""
    if code in state.red_flags or code not in state.dismissed_flags:
        return False
    state.dismissed_flags = [c for c in state.dismissed_flags if c != code]
    state.red_flags.append(code)
    state.escalated_flags = [c for c in state.escalated_flags if c != code]
    state.steps_shown = [c for c in state.steps_shown if c != code]
    sync_escalation(state)
    return True


def undo_deadline_move(state: CaseState, named: str | None,
                       now: datetime) -> tuple[str, dict[str, Any] | None]:
    """Put back the deadline the latest move replaced ("Undo: keep 20:39").

    Returns what happened and the case-note event to write: ``restored``; ``passed`` (the
    old time has gone by meanwhile: no active deadline); ``stale`` (the Undo names a time
    the deadline has since moved on from, or the deadline changed again: nothing changes);
    ``nothing`` (no move to undo)."""
    old = state.previous_deadline
    if not old or not old.get("at"):
        return "nothing", None
    if (named and named != old["at"]) or state.deadline_at != old.get("to"):
        return "stale", None
    state.previous_deadline = None
    state.deadline_words = old.get("words")
    if datetime.fromisoformat(old["at"]) <= now:
        state.deadline_at = None
        state.deadline_status = "passed"
        return "passed", {"kind": "deadline", "code": "passed", "at": now,
                          "text": f"{old['at']} (undo: restored; it has passed)"}
    state.deadline_at = old["at"]
    state.deadline_status = old.get("status") or "set"
    return "restored", {"kind": "deadline", "code": "set", "at": now,
                        "text": f"{old['at']} (undo: restored)"}


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


def quote(words: str, limit: int = QUOTE_LIMIT) -> str:
    """The words on one line, at most ``limit`` characters: a longer text is cut at a word
    boundary (never mid-word) and ends with "…"."""
    words = " ".join(words.split())
    if len(words) <= limit:
        return words
    cut = words[: limit - 1]
    if not words[limit - 1].isspace() and " " in cut:  # mid-word: back to the last space
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-–—") + "…"


def format_deadline(at: datetime, now: datetime, tz: ZoneInfo) -> str:
    """'21:00 today (Europe/London), 2 h 30 min from now' or '... passed 5 min ago'."""
    local = at.astimezone(tz)
    now_local = now.astimezone(tz)
    days = (local.date() - now_local.date()).days
    day = {0: "deadline.day.today", 1: "deadline.day.tomorrow",
           -1: "deadline.day.yesterday"}.get(days)
    when = (say("deadline.from_now", duration=format_duration(at - now)) if at > now
            else say("deadline.ago", duration=format_duration(now - at)))
    return say("deadline.full", time=f"{local:%H:%M}",
               day=say(day) if day else local.strftime("%a %d %b"), zone=tz.key, left=when)


def format_duration(delta: Any) -> str:
    """'2 h 30 min', '45 min', '1 d 3 h'."""
    minutes = max(0, int(delta.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    parts = [say("duration.days", count=days)] * bool(days) + [
        say("duration.hours", count=hours)] * bool(hours)
    parts += [say("duration.minutes", count=minutes)] * (bool(minutes) or not parts)
    return " ".join(parts)


def escalation_started_button() -> dict[str, str]:
    """"Escalation started": confirms escalation for every red flag raised so far."""
    return {"title": say("button.escalation_started"), "payload": "/confirm_escalation"}


TYPED_REASON = "typed"  # reason id of a reason the counsellor typed (kept in a case note)


def dismiss_payload(code: str, reason: str | None = None, confirm: bool = False,
                    keep: bool = False) -> str:
    """``/dismiss_flag{"flag":...,"reason":...,"confirm":"yes"}`` (``"confirm":"no"`` keeps
    the flag): codes and reason ids only, never free text."""
    import json

    values = {"flag": code, **({"reason": reason} if reason else {}),
              **({"confirm": "yes"} if confirm else {"confirm": "no"} if keep else {})}
    return "/dismiss_flag" + json.dumps(values, separators=(",", ":"))


def keep_button(code: str) -> dict[str, str]:
    """"Keep the flag": changes nothing (``confirm`` "no"), and, unlike "what next?", moves
    no checklist question on."""
    return {"title": say("button.keep_flag"),
            "payload": dismiss_payload(code, confirm=False, keep=True)}


def restore_button(code: str) -> dict[str, str]:
    return {"title": say("button.restore_flag", flag=risk.flag_info(code)["short"]),
            "payload": f'/restore_flag{{"flag":"{code}"}}'}


def flag_buttons(code: str) -> list[dict[str, str]]:
    """The buttons of a red flag: escalation started, or raised in error (named, so two
    flags raised in one turn never show two identical buttons)."""
    return [escalation_started_button(), raised_in_error_button(code)]


def raised_in_error_button(code: str) -> dict[str, str]:
    return {"title": say("button.raised_in_error", flag=risk.flag_info(code)["short"]),
            "payload": dismiss_payload(code)}


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
    state.flag_sources[code] = source
    sync_escalation(state)
    info = risk.flag_info(code, state.caller_role)
    outcome.events.append({"kind": "red_flag", "code": code, "text": words, "at": now,
                           "source": source})
    text = say("red_flag.raised_after_escalation" if was_escalated else "red_flag.raised",
               flag=info["label"], words=words, escalation=info["escalation"])
    outcome.announcements.append(Announcement(text, flag_buttons(code)))


def meaning_votes(meaning: dict[str, Any] | None,
                  offender_known: bool) -> list[tuple[str, str, float]]:
    """(code, words, score) of each flag the meaning voter's scores reach (``meaning`` in
    the parse data, rasa_plugins/meaning_voter.py). ongoing_risk has a lower bar in a case
    whose offender is known to the child ("it's her uncle" ... "he's staying with them")."""
    out = []
    for code, vote in ((meaning or {}).get("votes") or {}).items():
        if code not in risk.RULE_CODES or not isinstance(vote, dict) or not vote.get("words"):
            continue
        try:
            score, bar = float(vote["score"]), float(vote["threshold"])
            if offender_known and vote.get("context_threshold") is not None:
                bar = min(bar, float(vote["context_threshold"]))
        except (KeyError, TypeError, ValueError):
            continue
        if score >= bar:
            out.append((code, str(vote["words"]), score))
    return out


def meaning_veto(meaning: dict[str, Any] | None, code: str) -> float | None:
    """The meaning voter's score when it is under the flag's veto bar (the voter is sure
    enough the words do not carry the flag to overrule the other voters); else None. The
    bar is 0 for self-harm: that flag is never vetoed."""
    vote = ((meaning or {}).get("votes") or {}).get(code)
    if vote is None:
        return None
    try:
        score, bar = float(vote["score"]), float(vote.get("veto") or 0.0)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    return score if code != "self_harm_risk" and score < bar else None


VOTERS = {"rules": "found_by.rules", "classifier": "found_by.classifier",
          "meaning": "found_by.meaning"}  # the message naming each check


def found_by(source: str | None) -> str | None:
    """Which checks raised a flag, in words: "the rules + meaning (sentence encoder) 0.91"."""
    if not source:
        return None
    names = []
    for part in source.split(" + "):
        kind, _, detail = part.partition(":")
        name = say(VOTERS[kind]) if kind in VOTERS else kind
        names.append(f"{name} {detail}" if kind == "meaning" and detail else name)
    return " + ".join(dict.fromkeys(names))


def check_message(state: CaseState, text: str, intent: str | None, confidence: float,
                  now: datetime, tz: ZoneInfo,
                  meaning: dict[str, Any] | None = None) -> Outcome:
    """Every check that runs on a counsellor message, whatever the intent.

    Red flags are the union of three voters: the deterministic rules, the intent
    classifier and the meaning voter (``meaning``: its scores from the parse data); a deadline
    found in the message replaces the current one. Returns the new state, what to tell the
    counsellor (in order) and the case-note events to write.
    """
    state = state.copy()
    outcome = Outcome(state)
    text = text or ""

    # every voter's raise, grouped by flag: the first one's words (the rules' are the most
    # precise), every agreeing voter named in the source
    votes: dict[str, list[tuple[str, str]]] = {}
    for flag in risk.detect_flags(text):
        votes.setdefault(flag.code, []).append((flag.words, f"rules:{flag.rule}"))
    code = risk.flag_intents().get(intent or "")
    if code and confidence >= CLASSIFIER_THRESHOLD:
        votes.setdefault(code, []).append((text, f"classifier:{intent}"))
    meaning = meaning if text.strip() else None  # a button's payload means nothing
    known = "offender_known" in state.red_flags or "offender_known" in votes
    for code, words, score in meaning_votes(meaning, known):
        votes.setdefault(code, []).append((words, f"meaning:{score:.2f}"))
    for code in risk.RULE_CODES:
        if code not in votes:
            continue
        words, source = votes[code][0][0], " + ".join(source for _, source in votes[code])
        veto = meaning_veto(meaning, code)
        if veto is not None and code not in state.red_flags and not any(
                source.startswith("meaning:") for _, source in votes[code]):
            # the meaning voter's second opinion overrules the rules and the classifier
            # here ("her cousin is sat with her helping"): kept in the notes for review
            outcome.events.append({"kind": "red_flag_not_raised", "code": code,
                                   "text": quote(words), "at": now,
                                   "source": f"{source}; vetoed by meaning:{veto:.2f}"})
            continue
        ended = risk.contact_ended(text) if code == "ongoing_risk" else None
        if ended and code not in state.red_flags:
            # "blocked since Sunday, nothing since", "he's on remand": the note says the
            # contact is over and nothing of contact now; kept in the notes for review
            outcome.events.append({"kind": "red_flag_not_raised", "code": code,
                                   "text": quote(words), "at": now,
                                   # the source is stored in clear: never the note's words
                                   "source": f"{source}; contact ended"})
            continue
        raise_flag(state, outcome, code, words, source, now)

    try:
        check_deadline(state, outcome, text, intent, confidence, now, tz)
    except Exception as exc:  # noqa: BLE001 - a defect in the reader must not cost the flags
        # the red flags above stand and are saved; the counsellor is told, the log names the
        # error's type only (never the words)
        logger.error("the deadline reader failed on a message (%s); red flags kept",
                     type(exc).__name__)
        outcome.announcements.append(Announcement(say("deadline.unreadable")))
    tick_checklist(state, outcome, text, intent, now)
    return outcome


#: words before a vague time that make it a deadline on their own ("by friday")
DEADLINE_CUE = re.compile(r"(by|before|till|til|until|no later than|within)\b", re.IGNORECASE)


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
            and (not DEADLINE_CUE.match(found.words)
                 or any(f.code == "self_harm_risk" for f in risk.detect_flags(text))):
        # A vague time with no word of the offender's demand is the time of something else:
        # "he will call back tomorrow", "mum will ring the police tonight", "he's going to
        # kill himself tonight" (a risk, not a deadline). "by friday" is a deadline.
        found = None
    if found is None and intent == "report_deadline" and confidence >= CLASSIFIER_THRESHOLD \
            and not state.deadline_at and state.deadline_status != "ambiguous":
        # The classifier hears a deadline the rules could not read: raise it and ask.
        found = deadlines.Deadline(status="ambiguous", at=None, words=text, correction=False,
                                   question=None)
    if found is None:
        return
    if found.status == "shift":
        # "he's pushed it back an hour": the case's deadline moves by that much; with none
        # set, the assistant asks for the time
        assert found.shift is not None  # a "shift" always carries its amount
        found = dataclasses.replace(
            found, status="set", at=datetime.fromisoformat(state.deadline_at) + found.shift,
            shift=None) if live and state.deadline_at else dataclasses.replace(
            found, status="ambiguous", shift=None,
            question=say("deadline.ask_moved_from", words=quote(found.words)))
    words = quote(found.words)
    if found.status == "set" and found.at is not None:
        if found.at > now:
            previous = state.deadline_at
            new_at = found.at.replace(microsecond=0).isoformat()
            if new_at == previous:
                return  # said again: nothing changes, nothing to announce
            # what a move replaced, for "Undo: keep <old time>" (undo_deadline)
            state.previous_deadline = {"at": previous, "status": state.deadline_status,
                                       "words": state.deadline_words,
                                       "to": new_at} if previous else None
            state.deadline_at = new_at
            state.deadline_status = "set"
            state.deadline_words = words
            outcome.events.append({"kind": "deadline", "code": "set", "at": now,
                                   "text": f"{state.deadline_at} ({words})"})
            raise_flag(state, outcome, "active_deadline", words, "rules:deadline", now)
            deadline = format_deadline(found.at, now, tz)
            if previous:
                old_at = datetime.fromisoformat(previous).astimezone(tz)
                kept = f"{old_at:%H:%M}" + (
                    f" {old_at:%a}" if old_at.date() != found.at.astimezone(tz).date() else "")
                # the old time rides in the payload: an older Undo button never restores
                # a different time than it names
                outcome.announcements.append(Announcement(
                    say("deadline.moved", old=kept, deadline=deadline, words=words),
                    [{"title": say("button.undo_deadline", time=kept),
                      "payload": f'/undo_deadline{{"deadline":"{previous}"}}'}]))
            else:
                outcome.announcements.append(Announcement(
                    say("deadline.set", deadline=deadline, words=words)))
            return
        found = dataclasses.replace(found, status="passed")
    if found.status == "ambiguous":
        state.previous_deadline = None  # the deadline moved on: no undo of an older move
        state.deadline_status = "ambiguous"
        state.deadline_words = words
        outcome.events.append({"kind": "deadline", "code": "ambiguous", "text": words, "at": now})
        raise_flag(state, outcome, "active_deadline", words, "rules:deadline", now)
        # (the deadline reader's own question is worded in actions/deadlines.py)
        question = found.question or say("deadline.ask_exact_time", words=words)
        outcome.announcements.append(Announcement(say("deadline.not_confirmed",
                                                      question=question)))
        return
    if found.status in ("withdrawn", "passed") and (state.deadline_at or state.deadline_status):
        state.previous_deadline = None
        state.deadline_at = None
        state.deadline_status = found.status
        state.deadline_words = words
        outcome.events.append({"kind": "deadline", "code": found.status, "text": words, "at": now})
        outcome.announcements.append(Announcement(say(
            "deadline.withdrawn" if found.status == "withdrawn" else "deadline.passed",
            words=words)))
    elif found.status in ("withdrawn", "passed"):
        state.deadline_status = found.status
        state.deadline_words = words
        outcome.events.append({"kind": "deadline", "code": found.status, "text": words, "at": now})
        if found.status == "passed" and found.at is not None:
            # said as if it were still to come: the counsellor hears why no countdown starts
            outcome.announcements.append(Announcement(say(
                "deadline.given_passed", words=words, time=f"{found.at.astimezone(tz):%H:%M}")))


def tick_checklist(state: CaseState, outcome: Outcome, text: str, intent: str | None,
                   now: datetime) -> None:
    """Tick checklist items, only on an answer: the answer right after the item was
    suggested (:func:`answers_pending`), or words that say an item was done or answered
    (:func:`guidance.items_covered`: never a negated, intended or questioned mention).

    "what next?" right after a suggestion skips the item: recorded as skipped
    (:data:`MOVED_ON`), never as done, and not suggested again; a later answer ticks it."""
    # a question to the assistant ("takedown tools?") is not something done with the caller
    covered = (guidance.items_covered(state.path_role, text)
               if intent in ANSWER_INTENTS | {"add_note", "what_next"} else [])
    if any(e["kind"] == "deadline" and e.get("code") == "set" for e in outcome.events):
        covered.append("deadline_asked")  # the deadline was just told: that answers it
    covered = [i for i in unique(covered) if any(c.id == i for c in
                                                  guidance.checklist(state.path_role))]
    said = quote(NOTE_PREFIX.sub("", text, count=1).strip() or text)
    answers: dict[str, str] = {}
    pending = state.pending_item
    instruction = pending is not None and not is_question(state.path_role, pending)
    # a disclosure now, not a mention ("haven't asked about suicide yet" is no answer)
    self_harm = "self_harm_risk" in outcome.new_flags or (
        intent == "report_self_harm" and not guidance.not_done(text))
    if pending and intent == "what_next":
        if pending in covered:
            answers[pending] = said
        elif pending not in state.checklist_done:
            skip_item(state, pending, outcome, now)
    elif pending and answers_pending(pending, text, intent, covered, self_harm=self_harm,
                                     instruction=instruction):
        answers[pending] = said
    for item_id in covered:
        answers.setdefault(item_id, said)
    if pending in answers:
        state.pending_item = None
    # Everything said about suicide and self-harm goes under that question, also after it
    # was first answered ("yes, thinking about it tonight, has his mum's tablets"): the
    # plan and the means belong at the top of the handover, not among the notes.
    if (self_harm or (intent in ANSWER_INTENTS and "self_harm_risk" in state.red_flags
                      and any(f.code == "self_harm_risk" for f in risk.detect_flags(text)))) \
            and text.strip() and not NOTE_PREFIX.match(text):
        item = next((i.id for i in guidance.checklist(state.path_role)
                     if i.id in SELF_HARM_ITEMS), None)
        if item and item in state.checklist_done and item not in answers:
            outcome.events.append({"kind": "answer", "code": item, "text": said, "at": now})
        elif item:
            answers.setdefault(item, said)
    for item_id, answer in answers.items():
        if item_id not in state.checklist_done:
            state.checklist_done.append(item_id)
            if item_id in state.checklist_skipped:
                state.checklist_skipped.remove(item_id)
            outcome.events.append({"kind": "answer", "code": item_id, "text": answer,
                                   "at": now})


def skip_item(state: CaseState, item_id: str, outcome: Outcome, now: datetime) -> None:
    """The counsellor moved on from an item without an answer: not done, not suggested
    again by "what next?", listed as skipped in the handover."""
    state.pending_item = None
    if item_id not in state.checklist_skipped:
        state.checklist_skipped.append(item_id)
        outcome.events.append({"kind": "answer", "code": item_id, "text": MOVED_ON,
                               "at": now})


#: words that say the counsellor did what an instruction item asks ("told him it's not his
#: fault", "done", "yes")
DID_IT = re.compile(r"^\W*(?:yes|yeah|yep|yup|ok|okay|sure)\b"
                    r"|^\W*(?:(?:i|we)\s+)?(?:(?:have|['’]ve|just)\s+)?(?:told|said|explained|"
                    r"reassured|advised|thanked|suggested|agreed|encouraged|made\s+sure|asked|"
                    r"done|did|gave|went\s+through|covered)\b", re.IGNORECASE)


def is_question(role: str, item_id: str) -> bool:
    """The item asks the caller something ("Who else knows?"), rather than telling the
    counsellor to say or do something ("Tell them it is not their fault")."""
    item = next((i for i in guidance.checklist(role) if i.id == item_id), None)
    return item is None or "?" in item.prompt


def answers_pending(pending: str, text: str, intent: str | None, covered: list[str],
                    self_harm: bool = False, instruction: bool = False) -> bool:
    """The message is the answer to the item the assistant last asked about: an answer
    (not a command) with words, not a note ("add note: supervisor called 999"), not words
    that are about other checklist items only ("she's told her sister" after "have they
    been asked for more images?" ticks who-else-knows; the question stays open), and not a
    disclosure of self-harm (``self_harm``) unless the question was about that ("he'd be
    better off dead" is never the answer to "not their fault either"; it is always the
    answer to the question about suicide and self-harm, whatever else its words touch). After
    an ``instruction`` (an item that tells the counsellor to say or do something), only a
    "yes" or words that say it was done answer it."""
    if intent not in ANSWER_INTENTS or not text.strip() or NOTE_PREFIX.match(text):
        return False
    if pending not in covered and not self_harm and guidance.not_done(text):
        return False  # "not yet", "will ask later", "haven't got to that"
    if self_harm:
        return pending in SELF_HARM_ITEMS or pending in covered
    if instruction and pending not in covered and intent != "affirm" and not DID_IT.match(text):
        # "nobody else knows" after "Tell them it is not their fault" is news, not a sign
        # that it was said: the item stays open
        return False
    return not covered or pending in covered


def changed(before: CaseState, after: CaseState) -> dict[str, Any]:
    """Slots whose value differs between two states."""
    old, new = before.to_slots(), after.to_slots()
    return {k: v for k, v in new.items() if old.get(k) != v}


def unique(items: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(items))
