"""The helpline guidance as data: paths, checklists, advice, short answers to specific
questions, platforms, takedown tools and country referral pathways.

Plain Python, no Rasa. Everything comes from the YAML files under ``data/guidance/``
(read lazily, once, and cached), so a safeguarding lead can review and change the
knowledge without touching code. :func:`validate` checks those files for consistency.

Roles: there are two paths, ``child`` and ``parent_carer``. A caller whose role is
``other`` (a teacher, social worker, family friend...) follows the ``parent_carer`` path,
because they are an adult worried about a child. An unknown or missing role follows the
``child`` path (the safer default until the counsellor says who is calling). This mirrors
``CaseState.path_role`` in :mod:`actions.casestate`.

Keyword matching (:func:`items_covered`, :func:`platforms_in`, :func:`find_stage`) is
case-insensitive and on word boundaries; each word also matches its plural ("pic" finds
"pics", "reply" finds "replies"); "-" and a mid-word "'" are optional ("self-harm" finds
"self harm", "don't" finds "dont"); ``*`` stands for up to three words; a keyword that
starts with ``re:`` is a regular expression.
"""
from __future__ import annotations

import copy
import datetime as _dt
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterable

from actions.messages import say

DATA_DIR = Path(__file__).resolve().parent.parent / "data" / "guidance"
COUNTRIES_DIR = DATA_DIR / "countries"

ROLES = ("child", "parent_carer")
# Caller roles (the ``caller_role`` slot) and the path each one follows.
ROLE_PATHS = {"child": "child", "parent_carer": "parent_carer", "other": "parent_carer"}
GENERIC = "generic"


@dataclass(frozen=True)
class Stage:
    id: str
    title: str
    say: str


@dataclass(frozen=True)
class Item:
    id: str
    stage: str
    label: str
    prompt: str
    keywords: tuple[str, ...]
    required: bool
    unless: tuple[str, ...] = ()  # words in the sentence that stop the keywords ticking it
    future_ok: bool = False  # a plan said in the future ticks it (paths.yml)


# --------------------------------------------------------------------------- loading

def _plain(value: Any) -> Any:
    """YAML dates (``checked: 2026-11-25``) become ISO strings: JSON-safe everywhere."""
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _read(path: Path) -> Any:
    import yaml  # imported here so importing this module stays cheap

    with path.open(encoding="utf-8") as fh:
        return _plain(yaml.safe_load(fh)) or {}


@lru_cache(maxsize=None)
def _file(name: str) -> Any:
    return _read(DATA_DIR / name)


@lru_cache(maxsize=None)
def _countries() -> dict[str, dict]:
    """Every country file, keyed by its upper-case code (``GENERIC`` for the fallback)."""
    found: dict[str, dict] = {}
    for path in sorted(COUNTRIES_DIR.glob("*.yml")):
        data = _read(path)
        code = str(data.get("code") or path.stem)
        key = GENERIC if code.lower() == GENERIC else code.upper()
        found[key] = data
    return found


@lru_cache(maxsize=None)
def _country_aliases() -> dict[str, str]:
    aliases: dict[str, str] = {}
    for code, data in _countries().items():
        aliases[code.upper()] = code
        for alias in data.get("aliases") or []:
            aliases[str(alias).strip().upper()] = code
    return aliases


# --------------------------------------------------------------------------- matching

_STAR = r"(?:\S+\s+){0,3}"


def _word_re(word: str) -> str:
    """One keyword word: plural-tolerant, '-' optional, mid-word apostrophe optional."""
    out = []
    for i, ch in enumerate(word):
        if ch == "-":
            out.append(r"[-\s]?")
        elif ch in "'’" and i > 0:
            out.append(r"['’]?")
        elif ch in "'’":
            out.append(r"['’]")
        else:
            out.append(re.escape(ch))
    body = "".join(out)
    if word[-1:].isalpha():
        if word.endswith("y") and len(word) > 2 and word[-2] not in "aeiou":
            body = body[:-1] + r"(?:y|ies)"
        else:
            body += r"(?:s|es)?"
    return body


@lru_cache(maxsize=4096)
def _compile(keyword: str) -> re.Pattern:
    if keyword.startswith("re:"):
        return re.compile(keyword[3:], re.IGNORECASE)
    words = keyword.lower().split()
    pattern = ""
    star = False
    for word in words:
        if word == "*":
            star = True
            continue
        if pattern:
            pattern += r"\s+" + (_STAR if star else "")
        star = False
        pattern += _word_re(word)
    first, last = keyword.strip()[:1], keyword.strip()[-1:]
    if re.match(r"\w", first):
        pattern = r"(?<!\w)" + pattern
    if re.match(r"\w", last):
        pattern += r"(?!\w)"
    return re.compile(pattern, re.IGNORECASE)


