"""The supervisor's board: the helpline's open cases, one row each, the most urgent first.

Plain Python over the case-notes store (SQLAlchemy: SQLite and PostgreSQL); no Rasa.
Served by the panel server (scripts/panel_server.py, ``/supervisor/...``).

**No text.** Every query here names its columns, and none is ``case_events.text_enc``:
the board reads ids, times, kinds, codes and actors (who raised a flag, which supervisor
acknowledged it), the columns kept in clear by design, and decrypts nothing. The
deadline's time comes from ``case_events.due_at`` (revision 0003), written in clear beside
the encrypted words; a deadline recorded before that revision shows as set, time unknown.

**A row** (:func:`open_cases`)::

    {"case_id", "ref" (its first 8 characters), "conversation_id", "counsellor",
     "caller_role", "stage", "stage_title", "opened_at", "last_activity",
     "flags": [{"code", "label", "short", "severity", "raised_at", "since", "source",
                "found_by", "escalated_at", "acknowledged": [{"by", "at"}]}],
     "escalation": {"started_at", "pending_since", "pending_minutes"},
     "deadline": {"status", "at", "last_hour"},
     "acknowledgements": [{"code", "by", "at"}], "urgent"}

Times are ISO 8601 in UTC. ``flags`` are the active ones (raised, not marked as raised in
error), the most severe first; ``since`` is when the flag became live (raised, or restored
after a dismissal: a restore also clears its escalation and acknowledgements, as the
handover does); ``escalation.started_at`` is the latest escalation not undone, and
``pending_since`` / ``pending_minutes`` the oldest live flag no escalation covers.
``urgent``: a live flag neither escalated nor acknowledged.

**Order** (:func:`urgency`): cases with an urgent flag first, the one whose flag has waited
longest first; then cases with a deadline still ahead, the nearest first; then the rest,
the most recently active first. A case is listed while it is open and has had any event in
the last ``BOARD_HOURS`` (default 12; a conversation idle for three hours starts a new case,
so an older open case is one nobody closed).
"""
from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from functools import lru_cache
from typing import Any, Iterable

import sqlalchemy as sa
import yaml

from actions import settings
from actions.casenotes.models import Case, CaseEvent, utc

#: The shape of a case id (uuid4 hex, as the action server makes them).
CASE_ID = re.compile(r"[0-9a-f]{32}")
#: How many of the newest event ids the change check counts (see :func:`change_mark`).
CHANGE_WINDOW = 1000
#: Event kinds a supervisor's own action writes: not the counsellor's activity.
SUPERVISOR_KINDS = frozenset({"acknowledged"})
#: The columns the board reads: never ``text_enc``.
EVENT_COLUMNS = (CaseEvent.id, CaseEvent.case_id, CaseEvent.at, CaseEvent.kind,
                 CaseEvent.code, CaseEvent.actor, CaseEvent.due_at)
CASE_COLUMNS = (Case.id, Case.conversation_id, Case.opened_at, Case.closed_at,
                Case.caller_role, Case.counsellor_id)
VOTERS = {"rules": "rules", "classifier": "classifier", "meaning": "meaning"}


class BoardRefusal(Exception):
    """A request the board cannot carry out: ``status`` (HTTP) and a short reason that
    names no content."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


@lru_cache(maxsize=1)
def flag_info() -> dict[str, dict[str, Any]]:
    """Each red flag's label, short name and severity: data/risk/flags.yml, the one source."""
    with open(settings.ROOT / "data" / "risk" / "flags.yml", encoding="utf-8") as f:
        flags = yaml.safe_load(f) or {}
    return {code: {"label": " ".join(str(info.get("label", code)).split()),
                   "short": " ".join(str(info.get("short", info.get("label", code))).split()),
                   "severity": int(info.get("severity", 9))}
            for code, info in flags.items()}


def board_hours() -> float:
    """How long an open case stays on the board after its last event (``BOARD_HOURS``)."""
    return settings.board_hours()


def found_by(source: str | None) -> str | None:
    """Which checks raised a flag, in a few words: "rules + meaning 0.91"."""
    if not source:
        return None
    names = []
    for part in source.split(";")[0].split(" + "):
        kind, _, detail = part.strip().partition(":")
        name = VOTERS.get(kind, kind)
        names.append(f"{name} {detail}" if kind == "meaning" and detail else name)
    return " + ".join(dict.fromkeys(n for n in names if n)) or None


def _iso(value: datetime | None) -> str | None:
    return None if value is None else utc(value).isoformat()


# --- reading -----------------------------------------------------------------------------

def _events_by_case(session: Any, case_ids: list[str]) -> dict[str, list[Any]]:
    events: dict[str, list[Any]] = {case_id: [] for case_id in case_ids}
    for chunk in range(0, len(case_ids), 500):
        rows = session.execute(
            sa.select(*EVENT_COLUMNS).where(CaseEvent.case_id.in_(case_ids[chunk:chunk + 500]))
            .order_by(CaseEvent.case_id, CaseEvent.id)).all()
        for row in rows:
            events[row.case_id].append(row)
    return events


