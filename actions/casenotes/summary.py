"""The handover summary, derived from a case's events (never edited in place).

:func:`summarise` returns a JSON-able dict; :func:`to_markdown` renders it for the person
taking over. The ``case_management`` part maps the case onto the fields helpline
case-management systems record (caller, categories of concern, alleged perpetrator,
actions/referrals, notes), so a counsellor can copy it across.

Event payloads (what the writers put in each kind):
- ``red_flag``: code = flag code, text = the words that raised it
- ``red_flag_dismissed``: code = flag code, text = the reason
- ``red_flag_restored``: code = flag code (a dismissal undone), text optional
- ``deadline``: code in set/ambiguous/withdrawn/passed, text = ISO datetime (optionally
  followed by the words in brackets) for ``set``, otherwise the words
- ``answer``: code = checklist item id, text = the answer, or :data:`MOVED_ON` for an item
  the counsellor moved on from ("what next?"): never an answer (``summary["moved_on"]``)
- ``advice``: code = advice id (``platform:<name>`` for platform reporting advice,
  ``referral_pathway`` for the referral pathway); ``referral``: code/text = where to
- ``escalation``: code = comma-separated flags (optional), text optional
- ``escalation_undone``: code = comma-separated flags it had covered, text optional
- ``stage``: code = stage id; ``note``: text; ``opened``: code = caller role; ``closed``
- ``caller_role``: code = the caller role, named after the case opened (the panel asked)
- ``acknowledged``: code = flag code, actor = the supervisor (from the board's token), no
  text: a supervisor has seen the flag (scripts/panel_server.py, actions/board.py)
"""
from __future__ import annotations

import re
from datetime import datetime, timezone, tzinfo
from typing import Any

from actions import roles, settings
from actions.messages import say

#: checklist items whose answers describe the alleged perpetrator
PERPETRATOR_ITEMS = ("offender", "perpetrator", "demands", "where_shared", "what_shared")
#: checklist items and advice ids that are referrals / actions with other services
REFERRAL_WORDS = ("referral", "police", "law_enforcement", "statutory", "mental_health",
                  "signpost", "takedown", "platform:")
#: the answer text of a checklist item the counsellor moved on from (casestate.MOVED_ON)
MOVED_ON = "(moved on)"

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
    moved_on: list[str] = []  # checklist items moved on from, never answered
    closed_at = None  # the first closing (the case row's cache of it, when there is one)
    deadline: dict[str, Any] = {"at": None, "status": "none", "words": None, "history": []}
    stage = None
    escalated_at = None  # the latest escalation that was not undone
    for e in events:
        at = _iso(e["at"])
        timeline.append({"at": at, "kind": e["kind"], "code": e["code"], "text": e["text"],
                         "source": e.get("actor")})
        kind, code, text = e["kind"], e["code"], e["text"]
        if kind == "red_flag" and code:
            flags[code] = {"code": code, "label": _flag_label(code), "words": text,
                           "raised_at": at, "source": e.get("actor"), "dismissed": None,
                           "dismissed_at": None, "escalated_at": None, "acknowledged": []}
        elif kind == "red_flag_dismissed" and code in flags:
            flags[code]["dismissed"] = text or say("flag.raised_in_error")
            flags[code]["dismissed_at"] = at
        elif kind == "red_flag_restored" and code in flags:  # not dismissed any more, and
            # back NOT escalated, as the panel shows it, until escalation is confirmed again
            flags[code].update(dismissed=None, dismissed_at=None, escalated_at=None,
                               acknowledged=[])
        elif kind == "acknowledged" and code in flags:  # by a supervisor, on the board
            flags[code]["acknowledged"].append({"at": at, "by": e.get("actor")})
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
        elif kind == "answer" and code and text == MOVED_ON:
            if code not in answers and code not in moved_on:
                moved_on.append(code)
        elif kind == "answer" and code:
            answers[code] = f"{answers[code]} / {text}" if code in answers and text else (
                text or answers.get(code, ""))
            moved_on = [c for c in moved_on if c != code]
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
        elif kind == "closed" and closed_at is None:
            closed_at = at

    labels = _labels(case["caller_role"])
    red_flags = list(flags.values())
    active = [f for f in red_flags if not f["dismissed"]]
    summary = {
        "case_id": case["id"],
        "conversation_id": case["conversation_id"],
        "caller_role": case["caller_role"],
        "opened_at": _iso(case["opened_at"]),
        "closed_at": _iso(case["closed_at"]) or closed_at,
        "escalated_at": escalated_at,
        "stage": stage,
        "red_flags": red_flags,
        "deadline": deadline,
        "answers": answers,
        "answer_labels": {k: labels.get(k, k.replace("_", " ").capitalize())
                          for k in [*answers, *moved_on, *_required_items(case["caller_role"])]},
        "moved_on": moved_on,  # skipped: "what next?" moved on before an answer
        "not_reached": [k for k in _required_items(case["caller_role"])
                        if k not in answers and k not in moved_on],
        "advice": advice,
        "referrals": referrals,
        "escalations": escalations,
        "notes": notes,
        "timeline": timeline,
    }
    summary["facts"] = case_facts(summary)
    summary["case_management"] = {
        "caller": (roles.label(case["caller_role"]) if case["caller_role"] in roles.LABELS
                   else case["caller_role"] or "not known"),
        "categories_of_concern": ["Online sexual extortion (sextortion)"]
        + [f["label"] for f in active],
        "perpetrator_info": {k: v for k, v in answers.items()
                             if any(w in k for w in PERPETRATOR_ITEMS)},
        "referrals": [r["code"] or r["text"] for r in referrals],
        "escalated": summary["escalated_at"] is not None,
        "notes": [n["text"] for n in notes],
    }
    return summary