def _normalise(text: str | None) -> str:
    return " ".join((text or "").replace("’", "'").replace("‘", "'").split())


def _found(keyword: str, text: str) -> re.Match | None:
    return _compile(keyword).search(text)


# --------------------------------------------------------------------------- paths

def path_for(role: str | None) -> str:
    """The path a caller role follows: ``other`` -> parent_carer; unknown/None -> child."""
    key = (role or "").strip().lower()
    if key in ("parent", "carer", "parent/carer"):
        key = "parent_carer"
    return ROLE_PATHS.get(key, "child")


def _path(role: str | None) -> dict:
    return (_file("paths.yml").get("paths") or {}).get(path_for(role)) or {}


@lru_cache(maxsize=None)
def _stage_table(path: str) -> tuple[tuple[Stage, tuple[str, ...]], ...]:
    rows = []
    for raw in _path(path).get("stages") or []:
        st = Stage(id=str(raw["id"]), title=str(raw.get("title") or raw["id"]),
                   say=" ".join(str(raw.get("say") or "").split()))
        aliases = tuple(str(a) for a in raw.get("aliases") or [])
        rows.append((st, aliases))
    return tuple(rows)


@lru_cache(maxsize=None)
def _item_table(path: str) -> tuple[tuple[Item, bool], ...]:
    rows = []
    for raw in _path(path).get("items") or []:
        item = Item(id=str(raw["id"]), stage=str(raw["stage"]), label=str(raw["label"]),
                    prompt=" ".join(str(raw.get("prompt") or "").split()),
                    keywords=tuple(str(k) for k in raw.get("keywords") or []),
                    required=bool(raw.get("required", True)),
                    unless=tuple(str(k) for k in raw.get("unless") or []),
                    future_ok=bool(raw.get("future_ok", False)))
        rows.append((item, bool(raw.get("platforms", False))))
    return tuple(rows)


def stages(role: str) -> list[Stage]:
    """The stages of the caller's path, in the guidance's order."""
    return [st for st, _ in _stage_table(path_for(role))]


def stage(role: str, stage_id: str | None) -> Stage | None:
    """The stage with this id (case-insensitive; spaces count as underscores), or None."""
    key = "_".join((stage_id or "").strip().lower().replace("-", " ").split())
    return next((st for st in stages(role) if st.id == key), None)


def find_stage(role: str, text: str) -> Stage | None:
    """The stage a counsellor's words point to ("go to advice", "back to the risk
    questions", "tips"): the stage whose id, title or alias matches the longest phrase;
    on a tie the earlier stage wins. None when nothing matches."""
    text = _normalise(text)
    best: tuple[int, int, Stage] | None = None
    for order, (st, aliases) in enumerate(_stage_table(path_for(role))):
        for phrase in (st.id.replace("_", " "), st.title, *aliases):
            match = _found(phrase, text)
            if match and (best is None or len(match.group(0)) > best[0]):
                best = (len(match.group(0)), order, st)
    return best[2] if best else None


def checklist(role: str) -> list[Item]:
    """Every checklist item of the caller's path, in order."""
    return [item for item, _ in _item_table(path_for(role))]


def next_item(role: str, done: Iterable[str], skipped: Iterable[str] = ()) -> Item | None:
    """The first item, in path order, neither done nor skipped (optional items included:
    they are suggested, never insisted on). None when every item is done or skipped."""
    done_ids = set(done or ()) | set(skipped or ())
    return next((item for item in checklist(role) if item.id not in done_ids), None)


@lru_cache(maxsize=1)
def _not_done_rules() -> dict[str, re.Pattern]:
    """The ``not_done`` block of paths.yml compiled: the words that say an item mentioned
    was not done ("haven't asked about suicide yet", "need to explain the police",
    "he will come back tomorrow")."""
    spec = _file("paths.yml").get("not_done") or {}

    def alt(key: str) -> str:
        words = sorted((str(w).lower() for w in spec.get(key) or []), key=len, reverse=True)
        return "|".join((r"(?<![\w'])" if w[:1].isalnum() else "")
                        + r"\s+".join(re.escape(p) for p in w.split()) for w in words)

    actions, gap = alt("actions"), r"(?:[\w'-]+\s+){0,3}?"
    negated = rf"(?:{alt('negations')})\s+{gap}(?:{actions})(?![\w'])"
    intended = rf"(?:{alt('intentions')})\s+{gap}(?:{actions})(?![\w'])"
    by_me = r"(?:^|[.;!?,\n])\W*(?:(?:i|we|still|just)\s+)*"
    return {
        # "haven't asked about ...", "didn't get to ...", "not yet covered ..."
        "negated": re.compile(negated),
        # "need to ask about ...", "will explain ...", "going to check ..."
        "intended": re.compile(intended),
        # the same said of the counsellor ("haven't asked yet"), not of the caller ("she
        # hasn't told anyone" answers "who else knows?")
        "negated_by_me": re.compile(by_me + negated),
        "intended_by_me": re.compile(by_me + intended),
        # "he will come back tomorrow": an intention right before the words
        "future": re.compile(rf"(?:{alt('intentions')})\s+(?:[\w'-]+\s+)?$"),
        # "ask about self-harm", "todo: police": a note of what to do
        "todo": re.compile(rf"^\W*(?:{alt('todo_starts')})(?![\w'])"),
        # "suicide - not asked yet", "self-harm: to ask", "not yet"
        "after": re.compile(rf"(?:{alt('after')})(?![\w'])"),
    }


