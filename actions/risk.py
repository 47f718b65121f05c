"""Deterministic red-flag detection: spaCy rules over word lemmas, with negation.

The patterns, negation cues and flag texts live in ``data/risk/`` so a safeguarding lead
can read and extend them. No pretrained model: a blank English pipeline with the lookup
lemmatiser (``spacy-lookups-data``). Built once, on first use.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

import yaml
from spacy.matcher import Matcher
from spacy.tokens import Doc, Span, Token

from actions.nlp import alternation, get_nlp, key_of

DATA = Path(__file__).resolve().parent.parent / "data" / "risk"
RED_FLAG_CODES = ("self_harm_risk", "offender_known", "ongoing_risk", "active_deadline")
RULE_CODES = RED_FLAG_CODES[:3]  # active_deadline comes from actions.deadlines
WILDCARD = "*"
DISTRESS = "distress:"  # rule ids of the signs of distress (self_harm_distress in red_flags.yml)


@dataclass(frozen=True)
class Flag:
    code: str   # one of RED_FLAG_CODES
    words: str  # the words of the message that raised it
    rule: str   # which pattern matched, for audit


def load(name: str) -> Any:
    with open(DATA / name, encoding="utf-8") as f:
        return yaml.safe_load(f)


@lru_cache(maxsize=1)
def flag_intents() -> dict[str, str]:
    """{classifier intent: flag code} for the flags the rules check (``intent`` in
    data/risk/flags.yml)."""
    flags = load("flags.yml")
    return {str(flags[code]["intent"]): code for code in RULE_CODES if flags[code].get("intent")}


#: who an escalation step is worded for (``escalation`` in data/risk/flags.yml)
ESCALATION_ROLES = ("child", "parent_carer", "other")


@lru_cache(maxsize=None)
def flag_info(code: str, role: str | None = None) -> dict[str, Any]:
    """Label, short label (for buttons), meaning and escalation step of a flag, and the
    confirmation its dismissal needs, if any (data/risk/flags.yml). The escalation step is
    worded for the caller ``role`` (the child's own words when the caller is not known)."""
    info = load("flags.yml")[code]
    steps = info["escalation"]
    step = steps.get(role if role in ESCALATION_ROLES else "child") or steps["child"]
    return {"code": code, "label": info["label"], "short": info.get("short") or info["label"],
            "meaning": " ".join(info["meaning"].split()),
            "escalation": " ".join(step.split()),
            "severity": int(info.get("severity", 9)),
            "confirm_dismissal": " ".join(str(info.get("confirm_dismissal") or "").split())}


@lru_cache(maxsize=1)
def dismiss_reasons() -> list[dict[str, str]]:
    """The reasons offered when a red flag was raised in error (data/risk/dismiss_reasons.yml):
    ``id`` (goes in the button's payload), ``title`` (the button) and ``text``."""
    return [{"id": str(r["id"]), "title": str(r["title"]), "text": " ".join(str(r["text"]).split())}
            for r in load("dismiss_reasons.yml")["reasons"]]


def by_severity(codes: list[str]) -> list[str]:
    """Flag codes, the most severe first (``severity`` in data/risk/flags.yml)."""
    return sorted(codes, key=lambda code: flag_info(code)["severity"])


def lemma_keys(word: str) -> list[str]:
    """The keys one pattern word matches: its lemma and its own lower-case form."""
    doc = get_nlp()(word)
    keys = {word.lower()}
    if len(doc) == 1:
        keys.add(key_of(doc[0]))
    return sorted(keys)


def token_specs(line: str, lists: dict[str, list[str]]) -> list[dict[str, Any]]:
    """Turn one pattern line into Matcher token specs (syntax in red_flags.yml)."""
    specs: list[dict[str, Any]] = []
    for part in line.split():
        if part == "^" and not specs:  # the next word starts the message
            specs.append({"IS_SENT_START": True, "OP": "?"})  # placeholder, merged below
            continue
        if part == WILDCARD:  # any word but a negation ("has not got her address")
            specs.append({"OP": "?", "NORM": {"NOT_IN": sorted(negation()["cues"])}})
            continue
        optional = part.endswith("?") and len(part) > 1
        part = part.rstrip("?") if optional else part
        words = []
        for word in part.split("|"):  # {name} stands for every word of a list
            named = word.startswith("{") and word.endswith("}")
            words += lists[word[1:-1]] if named else [word]  # KeyError: list missing
        if all(w.startswith("=") for w in words):  # exact forms: "=sent" is not "send"
            spec: dict[str, Any] = {"LOWER": {"IN": sorted({w[1:].lower() for w in words})}}
            specs.append({**spec, "OP": "?"} if optional else spec)
            continue
        keys: list[str] = []
        multi: list[list[str]] = []
        for word in words:
            doc = get_nlp()(word)
            if len(doc) == 1:
                keys += lemma_keys(word)
            else:
                multi.append([key_of(t) for t in doc])
        if multi and not keys and len(words) == 1:  # a plain multi-token word: "can't"
            specs += [{"NORM": k} for k in multi[0]]
            continue
        spec = {"NORM": {"IN": sorted(set(keys))}}
        if optional:
            spec["OP"] = "?"
        specs.append(spec)
    if specs and specs[0].get("IS_SENT_START") and len(specs) > 1:
        specs = [{**specs[1], "IS_SENT_START": True}] + specs[2:]
    return specs


@lru_cache(maxsize=1)
def matcher() -> Matcher:
    nlp = get_nlp()
    patterns = load("red_flags.yml")
    lists = {name: [str(w).lower() for w in words]
             for name, words in (patterns.get("lists") or {}).items()}
    m = Matcher(nlp.vocab)
    for code in RULE_CODES:
        for n, line in enumerate(patterns[code]):
            m.add(f"{code}#{n}", [token_specs(str(line), lists)])
    for n, line in enumerate(patterns.get("self_harm_distress") or []):
        m.add(f"self_harm_risk#{DISTRESS}{n}", [token_specs(str(line), lists)])
    return m


@lru_cache(maxsize=1)
def negation() -> dict[str, Any]:
    spec = load("negation.yml")
    cues: set[str] = set()
    for cue in spec["cues"]:
        doc = get_nlp()(str(cue))
        # "isn't" is two tokens, "is" + "n't": only the negating part is a cue.
        cues.update(key_of(t) for t in doc if len(doc) == 1 or t.lower_ in ("n't", "not"))
    phrases = [" ".join(key_of(t) for t in get_nlp()(p)) for p in spec.get("phrases", [])]
    return {"window": int(spec.get("window", 5)), "cues": cues, "phrases": phrases,
            "not_before": {str(w).lower() for w in spec.get("not_before", [])},
            "breaks": {str(b).lower() for b in spec["clause_breaks"]},
            "despite": {str(w).lower() for w in spec.get("despite", [])},
            "callers": {str(w).lower() for w in spec.get("callers", [])},
            "own_words": {str(w).lower() for w in spec.get("own_words", [])},
            "conditions": {str(w).lower() for w in spec.get("conditions", [])},
            "question_starts": {str(w).lower() for w in spec.get("question_starts", [])},
            "question_exempt": set(spec.get("question_exempt", [])),
            "question_answers": {str(w).lower() for w in spec.get("question_answers", [])},
            "plan": re.compile(
                rf"^[\W_]*(?:(?:{alternation(spec.get('plan_starts', []))})\W+)?"
                rf"(?:{alternation(spec.get('plan_verbs', []))})\b", re.I),
            "plan_break": re.compile(alternation(spec.get("plan_breaks", []), bounded=True), re.I),
            "caller_after": re.compile(
                rf"^\s*(?:{alternation(spec.get('caller_after', []))})\b", re.I),
            "after_no": re.compile(
                r"^(?:\s*[\w'/]+(?:-[\w']+)*){0,3}\s*[-:–—=,]?\s*[\"“‘']?\s*"
                r"(?:(?:(?:she|he|they|yp|cyp|child|son|daughter|lad|"
                r"boy|girl|pupil|student|niece|nephew)\s+)?(?:said|says|answered|replied)\s+)?"
                rf"(?:{alternation(spec.get('after_no', []))})\b"
                rf"(?!\s*(?:{alternation(spec.get('after_no_not_before', []))})\b)",
                re.I)}


def negated(doc: Doc, start: int) -> bool:
    """A negation cue shortly before the match, in the same clause."""
    neg = negation()
    before: list[Token] = []
    for token in reversed(doc[max(0, start - neg["window"] * 2):start]):
        if token.lower_ in neg["breaks"]:
            break
        before.insert(0, token)
    before = before[-neg["window"]:]
    for token in before:
        after = doc[token.i + 1] if token.i + 1 < len(doc) else None
        if key_of(token) in neg["cues"] and not any(
                t.lower_ in neg["conditions"] for t in doc[max(0, token.i - 3):token.i]) \
                and not (after is not None and key_of(after) in neg["not_before"]):
            return True
    window = " ".join(key_of(t) for t in before)
    return any(f" {p} " in f" {window} " for p in neg["phrases"])


def answered_no(doc: Doc, end: int) -> bool:
    """The note answers the match with a no: "thoughts of hurting herself - she said no"."""
    after = doc[end:end + 8].text if end < len(doc) else ""
    if not after or doc[end - 1].text in ("no", "none"):
        return False
    sentence = re.split(r"[.!?;\n]", after)[0]
    if re.search(r"\b(?:but|although|though|except)\b", sentence, re.I):
        return False  # "she said no, but sometimes": the no is taken back
    after = sentence
    dash_or_said = re.search(r"[-:–—=]|\b(said|says|answered|replied|denies|denied)\b", after)
    return bool(dash_or_said) and bool(negation()["after_no"].match(after))


def is_caller(doc: Doc, end: int) -> bool:
    """The relation just matched is the one calling: "teacher calling about a pupil"."""
    return end < len(doc) and bool(negation()["caller_after"].match(doc[end:end + 5].text))


SENTENCE_ENDS = {".", "!", "?", "\n"}
LEADING = {"q", ":", "-", "'", '"', "“", "‘", "(", "*", "•"}


def in_question(doc: Doc, start: int) -> bool:
    """The match sits in a yes/no question: "did he threaten to meet her?"."""
    first = start
    while first > 0 and doc[first - 1].text not in SENTENCE_ENDS and "\n" not in doc[first - 1].text:
        first -= 1
    end = start
    while end < len(doc) and doc[end].text not in SENTENCE_ENDS - {"?"} and doc[end].text != "?":
        end += 1
    if end >= len(doc) or doc[end].text != "?":
        return False
    answer = [t for t in doc[end + 1:end + 4] if not t.is_punct and not t.is_space]
    if answer and answer[0].lower_ in negation()["question_answers"]:
        return False  # "is he still messaging her? yes"
    words = [t for t in doc[first:end] if not t.is_space]
    starts = negation()["question_starts"]
    for token in words[:3]:  # "q: has he...", "- did he..."
        if token.lower_ in starts:
            return True
        if token.lower_ not in LEADING:
            return False
    return False


def counsellor_plan(doc: Doc, start: int) -> bool:
    """The match is in the counsellor's note of what to ask or check, not in what was said:
    "need to ask whether she's had thoughts of hurting herself", "remember to screen for
    SH", "Ask mum: any past self-harm?" (``plan_*`` in data/risk/negation.yml)."""
    first = start  # back to the sentence's start, across questions ("Ask mum: ...? any ...?")
    while first > 0 and doc[first - 1].text not in {".", "!"} and "\n" not in doc[first - 1].text:
        first -= 1
    before = doc[first:start].text
    plan = negation()["plan"].match(before)
    if not plan:
        return False
    between = before[plan.end():]
    if negation()["plan_break"].search(between) or len(between.split()) > 12:
        return False  # "need to ask, she said she wants to die": a report follows the plan
    rest = doc[start:].text
    end = re.search(r"[.!?\n]", rest)
    if end and end.group(0) == "?":
        answer = re.match(r"\?\s*[-:–—]?\s*(\w+)", rest[end.start():])
        if answer and answer.group(1).lower() in negation()["question_answers"]:
            return False  # "ask about self-harm? yes"
        return True
    return "?" not in between and ":" not in between


@lru_cache(maxsize=1)
def _contact_words() -> tuple[re.Pattern[str], re.Pattern[str]]:
    spec = load("negation.yml")

    def words(key: str) -> re.Pattern[str]:
        return re.compile(alternation(spec.get(key, []), bounded=True), re.I)
    return words("ended"), words("current")


def contact_ended(text: str) -> str | None:
    """The words that say the offender's contact or access is over ("blocked since Sunday,
    nothing since", "he's on remand"), when the note says nothing of contact or access now
    (``ended`` and ``current`` in data/risk/negation.yml); else None."""
    ended, current = _contact_words()
    said = ended.search(text or "")
    if said is None or current.search(text):
        return None
    return said.group(0)


def plans(text: str) -> bool:
    """A sentence of the note is the counsellor's plan ("need to ask about ...", "Q for
    yp: ..."): a feature of the meaning voter, beside the rules' findings."""
    return any(negation()["plan"].match(part.strip())
               for part in re.split(r"[.!\n]", text or "") if part.strip())


def clause_of(doc: Doc, span: Span) -> str:
    """The match with a little context, as the counsellor typed it."""
    breaks = negation()["breaks"]
    start = span.start
    while start > 0 and doc[start - 1].lower_ not in breaks and span.start - start < 6:
        start -= 1
    end = span.end
    while end < len(doc) and doc[end].lower_ not in breaks and end - span.end < 4:
        end += 1
    return doc[start:end].text


CHUNK = 5000    # characters checked at a time; a long paste is checked in full, in pieces
OVERLAP = 300   # so a phrase cut by a piece boundary is still seen whole


def chunks(text: str, size: int = CHUNK, overlap: int = OVERLAP) -> Iterator[str]:
    """Pieces of at most ``size`` characters, overlapping by ``overlap``, cut at whitespace
    where possible (also used by actions.deadlines)."""
    start = 0
    while start < len(text):
        end = min(len(text), start + size)
        if end < len(text):
            space = text.rfind(" ", start + size // 2, end)
            end = space if space > 0 else end
        yield text[start:end]
        if end >= len(text):
            return
        start = max(end - overlap, start + 1)


QUOTE_MARK = re.compile(r"(?<![\w])['‘’\"“”`]+|['‘’\"“”`]+(?![\w])")


def unquoted(text: str) -> str:
    """Without the quote marks around the child's words, so "he'll 'find her irl'" matches
    like the words themselves; apostrophes inside words stay."""
    return QUOTE_MARK.sub("", text)


def detect_flags(text: str) -> list[Flag]:
    """Red flags the rules find in one message: at most one per code, in order."""
    return list(_read(text)[0]) if text and text.strip() else []


def denials(text: str) -> list[Flag]:
    """What the note plainly denies, with the words that deny it: a match the rules set
    aside for a denial word before it or a "no" in answer after it (``denial_words``), of a
    flag they do not raise elsewhere in the note."""
    return list(_read(text)[1]) if text and text.strip() else []


def denial_words(doc: Doc, start: int, end: int, answered: bool) -> str | None:
    """The words of a plain denial of a match, as a screening note writes it, to the end of
    its clause: a denial word (``denial_cues``) at most ``denial_reach`` words before it
    ("no thoughts of self-harm", "not suicidal", "denies any SH or SI"), or a "no" in
    answer after it ("asked about harm to self - no"; ``answered``: ``answered_no``, as
    the caller read it). None for any other negation ("doesn't see the point any more"
    is no denial)."""
    spec = load("negation.yml")
    cues = {str(c).lower() for c in spec.get("denial_cues", [])}
    stops = negation()["breaks"] | {str(w).lower() for w in spec.get("denial_ends", [])}
    first = None
    for i in range(start - 1, max(-1, start - int(spec.get("denial_reach", 3)) - 1), -1):
        if doc[i].lower_ in negation()["breaks"]:
            break
        if doc[i].lower_ in cues:
            first = i
            break
    if first is None and not answered:
        return None
    stop = end
    limit = min(len(doc), end + 10)
    while stop < limit and doc[stop].text not in SENTENCE_ENDS and "\n" not in doc[stop].text \
            and (first is None or doc[stop].lower_ not in stops):
        stop += 1  # a "no" in answer: the rest of the sentence ("- denies any thoughts")
    return doc[start if first is None else first:stop].text


@lru_cache(maxsize=64)
def _read(text: str) -> tuple[tuple[Flag, ...], tuple[Flag, ...]]:
    """(flags, denials) of one message, remembered for the last few texts: the Rasa
    server's featurizer and meaning voter both ask about the same message."""
    found: dict[str, Flag] = {}
    denied: list[Flag] = []
    distress: list[tuple[Flag, bool]] = []  # signs of distress: (flag, said despite a denial)
    for piece in chunks(text):
        doc = get_nlp()(unquoted(piece))
        denied_at: list[int] = []  # where this piece denies self-harm
        hits = sorted(matcher()(doc), key=lambda h: (h[1], -(h[2] - h[1])))
        for match_id, start, end in hits:
            rule = get_nlp().vocab.strings[match_id]
            code = rule.split("#")[0]
            if code in found:
                continue
            answered = answered_no(doc, end)
            if answered or negated(doc, start):
                said = denial_words(doc, start, end, answered)
                if said and all((d.code, d.words) != (code, said) for d in denied):
                    denied.append(Flag(code, said, rule))
                    if code == "self_harm_risk":
                        denied_at.append(start)
                continue
            if code == "offender_known" and is_caller(doc, end):
                continue
            if code not in negation()["question_exempt"] and in_question(doc, start):
                continue
            if counsellor_plan(doc, start):
                continue
            flag = Flag(code, clause_of(doc, doc[start:end]), rule)
            if DISTRESS in rule:
                if not callers_own(flag.words):
                    despite = negation()["despite"]
                    distress.append((flag, any(
                        any(t.lower_ in despite for t in doc[at:start]) for at in denied_at)))
                continue
            found[code] = flag
    # a sign of distress raises self-harm unless the note plainly denies self-harm (the
    # counsellor asked, and the answer is in the note), or tells of it after the denial with
    # a "but" ("denies sh but hasn't eaten since thursday")
    code = "self_harm_risk"
    if distress and code not in found:
        if not any(d.code == code for d in denied):
            found[code] = distress[0][0]
        elif any(despite for _, despite in distress):
            found[code] = next(flag for flag, despite in distress if despite)
    return (tuple(sorted(found.values(), key=lambda f: RULE_CODES.index(f.code))),
            tuple(d for d in denied if d.code not in found))


def callers_own(clause: str) -> bool:
    """The clause tells of the caller's own distress, not the child's: "carer not sleeping
    herself", "mum in bits herself", "dad had his own breakdown" (``callers`` and
    ``own_words`` in data/risk/negation.yml)."""
    words = {w.removesuffix("'s").removesuffix("’s") for w in re.findall(r"[\w'’]+", clause.lower())}
    return bool(words & negation()["callers"]) and bool(words & negation()["own_words"])