def _when(iso: str | None, zone: tzinfo) -> str:
    if not iso:
        return "—"
    local = datetime.fromisoformat(iso).astimezone(zone)
    return local.strftime("%Y-%m-%d %H:%M ") + (local.tzname() or "UTC")


def _one_line(text: str | None) -> str:
    return " ".join((text or "").split())


def to_markdown(summary: dict[str, Any]) -> str:
    """A handover summary a person reads (Markdown); times in ``HELPLINE_TIMEZONE``
    (:func:`actions.settings.timezone`: ``ValueError`` if it is not a valid zone name, never
    a silent UTC in an export)."""
    zone = settings.timezone()

    def when(iso: str | None) -> str:
        return _when(iso, zone)

    cm = summary["case_management"]
    out = [f"# Case {summary['case_id']}", ""]
    out += ["## Caller", f"- Caller: {cm['caller']}",
            f"- Opened: {when(summary['opened_at'])}",
            f"- Closed: {when(summary['closed_at']) if summary['closed_at'] else 'still open'}",
            f"- Categories of concern: {'; '.join(cm['categories_of_concern'])}"]
    if summary.get("stage"):
        out.append(f"- Last stage of the guidance: {summary['stage'].replace('_', ' ')}")
    out += ["", "## Red flags"]
    if not summary["red_flags"]:
        out.append("- None raised.")
    for f in summary["red_flags"]:
        line = f"- **{f['label']}** — raised {when(f['raised_at'])} by “{_one_line(f['words'])}”"
        if _found_by(f.get("source")):
            line += f" (found by {_found_by(f.get('source'))})"
        if f["dismissed"]:
            line += f"; dismissed {when(f['dismissed_at'])}: {_one_line(f['dismissed'])}"
        elif f["escalated_at"]:
            line += f"; escalated {when(f['escalated_at'])}"
        else:
            line += "; NOT ESCALATED"
        for ack in f.get("acknowledged") or []:
            line += f"; acknowledged by supervisor {ack['by'] or 'unknown'} {when(ack['at'])}"
        out.append(line)
    if summary["escalated_at"]:
        out.append(f"- Escalation process started: {when(summary['escalated_at'])}")
    d = summary["deadline"]
    out += ["", "## Deadline"]
    if d["status"] == "none":
        out.append("- No deadline recorded.")
    else:
        words = f" (“{_one_line(d['words'])}”)" if d["words"] else ""
        at = f" at {when(d['at'])}" if d["at"] else ""
        out.append(f"- Status: {d['status']}{at}{words}")
        if len(d["history"]) > 1:
            out.append("- Earlier: " + "; ".join(
                f"{h['status']} {when(h['deadline_at']) if h['deadline_at'] else ''}".strip()
                + f" (noted {when(h['at'])})" for h in d["history"][:-1]))
    out += ["", "## Checklist answers (done)"]
    if not summary["answers"]:
        out.append("- None recorded.")
    for item, text in summary["answers"].items():
        out.append(f"- {summary['answer_labels'].get(item, item)}: {_one_line(text)}")
    if summary.get("moved_on"):
        out.append("- Skipped (not asked): " + "; ".join(
            summary["answer_labels"].get(item, item) for item in summary["moved_on"]))
    if summary.get("not_reached"):
        out.append("- Not reached: " + "; ".join(
            summary["answer_labels"].get(item, item) for item in summary["not_reached"]))
    if cm["perpetrator_info"]:
        out.append("- About the alleged perpetrator: " + "; ".join(
            _one_line(v) for v in cm["perpetrator_info"].values()))
    out += ["", "## Advice shown to the counsellor"]
    if not summary["advice"]:
        out.append("- None recorded.")
    for a in _first_of_each(summary["advice"]):
        out.append(f"- {when(a['at'])}: {(a['code'] or '').replace('_', ' ')}"
                   + (f" — {_one_line(a['text'])}" if a["text"] else ""))
    if cm["referrals"]:
        out.append("- Referrals / signposting: " + ", ".join(
            str(r).replace("_", " ") for r in cm["referrals"]))
    out += ["", "## Counsellor notes"]
    if not summary["notes"]:
        out.append("- None.")
    for n in summary["notes"]:
        out.append(f"- {when(n['at'])}: {_one_line(n['text'])}")
    out += ["", "## Timeline"]
    for t in summary["timeline"]:
        detail = " ".join(x for x in (t["code"] or "", f"“{_one_line(t['text'])}”" if t["text"]
                                      else "") if x)
        out.append(f"- {when(t['at'])} {t['kind'].replace('_', ' ')}" + (f": {detail}" if detail else ""))
    return "\n".join(out) + "\n"