_CLAUSE_BREAK = re.compile(r"[.;!?\n,]|(?<![\w'])(?:but|although|though|however)(?![\w'])",
                           re.IGNORECASE)
_SENTENCE_BREAK = re.compile(r"[.;!?\n]")


def _bounds(text: str, start: int, end: int, breaks: re.Pattern) -> tuple[int, int]:
    """Where the clause (or sentence) around ``text[start:end]`` begins and ends."""
    begin = max((m.end() for m in breaks.finditer(text, 0, start)), default=0)
    after = breaks.search(text, end)
    return begin, after.start() if after else len(text)


def not_done(text: str | None) -> bool:
    """The words say something was not done, or is still to do ("not yet", "will ask
    later", "haven't got to that"): never the answer to a question just suggested."""
    text = _normalise(text).lower()
    if not text:
        return False
    rules = _not_done_rules()
    alone = {" ".join(str(w).lower().split())
             for w in (_file("paths.yml").get("not_done") or {}).get("alone") or []}
    return _bare(text) in alone or any(
        rules[k].search(text) for k in ("negated_by_me", "intended_by_me", "after", "todo"))


def _affirmed(text: str, match: re.Match, item: Item) -> bool:
    """The words found say the item was done or answered: not negated ("haven't asked
    about suicide"), not intended ("will explain reporting to police"), not a note of what
    to ask ("ask about self-harm?"), not in a sentence with one of the item's ``unless``
    words ("he'll tell her mum unless she pays")."""
    low = text.lower()
    rules = _not_done_rules()
    begin, end = _bounds(low, match.start(), match.end(), _CLAUSE_BREAK)
    before, after = low[begin:match.start()], low[match.end():end]
    if rules["negated"].search(before) or rules["intended"].search(before) \
            or (not item.future_ok and rules["future"].search(before)) \
            or rules["todo"].search(before + " ") \
            or rules["after"].search(after):
        return False
    s_begin, s_end = _bounds(low, match.start(), match.end(), _SENTENCE_BREAK)
    sentence = low[s_begin:s_end]
    if item.unless and any(_found(u, sentence) for u in item.unless):
        return False
    if low[s_end:s_end + 1] == "?":  # a question, unless an answer follows it
        rest = low[s_end + 1:].strip(" -:–")
        return bool(rest) and not not_done(rest)
    return True


def items_covered(role: str, text: str) -> list[str]:
    """Ids of the items whose keywords the text says were done or answered (in path
    order): a keyword found but negated, intended or asked about does not count."""
    text = _normalise(text)
    if not text:
        return []
    mentions_platform: bool | None = None
    covered = []
    for item, by_platform in _item_table(path_for(role)):
        if any(_affirmed(text, m, item) for k in item.keywords
               for m in _compile(k).finditer(text)):
            covered.append(item.id)
        elif by_platform:
            if mentions_platform is None:
                mentions_platform = bool(platforms_in(text))
            if mentions_platform:
                covered.append(item.id)
    return covered


def checklist_state(role: str, done: Iterable[str], skipped: Iterable[str] = ()) -> list[dict]:
    """``[{"id", "label", "done", "skipped"}]`` in path order, for the panel's case_state
    message. A skipped item ("what next?" moved on from it) is not done."""
    done_ids, skipped_ids = set(done or ()), set(skipped or ())
    return [{"id": i.id, "label": i.label, "done": i.id in done_ids,
             "skipped": i.id in skipped_ids and i.id not in done_ids} for i in checklist(role)]


# --------------------------------------------------------------------------- advice

def advice(role: str) -> list[dict]:
    """The practical advice worded for the caller's path: ``{"id", "title", "text"}``
    (plus ``note`` where the file has one)."""
    path = path_for(role)
    out = []
    for raw in _file("advice.yml").get("advice") or []:
        roles = raw.get("roles")
        if roles and path not in roles:
            continue
        text = raw.get(path) or raw.get("text") or raw.get("child") or ""
        entry = {"id": raw["id"], "title": raw["title"], "text": " ".join(str(text).split())}
        if raw.get("note"):
            entry["note"] = " ".join(str(raw["note"]).split())
        out.append(entry)
    return out


