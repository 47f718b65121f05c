"""Rasa actions: thin translations between the tracker and the plain modules.

The action server loads only this module (``--actions actions.actions``). Each action
reads slots, calls :mod:`actions.casestate`, :mod:`actions.guidance`, :mod:`actions.risk`,
:mod:`actions.deadlines` or the case-notes store, and maps the result to messages and
events. Every word of a message comes from data/messages.yml (:func:`actions.messages.say`).
No message text is logged.
"""
from __future__ import annotations

import logging
import re
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone as dt_timezone
from functools import lru_cache
from typing import Any

import yaml
from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, ReminderCancelled, ReminderScheduled, Restarted, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import casestate, guidance, risk, roles, settings
from actions.casestate import CaseState
from actions.messages import say
from actions.payload import was_button
from actions.metadata import FAULT_KEY, SKIPPED_CHECK, counsellor_of

logger = logging.getLogger(__name__)

REMINDER_INTENT = "time_left"  # a reminder asks "time left?" on the counsellor's behalf
EXTERNAL_PREFIX = "EXTERNAL: "
#: who is on the line, on a closed case (a new call): the message of each button's title,
#: and its payload (the buttons on an open case are roles.buttons())
NEW_CALL_BUTTONS = [
    ("button.new_call.child", roles.start_payload("child")),
    ("button.new_call.parent_carer", roles.start_payload("parent_carer")),
    ("button.new_call.other", roles.start_payload("other")),
]
NOTE_PREFIX = casestate.NOTE_PREFIX  # "add note: ..." (defined with the checks that use it)
CASE_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex, as open_case makes them
#: How far from the action server's clock a case-note event's time may be: a queued
#: event (kept while the store was down) may be this old, and none may be in the future.
MAX_QUEUE_AGE = timedelta(hours=24)
CLOCK_SKEW = timedelta(seconds=5)
LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # half a UTF-16 pair, e.g. JSON "\\ud800"


# --- helpers ------------------------------------------------------------------------------

@lru_cache(maxsize=1)
def case_store() -> Any:
    """The case-notes store, created on first use (never at import time)."""
    from actions.casenotes import CaseStore

    return CaseStore()


def message_time(tracker: Tracker) -> datetime:
    """The timestamp of the latest user message (deadlines are relative to it)."""
    for event in reversed(tracker.events):
        if event.get("event") == "user" and event.get("timestamp"):
            return datetime.fromtimestamp(float(event["timestamp"]), tz=dt_timezone.utc)
    return datetime.now(dt_timezone.utc)


def typed_text(text: str, intent: str | None) -> str:
    """What the counsellor typed: "" for a button payload or a reminder, else the whole
    message (the channels keep it within MAX_MESSAGE_CHARS), with a lone surrogate, which
    is not text in any encoding, shown and kept as U+FFFD so notes print and export."""
    if was_button(text, intent) or text.startswith(EXTERNAL_PREFIX):
        return ""
    return LONE_SURROGATE.sub("\ufffd", text[:settings.max_message_chars()])


def latest_text(tracker: Tracker) -> str:
    latest = tracker.latest_message or {}
    return typed_text(latest.get("text") or "", (latest.get("intent") or {}).get("name"))


def latest_intent(tracker: Tracker) -> tuple[str | None, float]:
    intent = (tracker.latest_message or {}).get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def entity(tracker: Tracker, name: str) -> str | None:
    return next(tracker.get_latest_entity_values(name), None)


