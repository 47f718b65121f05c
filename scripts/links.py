#!/usr/bin/env python3
"""Load every link in the data files and say what answered (the `make links` check).

    python scripts/links.py [--data DIR] [--record] [--timeout SECONDS] [--workers N]

Finds every URL in DIR/**/*.yml (default: the repository's data/), with its file and the
entry (the ``id`` or ``name`` of the list item it is in), loads each one (HEAD, then GET
when HEAD is refused; redirects followed; a browser-like User-Agent) and prints a table:
file, entry, URL, status, and the final URL when it was redirected. Progress goes to
stderr, one line per URL.

Exit code: 0 every link loaded (2xx/3xx); 1 some did not; 2 none answered at all (DNS or
connection failures for every link): the network seems unreachable from this machine and
nothing was checked.

``--record`` writes today's date into the ``checked:`` line of every entry whose links all
loaded, and into a file's top-level ``checked:`` when every link of that file loaded. Only
that one line changes (comments and layout stay). An entry without a ``checked:`` line of
its own is listed for a person to edit instead. ``checked`` means a link was actually
loaded on that day: never write it by hand for a link nobody loaded.

Standard library only. The YAML is read line by line (the data files use block mappings,
block lists and folded text), so the line to change is known exactly.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import http.client
import re
import socket
import sys
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "data"
TIMEOUT = 10.0
WORKERS = 8
USER_AGENT = ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
              "Chrome/124.0 Safari/537.36")
UNREACHABLE = ("The network seems unreachable from this machine: no link answered "
               "(DNS or connection failures for all {n}), so nothing was checked.")

# --------------------------------------------------------------------------- finding

URL_RE = re.compile(r"https?://[^\s'\"<>\[\]{}|\\^`,]+")
_KEY_RE = re.compile(r"""^(?P<key>"[^"]*"|'[^']*'|[^\s#'"\[\]{},&*!|>%@`-][^:#]*?|-[^\s:#][^:#]*?)"""
                     r"""\s*:(?:\s+(?P<value>.*))?$""")
_BLOCK_RE = re.compile(r"^[|>][+-]?\d*$")
_ROOT = 0  # the id of a file's top-level mapping


@dataclass
class _Frame:
    fid: int
    indent: int
    kind: str  # "item" or "key"
    parent: "_Frame | None"
    name: str = ""  # the key (kind "key")
    label: str | None = None  # the item's id / name / code (kind "item")
    label_key: str = ""


@dataclass
class Link:
    file: str  # as shown: relative to the data folder's parent, e.g. data/guidance/x.yml
    line: int  # 0-based line of the URL
    entry: str  # id or name of the entry (list item) it belongs to, or the key path
    key: str  # the key that holds it (url, more_info_url, text...)
    url: str
    container: int  # the mapping the key is in; its checked: line is the entry's
    checked_line: int | None = None  # 0-based line of that mapping's checked:, if any
    top_checked_line: int | None = None  # the file's top-level checked:, if any

    @property
    def where(self) -> str:
        return self.entry if self.key == "url" else f"{self.entry} ({self.key})"


def _unquote(value: str) -> str:
    value = value.strip()
    if value[:1] in "\"'" and value[-1:] == value[:1] and len(value) > 1:
        return value[1:-1]
    return re.sub(r"\s+#.*$", "", value).strip()


def _urls(text: str) -> list[str]:
    out = []
    for match in URL_RE.finditer(text):
        url = match.group(0).rstrip(".;:!?")
        while url.endswith(")") and url.count(")") > url.count("("):
            url = url[:-1]
        if re.match(r"https?://[\w\[]", url):  # a host, not "https://" said in prose
            out.append(url)
    return out


def scan(text: str, file: str) -> list[Link]:
    """Every URL in one YAML text (comments skipped), with its entry and the line of the
    entry's ``checked:``. Handles block mappings and lists, folded/literal text and
    one-line flow lists: what the data files use."""
    lines = text.splitlines()
    frames: list[_Frame] = []
    siblings: dict[int, dict[str, int]] = {_ROOT: {}}
    found: list[tuple[int, str, str, _Frame | None]] = []  # line, key, url, container
    block: _Frame | None = None  # the key whose |/> text the following lines are
    counter = [_ROOT]

    def new_id() -> int:
        counter[0] += 1
        return counter[0]

    def pop(indent: int) -> None:
        while frames and frames[-1].indent >= indent:
            frames.pop()

    for i, raw in enumerate(lines):
        stripped = raw.strip()
        indent = len(raw) - len(raw.lstrip(" "))
        if block is not None:
            if not stripped or indent > block.indent:
                found += [(i, block.name, u, block.parent) for u in _urls(raw)]
                continue
            block = None
        if not stripped or stripped.startswith("#") or stripped in ("---", "...") \
                or stripped.startswith("%"):
            continue
        content, col = stripped, indent
        while content == "-" or content.startswith("- "):
            pop(col)
            frames.append(_Frame(new_id(), col, "item", frames[-1] if frames else None))
            siblings[frames[-1].fid] = {}
            rest = content[1:]
            col += 1 + len(rest) - len(rest.lstrip(" "))
            content = rest.strip()
        if not content:
            continue
        match = _KEY_RE.match(content)
        if match and not content.startswith(("http://", "https://")):
            pop(col)
            parent = frames[-1] if frames else None
            key = _unquote(match.group("key"))
            value = match.group("value") or ""
            frame = _Frame(new_id(), col, "key", parent, name=key)
            frames.append(frame)
            siblings.setdefault(parent.fid if parent else _ROOT, {}).setdefault(key, i)
            plain = _unquote(value) if value else ""
            if parent is not None and parent.kind == "item" and key in ("id", "name", "code") \
                    and plain and (parent.label is None or
                                   ("id", "name", "code").index(key)
                                   < ("id", "name", "code").index(parent.label_key)):
                parent.label, parent.label_key = plain, key
            if _BLOCK_RE.match(plain):
                block = frame
                continue
            found += [(i, key, u, parent) for u in _urls(re.sub(r"\s+#.*$", "", value))]
        else:  # a list value ("- https://..."), or more lines of a plain scalar
            owner = frames[-1] if frames else None
            while owner is not None and owner.kind == "item":
                owner = owner.parent  # the key that holds the list
            key = owner.name if owner is not None else ""
            container = owner.parent if owner is not None else None
            found += [(i, key, u, container) for u in _urls(re.sub(r"\s+#.*$", "", content))]

    top = siblings[_ROOT].get("checked")
    links = []
    for line, key, url, container in found:
        chain, node = [], container
        while node is not None:
            chain.append(node)
            node = node.parent
        label = next((f.label for f in chain if f.kind == "item" and f.label), None)
        if label is None:
            names = [f.name for f in reversed(chain) if f.kind == "key"]
            label = ".".join(names + [key]) if names else key
        cid = container.fid if container is not None else _ROOT
        links.append(Link(file=file, line=line, entry=label, key=key, url=url,
                          container=cid, checked_line=siblings.get(cid, {}).get("checked"),
                          top_checked_line=top))
    return links


def yaml_files(data_dir: Path) -> list[Path]:
    return sorted(p for p in Path(data_dir).rglob("*") if p.suffix in (".yml", ".yaml")
                  and p.is_file() and not any(part.startswith(".") for part in p.parts))


def shown(path: Path, data_dir: Path) -> str:
    data_dir = Path(data_dir)
    return (Path(data_dir.name) / path.relative_to(data_dir)).as_posix()


def find_links(data_dir: Path = DATA) -> list[Link]:
    """Every URL in data_dir/**/*.yml, in file and line order."""
    links: list[Link] = []
    for path in yaml_files(data_dir):
        links += scan(path.read_text(encoding="utf-8"), shown(path, data_dir))
    return links


# --------------------------------------------------------------------------- loading

@dataclass
class Result:
    url: str
    status: int | None = None  # the last HTTP status received (None: no answer at all)
    final_url: str | None = None  # where the redirects ended
    redirects: list[int] = field(default_factory=list)  # 301, 302... on the way
    error: str | None = None  # why it did not load
    method: str = "HEAD"

    @property
    def reached(self) -> bool:
        """Something answered over HTTP (even with an error status)."""
        return self.status is not None

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 400

    @property
    def redirected(self) -> bool:
        return bool(self.final_url) and self.final_url != self.url

    @property
    def status_text(self) -> str:
        if self.status is None:
            return f"no answer: {self.error}"
        codes = [str(c) for c in self.redirects] + [str(self.status)]
        text = " > ".join(codes)
        return text if self.ok or not self.error else f"{text} {self.error}"


class _Redirects(urllib.request.HTTPRedirectHandler):
    def __init__(self) -> None:
        super().__init__()
        self.codes: list[int] = []

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            self.codes.append(code)
            if req.get_method() == "HEAD":  # keep HEAD a HEAD after a redirect
                new.method = "HEAD"
        return new


def _why(exc: BaseException) -> str:
    reason = getattr(exc, "reason", exc)
    if isinstance(reason, socket.gaierror):
        return f"DNS failure ({reason.strerror or reason})"
    if isinstance(reason, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(reason, OSError) and reason.strerror:
        return f"{type(reason).__name__} ({reason.strerror})"
    return f"{type(reason).__name__}: {reason}"[:120]


def _load(url: str, method: str, timeout: float) -> Result:
    redirects = _Redirects()
    opener = urllib.request.build_opener(redirects)
    request = urllib.request.Request(url, method=method, headers={
        "User-Agent": USER_AGENT,
        "Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
        "Accept-Language": "en-GB,en;q=0.8",
    })
    try:
        with opener.open(request, timeout=timeout) as response:
            if method == "GET":
                response.read(2048)
            return Result(url, response.status, response.geturl(), redirects.codes,
                          method=method)
    except urllib.error.HTTPError as exc:
        return Result(url, exc.code, getattr(exc, "filename", None) or url, redirects.codes,
                      error=str(exc.reason or ""), method=method)
    except http.client.HTTPException as exc:  # answered, but not with valid HTTP
        return Result(url, None, None, redirects.codes, error=f"bad answer: {_why(exc)}",
                      method=method)
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return Result(url, None, None, redirects.codes, error=_why(exc), method=method)


def check_url(url: str, timeout: float = TIMEOUT) -> Result:
    """HEAD the URL; when HEAD is refused (an error status, or a bad answer) try GET.
    DNS and connection failures are not retried: GET would fail the same way."""
    head = _load(url, "HEAD", timeout)
    if head.ok or (head.status is None and not (head.error or "").startswith("bad answer")):
        return head
    get = _load(url, "GET", timeout)
    return get if (get.reached or not head.reached) else head


def check_links(links: Iterable[Link], timeout: float = TIMEOUT, workers: int = WORKERS,
                progress: Callable[[str], None] | None = None) -> dict[str, Result]:
    """Each distinct URL loaded once (in parallel); progress: one line per URL."""
    urls = list(dict.fromkeys(link.url for link in links))
    results: dict[str, Result] = {}
    if not urls:
        return results
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(urls)))) as pool:
        futures = {pool.submit(check_url, url, timeout): url for url in urls}
        for n, future in enumerate(as_completed(futures), 1):
            result = future.result()
            results[result.url] = result
            if progress:
                progress(f"[{n:>{len(str(len(urls)))}}/{len(urls)}] "
                         f"{result.status_text:<12} {result.url}")
    return results


# --------------------------------------------------------------------------- reporting

def table(links: list[Link], results: dict[str, Result]) -> str:
    rows = [("FILE", "ENTRY", "URL", "STATUS", "FINAL URL")]
    for link in links:
        res = results[link.url]
        rows.append((link.file, link.where, link.url, res.status_text,
                     res.final_url if res.redirected else ""))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + "  " + r[4]
                     for r in rows).rstrip() + "\n"


def exit_code(results: dict[str, Result]) -> int:
    if not results:
        return 0
    if not any(r.reached for r in results.values()):
        return 2
    return 0 if all(r.ok for r in results.values()) else 1


# --------------------------------------------------------------------------- --record

_CHECKED_RE = re.compile(r"^(?P<head>\s*(?:-\s+)?checked:)(?P<value>[^#\r\n]*?)"
                         r"(?P<tail>\s+#[^\r\n]*)?(?P<end>\r?\n?)$")


def record(data_dir: Path, links: list[Link], results: dict[str, Result],
           today: str | None = None) -> tuple[list[str], list[str]]:
    """Write ``today`` into the checked: line of every entry whose links all loaded (and a
    file's top-level checked: when all its links loaded). Returns (changes made, entries
    that need a person: no checked: line of their own, or a file changed meanwhile)."""
    today = today or _dt.date.today().isoformat()
    data_dir = Path(data_dir)
    done: list[str] = []
    by_hand: list[str] = []
    for path in yaml_files(data_dir):
        name = shown(path, data_dir)
        mine = [link for link in links if link.file == name]
        if not mine:
            continue
        text = path.read_text(encoding="utf-8")
        now = scan(text, name)
        if [(l.line, l.url) for l in now] != [(l.line, l.url) for l in mine]:
            by_hand.append(f"{name}: changed while the links were checked; run again")
            continue
        targets: dict[int, str] = {}
        entries: dict[int, list[Link]] = {}
        for link in mine:
            entries.setdefault(link.container, []).append(link)
        for group in entries.values():
            if not all(results[l.url].ok for l in group):
                continue
            first = group[0]
            if first.checked_line is None:
                by_hand.append(f"{name}:{first.line + 1}: {first.entry}: no checked: line of "
                               f"its own; add 'checked: {today}' there by hand")
            else:
                targets[first.checked_line] = first.entry
        top = mine[0].top_checked_line
        if top is not None and top not in targets and all(results[l.url].ok for l in mine):
            targets[top] = "(whole file)"
        lines = text.splitlines(keepends=True)
        changed = False
        for number, entry in sorted(targets.items()):
            match = _CHECKED_RE.match(lines[number])
            if not match:
                by_hand.append(f"{name}:{number + 1}: {entry}: cannot read this checked: "
                               f"line; set it to {today} by hand")
                continue
            new = f"{match['head']} {today}{match['tail'] or ''}{match['end']}"
            if new != lines[number]:
                lines[number] = new
                changed = True
            done.append(f"{name}:{number + 1}: {entry}: checked: {today}")
        if changed:
            path.write_text("".join(lines), encoding="utf-8")
    return done, by_hand


# --------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA,
                        help="folder of YAML files to check (default: data/)")
    parser.add_argument("--record", action="store_true",
                        help="write today's date into checked: of each entry that loaded")
    parser.add_argument("--timeout", type=float, default=TIMEOUT, help="seconds per request")
    parser.add_argument("--workers", type=int, default=WORKERS, help="requests at a time")
    args = parser.parse_args(argv)

    if not args.data.is_dir():
        print(f"links: no such folder: {args.data}", file=sys.stderr)
        return 2
    links = find_links(args.data)
    if not links:
        print(f"No links found in {args.data}/**/*.yml.")
        return 0
    distinct = len({l.url for l in links})
    print(f"Checking {distinct} links ({len(links)} uses) in {args.data} ...", file=sys.stderr)
    results = check_links(links, args.timeout, args.workers,
                          progress=lambda line: print(line, file=sys.stderr, flush=True))
    code = exit_code(results)
    if code == 2:
        print(UNREACHABLE.format(n=distinct))
        if args.record:
            print("--record: nothing recorded.")
        return 2
    sys.stdout.write(table(links, results))
    failed = sorted({u for u, r in results.items() if not r.ok})
    print(f"\n{distinct - len(failed)} of {distinct} links loaded"
          + (f"; {len(failed)} did not: {', '.join(failed)}" if failed else "."))
    if args.record:
        done, by_hand = record(args.data, links, results)
        print(f"--record: {len(done)} checked: lines set to today"
              + ("" if done else " (none)") + ".")
        for line in done:
            print(f"  {line}")
        for line in by_hand:
            print(f"  to do by hand: {line}")
    return code


if __name__ == "__main__":
    sys.exit(main())