# --------------------------------------------------------------------------- platforms

@lru_cache(maxsize=None)
def _platform_table() -> tuple[dict, ...]:
    return tuple(_file("platforms.yml").get("platforms") or [])


def _clean(entry: dict) -> dict:
    out = copy.deepcopy(entry)
    for key in ("say", "text", "in_app", "note", "how", "who_for"):
        if isinstance(out.get(key), str):
            out[key] = " ".join(out[key].split())
    return out


def platform(name_or_alias: str | None) -> dict | None:
    """The platform with this id, name or alias (case-insensitive), or None."""
    key = " ".join((name_or_alias or "").strip().lower().lstrip("@").split())
    if not key:
        return None
    for entry in _platform_table():
        names = {str(entry.get("id", "")).lower(), str(entry.get("name", "")).lower(),
                 *(str(a).lower() for a in entry.get("aliases") or [])}
        if key in names or key.replace(" ", "_") in names:
            return _clean(entry)
    return None


def platforms_in(text: str) -> list[dict]:
    """Platforms named in free text, by name or alias, in the order of platforms.yml.
    Aliases listed under ``exact_only`` (such as "x") are not looked for in sentences.
    A name found only inside another app's longer name ("messenger" in "kik messenger")
    does not count."""
    text = _normalise(text)
    if not text:
        return []
    found = []
    spans: dict[str, list[tuple[int, int]]] = {}
    for entry in _platform_table():
        exact = {str(a).lower() for a in entry.get("exact_only") or []}
        names = [entry.get("name", ""), str(entry.get("id", "")).replace("_", " "),
                 *(a for a in entry.get("aliases") or [] if str(a).lower() not in exact)]
        # "X (Twitter)" -> look for "X" only if not exact-only, and for "Twitter"
        words = []
        for n in names:
            for part in re.split(r"[()]", str(n)):
                part = part.strip()
                if part and part.lower() not in exact:
                    words.append(part)
        pid = str(entry.get("id"))
        spans[pid] = [m.span() for w in words for m in _compile(w).finditer(text)]
        if spans[pid]:
            found.append(_clean(entry))

    def inside(span: tuple[int, int], pid: str) -> bool:
        return any(o != span and o[0] <= span[0] and span[1] <= o[1]
                   for other, its in spans.items() if other != pid for o in its)

    return [e for e in found
            if not all(inside(span, str(e["id"])) for span in spans[str(e["id"])])]


# --------------------------------------------------------------------------- countries

def _country_key(country: str | None) -> str:
    key = (country or "").strip().upper()
    if not key or key == GENERIC.upper():
        return GENERIC
    return _country_aliases().get(key, GENERIC)


def _tool_applies(tool: dict, code: str, child: bool) -> bool:
    countries = [str(c).upper() for c in tool.get("countries") or []]
    if "ANY" not in countries and code.upper() not in countries:
        return False
    min_age, max_age = tool.get("min_age"), tool.get("max_age")
    if child:
        if tool.get("never_for_children") or (min_age is not None and min_age >= 18):
            return False
    elif max_age is not None and max_age < 18:
        return False
    return True


def takedown_tools(country: str | None, child: bool = True) -> list[dict]:
    """Takedown and reporting tools for the country, in the order of takedown.yml.

    ``child=True`` (the person in the image is a child now): never StopNCII or any other
    adults-only tool, and the tools marked ``first_for_children`` come first (in
    Australia the ACCCE, the route for under-18s, before eSafety and Take It Down).
    ``child=False`` (an adult now): adult tools, and nothing limited to under-18s, in the
    file's order. An unknown country gets the tools that work anywhere.
    """
    code = _country_key(country)
    tools = [t for t in _file("takedown.yml").get("tools") or []
             if _tool_applies(t, code, child)]
    if child:
        tools.sort(key=lambda t: not t.get("first_for_children"))  # stable: file order
    return [_clean(t) for t in tools]


def referral(country: str | None) -> dict:
    """The country file (referral pathway, support lines, emergency number, takedown
    tools), found by code or alias, case-insensitive; ``generic.yml`` for an unknown or
    missing country. ``takedown`` holds the full tool entries for a child."""
    code = _country_key(country)
    data = copy.deepcopy(_countries().get(code) or _countries().get(GENERIC) or {})
    for step in data.get("referral_pathway") or []:
        if isinstance(step, dict) and isinstance(step.get("text"), str):
            step["text"] = " ".join(step["text"].split())
    data["takedown"] = takedown_tools(code, child=True)
    return data


# --------------------------------------------------------------------------- answers