def open_cases(store: Any, now: datetime | None = None,
               hours: float | None = None) -> list[dict[str, Any]]:
    """The board's rows: open cases active in the last ``hours``, most urgent first."""
    now = utc(now or datetime.now(timezone.utc))
    since = now - timedelta(hours=board_hours() if hours is None else hours)
    with store.session("board") as session:
        active = (sa.select(CaseEvent.case_id).join(Case, Case.id == CaseEvent.case_id)
                  .where(Case.closed_at.is_(None)).group_by(CaseEvent.case_id)
                  .having(sa.func.max(CaseEvent.at) >= since))
        cases = session.execute(sa.select(*CASE_COLUMNS).where(Case.id.in_(active))).all()
        events = _events_by_case(session, [c.id for c in cases])
    rows = [case_row(case, events[case.id], now) for case in cases]
    return sorted(rows, key=urgency)


def case_rows(store: Any, case_ids: Iterable[str] | None = None,
              conversation_id: str | None = None,
              now: datetime | None = None) -> list[dict[str, Any]]:
    """Rows of the named cases, or of the open cases of one conversation, open or closed
    as they are (``closed_at`` is added to each), in no particular order."""
    now = utc(now or datetime.now(timezone.utc))
    with store.session("board") as session:
        query = sa.select(*CASE_COLUMNS)
        if case_ids is not None:
            query = query.where(Case.id.in_(list(case_ids)))
        if conversation_id is not None:
            query = query.where(Case.conversation_id == conversation_id,
                                Case.closed_at.is_(None))
        cases = session.execute(query).all()
        events = _events_by_case(session, [c.id for c in cases])
    return [dict(case_row(case, events[case.id], now), closed_at=_iso(case.closed_at))
            for case in cases]