def slot_set_this_turn(tracker: Tracker, name: str) -> bool:
    """The per-message check set the slot ``name`` on the latest message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "slot" and event.get("name") == name:
            return True
    return False


def case_opened_this_turn(tracker: Tracker) -> bool:
    """The per-message check opened the case on the latest message."""
    return slot_set_this_turn(tracker, "case_id")


def is_reminder(tracker: Tracker) -> bool:
    return ((tracker.latest_message or {}).get("text") or "").startswith(EXTERNAL_PREFIX)


def titled_buttons(*specs: tuple[str, str]) -> list[dict[str, str]]:
    """Buttons from (title's message id, payload) pairs."""
    return [{"title": say(title), "payload": payload} for title, payload in specs]


WHAT_NEXT = ("button.what_next", "/what_next")
SUMMARY = ("button.summary", "/summary")


def ask_caller_role(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(text=say("case.who_is_calling"),
                             buttons=roles.buttons())


_OWNED: set[tuple[str, str]] = set()  # (conversation, case) pairs the store confirmed


def case_is_ours(tracker: Tracker, case_id: str) -> bool:
    """The case in the ``case_id`` slot belongs to this conversation (the tracker's sender).

    A slot is only as trustworthy as whoever could write the tracker: every read and write
    of a case goes through this check first. A case the store does not hold yet (opened
    while it was down) passes: its events are checked again when they are saved. When the
    store cannot be asked, the answer is yes for now, for the same reason; reads then come
    from the tracker itself. A case never changes conversation, so a yes is remembered."""
    if not CASE_ID.fullmatch(case_id):
        return False
    key = (tracker.sender_id, case_id)
    if key in _OWNED:
        return True
    from actions.casenotes import CaseNotOwned, StoreUnavailable

    try:
        case = case_store().owned_case(case_id, tracker.sender_id)
    except CaseNotOwned:
        return False
    except StoreUnavailable:
        return True
    if case is not None:
        if len(_OWNED) > 100_000:
            _OWNED.clear()
        _OWNED.add(key)
    return True


def slot_state(tracker: Tracker) -> CaseState:
    """The case state as the tracker's slots have it, unchecked."""
    return CaseState.from_slots(tracker.current_slot_values())


def state_of(tracker: Tracker, slots: CaseState | None = None) -> CaseState:
    """The case state to act on: the slots' (``slots``, default read from the tracker),
    or, if their case is not this conversation's, no case at all. Slot events computed
    from ``slots`` to the result then clear the foreign case from the tracker."""
    slots = slot_state(tracker) if slots is None else slots
    if slots.case_id and not case_is_ours(tracker, slots.case_id):
        logger.warning("a case id that is not this conversation's was ignored")
        return CaseState()
    return slots.copy()


def slot_events(before: CaseState, after: CaseState) -> list[EventType]:
    return [SlotSet(name, value) for name, value in casestate.changed(before, after).items()]


def send_panel_state(dispatcher: CollectingDispatcher, state: CaseState) -> None:
    dispatcher.utter_message(json_message=state.panel_message())


@lru_cache(maxsize=1)
def role_words() -> dict[str, list[str]]:
    with open(settings.ROOT / "data" / "caller_roles.yml", encoding="utf-8") as f:
        return yaml.safe_load(f)


ROLES = ("child", "parent_carer", "other")


def whole_word(word: str, lowered: str) -> re.Match | None:
    """Where ``word`` (a word or phrase of data/caller_roles.yml) stands as whole words."""
    return re.search(rf"(?<![a-z]){re.escape(word)}(?![a-z])", lowered)


def says_new_case(text: str) -> bool:
    """The counsellor's words open a new case ("new call, mum", "next caller")."""
    lowered = text.lower()
    return any(whole_word(cue, lowered) for cue in role_words().get("new_case", []))


def infer_role(text: str) -> str | None:
    """Who is on the line, from the counsellor's own words (data/caller_roles.yml)."""
    lowered = text.lower()
    named = re.search(r"\bcaller\s+(?:is|'s|=|:)\s*(?:the\s+|a\s+|an\s+|their\s+|his\s+|her\s+)?"
                      r"(?:(?:yp|cyp|child|young person|girl|boy)'?s\s+)?", lowered)
    if named and named.end() < len(lowered):  # "caller is the yp's older brother"
        lowered = lowered[named.end():]
    for word in role_words().get("always_parent_carer", []):  # "uncle, her legal guardian"
        if whole_word(word, lowered):
            return "parent_carer"
    found = []  # (where the word starts, longer first, role)
    for role, words in role_words().items():
        if role not in ROLES:
            continue
        for word in words:
            match = whole_word(word, lowered)
            if match and not POSSESSIVE.search(lowered[:match.start()]):
                found.append((match.start(), -len(word), role))
    return min(found)[2] if found else None


#: "send the pics to my mum", "her dad knows": someone's relative, not who is calling
POSSESSIVE = re.compile(r"(?<![a-z])(?:my|his|her|their|your|our)\s+$")


def normalise_role(value: str | None) -> str | None:
    if not value:
        return None
    value = value.strip().lower().replace("/", "_").replace(" ", "_")
    if value in ROLES:
        return value
    return infer_role(value.replace("_", " "))


def write_events(dispatcher: CollectingDispatcher, tracker: Tracker, state: CaseState,
                 events: list[dict[str, Any]]) -> list[EventType]:
    """Write this turn's case-note events in one transaction.

    Events the store could not take (database down) are kept in the ``unsaved_events``
    slot, the counsellor is told at once, and they are written first on the next turn.
    Every event is written only to a case of this conversation, with a time from the
    action server's clock (see :func:`stamped` and :func:`queued_events`).
    """
    from actions.casenotes import CaseNotOwned, StoreUnavailable, UnknownCase

    now = datetime.now(dt_timezone.utc)
    kept = tracker.get_slot("unsaved_events") or []
    pending = queued_events(kept, tracker.sender_id, now)
    fresh = [stamped(e, state, tracker.sender_id, now) for e in events]
    fresh = [dict(e, counsellor=counsellor_of(tracker.events)) if e["kind"] == "opened"
             else e for e in fresh]  # who took the call: their token's claim (the channel's)
    queue = pending + fresh
    if not queue:
        return [SlotSet("unsaved_events", [])] if kept else []
    try:
        store = case_store()
        for case_id, batch in group_by_case(queue):
            try:
                ensure_case(store, batch[0])
                store.append_many(case_id, [
                    {"kind": e["kind"], "code": e.get("code"), "text": e.get("text"),
                     "at": datetime.fromisoformat(e["at"]),
                     # which check raised (or overruled) a flag: kept beside the words
                     "source": str(e["source"])[:255] if e.get("source") else None}
                    for e in batch if e["kind"] != "opened"], conversation_id=tracker.sender_id)
            except (CaseNotOwned, UnknownCase) as exc:
                logger.warning("%d case-note event(s) not written: %s", len(batch),
                               type(exc).__name__)
    except StoreUnavailable as exc:  # the store is down: keep everything in the tracker
        logger.warning("case notes not saved (%s); %d event(s) kept in the tracker",
                       type(exc).__name__, len(queue))
        dispatcher.utter_message(text=say("notes.not_saved"))
        return [SlotSet("unsaved_events", queue)]
    if pending:
        dispatcher.utter_message(text=say("notes.saved_again", count=len(pending)))
    return [SlotSet("unsaved_events", [])] if kept else []


def stamped(event: dict[str, Any], state: CaseState, conversation_id: str,
            now: datetime) -> dict[str, Any]:
    """A fresh event ready to write or queue: this conversation's case, and a time from
    this server's clock (the message's own time when it is plausible; a close is now)."""
    at = event.get("at")
    if event["kind"] == "closed" or not isinstance(at, datetime) \
            or not now - MAX_QUEUE_AGE <= at <= now + CLOCK_SKEW:
        at = now
    return dict(event, at=at.isoformat(), case_id=state.case_id,
                conversation_id=conversation_id, caller_role=state.caller_role)


def queued_events(kept: Any, conversation_id: str, now: datetime) -> list[dict[str, Any]]:
    """The events of the ``unsaved_events`` slot that may be written: of this conversation,
    a known kind, a case id of the right shape, a time no older than MAX_QUEUE_AGE and not
    in the future. Anything else is dropped (and counted in the log), never written."""
    from actions.casenotes import KINDS

    valid: list[dict[str, Any]] = []
    for event in kept if isinstance(kept, list) else []:
        try:
            at = datetime.fromisoformat(event["at"])
            ok = (event["kind"] in KINDS and event.get("conversation_id") == conversation_id
                  and bool(CASE_ID.fullmatch(event["case_id"])) and at.tzinfo is not None
                  and now - MAX_QUEUE_AGE <= at <= now + CLOCK_SKEW
                  and isinstance(event.get("text") or "", str)
                  and len(event.get("text") or "") <= settings.max_message_chars())
        except (KeyError, TypeError, ValueError):
            ok = False
        if ok:
            valid.append(event)
    if len(valid) < len(kept if isinstance(kept, list) else []):
        logger.warning("%d queued case-note event(s) dropped: not valid for this conversation",
                       len(kept) - len(valid))
    return valid


def group_by_case(events: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for event in events:
        groups.setdefault(event["case_id"], []).append(event)
    return list(groups.items())


def ensure_case(store: Any, first: dict[str, Any]) -> None:
    """Create the case row if this batch opens the case (id chosen by the action)."""
    if first["kind"] == "opened" and store.case(first["case_id"]) is None:
        store.open_case(first["conversation_id"], first.get("caller_role"),
                        datetime.fromisoformat(first["at"]), case_id=first["case_id"],
                        counsellor_id=first.get("counsellor"))


def open_case(state: CaseState, role: str | None, now: datetime) -> tuple[CaseState, dict]:
    """A fresh case: new id, the first stage of the caller's path, nothing else carried."""
    new = CaseState(case_id=uuid.uuid4().hex, caller_role=role)
    first = guidance.stages(new.path_role)[0]
    new.stage = first.id
    opened = {"kind": "opened", "code": role, "text": None, "at": now}
    return new, opened


def reminder_events(tracker: Tracker, state: CaseState, now: datetime) -> list[EventType]:
    """Reminders before the deadline, re-issued each turn so they survive a Rasa restart.

    Rasa keeps reminders in memory only; the deadline itself lives in the tracker and the
    case notes. Re-scheduling under the same names replaces the old jobs, and a withdrawn
    or passed deadline cancels them.
    """
    names = [f"deadline-{tracker.sender_id}-{m}" for m in settings.reminder_minutes()]
    if state.stage == CLOSED and state.deadline_at:
        return [ReminderCancelled(name=name) for name in names]  # nobody is on the call
    if not state.deadline_at:
        return [ReminderCancelled(name=name) for name in names] if state.deadline_status else []
    at = datetime.fromisoformat(state.deadline_at)
    events: list[EventType] = []
    for name, minutes in zip(names, settings.reminder_minutes()):
        when = at - timedelta(minutes=minutes)
        if when > now:
            events.append(ReminderScheduled(
                REMINDER_INTENT, trigger_date_time=when, name=name,
                entities=[{"entity": "deadline", "value": state.deadline_at}],
                kill_on_user_message=False))
    return events


# --- the per-message check ------------------------------------------------------------------

@dataclass
class Said:
    """One counsellor message, as the per-message check needs it."""

    text: str  # the counsellor's words; "" for a button payload or a reminder
    intent: str | None
    confidence: float
    entities: list[dict[str, Any]]
    at: datetime
    meaning: dict[str, Any] | None = None  # the meaning voter's scores (parse data)


def said_in(event: dict[str, Any]) -> Said:
    """A ``user`` event of the tracker as a :class:`Said`."""
    parse = event.get("parse_data") or {}
    raw = event.get("text") or parse.get("text") or ""
    intent = parse.get("intent") or {}
    text = typed_text(raw, intent.get("name"))
    at = (datetime.fromtimestamp(float(event["timestamp"]), tz=dt_timezone.utc)
          if event.get("timestamp") else datetime.now(dt_timezone.utc))
    return Said(text, intent.get("name"), float(intent.get("confidence") or 0.0),
                list(parse.get("entities") or event.get("entities") or []), at,
                parse.get("meaning"))


def latest_said(tracker: Tracker) -> Said:
    intent, confidence = latest_intent(tracker)
    latest = tracker.latest_message or {}
    return Said(latest_text(tracker), intent, confidence, list(latest.get("entities") or []),
                message_time(tracker), latest.get("meaning"))


def missed_messages(tracker: Tracker) -> list[Said]:
    """Messages the per-message check never saw, oldest first.

    When the action server is down, the Rasa server answers the check with a message that
    carries ``helpline_fault: check_skipped`` in its metadata (rasa_plugins/resilience.py)
    right after the user message it could not check. A later check that has caught up says
    so with ``helpline_rechecked`` in its own message's metadata.
    """
    missed: list[dict[str, Any]] = []
    last_user: dict[str, Any] | None = None
    for event in tracker.events:
        kind = event.get("event")
        if kind in ("restart", "session_started"):
            missed, last_user = [], None
        elif kind == "user":
            last_user = event
        elif kind == "bot":
            metadata = event.get("metadata") or {}
            if metadata.get(RECHECKED_KEY):
                missed = []
            elif metadata.get(FAULT_KEY) == SKIPPED_CHECK and last_user is not None \
                    and (not missed or missed[-1] is not last_user):
                missed.append(last_user)
    return [said_in(e) for e in missed if not is_restart_or_reminder(e)]


def is_restart_or_reminder(event: dict[str, Any]) -> bool:
    intent = ((event.get("parse_data") or {}).get("intent") or {}).get("name")
    return intent in ("start_again", "restart") or (event.get("text") or "").startswith(
        EXTERNAL_PREFIX)


RECHECKED_KEY = "helpline_rechecked"


class ActionCheckEveryMessage(Action):
    """Runs after every counsellor message, whatever the intent (Rasa 3.6 calls
    ``action_validate_slot_mappings`` from ``action_extract_slots`` on each user message,
    and sends its messages before the predicted action's). Red flags and deadlines are
    announced here, first. Messages sent while the action server was down are checked
    first, in order, and their words kept in the case notes (:func:`missed_messages`)."""

    def name(self) -> str:
        return "action_validate_slot_mappings"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        intent, _ = latest_intent(tracker)
        if intent in ("start_again", "restart") or is_reminder(tracker):
            return []
        slots = slot_state(tracker)
        before = state_of(tracker, slots)
        missed = missed_messages(tracker)
        state = before
        note_events: list[dict[str, Any]] = []
        announcements: list[casestate.Announcement] = []
        caught_up: list[casestate.Announcement] = []
        opened = opened_without_role = False
        for n, said in enumerate(missed + [latest_said(tracker)]):
            late = n < len(missed)
            state, outcome, opened_now = check_said(state, said)
            if late:
                note_events += not_yet_recorded(state.case_id, outcome.events + (
                    [{"kind": "note", "text": said.text, "at": said.at}] if said.text else []))
            else:
                note_events += outcome.events
            (caught_up if late else announcements).extend(outcome.announcements)
            opened = opened or opened_now
            opened_without_role = (opened_now and not state.caller_role
                                   and said.intent != "start_case")
        if missed:
            dispatcher.utter_message(
                text=say("recheck.findings", count=len(missed), findings=len(caught_up))
                if caught_up else say("recheck.nothing_new", count=len(missed)),
                **{RECHECKED_KEY: len(missed)})
        for announcement in caught_up + announcements:
            dispatcher.utter_message(text=announcement.text, buttons=announcement.buttons)
        events: list[EventType] = slot_events(slots, state)
        if opened_without_role:
            ask_caller_role(dispatcher)
        if opened or missed or caught_up or announcements \
                or state.caller_role != before.caller_role \
                or state.checklist_done != before.checklist_done \
                or state.checklist_skipped != before.checklist_skipped:
            send_panel_state(dispatcher, state)
        events += write_events(dispatcher, tracker, state, note_events)
        return events


def not_yet_recorded(case_id: str | None, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Leave out events of a missed message that are in the case notes already.

    A check or step the Rasa server gave up on (``ACTION_TIMEOUT``) may still finish on a
    slow action server and write its notes; the same kind, code and message time is the
    same event. If the store cannot be read, everything is kept (a duplicate, not a loss).
    """
    if not case_id or not events:
        return events
    from actions.casenotes.models import utc

    def key(event: dict[str, Any]) -> tuple:
        return event["kind"], event.get("code"), utc(event["at"]).replace(microsecond=0)

    from actions.casenotes import StoreUnavailable

    try:  # a case the store does not hold yet (opened in this catch-up) has no events
        seen = {key(e) for e in case_store().events(case_id)}
    except StoreUnavailable as exc:  # only the store being down: any other error surfaces
        logger.info("case notes not read for the catch-up (%s)", type(exc).__name__)
        return events
    return [e for e in events if key(e) not in seen]


def button_role(said: Said) -> str | None:
    """The caller role a role button names (``/start_case{"caller_role": ...}``)."""
    return normalise_role(
        next((e.get("value") for e in said.entities if e.get("entity") == "caller_role"), None))


def set_role(state: CaseState, role: str, at: datetime) -> tuple[CaseState, dict]:
    """The caller of an open case named after the case opened (the panel asked who is on
    the line): the same case goes on, with its notes, flags and deadline; the stage moves
    to the first of the caller's path only if the path has no stage of that id."""
    state = state.copy()
    state.caller_role = role
    if guidance.stage(state.path_role, state.stage) is None:
        state.stage = guidance.stages(state.path_role)[0].id
    return state, {"kind": "caller_role", "code": role, "text": None, "at": at}


def check_said(state: CaseState, said: Said) -> tuple[CaseState, casestate.Outcome, bool]:
    """Open a case if this message starts one, then run every check on it."""
    opened_event = role_event = None
    button = said.intent == "start_case" and not said.text
    named_role = button_role(said)
    if button and state.case_id and state.stage != CLOSED and not state.caller_role \
            and named_role:
        # The answer to "Who is on the line?" on a case the counsellor's words opened: the
        # case goes on (it was a second case, and the first one's flags left the panel).
        state, role_event = set_role(state, named_role, said.at)
    # Over an open case, only a button (no text) or words that say so start a new one.
    new_case = not role_event and said.intent == "start_case" and (
        button or says_new_case(said.text))
    if new_case or not state.case_id:
        # The counsellor's own words first (the first word that says who is calling); the
        # classifier's entity for a button's payload or words the lists lack.
        role = infer_role(said.text) or button_role(said)
        if new_case or said.text or role:
            state, opened_event = open_case(state, role, said.at)
    outcome = casestate.check_message(state, said.text, said.intent, said.confidence, said.at,
                                      settings.timezone(), said.meaning)
    first_event = opened_event or role_event
    if first_event:
        outcome.events.insert(0, first_event)
    return outcome.state, outcome, opened_event is not None


# --- commands -------------------------------------------------------------------------------

CLOSED = "closed"  # the stage of a closed case


def closed_case_reply(dispatcher: CollectingDispatcher, tracker: Tracker, now: datetime,
                      notes: list[dict[str, Any]]) -> None:
    """On a closed case nothing goes on as if it were open: words typed are kept, marked as
    added after closing (code ``after_close``), and the counsellor is offered a new call."""
    if is_reminder(tracker):
        return  # a reminder of a closed case's deadline says nothing
    intent, _ = latest_intent(tracker)
    # what the counsellor learned is kept; a command ("what next?") is not a note
    text = latest_text(tracker) if intent in casestate.ANSWER_INTENTS | {"add_note"} else ""
    if text:
        note = NOTE_PREFIX.sub("", text, count=1).strip() or text
        notes.append({"kind": "note", "code": "after_close", "text": note, "at": now})
    dispatcher.utter_message(
        text=say("closed.reply_words_kept" if text else "closed.reply"),
        buttons=titled_buttons(*NEW_CALL_BUTTONS, SUMMARY))


class CaseAction(Action, ABC):
    """Base for the predicted actions: panel state, case notes and reminder upkeep."""

    #: False for the actions that also serve a closed case (reading it, opening a new one);
    #: the others answer a closed case with :func:`closed_case_reply`.
    open_only = True

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[EventType]:
        slots = slot_state(tracker)
        before = state_of(tracker, slots)
        state = before.copy()
        now = message_time(tracker)
        note_events: list[dict[str, Any]] = []
        if before.stage == CLOSED and self.open_only:
            closed_case_reply(dispatcher, tracker, now, note_events)
            extra = None
        else:
            extra = self.respond(dispatcher, tracker, state, now, note_events)
        events = slot_events(slots, state) + list(extra or [])
        if state.panel_message() != before.panel_message():
            send_panel_state(dispatcher, state)
        events += write_events(dispatcher, tracker, state, note_events)
        self.after_write(dispatcher, tracker, state)
        events += reminder_events(tracker, state, now)
        return events

    def after_write(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                    state: CaseState) -> None:
        """Say what needs this turn's case notes written first (the closing handover)."""

    @abstractmethod
    def respond(self, dispatcher: CollectingDispatcher, tracker: Tracker, state: CaseState,
                now: datetime, notes: list[dict[str, Any]]) -> list[EventType] | None:
        """Say what the action says; change ``state`` and add case-note events in place."""


class ActionStartCase(CaseAction):
    open_only = False  # a closed case's next call starts here

    def name(self) -> str:
        return "action_start_case"

    def respond(self, dispatcher, tracker, state, now, notes):
        if state.stage == CLOSED and not case_opened_this_turn(tracker):
            return closed_case_reply(dispatcher, tracker, now, notes)
        if state.case_id and latest_text(tracker) and not case_opened_this_turn(tracker):
            # Heard as a new call, but the words do not say so: a note on the open case.
            return ActionNextStep().respond(dispatcher, tracker, state, now, notes)
        first = guidance.stages(state.path_role)[0]
        who = {"child": "case.caller.child", "parent_carer": "case.caller.parent_carer",
               "other": "case.caller.other"}.get(state.caller_role or "", None)
        if who is None:
            ask_caller_role(dispatcher)
            return None
        if state.case_id and not case_opened_this_turn(tracker) \
                and slot_set_this_turn(tracker, "caller_role"):
            # the role of the case open already (see check_said): it goes on, as it was
            current = guidance.stage(state.path_role, state.stage) or first
            text = say("case.role_set", who=say(who))
            if first_visit(state, current.id):
                text += "\n" + say("stage.intro", title=current.title, intro=current.say)
            dispatcher.utter_message(text=text, buttons=titled_buttons(WHAT_NEXT))
            return None
        first_visit(state, first.id)
        dispatcher.utter_message(
            text=say("case.opened", who=say(who), stage_title=first.title,
                     stage_say=first.say),
            buttons=titled_buttons(WHAT_NEXT))
        return None


STAGE_SHOWN = "stage:"  # a steps_shown entry "stage:<id>": that stage was introduced


def first_visit(state: CaseState, stage_id: str) -> bool:
    """True the first time a stage's introduction (its "say") is due in this case, and
    records it: ``steps_shown`` holds "stage:<id>" beside the red-flag codes whose step
    was shown. Later visits say only the next question."""
    key = STAGE_SHOWN + stage_id
    if key in state.steps_shown:
        return False
    state.steps_shown.append(key)
    return True


class ActionNextStep(CaseAction):
    def name(self) -> str:
        return "action_next_step"

    def respond(self, dispatcher, tracker, state, now, notes, lead: str = "",
                keep_note: bool = True):
        """``lead`` goes before the reply ("Noted."); ``keep_note=False``: the caller
        keeps the message in the notes itself."""
        intent, _ = latest_intent(tracker)
        if keep_note and intent not in ("what_next", "affirm", "deny"):
            text = latest_text(tracker)
            if text:
                notes.append({"kind": "note", "text": text, "at": now})

        def reply(text: str, **kwargs: Any) -> None:
            dispatcher.utter_message(text=f"{lead} {text}" if lead else text, **kwargs)

        unescalated = risk.by_severity([f for f in state.red_flags
                                        if f not in state.escalated_flags])
        reminder = ""
        if unescalated:
            code = unescalated[0]
            if code not in state.steps_shown and intent != "what_next":
                # A note that raised the flag: its step was just announced; no question now.
                reply(say("next.escalation_first", flag=risk.flag_info(code)["label"]),
                      buttons=casestate.flag_buttons(code))
                return None
            if code not in state.steps_shown:
                # Risk before routine: the flag's protocol step, not the next question.
                state.steps_shown.append(code)
                info = risk.flag_info(code, state.caller_role)
                reply(say("next.flag_step", flag=info["label"], escalation=info["escalation"]),
                      buttons=casestate.flag_buttons(code))
                return None
            # Asked again with the flag still open: never loop, but keep it in sight.
            reminder = say("next.still_not_escalated", flags=", ".join(
                risk.flag_info(c)["label"] for c in unescalated))
        item = guidance.next_item(state.path_role, state.checklist_done,
                                  state.checklist_skipped)
        if item is None:
            state.pending_item = None
            skipped = [i.label for i in guidance.checklist(state.path_role)
                       if i.id in state.checklist_skipped]
            reply(say("next.all_covered_some_skipped", skipped="; ".join(skipped)) if skipped
                  else say("next.all_covered"),
                  buttons=titled_buttons(("button.advice", "/ask_advice"), SUMMARY,
                                  ("button.close_case", "/close_case")))
            return None
        lines = [reminder] if reminder else []
        if item.stage != state.stage:
            stage = guidance.stage(state.path_role, item.stage)
            if stage is not None and first_visit(state, stage.id):
                lines.append(say("stage.intro", title=stage.title, intro=stage.say))
            state.stage = item.stage
            notes.append({"kind": "stage", "code": item.stage, "at": now})
        lines.append(say("next.question", prompt=item.prompt))
        state.pending_item = item.id
        reply("\n".join(lines), buttons=titled_buttons(WHAT_NEXT))
        return None


class ActionGoToStage(CaseAction):
    def name(self) -> str:
        return "action_go_to_stage"

    def respond(self, dispatcher, tracker, state, now, notes):
        wanted = entity(tracker, "stage") or latest_text(tracker)
        stage = guidance.stage(state.path_role, wanted) or guidance.find_stage(
            state.path_role, wanted or "")
        if stage is None:
            titles = ", ".join(s.title for s in guidance.stages(state.path_role))
            dispatcher.utter_message(text=say("stage.which", stages=titles))
            return None
        state.stage = stage.id
        notes.append({"kind": "stage", "code": stage.id, "at": now})
        open_items = [i for i in guidance.checklist(state.path_role)
                      if i.stage == stage.id and i.id not in state.checklist_done]
        state.pending_item = open_items[0].id if open_items else None
        if first_visit(state, stage.id):
            lines = [say("stage.intro", title=stage.title, intro=stage.say)]
        else:  # introduced already in this case: only what is still open there
            lines = [say("stage.back" if open_items else "stage.back_all_covered",
                         stage=stage.title)]
        lines += [say("stage.open_item", prompt=i.prompt) for i in open_items]
        dispatcher.utter_message(text="\n".join(lines))
        return None


class ActionAddNote(CaseAction):
    def name(self) -> str:
        return "action_add_note"

    def respond(self, dispatcher, tracker, state, now, notes):
        note = NOTE_PREFIX.sub("", latest_text(tracker), count=1).strip()
        if not note:
            dispatcher.utter_message(text=say("note.empty"))
            return None
        notes.append({"kind": "note", "text": note, "at": now})
        dispatcher.utter_message(text=say("note.added"))
        return None


class ActionTimeLeft(CaseAction):
    def name(self) -> str:
        return "action_time_left"

    def respond(self, dispatcher, tracker, state, now, notes):
        tz = settings.timezone()
        if is_reminder(tracker):
            if not state.deadline_at or entity(tracker, "deadline") != state.deadline_at:
                return None  # a stale reminder for a corrected or withdrawn deadline
            at = datetime.fromisoformat(state.deadline_at)
            lead = casestate.format_deadline(at, datetime.now(dt_timezone.utc), tz)
            dispatcher.utter_message(text=say("deadline.reminder", deadline=lead))
            send_panel_state(dispatcher, state)
            return None
        if state.deadline_at:
            at = datetime.fromisoformat(state.deadline_at)
            deadline = casestate.format_deadline(at, datetime.now(dt_timezone.utc), tz)
            dispatcher.utter_message(text=say("deadline.time_left", deadline=deadline))
        elif state.deadline_status == "ambiguous":
            dispatcher.utter_message(
                text=say("deadline.time_left_no_exact_time", words=state.deadline_words))
        else:
            dispatcher.utter_message(text=say("deadline.none"))
        return None


class ActionConfirmEscalation(CaseAction):
    """Escalation is recorded only when the counsellor means it: the button, or words that
    say it has started. Words that say it has not started (or will) never record it: they
    ask instead, and undo a record that was made (casestate.escalation_said)."""

    def name(self) -> str:
        return "action_confirm_escalation"

    def respond(self, dispatcher, tracker, state, now, notes):
        said = latest_text(tracker)
        kind = casestate.escalation_said(said)
        local = now.astimezone(settings.timezone())
        if kind == "not_started" and state.escalated_at:
            return undo_escalation(dispatcher, state, now, notes, said)
        if kind != "started":
            dispatcher.utter_message(
                text=say("escalation.not_started" if kind == "not_started"
                         else "escalation.still_to_come"),
                buttons=[casestate.escalation_started_button()])
            return None
        if state.escalated:
            at = datetime.fromisoformat(state.escalated_at).astimezone(settings.timezone())
            dispatcher.utter_message(text=say("escalation.already_recorded", time=f"{at:%H:%M}"))
            return None
        covered = casestate.record_escalation(state, now)
        notes.append({"kind": "escalation", "code": ",".join(covered) or None,
                      "text": said or None, "at": now})
        which = ", ".join(risk.flag_info(c)["label"] for c in covered) or say(
            "escalation.no_flag_yet")
        dispatcher.utter_message(
            text=say("escalation.recorded", time=f"{local:%H:%M}", flags=which),
            buttons=titled_buttons(("button.undo_escalation", "/undo_escalation")))
        return None


def undo_escalation(dispatcher: CollectingDispatcher, state: CaseState, now: datetime,
                    notes: list[dict[str, Any]], said: str) -> None:
    """Take back a recorded escalation; the case notes keep both events."""
    if not state.escalated_at:
        dispatcher.utter_message(text=say("escalation.nothing_to_undo"),
                                 buttons=[casestate.escalation_started_button()])
        return None
    undone = casestate.undo_escalation(state)
    notes.append({"kind": "escalation_undone", "code": ",".join(undone) or None,
                  "text": said or None, "at": now})
    dispatcher.utter_message(text=say("escalation.withdrawn"),
                             buttons=[casestate.escalation_started_button()])
    return None


class ActionUndoEscalation(CaseAction):
    def name(self) -> str:
        return "action_undo_escalation"

    def respond(self, dispatcher, tracker, state, now, notes):
        return undo_escalation(dispatcher, state, now, notes, latest_text(tracker))


class ActionDismissFlag(CaseAction):
    """"Raised in error", done with care: the counsellor gives a reason (a button of
    data/risk/dismiss_reasons.yml or their own typed words); the suicide/self-harm flag
    also needs an explicit "yes"; the reply offers an undo (``action_restore_flag``)."""

    def name(self) -> str:
        return "action_dismiss_flag"

    def respond(self, dispatcher, tracker, state, now, notes):
        named = str(entity(tracker, "flag") or "").strip()
        code = named
        if code not in state.red_flags and named in risk.RED_FLAG_CODES:
            # the button of a flag dismissed already (or never raised): never another flag
            info = risk.flag_info(named)
            gone = named in state.dismissed_flags
            dispatcher.utter_message(
                text=say("dismiss.not_raised_dismissed" if gone else "dismiss.not_raised",
                         flag=info["label"]),
                buttons=[casestate.restore_button(named)] if gone else [])
            return None
        if code not in state.red_flags:
            code = state.red_flags[-1] if len(state.red_flags) == 1 else code
        if code not in state.red_flags:
            if not state.red_flags:
                dispatcher.utter_message(text=say("dismiss.no_flags"))
                return None
            dispatcher.utter_message(
                text=say("dismiss.which"),
                buttons=[casestate.raised_in_error_button(c) for c in state.red_flags])
            return None
        info = risk.flag_info(code)
        typed = latest_text(tracker)
        reason_id = str(entity(tracker, "reason") or "").strip()
        answer = str(entity(tracker, "confirm") or "").strip().lower()
        confirmed = answer == "yes"
        if answer == "no" and not typed:  # "Keep the flag"
            open_flag = code not in state.escalated_flags
            dispatcher.utter_message(
                text=say("dismiss.kept_not_escalated" if open_flag else "dismiss.kept",
                         flag=info["label"]),
                buttons=[casestate.escalation_started_button()] if open_flag else [])
            return None
        reasons = {r["id"]: r for r in risk.dismiss_reasons()}
        if typed:  # "dismiss the deadline flag, it was the curfew": the words are the reason
            reason_id, reason = casestate.TYPED_REASON, typed
        elif reason_id in reasons:
            reason = reasons[reason_id]["text"]
        elif reason_id == casestate.TYPED_REASON and confirmed:
            reason = typed_dismiss_reason(tracker, state, code)
        else:
            dispatcher.utter_message(
                text=say("dismiss.why", flag=info["label"]),
                buttons=[{"title": r["title"], "payload": casestate.dismiss_payload(code, r["id"])}
                         for r in reasons.values()] + [casestate.keep_button(code)])
            return None
        if casestate.dismissal_needs_confirm(code) and not confirmed:
            if typed:  # kept now; the payload carries only the id "typed"
                notes.append({"kind": "note", "code": f"{DISMISS_REASON_NOTE}{code}",
                              "text": typed, "at": now})
            question = info["confirm_dismissal"] or say("dismiss.confirm_default",
                                                        flag=info["label"])
            dispatcher.utter_message(
                text=say("dismiss.confirm", question=question, reason=reason),
                buttons=[{"title": say("button.confirm_dismissal", flag=info["short"]),
                          "payload": casestate.dismiss_payload(code, reason_id, confirm=True)},
                         casestate.keep_button(code)])
            return None
        raised_by = state.flag_sources.get(code)  # the voter, for review and retraining
        casestate.dismiss_flag(state, code)
        notes.append({"kind": "red_flag_dismissed", "code": code, "text": reason, "at": now,
                      "source": raised_by})
        dispatcher.utter_message(text=say("dismiss.done", flag=info["label"], reason=reason),
                                 buttons=[casestate.restore_button(code)])
        return None


DISMISS_REASON_NOTE = "dismiss_reason:"  # code of the note keeping a typed reason


def typed_dismiss_reason(tracker: Tracker, state: CaseState, code: str) -> str:
    """The reason typed for dismissing ``code``, from the note kept when the confirmation
    was asked (queued in the tracker, or in the case notes)."""
    wanted = f"{DISMISS_REASON_NOTE}{code}"
    queued = [e for e in tracker.get_slot("unsaved_events") or []
              if isinstance(e, dict) and e.get("kind") == "note" and e.get("code") == wanted]
    if queued and queued[-1].get("text"):
        return str(queued[-1]["text"])
    from actions.casenotes import StoreUnavailable

    try:  # a case the store does not hold yet has no events
        kept = [e for e in case_store().events(state.case_id)
                if e["kind"] == "note" and e["code"] == wanted and e["text"]]
    except StoreUnavailable as exc:  # store down: the note itself is kept in the tracker
        logger.warning("typed dismissal reason not read (%s)", type(exc).__name__)
        kept = []
    return kept[-1]["text"] if kept else say("dismiss.typed_reason_lost")


class ActionRestoreFlag(CaseAction):
    """Undo "raised in error": the flag is back, NOT escalated (the counsellor confirms
    escalation again), and the case notes say so."""

    def name(self) -> str:
        return "action_restore_flag"

    def respond(self, dispatcher, tracker, state, now, notes):
        named = str(entity(tracker, "flag") or "").strip()
        gone = [c for c in state.dismissed_flags if c not in state.red_flags]
        code = named if named in risk.RED_FLAG_CODES else (gone[0] if len(gone) == 1 else None)
        if code is None:
            if not gone:
                dispatcher.utter_message(text=say("restore.nothing"))
                return None
            dispatcher.utter_message(text=say("restore.which"),
                                     buttons=[casestate.restore_button(c) for c in gone])
            return None
        info = risk.flag_info(code, state.caller_role)
        if code in state.red_flags:
            dispatcher.utter_message(text=say("restore.already_raised", flag=info["label"]))
            return None
        if not casestate.restore_flag(state, code):
            dispatcher.utter_message(text=say("restore.not_dismissed", flag=info["label"]))
            return None
        notes.append({"kind": "red_flag_restored", "code": code,
                      "text": latest_text(tracker) or None, "at": now})
        words = state.flag_words.get(code)
        dispatcher.utter_message(
            text=say("restore.done_with_words", flag=info["label"], words=words,
                     escalation=info["escalation"]) if words
            else say("restore.done", flag=info["label"], escalation=info["escalation"]),
            buttons=[casestate.escalation_started_button()])
        return None


class ActionUndoDeadline(CaseAction):
    """"Undo: keep 20:39" after a deadline moved: the old deadline comes back, with its
    reminders (re-scheduled by :class:`CaseAction`)."""

    def name(self) -> str:
        return "action_undo_deadline"

    def respond(self, dispatcher, tracker, state, now, notes):
        tz = settings.timezone()
        if latest_text(tracker) and slot_set_this_turn(tracker, "deadline_at"):
            # "undo that, it's still 8:30pm": the typed time is the deadline now
            dispatcher.utter_message(text=say("deadline.from_your_words",
                                              deadline_now=deadline_now(state, now, tz)))
            return None
        named = str(entity(tracker, "deadline") or "").strip() or None
        old = (state.previous_deadline or {}).get("at")
        result, event = casestate.undo_deadline_move(state, named, now)
        if event:
            notes.append(event)
        if result in ("restored", "passed"):
            assert old is not None  # undo_deadline_move restores only a kept time
            at = datetime.fromisoformat(old)
            time = f"{at.astimezone(tz):%H:%M}"
            text = (say("deadline.undone", time=time,
                        deadline=casestate.format_deadline(at, now, tz))
                    if result == "restored" else say("deadline.undone_passed", time=time))
        elif result == "stale":
            text = say("deadline.undo_stale", deadline_now=deadline_now(state, now, tz))
        else:
            text = say("deadline.nothing_to_undo", deadline_now=deadline_now(state, now, tz))
        dispatcher.utter_message(text=text)
        return None


def deadline_now(state: CaseState, now: datetime, tz: Any) -> str:
    if state.deadline_at:
        at = datetime.fromisoformat(state.deadline_at)
        return say("deadline.now", deadline=casestate.format_deadline(at, now, tz))
    if state.deadline_status == "ambiguous":
        return say("deadline.no_exact_time", words=state.deadline_words)
    return say("deadline.none")


class ActionSummary(CaseAction):
    open_only = False  # a closed case can still be read

    def name(self) -> str:
        return "action_summary"

    def respond(self, dispatcher, tracker, state, now, notes):
        send_handover(dispatcher, state, tracker.sender_id)
        return None


class ActionCloseCase(CaseAction):
    def name(self) -> str:
        return "action_close_case"

    def respond(self, dispatcher, tracker, state, now, notes):
        notes.append({"kind": "closed", "at": now})
        state.stage = CLOSED
        return None

    def after_write(self, dispatcher, tracker, state):
        # after the closing is written, so the handover says when the case was closed
        send_handover(dispatcher, state, tracker.sender_id,
                      buttons=titled_buttons(*NEW_CALL_BUTTONS), lead=say("case.closed"))


def send_handover(dispatcher: CollectingDispatcher, state: CaseState, conversation_id: str,
                  buttons: list[dict[str, str]] | None = None, lead: str = "") -> None:
    """The handover as one message (one chat bubble; ``lead`` is a first line before it),
    then the full timeline as a ``handover_timeline`` custom message the panel folds away
    (none when the store is down)."""
    text, timeline = handover(state, conversation_id)
    dispatcher.utter_message(text=f"{lead}\n{text}" if lead else text, buttons=buttons or [])
    if timeline is not None:
        dispatcher.utter_message(json_message=timeline)


def handover(state: CaseState, conversation_id: str) -> tuple[str, dict[str, Any] | None]:
    """The handover text and the timeline message: from the case-notes store (only a case
    of this conversation), or the text from the tracker if the store is down."""
    from actions.casenotes import CaseNotOwned, StoreUnavailable
    from actions.casenotes.summary import summarise, to_handover, to_timeline

    if state.case_id:
        try:
            summary = summarise(case_store(), state.case_id, conversation_id=conversation_id)
        except (StoreUnavailable, CaseNotOwned, KeyError) as exc:
            if isinstance(exc, KeyError) and exc.args != (state.case_id,):
                raise  # a KeyError of the code, not summarise's "no such case"
            # the store is down, or does not hold this conversation's case (yet)
            logger.warning("summary from the store failed (%s)", type(exc).__name__)
        else:  # an error in the summary itself surfaces: the action fails and says so
            return to_handover(summary), to_timeline(summary)
    return fallback_handover(state), None


def fallback_handover(state: CaseState) -> str:
    """The handover from the call's own state when the case notes cannot be read: the
    same plain style, with the key facts the tracker holds."""
    from actions.casenotes.summary import clip

    try:
        tz: Any = settings.timezone()
        zone_name = tz.key
    except ValueError:
        tz, zone_name = dt_timezone.utc, say("handover.zone_invalid")
    now = datetime.now(dt_timezone.utc)

    def clock(iso: str | None) -> str:
        return datetime.fromisoformat(iso).astimezone(tz).strftime("%H:%M") if iso else "—"

    when = say("handover.state_closed" if state.stage == CLOSED else "handover.state_open")
    lines = [say("handover.title", role=roles.label(state.caller_role), when=when,
                 zone=zone_name),
             say("handover.notes_unreadable")]
    words = (say("handover.words", words=clip(state.deadline_words, 120))
             if state.deadline_words else "")
    if state.deadline_at:
        passed = datetime.fromisoformat(state.deadline_at) <= now
        lines.append(say("handover.deadline_passed_at" if passed else "handover.deadline_active",
                         time=clock(state.deadline_at), words=words))
    elif state.deadline_status == "ambiguous":
        lines.append(say("handover.deadline_not_confirmed", words=words))
    elif state.deadline_status == "passed":
        lines.append(say("handover.deadline_passed", words=words))
    elif state.deadline_status == "withdrawn":
        lines.append(say("handover.deadline_withdrawn", was="", words=words))
    elif state.deadline_status:
        lines.append(say("handover.deadline_status", status=state.deadline_status, words=words))
    else:
        lines.append(say("handover.deadline_none"))
    for code in state.red_flags:
        said = clip(state.flag_words.get(code), 120)
        done = (say("handover.escalated_at", time=clock(state.escalated_at))
                if code in state.escalated_flags and state.escalated_at
                else say("handover.not_escalated"))
        lines.append(say("handover.red_flag", flag=risk.flag_info(code)["label"],
                         words=say("handover.words", words=said) if said else "",
                         found_by="", escalation=done, acknowledged=""))
    if not state.red_flags:
        lines.append(say("handover.no_red_flags"))
    for code in state.dismissed_flags:
        lines.append(say("handover.dismissed_flag", flag=risk.flag_info(code)["label"]))
    ticked = [i.label for i in guidance.checklist(state.path_role) if i.id in state.checklist_done]
    covered = "; ".join(ticked)
    lines.append(say("handover.checklist_covered", items=covered) if covered
                 else say("handover.checklist_covered_none"))
    skipped = [i.label for i in guidance.checklist(state.path_role)
               if i.id in state.checklist_skipped and i.id not in state.checklist_done]
    if skipped:
        lines.append(say("handover.skipped", items="; ".join(skipped)))
    if state.case_id:
        lines.append(say("handover.case_ref", ref=state.case_id[:8]))
    return "\n".join(lines)


class ActionStartAgain(Action):
    def name(self) -> str:
        return "action_start_again"

    async def run(self, dispatcher, tracker, domain):
        state = state_of(tracker)
        if state.case_id:
            write_events(dispatcher, tracker, state,
                         [{"kind": "closed", "text": "start again", "at": message_time(tracker)}])
        dispatcher.utter_message(text=say("case.start_again"))
        ask_caller_role(dispatcher)
        names = [f"deadline-{tracker.sender_id}-{m}" for m in settings.reminder_minutes()]
        return [Restarted()] + [ReminderCancelled(name=n) for n in names]


ALL_ADVICE = ("button.all_advice", "/ask_advice")


class ActionAdvice(CaseAction):
    def name(self) -> str:
        return "action_advice"

    def respond(self, dispatcher, tracker, state, now, notes):
        """A specific question gets its short answer (data/guidance/answers.yml); the
        whole advice list only when asked for ("all advice", the Advice button)."""
        text = latest_text(tracker)
        named = [guidance.platform(v) for v in tracker.get_latest_entity_values("platform")]
        reply = None if guidance.wants_full_advice(text) else guidance.answer(
            state.path_role, text, settings.country(), [p for p in named if p])
        if reply is not None:
            for code in reply.ids:
                notes.append({"kind": "advice", "code": code, "at": now})
            for name in reply.platforms:
                notes.append({"kind": "advice", "code": f"platform:{name}", "at": now})
            lines = list(reply.lines)
            if reply.more:
                lines.append(say("advice.full_list_hint"))
            dispatcher.utter_message(text="\n".join(lines),
                                     buttons=titled_buttons(ALL_ADVICE) if reply.more else [])
            return None
        lines = []
        for item in guidance.advice(state.path_role):
            lines.append(say("advice.item", title=item["title"], text=item["text"]))
            notes.append({"kind": "advice", "code": item["id"], "at": now})
        for tool in guidance.takedown_tools(settings.country(), child=True)[:2]:
            lines.append(say("advice.takedown", name=tool["name"], url=tool["url"]))
        state.stage = "practical_advice"
        dispatcher.utter_message(text="\n".join(lines))
        return None


class ActionSupportLines(CaseAction):
    open_only = False  # information only: nothing is written to the case

    def name(self) -> str:
        return "action_support_lines"

    def respond(self, dispatcher, tracker, state, now, notes):
        ref = guidance.referral(settings.country())
        lines = [say("support.title", country=ref.get("name", settings.country()))]
        for line in ref.get("support_lines", []):
            lines.append(say("support.line", name=line.get("name"),
                             contact=line.get("number") or line.get("contact", ""),
                             who=line.get("for", "")).rstrip())
        if ref.get("emergency"):
            lines.append(say("support.emergency", number=ref["emergency"]))
        dispatcher.utter_message(text="\n".join(lines))
        return None


class ActionReferral(CaseAction):
    def name(self) -> str:
        return "action_referral"

    def respond(self, dispatcher, tracker, state, now, notes):
        ref = guidance.referral(settings.country())
        lines = [say("referral.title", country=ref.get("name", settings.country()))]
        for n, step in enumerate(ref.get("referral_pathway", []), 1):
            text = step if isinstance(step, str) else step.get("text") or step.get("step", "")
            lines.append(say("referral.step", number=n, text=text))
        notes.append({"kind": "advice", "code": "referral_pathway", "at": now})
        dispatcher.utter_message(text="\n".join(lines))
        return None


class ActionFallback(CaseAction):
    """A message the classifier could not place. Kept in the case notes whatever it is;
    a question the advice answers gets its answer, a plain statement about the call is a
    note ("Noted." and the next step); only a question it cannot answer, gibberish or words
    to the assistant get the list of what it can do (guidance.message_kind)."""

    def name(self) -> str:
        return "action_fallback"

    def respond(self, dispatcher, tracker, state, now, notes):
        text = latest_text(tracker)
        kind = guidance.message_kind(text)
        if text and (guidance.wants_full_advice(text) or (
                kind == "question" and guidance.answer(state.path_role, text) is not None)):
            ActionAdvice().respond(dispatcher, tracker, state, now, notes)
        elif kind == "note":
            ActionNextStep().respond(dispatcher, tracker, state, now, notes,
                                     lead=say("fallback.noted"), keep_note=False)
        else:
            fallback_menu(dispatcher)
        if text:  # last, so the message itself is this turn's latest note
            notes.append({"kind": "note", "text": text, "at": now})
        return None


def fallback_menu(dispatcher: CollectingDispatcher) -> None:
    dispatcher.utter_message(text=say("fallback.menu"),
                             buttons=titled_buttons(WHAT_NEXT, SUMMARY))