#: At most this many answers to one question (answers.yml's order is the priority).
MAX_ANSWERS = 2
#: At most this many apps' reporting routes in one answer.
MAX_ROUTES = 2


@dataclass(frozen=True)
class Reply:
    """A short answer to a specific question (answers.yml), for the caller's path."""

    ids: tuple[str, ...]  # answers.yml ids given, in order (the advice codes for the notes)
    platforms: tuple[str, ...]  # names of the apps whose reporting route is given
    lines: tuple[str, ...]  # the answer, direct answer first
    more: bool  # the advice list (advice.yml) has advice these answers do not cover


@lru_cache(maxsize=None)
def _answer_table() -> tuple[dict, ...]:
    return tuple(_file("answers.yml").get("answers") or [])


def _paragraphs(text: Any) -> list[str]:
    """A ``>-`` block's paragraphs (a blank line in the file), each on one line."""
    return [" ".join(p.split()) for p in str(text or "").split("\n") if p.strip()]


def _bare(text: str) -> str:
    """The words alone: lower case, no punctuation at either end, no "please"."""
    bare = re.sub(r"^[^\w']+|[^\w']+$", "", text.lower())
    bare = re.sub(r"^(?:(?:please|pls|ok|okay|so)\s+)+", "", bare)
    return re.sub(r"(?:\s+(?:please|pls|thanks))+$", "", bare)


def wants_full_advice(text: str | None) -> bool:
    """The words ask for the whole advice list: "all advice", "full advice", or a word
    such as "everything" on its own (answers.yml ``full_advice``)."""
    text = _normalise(text)
    if not text:
        return False
    spec = _file("answers.yml").get("full_advice") or {}
    if any(_found(str(p), text) for p in spec.get("phrases") or []):
        return True
    return _bare(text) in {" ".join(str(a).lower().split()) for a in spec.get("alone") or []}


def _selects(raw: dict, text: str) -> bool:
    if any(_found(str(k), text) for k in raw.get("unless") or []):
        return False
    if any(_found(str(k), text) for k in raw.get("any") or []):
        return True
    groups = raw.get("all") or []
    return bool(groups) and all(any(_found(str(k), text) for k in group or [])
                                for group in groups)


def _route(entry: dict) -> str:
    """An app's reporting route: the in-app steps, then its link (introduced by its
    ``url_label`` when it has one; none when ``url`` is null)."""
    line = say("advice.route", platform=entry["name"], steps=entry["in_app"])
    if entry.get("url") and entry.get("url_label"):
        return say("advice.route_labelled_link", route=line, label=entry["url_label"],
                   url=entry["url"])
    return say("advice.route_link", route=line, url=entry["url"]) if entry.get("url") else line


def core_advice(role: str | None) -> list[dict]:
    """The core advice said with every app's reporting route (platforms.yml
    ``core_advice``), in order, worded for the caller's path: ``{"id", "text"}``."""
    path = path_for(role)
    return [{"id": str(raw["id"]),
             "text": " ".join(str(raw.get(path) or raw.get("text") or "").split())}
            for raw in _file("platforms.yml").get("core_advice") or []]


def _with_core(path: str, routes: list[str]) -> list[str]:
    """The routes, after the core advice: every step before the last on one line, then
    the last (report and block), then the routes."""
    if not routes:
        return []
    steps = [c["text"] for c in core_advice(path) if c["text"]]
    return ([" ".join(steps[:-1])] if len(steps) > 1 else []) + steps[-1:] + routes


def _answer_lines(raw: dict, path: str, country: str | None, routes: list[str]) -> list[str]:
    lines: list[str] = []
    if raw.get("tools") == "takedown":
        lines += [say("advice.takedown_tool", name=t["name"], who_for=t["who_for"], url=t["url"])
                  for t in takedown_tools(country, child=True) if t.get("kind") == "takedown"]
    if routes and raw.get("platform_text"):
        return lines + _with_core(path, routes) + _paragraphs(raw["platform_text"])
    lines += _paragraphs(raw.get(path) or raw.get("text") or raw.get("child"))
    if raw.get("country_step"):
        step = next((s for s in referral(country).get("referral_pathway") or []
                     if isinstance(s, dict) and s.get("id") == raw["country_step"]), None)
        if step:
            lines.append(say("advice.step_link", text=step["text"], url=step["url"])
                         if step.get("url") else step["text"])
    return lines + _with_core(path, routes)