def _first_of_each(advice: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Advice entries, the first showing of each code only (asked twice, listed once)."""
    seen: set[Any] = set()
    out = []
    for a in advice:
        key = a["code"] or a["text"]
        if key not in seen:
            seen.add(key)
            out.append(a)
    return out


# --- facts read from the counsellor's words ------------------------------------------------
#
# Small and conservative: a wrong age or amount in a handover is worse than none, so each
# reader takes only what is said in so many words ("aged 15", "£500", "more pics").

#: what may follow a number that is an age, never a time, a count or an amount
_NOT_AN_AGE = (r"(?![:.]\d)(?!\s*(?:am|pm|h|hrs?|hours?|mins?|minutes?|secs?|seconds?|%|k|grand"
               r"|pounds?|quid|dollars?|euros?|bucks|pics?|photos?|images?|videos?|nudes?"
               r"|times?|days?|weeks?|months?|followers?|messages?|texts?|more)\b)")
#: (pattern, lowest, highest): the age is group 1
_AGE_PATTERNS = (
    # "aged 15", "age 14", "age: 14"
    (re.compile(r"(?<![\w-])(?:aged|age)\s*:?\s*(\d{1,2})(?!\d)" + _NOT_AN_AGE, re.I), 6, 25),
    # "15 yo", "14yo", "15 y/o", "15-year-old", "15 years old", "15 yr old"
    (re.compile(r"(?<![\w:.£$€])(\d{1,2})\s*-?\s*(?:yo|y/o|y\.o\.?|(?:years?|yrs?)\s*-?\s*old)"
                r"(?![a-z])", re.I), 6, 25),
    # "girl, 15", "son 14", "her son (14)", "daughter is 13", "she's 15", "he is 13": a
    # child's age only
    (re.compile(r"(?<![\w'’])(?:(?:girl|boy|son|daughter|lad|kid|child|yp|cyp|teen|teenager|pupil)"
                r"(?:['’]s|\s+is|\s+turned|\s+just\s+turned)?"
                r"|(?:s?he|they)(?:['’]s|['’]re|\s+is|\s+are|\s+turned|\s+just\s+turned))"
                r"\s*[,(]?\s*(\d{1,2})(?!\d)" + _NOT_AN_AGE, re.I), 8, 19),
)
#: an amount of money: a currency sign, or a number with a currency word
_AMOUNT = re.compile(
    r"[£$€]\s?\d[\d,]*(?:\.\d{1,2})?(?:\s?(?:k|grand)\b)?"
    r"|(?<![\w.:])\d[\d,]*(?:\.\d+)?\s?(?:k\s?)?(?:pounds?|quid|dollars?|bucks|euros?|grand|usd|gbp"
    r"|eur|btc|bitcoins?)\b", re.I)
_PAYMENT_METHODS = (
    ("gift cards", r"gift\s?cards?|(?:amazon|steam|itunes|apple|google\s+play)\s+(?:gift\s+)?cards?"),
    ("bitcoin", r"bitcoins?|btc"), ("crypto", r"crypto(?:currency)?"), ("PayPal", r"paypal"),
    ("Cash App", r"cash\s?app"), ("bank transfer", r"bank\s+transfer"), ("Venmo", r"venmo"),
    ("Western Union", r"western\s+union"), ("Revolut", r"revolut"), ("Zelle", r"zelle"),
)
_MONEY = re.compile(r"\b(?:money|cash|ransom|pay|pays|paid|paying|payment)\b", re.I)
_MORE_IMAGES = re.compile(
    r"\bmore\s+(?:pics?|pictures?|images?|photos?|videos?|vids?|nudes?|content)\b"
    r"|\bsend(?:ing)?\s+(?:him\s+|her\s+|them\s+)?more\b"
    r"|\b(?:ask(?:s|ed|ing)?|wants?|wanted|demand(?:s|ed|ing)?)\s+(?:for\s+)?"
    r"(?:more|nudes|new\s+pics|videos?)\b", re.I)
#: a negation just before (at most two words): "hasn't asked for more", "don't pay"
_NEGATED = re.compile(r"(?:\bno|\bnot|n['’]t|\bnever|\bnothing|\bwithout)\b(?:\s+[\w'’]+){0,2}\s*$",
                      re.I)
_YES = re.compile(r"^\W*(?:yes|yeah|yep|yup|y)\b", re.I)


def _said(text: str, pattern: re.Pattern) -> bool:
    """The pattern is in the text and not negated just before."""
    return any(not _NEGATED.search(text[:m.start()]) for m in pattern.finditer(text))


def ages_in(text: str) -> list[int]:
    """Ages said in so many words ("aged 15", "15yo", "girl, 15", "she's 14"), in order."""
    found: list[tuple[int, int]] = []
    for pattern, lowest, highest in _AGE_PATTERNS:
        for m in pattern.finditer(text or ""):
            if lowest <= int(m.group(1)) <= highest:
                found.append((m.start(), int(m.group(1))))
    return list(dict.fromkeys(age for _, age in sorted(found)))


def amounts_in(text: str) -> list[str]:
    """Amounts of money ("£500", "$1,000", "200 pounds", "0.1 bitcoin"), as written."""
    return [" ".join(m.group(0).split()) for m in _AMOUNT.finditer(text or "")]


def payment_methods_in(text: str) -> list[str]:
    """How payment is asked for ("gift cards", "bitcoin", "PayPal"), unless negated."""
    return [name for name, words in _PAYMENT_METHODS
            if _said(text or "", re.compile(rf"\b(?:{words})\b", re.I))]


def platforms_named(text: str) -> list[str]:
    """Apps and sites named in the text (data/guidance/platforms.yml), when the guidance
    data is there."""
    try:
        from actions import guidance

        return [p["name"] for p in guidance.platforms_in(text or "")]
    except Exception:  # the summary must work without the guidance data
        return []


def case_texts(summary: dict[str, Any]) -> list[str]:
    """The counsellor's own words in the case, oldest first, each once: checklist answers,
    notes, and the words that raised red flags and deadlines."""
    texts = []
    for t in summary["timeline"]:
        text = t["text"]
        if not text or text == MOVED_ON or t["kind"] not in (
                "answer", "note", "red_flag", "red_flag_dismissed", "deadline"):
            continue
        if t["kind"] == "deadline":
            text = _parse_deadline(text)[1] or ""
        texts.append(_one_line(text))
    return [t for t in dict.fromkeys(texts) if t]


def case_facts(summary: dict[str, Any]) -> dict[str, Any]:
    """Age, platforms and the offender's demand, read from the counsellor's words."""
    texts = case_texts(summary)
    ages: list[int] = []
    platforms: list[str] = []
    amounts: list[str] = []
    methods: list[str] = []
    money = more_images = False
    for text in texts:
        ages += ages_in(text)
        platforms += platforms_named(text)
        amounts += amounts_in(text)
        methods += payment_methods_in(text)
        money = money or _said(text, _MONEY)
        more_images = more_images or _said(text, _MORE_IMAGES)
    answers = summary["answers"]
    more_images = more_images or bool(_YES.match(answers.get("more_images") or ""))
    amounts = list({a.lower().replace(" ", ""): a for a in reversed(amounts)}.values())[::-1]
    demand = {"money": bool(amounts or methods or money), "amounts": amounts,
              "payment": list(dict.fromkeys(methods)), "more_images": more_images,
              "words": answers.get("demands")}
    return {"ages": list(dict.fromkeys(ages)), "platforms": list(dict.fromkeys(platforms)),
            "demand": demand}


# --- the handover a supervisor reads in one screen -----------------------------------------

#: checklist items (both paths, data/guidance/paths.yml) whose answers say what happens
#: next; the handover shows them with the key facts, not among the answers (the message
#: of each title first)
OUTCOME_ITEMS = (
    ("handover.outcome.safety_plan", ("safety_plan",)),
    ("handover.outcome.actions_agreed", ("advised_trusted_adult", "advised_police",
                                         "explain_referral", "signpost_support")),
    ("handover.outcome.follow_up", ("next_contact", "watch_behaviour")),
)
#: the item that asks about suicide and self-harm on each path, and its handover label's
#: message
SELF_HARM_ITEMS = {"child": ("self_harm", "handover.self_harm.child"),
                   "parent_carer": ("mental_health", "handover.self_harm.parent_carer")}
HANDOVER_ANSWERS = 8   # answers listed; the rest are in the full timeline
HANDOVER_NOTES = 3     # the last few notes
NOT_REACHED_SHOWN = 4  # checklist items never reached, the first few in path order
WORDS_LIMIT = 120      # a flag's or the deadline's words
LINE_LIMIT = 100       # an answer, a plan or a note
TIMELINE_LIMIT = 200   # entries in the timeline message (the latest)
ENTRY_LIMIT = 500      # characters of one timeline entry


def clip(text: str | None, limit: int) -> str:
    """The text on one line, at most ``limit`` characters, cut at a word boundary (never
    mid-word) with "…"."""
    text = _one_line(text)
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    if not text[limit - 1].isspace() and " " in cut:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:-–—") + "…"


def _handover_zone() -> tuple[tzinfo, str]:
    """The helpline's clock (actions.settings.timezone()), and its name for the reader. An
    invalid HELPLINE_TIMEZONE is said in the chat handover (read in UTC, and the first line
    says why), never silently read as UTC."""
    try:
        zone = settings.timezone()
        return zone, zone.key
    except ValueError:
        return timezone.utc, say("handover.zone_invalid")


def _path(role: str | None) -> str:
    return "parent_carer" if role in ("parent_carer", "other") else "child"


def _flag_label(code: str) -> str:
    """The flag's label as the panel shows it: data/risk/flags.yml, the one source (a code
    it does not know is shown as it is)."""
    from actions import risk

    try:
        return risk.flag_info(code)["label"]
    except KeyError:
        return code


def _found_by(source: str | None) -> str | None:
    """Which checks raised a flag, in words (the panel says the same)."""
    from actions.casestate import found_by

    return found_by(source) if source and ":" in source else None


def _flag_severity(code: str) -> int:
    """1 for the most severe flag (data/risk/flags.yml)."""
    try:
        from actions import risk

        return risk.flag_info(code)["severity"]
    except Exception:
        return 9


def _required_items(role: str | None) -> list[str]:
    """The path's checklist items that are always asked (``required`` in paths.yml)."""
    from actions import guidance

    return [i.id for i in guidance.checklist(role or "child") if i.required]


