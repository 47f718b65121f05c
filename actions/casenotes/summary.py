"""The handover summary, derived from a case's events (never edited in place).

:func:`summarise` returns a JSON-able dict; :func:`to_markdown` renders it for the person
taking over. The ``case_management`` part maps the case onto the fields helpline
case-management systems record (caller, categories of concern, alleged perpetrator,
actions/referrals, notes), so a counsellor can copy it across.

Event payloads (what the writers put in each kind):
- ``red_flag``: code = flag code, text = the words that raised it
- ``red_flag_dismissed``: code = flag code, text = the reason
- ``deadline``: code in set/ambiguous/withdrawn/passed, text = ISO datetime (optionally
  followed by the words in brackets) for ``set``, otherwise the words
- ``answer``: code = checklist item id, text = the answer
- ``advice``: code = advice id (``platform:<name>`` for platform reporting advice,
  ``referral_pathway`` for the referral pathway); ``referral``: code/text = where to
- ``escalation``: code = comma-separated flags (optional), text optional
- ``escalation_undone``: code = comma-separated flags it had covered, text optional
- ``stage``: code = stage id; ``note``: text; ``opened``: code = caller role; ``closed``
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError
from typing import Any

FLAG_LABELS = {
    "self_harm_risk": "Risk of suicide, self-harm or serious emotional trauma",
    "offender_known": "Offender known to the child",
    "ongoing_risk": "Ongoing risk (contact, location known, threats to meet, further abuse)",
    "active_deadline": "Active deadline set by the offender",
}
ROLE_LABELS = {"child": "Child / young person", "parent_carer": "Parent or carer",
               "other": "Other"}
#: checklist items whose answers describe the alleged perpetrator
PERPETRATOR_ITEMS = ("offender", "perpetrator", "demands", "where_shared", "what_shared")
#: checklist items and advice ids that are referrals / actions with other services
REFERRAL_WORDS = ("referral", "police", "law_enforcement", "statutory", "mental_health",
                  "signpost", "takedown", "platform:")

_ISO = re.compile(r"^\s*(\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?)")


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(timezone.utc).isoformat()


def _parse_deadline(text: str | None) -> tuple[datetime | None, str | None]:
    """``"2026-11-24T21:00:00+00:00 (in an hour)"`` -> (datetime, "in an hour")."""
    if not text:
        return None, None
    match = _ISO.match(text)
    if not match:
        return None, text
    try:
        at = datetime.fromisoformat(match.group(1).replace("Z", "+00:00"))
    except ValueError:
        return None, text
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    rest = text[match.end():].strip()
    if rest.startswith("(") and rest.endswith(")"):
        rest = rest[1:-1]
    return at, rest or None


def _labels(role: str | None) -> dict[str, str]:
    """Checklist labels from the guidance data, when that module is there."""
    try:
        from actions import guidance

        return {item.id: item.label for item in guidance.checklist(role or "child")}
    except Exception:  # summary must work without the guidance data
        return {}


def summarise(store: Any, case_id: str, now: datetime | None = None,
              conversation_id: str | None = None) -> dict[str, Any]:
    """Everything the case's events say, as a JSON-able dict. ``KeyError`` if no case;
    with ``conversation_id``, ``CaseNotOwned`` if the case is another conversation's."""
    case = (store.case(case_id) if conversation_id is None
            else store.owned_case(case_id, conversation_id))
    if case is None:
        raise KeyError(case_id)
    events = store.events(case_id)
    now = now or datetime.now(timezone.utc)

    timeline, flags, notes, advice, referrals, escalations = [], {}, [], [], [], []
    answers: dict[str, str] = {}
    deadline: dict[str, Any] = {"at": None, "status": "none", "words": None, "history": []}
    stage = None
    escalated_at = None  # the latest escalation that was not undone
    for e in events:
        at = _iso(e["at"])
        timeline.append({"at": at, "kind": e["kind"], "code": e["code"], "text": e["text"]})
        kind, code, text = e["kind"], e["code"], e["text"]
        if kind == "red_flag" and code:
            flags[code] = {"code": code, "label": FLAG_LABELS.get(code, code), "words": text,
                           "raised_at": at, "source": e.get("actor"), "dismissed": None,
                           "dismissed_at": None, "escalated_at": None}
        elif kind == "red_flag_dismissed" and code in flags:
            flags[code]["dismissed"] = text or "raised in error"
            flags[code]["dismissed_at"] = at
        elif kind == "escalation":
            escalated = [c.strip() for c in (code or "").split(",") if c.strip()]
            escalations.append({"at": at, "flags": escalated, "text": text})
            for flag in flags.values():
                if flag["escalated_at"] is None and (not escalated or flag["code"] in escalated):
                    flag["escalated_at"] = at
            escalated_at = at
        elif kind == "escalation_undone":
            undone = [c.strip() for c in (code or "").split(",") if c.strip()]
            escalations.append({"at": at, "flags": undone, "text": text, "undone": True})
            for flag in flags.values():
                if not undone or flag["code"] in undone:
                    flag["escalated_at"] = None
            escalated_at = None
        elif kind == "deadline":
            when, words = _parse_deadline(text) if code == "set" else (None, text)
            deadline["history"].append({"at": at, "status": code,
                                        "deadline_at": _iso(when), "words": words})
            deadline.update(status=code, words=words, at=_iso(when) if code == "set" else None)
            if code == "set" and when is not None and when <= now:
                deadline["status"] = "passed"
        elif kind == "answer" and code:
            answers[code] = f"{answers[code]} / {text}" if code in answers and text else (
                text or answers.get(code, ""))
        elif kind == "advice":
            entry = {"at": at, "code": code, "text": text}
            advice.append(entry)
            if code and any(w in code for w in REFERRAL_WORDS):
                referrals.append(entry)
        elif kind == "referral":
            referrals.append({"at": at, "code": code, "text": text})
        elif kind == "note" and text:
            notes.append({"at": at, "text": text})
        elif kind == "stage":
            stage = code

    labels = _labels(case["caller_role"])
    red_flags = list(flags.values())
    active = [f for f in red_flags if not f["dismissed"]]
    summary = {
        "case_id": case["id"],
        "conversation_id": case["conversation_id"],
        "caller_role": case["caller_role"],
        "opened_at": _iso(case["opened_at"]),
        "closed_at": _iso(case["closed_at"]),
        "escalated_at": escalated_at,
        "stage": stage,
        "red_flags": red_flags,
        "deadline": deadline,
        "answers": answers,
        "answer_labels": {k: labels.get(k, k.replace("_", " ").capitalize()) for k in answers},
        "advice": advice,
        "referrals": referrals,
        "escalations": escalations,
        "notes": notes,
        "timeline": timeline,
    }
    summary["case_management"] = {
        "caller": ROLE_LABELS.get(case["caller_role"] or "", case["caller_role"] or "not known"),
        "categories_of_concern": ["Online sexual extortion (sextortion)"]
        + [f["label"] for f in active],
        "perpetrator_info": {k: v for k, v in answers.items()
                             if any(w in k for w in PERPETRATOR_ITEMS)},
        "referrals": [r["code"] or r["text"] for r in referrals],
        "escalated": summary["escalated_at"] is not None,
        "notes": [n["text"] for n in notes],
    }
    return summary