def answer(role: str | None, text: str | None, country: str | None = None,
           named: Iterable[dict] = ()) -> Reply | None:
    """The short answer to a specific question, or None when the question names no topic
    of answers.yml and no app (then the whole advice list is the answer).

    Up to :data:`MAX_ANSWERS` answers, in the file's order (safety first). ``named``:
    platform entries already found (the classifier's ``platform`` entity); otherwise the
    apps are looked for in the text. An app's reporting route is given when no topic is
    found, or with an answer marked ``platform: true`` (reporting, takedown), always
    after the core advice (:func:`core_advice`: evidence first, then report and block)."""
    text = _normalise(text)
    path = path_for(role)
    chosen = [raw for raw in _answer_table() if _selects(raw, text)][:MAX_ANSWERS]
    apps = [p for p in named if p] or platforms_in(text)
    apps = list({p["id"]: p for p in apps}.values())[:MAX_ROUTES]
    if not chosen and not apps:
        return None
    with_routes = bool(apps) and (not chosen or any(r.get("platform") for r in chosen))
    routes = [_route(p) for p in apps] if with_routes else []
    lines: list[str] = []
    if not chosen:
        lines = _with_core(path, routes)
    for raw in chosen:
        given_here = routes if raw.get("platform") and routes and not any(
            r in lines for r in routes) else []
        lines += [line for line in _answer_lines(raw, path, country, given_here)
                  if line not in lines]  # a line two answers share is said once
    covered = {str(c) for raw in chosen for c in raw.get("covers") or []}
    if routes:
        covered.update(c["id"] for c in core_advice(path))
    catalogue = {a["id"] for a in advice(path)}
    return Reply(ids=tuple(str(raw["id"]) for raw in chosen),
                 platforms=tuple(p["name"] for p in apps) if routes else (),
                 lines=tuple(lines), more=bool(catalogue - covered))


_QUESTION_START = re.compile(
    r"^(?:what|whats|what's|wat|how|why|when|where|who|whos|who's|which|should|shall|"
    r"could|can|would|is\s+(?:it|this|that|there|she|he|they|i|we|the)|"
    r"are\s+(?:they|we|you|there|the)|do\s+(?:i|we|you|they|she|he)|"
    r"does\s+(?:she|he|it|the|that|this)|did\s+(?:she|he|they|you|i|we)|"
    r"will\s+(?:she|he|they|it|i|we|you|the)|has\s+(?:she|he|it)|"
    r"have\s+(?:they|we|you|i))\b", re.I)
_TO_ASSISTANT = re.compile(
    r"^(?:tell\s+me|show\s+me|give\s+me|help|hi|hello|hey|thanks|thank\s+you|bye)\b"
    r"|(?<![\w'])(?:you|your|you're|youre|u|ur)(?![\w'])", re.I)
_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


def _word_like(word: str) -> bool:
    if not word.isascii():
        return True  # another script: no spelling check here
    low = word.lower()
    return bool(re.search(r"[aeiouy]", low)) and not re.search(r"[^aeiouy']{5,}", low) \
        and len(low) <= 25


def message_kind(text: str | None) -> str:
    """What a message the classifier could not place looks like: ``question`` (ends with
    "?" or starts like one), ``note`` (a plain statement of at least two real-looking
    words, not addressed to the assistant: something about the call), or ``unclear``
    (no words, one word, gibberish, or words to the assistant). When unsure, ``unclear``."""
    text = _normalise(text)
    if not text:
        return "unclear"
    if text.rstrip().endswith("?") or _QUESTION_START.match(_bare(text)):
        return "question"
    words = _WORD.findall(text)
    real = [w for w in words if _word_like(w)]
    if len(real) < 2 or len(real) * 3 < len(words) * 2 or _TO_ASSISTANT.search(text):
        return "unclear"
    return "note"


# --------------------------------------------------------------------------- checks

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _bundle() -> dict[str, Any]:
    return {
        "paths": _file("paths.yml"),
        "advice": _file("advice.yml"),
        "platforms": _file("platforms.yml"),
        "takedown": _file("takedown.yml"),
        "answers": _file("answers.yml"),
        "countries": _countries(),
    }


def validate() -> list[str]:
    """Consistency problems across the data files; empty when all is well."""
    try:
        data = _bundle()
    except Exception as exc:  # a file that does not parse is a problem to report
        return [f"cannot load data/guidance: {type(exc).__name__}: {exc}"]
    return problems(data)