def _item_order(role: str | None) -> list[str]:
    try:
        from actions import guidance

        return [item.id for item in guidance.checklist(role or "child")]
    except Exception:
        return []


def _stage_title(role: str | None, stage_id: str | None) -> str:
    try:
        from actions import guidance

        found = guidance.stage(role or "child", stage_id)
        if found is not None:
            return found.title
    except Exception:
        pass
    return (stage_id or "").replace("_", " ")


def advice_title(code: str | None, role: str | None = None) -> str:
    """A few words for an advice code: its title in data/guidance/advice.yml, "reporting
    on Instagram" for ``platform:Instagram``."""
    code = code or ""
    if code.startswith("platform:"):
        return say("advice.reporting_on", platform=code.split(":", 1)[1])
    try:
        from actions import guidance

        for path in (_path(role), "child", "parent_carer"):
            for item in guidance.advice(path):
                if item["id"] == code:
                    return item["title"]
    except Exception:
        pass
    return code.replace("_", " ")


def _deadline_line(d: dict[str, Any], clock) -> str:
    status, words, at = d["status"], d.get("words"), d.get("at")
    if status != "set" and words:  # "2026-11-24T21:00:00+00:00 (undo: restored; it has passed)"
        when, rest = _parse_deadline(words)
        if when is not None:
            at, words = at or _iso(when), rest
    set_times = [h["deadline_at"] for h in d.get("history") or [] if h.get("deadline_at")]
    said = say("handover.words", words=clip(words, WORDS_LIMIT)) if words else ""
    if status == "none":
        return say("handover.deadline_none")
    if status == "set" and at:
        return say("handover.deadline_active", time=clock(at), words=said)
    if status == "passed":
        at = at or (set_times[-1] if set_times else None)
        return (say("handover.deadline_passed_at", time=clock(at), words=said) if at
                else say("handover.deadline_passed", words=said))
    if status == "withdrawn":
        was = say("handover.deadline_was", time=clock(set_times[-1])) if set_times else ""
        return say("handover.deadline_withdrawn", was=was, words=said)
    # ambiguous: no exact time yet
    return say("handover.deadline_not_confirmed", words=said)