def case_row(case: Any, events: list[Any], now: datetime) -> dict[str, Any]:
    """One case's row from its case columns and its events (in the order written)."""
    info = flag_info()
    flags: dict[str, dict[str, Any]] = {}
    escalated_at: datetime | None = None
    deadline: dict[str, Any] = {"status": None, "at": None}
    stage = None
    last = case.opened_at
    for e in events:
        kind, code, at = e.kind, e.code, utc(e.at)
        if kind not in SUPERVISOR_KINDS and (last is None or at > last):
            last = at
        if kind == "red_flag" and code:
            flags[code] = {"raised_at": at, "since": at, "source": e.actor, "dismissed": False,
                           "escalated_at": None, "acknowledged": []}
        elif kind == "red_flag_dismissed" and code in flags:
            flags[code]["dismissed"] = True
        elif kind == "red_flag_restored" and code in flags:
            flags[code].update(dismissed=False, since=at, escalated_at=None, acknowledged=[])
        elif kind == "escalation":
            covered = [c.strip() for c in (code or "").split(",") if c.strip()]
            for flag_code, flag in flags.items():
                if flag["escalated_at"] is None and (not covered or flag_code in covered):
                    flag["escalated_at"] = at
            escalated_at = at
        elif kind == "escalation_undone":
            undone = [c.strip() for c in (code or "").split(",") if c.strip()]
            for flag_code, flag in flags.items():
                if not undone or flag_code in undone:
                    flag["escalated_at"] = None
            escalated_at = None
        elif kind == "acknowledged" and code in flags:
            flags[code]["acknowledged"].append({"by": e.actor, "at": at})
        elif kind == "deadline":
            deadline = {"status": code, "at": utc(e.due_at) if code == "set" and e.due_at
                        else None}
        elif kind == "stage":
            stage = code

    live = sorted(((code, f) for code, f in flags.items() if not f["dismissed"]),
                  key=lambda item: (info.get(item[0], {}).get("severity", 9), item[1]["since"]))
    pending = [f["since"] for _, f in live if f["escalated_at"] is None]
    if deadline["status"] == "set" and deadline["at"] is not None and deadline["at"] <= now:
        deadline["status"] = "passed"
    due = deadline["at"] if deadline["status"] == "set" else None
    return {
        "case_id": case.id,
        "ref": case.id[:8],
        "conversation_id": case.conversation_id,
        "counsellor": case.counsellor_id,
        "caller_role": case.caller_role,
        "stage": stage,
        "stage_title": stage_title(case.caller_role, stage),
        "opened_at": _iso(case.opened_at),
        "last_activity": _iso(last),
        "flags": [{
            "code": code,
            "label": info.get(code, {}).get("label", code),
            "short": info.get(code, {}).get("short", code),
            "severity": info.get(code, {}).get("severity", 9),
            "raised_at": _iso(f["raised_at"]),
            "since": _iso(f["since"]),
            "source": f["source"],
            "found_by": found_by(f["source"]),
            "escalated_at": _iso(f["escalated_at"]),
            "acknowledged": [{"by": a["by"], "at": _iso(a["at"])} for a in f["acknowledged"]],
        } for code, f in live],
        "escalation": {
            "started_at": _iso(escalated_at) if live else None,
            "pending_since": _iso(min(pending)) if pending else None,
            "pending_minutes": int((now - min(pending)).total_seconds() // 60) if pending
            else None,
        },
        "deadline": {
            "status": deadline["status"],
            "at": _iso(deadline["at"]) if deadline["status"] in ("set", "passed") else None,
            "last_hour": due is not None and now < due <= now + timedelta(hours=1),
        },
        "acknowledgements": [{"code": code, "by": a["by"], "at": _iso(a["at"])}
                             for code, f in live for a in f["acknowledged"]],
        "urgent": any(f["escalated_at"] is None and not f["acknowledged"] for _, f in live),
    }


def stage_title(role: str | None, stage: str | None) -> str | None:
    """The stage's title in the guidance; the first stage of the caller's path when no
    move to another stage is recorded (a case opens at its path's first stage)."""
    try:
        from actions import guidance

        found = guidance.stage(role or "child", stage) if stage else \
            guidance.stages(role or "child")[0]
        return found.title if found is not None else stage
    except Exception:  # the board must work without the guidance data
        return stage


def urgency(row: dict[str, Any]) -> tuple[int, float, str]:
    """The sort key of a row (see the module's docstring)."""
    def seconds(iso: str) -> float:
        return datetime.fromisoformat(iso).timestamp()

    waiting = [seconds(f["since"]) for f in row["flags"]
               if f["escalated_at"] is None and not f["acknowledged"]]
    if waiting:
        return (0, min(waiting), row["case_id"])
    if row["deadline"]["status"] == "set" and row["deadline"]["at"]:
        return (1, seconds(row["deadline"]["at"]), row["case_id"])
    # the rest: the most recently active first
    return (2, -seconds(row["last_activity"]) if row["last_activity"] else 0.0, row["case_id"])


def change_mark(store: Any) -> tuple[int, int]:
    """What changes when any event is written: the newest event id, and how many events
    there are among the newest CHANGE_WINDOW ids (a transaction that took an id before
    another but committed after it, on PostgreSQL, changes the count). Two index reads."""
    with store.session("board") as session:
        newest = session.execute(sa.select(sa.func.max(CaseEvent.id))).scalar() or 0
        recent = session.execute(sa.select(sa.func.count()).select_from(CaseEvent)
                                 .where(CaseEvent.id > newest - CHANGE_WINDOW)).scalar() or 0
    return int(newest), int(recent)


# --- what a supervisor does --------------------------------------------------------------

def open_case_row(store: Any, case_id: Any, now: datetime | None = None) -> dict[str, Any]:
    """The row of an open case, else :class:`BoardRefusal` (400, 404 or 409)."""
    if not isinstance(case_id, str) or not CASE_ID.fullmatch(case_id):
        raise BoardRefusal(400, "case_id must be a case id (32 hexadecimal characters)")
    rows = case_rows(store, [case_id], now=now)
    if not rows:
        raise BoardRefusal(404, "no such case")
    if rows[0]["closed_at"] is not None:
        raise BoardRefusal(409, "the case is closed")
    return rows[0]


def acknowledge(store: Any, case_id: Any, code: Any, actor: str,
                now: datetime | None = None) -> dict[str, Any]:
    """Record that supervisor ``actor`` has seen red flag ``code`` of open case ``case_id``
    (an ``acknowledged`` case event, no text). A flag acknowledged already since it was
    raised is not recorded again. Returns ``{"case_id", "code", "by", "at", "new"}``."""
    if not isinstance(code, str) or code not in flag_info():
        raise BoardRefusal(400, "code must be a red flag code")
    row = open_case_row(store, case_id, now)
    flag = next((f for f in row["flags"] if f["code"] == code), None)
    if flag is None:
        raise BoardRefusal(409, "that red flag is not raised on this case")
    if flag["acknowledged"]:
        first = flag["acknowledged"][0]
        return {"case_id": case_id, "code": code, "by": first["by"], "at": first["at"],
                "new": False}
    at = utc(now or datetime.now(timezone.utc))
    store.append(case_id, "acknowledged", code=code, at=at, actor=actor)
    return {"case_id": case_id, "code": code, "by": actor, "at": at.isoformat(), "new": True}


def conversation_acks(store: Any, conversation_id: str,
                      now: datetime | None = None) -> list[dict[str, Any]]:
    """For a counsellor's panel: each live flag of its conversation's open cases that a
    supervisor has acknowledged, with the first acknowledgement's time (not who)."""
    return [{"case_id": row["case_id"], "code": f["code"], "at": f["acknowledged"][0]["at"]}
            for row in case_rows(store, conversation_id=conversation_id, now=now)
            for f in row["flags"] if f["acknowledged"]]