def _links(where: str, node: Any, out: list[str]) -> None:
    """Every link https; every entry with a link or a phone number has a ``source`` (where
    its fact was taken from) and a ``checked`` key. Any ``checked`` (an entry's or a whole
    file's) is null, or the date (YYYY-MM-DD, not in the future) on which a person or
    scripts/links.py actually loaded the link; null until someone has."""
    if isinstance(node, dict):
        name = node.get("id") or node.get("name") or node.get("code") or "(file)"
        if ("url" in node or "number" in node) and not node.get("source"):
            out.append(f"{where}: {name}: no source")
        if ("url" in node or "number" in node) and "checked" not in node:
            out.append(f"{where}: {name}: no checked key (null until a link is loaded)")
        if node.get("checked") is not None:
            checked = str(node["checked"])
            try:
                future = _dt.date.fromisoformat(checked) > _dt.date.today()
            except ValueError:
                future = None
            if not _DATE.match(checked) or future is None:
                out.append(f"{where}: {name}: checked {checked!r} is neither null nor a "
                           "date (YYYY-MM-DD)")
            elif future:
                out.append(f"{where}: {name}: checked {checked} is in the future")
        for key, value in node.items():
            if str(key).endswith("url") and value is not None and not (
                    isinstance(value, str) and value.startswith("https://")
                    and " " not in value):  # null: no link (the entry says why)
                out.append(f"{where}: {key} {value!r} is not an https link")
            _links(where, value, out)
    elif isinstance(node, list):
        for value in node:
            _links(where, value, out)
    elif isinstance(node, str) and node.startswith("http://"):
        out.append(f"{where}: {node!r} is not an https link")