def _message_with(words: str | None, texts: list[str]) -> str | None:
    """The counsellor's message that holds these words (a flag's words are a part of it)."""
    words = _one_line(words).rstrip("…").lower()
    if not words:
        return None
    return next((t for t in texts if words in t.lower() and len(t) > len(words)), None)


def _clock(iso: str | None, zone: tzinfo, day: Any) -> str:
    """"19:02" on the case's first day, "30 Nov 00:57" on another; "" for no time."""
    if not iso:
        return ""
    local = datetime.fromisoformat(iso).astimezone(zone)
    return (f"{local:%H:%M}" if local.date() == day
            else f"{local.day} {local:%b} {local:%H:%M}")


def to_handover(summary: dict[str, Any]) -> str:
    """The handover a supervisor reads in one screen: plain text (no Markdown), no blank
    line (one chat bubble), key facts first, times on the helpline's clock.

    Key facts (caller, when, age, platform, demand, deadline, each red flag with its words
    and escalation, dismissals, suicide / self-harm, what was agreed), then the answers,
    the items moved on from, the advice shown to the counsellor (each once) and the last
    few notes. The full timeline is :func:`to_timeline`."""
    zone, zone_name = _handover_zone()
    role = summary.get("caller_role")
    opened = (datetime.fromisoformat(summary["opened_at"]).astimezone(zone)
              if summary.get("opened_at") else None)
    day = opened.date() if opened else None

    def clock(iso: str | None) -> str:
        return _clock(iso, zone, day) or "—"

    answers, labels = summary["answers"], summary["answer_labels"]
    flags = summary["red_flags"]
    facts = summary.get("facts") or case_facts(summary)
    lines = []

    state = (say("handover.state_closed_at", time=clock(summary["closed_at"]))
             if summary.get("closed_at") else say("handover.state_open"))
    when = (say("handover.opened", date=f"{opened.day} {opened:%b %Y}",
                time=f"{opened:%H:%M}", state=state) if opened else state)
    lines.append(say("handover.title", role=roles.label(role), when=when, zone=zone_name))

    ages = facts["ages"]
    age = (say("handover.age", age=ages[0]) if len(ages) == 1 else
           say("handover.ages", ages=say("handover.ages_separator").join(map(str, ages)))
           if ages else say("handover.age_none"))
    platforms = ", ".join(facts["platforms"])
    lines.append(say("handover.age_platform", age=age, platforms=platforms) if platforms
                 else say("handover.age_platform_none", age=age))

    demand = facts["demand"]
    parts = []
    if demand["money"]:
        via = (say("handover.demand_via", methods=", ".join(demand["payment"]))
               if demand["payment"] else "")
        parts.append(say("handover.demand_money", amounts=" / ".join(demand["amounts"]), via=via)
                     if demand["amounts"] else say("handover.demand_money_no_amount", via=via))
    if demand["more_images"]:
        parts.append(say("handover.demand_more_images"))
    if not parts and demand.get("words"):
        parts.append(say("handover.demand_other", words=clip(demand["words"], LINE_LIMIT)))
    lines.append(say("handover.demand", demand="; ".join(parts)) if parts
                 else say("handover.demand_none"))
    lines.append(_deadline_line(summary["deadline"], clock))

    if not flags:
        lines.append(say("handover.no_red_flags"))
    flag_words = []
    # the live flags first, the most severe first (the panel's order)
    for f in sorted(flags, key=lambda f: (bool(f["dismissed"]), _flag_severity(f["code"]))):
        words = clip(f["words"], WORDS_LIMIT)
        flag_words.append(_one_line(f["words"]))
        quoted = say("handover.words", words=words) if words else ""
        if f["dismissed"]:
            lines.append(say("handover.dismissed", flag=_flag_label(f["code"]), words=quoted,
                             reason=clip(f["dismissed"], LINE_LIMIT),
                             time=clock(f["dismissed_at"])))
        else:
            done = (say("handover.escalated_at", time=clock(f["escalated_at"]))
                    if f["escalated_at"] else say("handover.not_escalated"))
            # said only when the meaning check alone raised it: the words may not say it
            # the way a rule would, so the reader knows to weigh them
            source = f.get("source") or ""
            alone = source.startswith("meaning:") and " + " not in source
            found = say("handover.found_by", checks=_found_by(source)) if alone else ""
            acks = f.get("acknowledged") or []
            seen = say("handover.acknowledged", time=clock(acks[0]["at"])) if acks else ""
            lines.append(say("handover.red_flag", flag=_flag_label(f["code"]), words=quoted,
                             found_by=found, escalation=done, acknowledged=seen))

    # the texts quoted in full above the answers, so neither an answer nor a note repeats
    # one (a flag's words are often a part of a message: that answer is still listed)
    shown_texts: set[str] = set()
    item, label_id = SELF_HARM_ITEMS[_path(role)]
    label = say(label_id)
    disclosure = next((f for f in flags if f["code"] == "self_harm_risk"
                       and not f["dismissed"]), None)
    if answers.get(item) and _one_line(answers[item]) not in flag_words:
        # the most important line: room for the plan and the means
        lines.append(say("handover.self_harm_answer", label=label,
                         answer=clip(answers[item], 3 * LINE_LIMIT)))
        shown_texts.add(_one_line(answers[item]))
    elif disclosure:  # the whole message that raised it: plan and means are often there
        message = _message_with(disclosure["words"], case_texts(summary))
        if message and message != _one_line(disclosure["words"]):
            lines.append(say("handover.self_harm_message", label=label,
                             message=clip(message, WORDS_LIMIT + 40)))
            shown_texts.add(message)
        else:
            lines.append(say("handover.self_harm_see_flag", label=label))
    else:
        lines.append(say("handover.self_harm_not_asked", label=label))

    shown = {item}
    agreed = False
    for title, items in OUTCOME_ITEMS:
        shown.update(items)
        said = [_one_line(answers[i]) for i in items if answers.get(i)]
        said = [t for t in dict.fromkeys(said) if t not in shown_texts]
        if said:
            agreed = True
            shown_texts.update(said)
            lines.append(say("handover.outcome", title=say(title),
                             answers="; ".join(clip(t, LINE_LIMIT) for t in said)))
    if not agreed:
        lines.append(say("handover.outcome_none"))

    # the other answers, in the path's order; one line per answer text (a message that
    # answered two items is listed once, with both labels)
    order = _item_order(role)
    rest = sorted((k for k in answers if k not in shown),
                  key=lambda k: order.index(k) if k in order else len(order))
    by_text: dict[str, list[str]] = {}
    for k in rest:
        by_text.setdefault(_one_line(answers[k]), []).append(labels.get(k, k))
    by_text = {t: ls for t, ls in by_text.items() if t not in shown_texts}
    if not by_text:
        lines.append(say("handover.answers_all_above" if answers else "handover.answers_none"))
    else:
        lines.append(say("handover.answers", count=len(by_text)))
        for text, item_labels in list(by_text.items())[:HANDOVER_ANSWERS]:
            lines.append(say("handover.answer", items="; ".join(item_labels),
                             answer=clip(text, LINE_LIMIT)))
        if len(by_text) > HANDOVER_ANSWERS:
            lines.append(say("handover.answers_more", count=len(by_text) - HANDOVER_ANSWERS))
        shown_texts.update(by_text)
    if summary.get("moved_on"):
        lines.append(say("handover.skipped", items="; ".join(
            labels.get(k, k) for k in summary["moved_on"])))
    not_reached = [k for k in summary.get("not_reached") or [] if k != item]
    if not_reached:  # (the suicide and self-harm question has its own line above)
        shown_now = not_reached[:NOT_REACHED_SHOWN]
        more = len(not_reached) - len(shown_now)
        listed = "; ".join(labels.get(k, k) for k in shown_now)
        lines.append(say("handover.not_reached_more", count=len(not_reached), items=listed,
                         more=more) if more
                     else say("handover.not_reached", count=len(not_reached), items=listed))

    titles = list(dict.fromkeys(advice_title(a["code"], role)
                                for a in _first_of_each(summary["advice"])))
    advice = ", ".join(titles)
    lines.append(say("handover.advice", advice=advice) if advice
                 else say("handover.advice_none"))

    said_elsewhere = shown_texts | set(flag_words) | {_one_line(v) for v in answers.values()}
    notes = [n for n in summary["notes"] if _one_line(n["text"]) not in said_elsewhere]
    if not notes:
        lines.append(say("handover.notes_none"))
    else:
        last = notes[-HANDOVER_NOTES:]
        lines.append(say("handover.notes_last", count=len(notes), shown=len(last))
                     if len(last) < len(notes) else say("handover.notes", count=len(notes)))
        lines += [say("handover.note", time=clock(n["at"]), note=clip(n["text"], LINE_LIMIT))
                  for n in last]

    stage = summary.get("stage")
    ref = summary["case_id"][:8]
    lines.append(say("handover.case_ref_stage", ref=ref, stage=_stage_title(role, stage))
                 if stage and stage != "closed" else say("handover.case_ref", ref=ref))
    return "\n".join(line for line in (_one_line(x) for x in lines) if line)