def _zone() -> tzinfo:
    """``HELPLINE_TIMEZONE`` (the counsellors' clock) for the Markdown; UTC if unset/invalid."""
    name = os.environ.get("HELPLINE_TIMEZONE", "").strip()
    try:
        return ZoneInfo(name) if name else timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def _when(iso: str | None) -> str:
    if not iso:
        return "—"
    local = datetime.fromisoformat(iso).astimezone(_zone())
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "UTC")


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def to_markdown(summary: dict[str, Any]) -> str:
    """A handover summary a person reads (Markdown); times in ``HELPLINE_TIMEZONE``."""
    cm = summary["case_management"]
    out = [f"# Case {summary['case_id']}", ""]
    out += ["## Caller", f"- Caller: {cm['caller']}",
            f"- Opened: {_when(summary['opened_at'])}",
            f"- Closed: {_when(summary['closed_at']) if summary['closed_at'] else 'still open'}",
            f"- Categories of concern: {'; '.join(cm['categories_of_concern'])}"]
    if summary.get("stage"):
        out.append(f"- Last stage of the guidance: {summary['stage'].replace('_', ' ')}")
    out += ["", "## Red flags"]
    if not summary["red_flags"]:
        out.append("- None raised.")
    for f in summary["red_flags"]:
        line = f"- **{f['label']}** — raised {_when(f['raised_at'])} by “{_one_line(f['words'])}”"
        if f["dismissed"]:
            line += f"; dismissed {_when(f['dismissed_at'])}: {_one_line(f['dismissed'])}"
        elif f["escalated_at"]:
            line += f"; escalated {_when(f['escalated_at'])}"
        else:
            line += "; NOT ESCALATED"
        out.append(line)
    if summary["escalated_at"]:
        out.append(f"- Escalation process started: {_when(summary['escalated_at'])}")
    d = summary["deadline"]
    out += ["", "## Deadline"]
    if d["status"] == "none":
        out.append("- No deadline recorded.")
    else:
        words = f" (“{_one_line(d['words'])}”)" if d["words"] else ""
        at = f" at {_when(d['at'])}" if d["at"] else ""
        out.append(f"- Status: {d['status']}{at}{words}")
        if len(d["history"]) > 1:
            out.append("- Earlier: " + "; ".join(
                f"{h['status']} {_when(h['deadline_at']) if h['deadline_at'] else ''}".strip()
                + f" (noted {_when(h['at'])})" for h in d["history"][:-1]))
    out += ["", "## Checklist answers"]
    if not summary["answers"]:
        out.append("- None recorded.")
    for item, text in summary["answers"].items():
        out.append(f"- {summary['answer_labels'].get(item, item)}: {_one_line(text)}")
    if cm["perpetrator_info"]:
        out.append("- About the alleged perpetrator: " + "; ".join(
            _one_line(v) for v in cm["perpetrator_info"].values()))
    out += ["", "## Advice given"]
    if not summary["advice"]:
        out.append("- None recorded.")
    for a in summary["advice"]:
        out.append(f"- {_when(a['at'])}: {(a['code'] or '').replace('_', ' ')}"
                   + (f" — {_one_line(a['text'])}" if a["text"] else ""))
    if cm["referrals"]:
        out.append("- Referrals / signposting: " + ", ".join(
            str(r).replace("_", " ") for r in cm["referrals"]))
    out += ["", "## Counsellor notes"]
    if not summary["notes"]:
        out.append("- None.")
    for n in summary["notes"]:
        out.append(f"- {_when(n['at'])}: {_one_line(n['text'])}")
    out += ["", "## Timeline"]
    for t in summary["timeline"]:
        detail = " ".join(x for x in (t["code"] or "", f"“{_one_line(t['text'])}”" if t["text"]
                                      else "") if x)
        out.append(f"- {_when(t['at'])} {t['kind'].replace('_', ' ')}" + (f": {detail}" if detail else ""))
    return "\n".join(out) + "\n"