def problems(data: dict[str, Any]) -> list[str]:
    """The checks behind :func:`validate`, on already-loaded data (testable on edits)."""
    out: list[str] = []
    id_re = re.compile(r"^[a-z][a-z0-9_]*$")

    # paths: both roles, stages and items well formed, item stages known, ids unique
    paths = (data.get("paths") or {}).get("paths") or {}
    for role in ROLES:
        path = paths.get(role)
        if not path:
            out.append(f"paths.yml: no path for {role}")
            continue
        stage_ids: list[str] = []
        for st in path.get("stages") or []:
            sid = st.get("id")
            if not sid or not id_re.match(str(sid)):
                out.append(f"paths.yml: {role}: bad stage id {sid!r}")
            if sid in stage_ids:
                out.append(f"paths.yml: {role}: duplicate stage id {sid}")
            stage_ids.append(sid)
            for key in ("title", "say"):
                if not st.get(key):
                    out.append(f"paths.yml: {role}: stage {sid}: no {key}")
        if not stage_ids:
            out.append(f"paths.yml: {role}: no stages")
        item_ids: list[str] = []
        last_stage = 0
        for it in path.get("items") or []:
            iid = it.get("id")
            if not iid or not id_re.match(str(iid)):
                out.append(f"paths.yml: {role}: bad item id {iid!r}")
            if iid in item_ids:
                out.append(f"paths.yml: {role}: duplicate item id {iid}")
            item_ids.append(iid)
            if it.get("stage") not in stage_ids:
                out.append(f"paths.yml: {role}: item {iid}: unknown stage {it.get('stage')!r}")
            else:
                pos = stage_ids.index(it["stage"])
                if pos < last_stage:
                    out.append(f"paths.yml: {role}: item {iid} is out of stage order")
                last_stage = max(last_stage, pos)
            for key in ("label", "prompt"):
                if not it.get(key):
                    out.append(f"paths.yml: {role}: item {iid}: no {key}")
            if "required" in it and not isinstance(it["required"], bool):
                out.append(f"paths.yml: {role}: item {iid}: required must be true/false")
            for kw in it.get("keywords") or []:
                try:
                    _compile(str(kw))
                except re.error as exc:
                    out.append(f"paths.yml: {role}: item {iid}: bad keyword {kw!r}: {exc}")
        for sid in stage_ids:
            if sid and sid not in {it.get("stage") for it in path.get("items") or []}:
                out.append(f"paths.yml: {role}: stage {sid} has no checklist item")

    # advice: ids unique, wording for every role it is meant for
    advice_ids: list[str] = []
    for raw in (data.get("advice") or {}).get("advice") or []:
        aid = raw.get("id")
        if aid in advice_ids:
            out.append(f"advice.yml: duplicate id {aid}")
        advice_ids.append(aid)
        if not raw.get("title"):
            out.append(f"advice.yml: {aid}: no title")
        for role in raw.get("roles") or ROLES:
            if role not in ROLES:
                out.append(f"advice.yml: {aid}: unknown role {role}")
            elif not (raw.get(role) or raw.get("text")):
                out.append(f"advice.yml: {aid}: no wording for {role}")

    # platforms: ids unique, names/aliases not shared between platforms, link present
    seen_names: dict[str, str] = {}
    for entry in (data.get("platforms") or {}).get("platforms") or []:
        pid = entry.get("id")
        for key in ("name", "in_app", "url"):
            if key == "url" and "url" in entry and entry["url"] is None and entry.get("note"):
                continue  # url: null, the note says why: the in-app route is the way
            if not entry.get(key):
                out.append(f"platforms.yml: {pid}: no {key}")
        for name in [pid, entry.get("name"), *(entry.get("aliases") or [])]:
            low = str(name).lower()
            if low in seen_names and seen_names[low] != pid:
                out.append(f"platforms.yml: {name!r} names both {seen_names[low]} and {pid}")
            seen_names[low] = pid

    # takedown: ids unique, StopNCII-like tools never offered to children
    tools = (data.get("takedown") or {}).get("tools") or []
    tool_ids = [t.get("id") for t in tools]
    for tid in {t for t in tool_ids if tool_ids.count(t) > 1}:
        out.append(f"takedown.yml: duplicate id {tid}")
    for tool in tools:
        for key in ("name", "who_for", "how", "url", "countries"):
            if not tool.get(key):
                out.append(f"takedown.yml: {tool.get('id')}: no {key}")
        if (tool.get("min_age") or 0) >= 18 and not tool.get("never_for_children"):
            out.append(f"takedown.yml: {tool.get('id')}: adults-only tool must be "
                       "marked never_for_children: true")

    # countries: generic exists; pathway, lines, emergency; tools listed = tools that apply
    countries = data.get("countries") or {}
    if GENERIC not in countries:
        out.append("countries/generic.yml is missing (the fallback)")
    for code, country in countries.items():
        where = f"countries/{code}.yml"
        if "checked" not in country:
            out.append(f"{where}: no checked key (null until its links are loaded)")
        if not country.get("emergency"):
            out.append(f"{where}: no emergency number")
        steps = country.get("referral_pathway") or []
        if not steps:
            out.append(f"{where}: no referral_pathway")
        step_ids = [s.get("id") for s in steps if isinstance(s, dict)]
        for needed in ("police", "child_protection"):
            if needed not in step_ids:
                out.append(f"{where}: no {needed} step in referral_pathway")
        if not country.get("support_lines"):
            out.append(f"{where}: no support_lines")
        for step in steps:
            if not isinstance(step, dict) or not step.get("text") or not step.get("source"):
                out.append(f"{where}: referral step without text or source: {step!r}")
        for line in country.get("support_lines") or []:
            if not (line.get("number") or line.get("contact")) or not line.get("source"):
                out.append(f"{where}: support line without number/contact or source")
        listed = list(country.get("takedown_tools") or [])
        for tid in listed:
            if tid not in tool_ids:
                out.append(f"{where}: unknown takedown tool {tid}")
        wanted = sorted((t for t in tools if _tool_applies(t, code, child=True)),
                        key=lambda t: not t.get("first_for_children"))
        wanted = [t.get("id") for t in wanted]
        if listed != wanted:
            out.append(f"{where}: takedown_tools {listed} should be {wanted} "
                       "(as takedown.yml says, in its order, first_for_children first)")

    # answers: ids unique, wording for both paths, keywords that compile, known advice ids
    answer_ids: list[str] = []
    for raw in (data.get("answers") or {}).get("answers") or []:
        aid = raw.get("id")
        if not aid or not id_re.match(str(aid)):
            out.append(f"answers.yml: bad id {aid!r}")
        if aid in answer_ids:
            out.append(f"answers.yml: duplicate id {aid}")
        answer_ids.append(aid)
        for role in ROLES:
            if not (raw.get(role) or raw.get("text")):
                out.append(f"answers.yml: {aid}: no wording for {role}")
        if not (raw.get("any") or raw.get("all")):
            out.append(f"answers.yml: {aid}: no keywords (any / all)")
        groups = [raw.get("any") or [], raw.get("unless") or [], *(raw.get("all") or [])]
        for kw in (k for group in groups for k in group or []):
            try:
                _compile(str(kw))
            except re.error as exc:
                out.append(f"answers.yml: {aid}: bad keyword {kw!r}: {exc}")
        for cid in raw.get("covers") or []:
            if cid not in advice_ids:
                out.append(f"answers.yml: {aid}: covers unknown advice id {cid}")
        if raw.get("tools") not in (None, "takedown"):
            out.append(f"answers.yml: {aid}: unknown tools {raw.get('tools')!r}")
        step = raw.get("country_step")
        for code, country in (data.get("countries") or {}).items() if step else ():
            if step not in [s.get("id") for s in country.get("referral_pathway") or []
                            if isinstance(s, dict)]:
                out.append(f"answers.yml: {aid}: countries/{code}.yml has no step {step}")
        for key, value in raw.items():
            if "http" in str(value):
                out.append(f"answers.yml: {aid}: {key} holds a link; links come from "
                           "takedown.yml, platforms.yml and the country files")

    # links and sources everywhere
    for name, node in (("paths.yml", data.get("paths")), ("advice.yml", data.get("advice")),
                       ("platforms.yml", data.get("platforms")),
                       ("takedown.yml", data.get("takedown")),
                       ("answers.yml", data.get("answers"))):
        _links(name, node, out)
    for code, country in countries.items():
        _links(f"countries/{code}.yml", country, out)
    return out