#: the timeline's messages for a deadline withdrawn or passed: (without, with a time)
TIMELINE_DEADLINES = {
    "withdrawn": ("timeline.deadline_withdrawn", "timeline.deadline_withdrawn_at"),
    "passed": ("timeline.deadline_passed", "timeline.deadline_passed_at"),
}


def _timeline_text(t: dict[str, Any], role: str | None, labels: dict[str, str],
                   clock) -> str:
    kind, code, text = t["kind"], t["code"], _one_line(t["text"])
    said = say("timeline.quoted", text=text) if text else ""
    flags = ", ".join(_flag_label(c.strip()) for c in (code or "").split(",") if c.strip())
    if kind == "opened":
        return (say("timeline.opened", role=roles.label(code)) if code in roles.LABELS
                else say("timeline.opened_unknown"))
    if kind == "closed":
        return say("timeline.closed_why", text=text) if text else say("timeline.closed")
    if kind == "note":
        return say("timeline.note_after_close" if code == "after_close" else "timeline.note",
                   text=text)
    if kind == "answer":
        label = labels.get(code or "") or _answer_label(code, role)
        return (say("timeline.moved_on", item=label) if text == MOVED_ON
                else say("timeline.answer", item=label, text=text))
    if kind == "red_flag":
        return say("timeline.red_flag", flag=_flag_label(code or ""), words=said).rstrip()
    if kind == "red_flag_dismissed":
        return say("timeline.red_flag_dismissed", flag=_flag_label(code or ""),
                   reason=text or say("flag.raised_in_error"))
    if kind == "red_flag_restored":
        return (say("timeline.red_flag_restored_why", flag=_flag_label(code or ""), text=text)
                if text else say("timeline.red_flag_restored", flag=_flag_label(code or "")))
    if kind == "red_flag_not_raised":
        if "contact ended" in str(t.get("source") or ""):
            return say("timeline.not_raised_contact_ended", flag=_flag_label(code or ""),
                       words=said).rstrip()
        return say("timeline.not_raised", flag=_flag_label(code or ""), words=said).rstrip()
    if kind == "deadline":
        when, words = _parse_deadline(t["text"])
        words_said = say("timeline.deadline_words", words=_one_line(words)) if words else ""
        if code == "set" and when is not None:
            return say("timeline.deadline_set", time=clock(_iso(when)), words=words_said)
        if code == "ambiguous":
            return say("timeline.deadline_not_confirmed", words=said)
        plain, timed = TIMELINE_DEADLINES.get(code or "", (None, None))
        if when is not None:
            return (say(timed, time=clock(_iso(when)), words=words_said) if timed else
                    say("timeline.deadline_status_at", status=code, time=clock(_iso(when)),
                        words=words_said))
        return (say(plain, words=words_said) if plain else
                say("timeline.deadline_status", status=code, words=words_said))
    if kind == "advice":
        return say("timeline.advice", advice=advice_title(code, role))
    if kind == "referral":
        return say("timeline.referral", to=(code or "").replace("_", " "), text=text).strip()
    if kind == "escalation":
        return say("timeline.escalation", flags=flags or say("timeline.flags_so_far"),
                   words=say("timeline.words_after", words=said) if said else "")
    if kind == "escalation_undone":
        return say("timeline.escalation_undone", flags=flags or say("timeline.every_flag"),
                   words=say("timeline.words_after", words=said) if said else "")
    if kind == "stage":
        return say("timeline.stage", stage=_stage_title(role, code))
    if kind == "acknowledged":
        return say("timeline.acknowledged", flag=_flag_label(code or ""))
    if kind == "caller_role" and code in roles.LABELS:
        return say("timeline.caller_role", role=roles.label(code))
    return " ".join(x for x in (kind.replace("_", " ").capitalize(), code or "", said) if x)


def _answer_label(code: str | None, role: str | None) -> str:
    labels = _labels(role)
    return labels.get(code or "", (code or "").replace("_", " ").capitalize())


def to_timeline(summary: dict[str, Any], limit: int = TIMELINE_LIMIT) -> dict[str, Any]:
    """The full timeline for the panel's folded "Full timeline (N entries)": every event
    in order, in words, note text included; the latest ``limit`` entries, each at most
    ENTRY_LIMIT characters. ``total`` counts them all."""
    zone, _ = _handover_zone()
    role = summary.get("caller_role")
    day = (datetime.fromisoformat(summary["opened_at"]).astimezone(zone).date()
           if summary.get("opened_at") else None)

    def clock(iso: str | None) -> str:
        return _clock(iso, zone, day)

    labels = summary.get("answer_labels") or {}
    entries = [{"at": t["at"], "time": clock(t["at"]),
                "text": clip(_timeline_text(t, role, labels, clock), ENTRY_LIMIT)}
               for t in summary["timeline"]]
    return {"type": "handover_timeline", "case_id": summary["case_id"], "total": len(entries),
            "entries": entries[-limit:] if limit else []}
