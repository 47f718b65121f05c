"""Command line for the case-notes store.

    python -m actions.casenotes migrate
    python -m actions.casenotes export CASE_ID [--format md|json] [--output FILE] [--actor NAME]
    python -m actions.casenotes purge [--days N] [--dry-run] [--actor NAME]
    python -m actions.casenotes dismissals [--since YYYY-MM-DD] [--output FILE] [--actor NAME]

``purge`` is the one delete: closed cases whose closing is older than ``RETENTION_DAYS``
(default 90) go, with their events and - when no other kept case uses the same
conversation - the conversation's Rasa tracker (``TRACKER_DB_URL``). Every export and
purge writes an audit line (who, when, which case; never content) to ``AUDIT_LOG``
(default ``var/audit.log``) and to the log.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from actions.casenotes.store import (
    CaseNotesError, CaseStore, audit, default_actor, purge_trackers, retention_days,
)
from actions.casenotes.summary import summarise, to_markdown


def cmd_migrate(args: argparse.Namespace) -> int:
    store = CaseStore(auto_migrate=False)
    store.upgrade()
    print(f"case-notes database at revision {store.current_revision()}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    store = CaseStore()
    try:
        summary = summarise(store, args.case_id)
    except KeyError:
        print(f"no case {args.case_id}", file=sys.stderr)
        return 2
    text = (json.dumps(summary, indent=2, ensure_ascii=False) + "\n" if args.format == "json"
            else to_markdown(summary))
    audit("export", args.case_id, actor=args.actor, format=args.format,
          output="file" if args.output else "stdout")
    return write_out(text, args.output)


def write_out(text: str, output: str | None) -> int:
    """``text`` to the file ``output``, or to standard output."""
    if output:
        Path(output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


def dismissals(events: list[dict]) -> list[dict]:
    """Each flag marked as raised in error, with the words that raised it, the check that
    raised it (``rules:...``, ``classifier:...``, ``meaning:<score>``) and the reason."""
    raised: dict[tuple[str, str], dict] = {}
    out = []
    for e in events:
        key = (e["case_id"], e["code"])
        if e["kind"] == "red_flag":
            raised[key] = e
        elif e["kind"] == "red_flag_dismissed" and key in raised:
            flag = raised[key]
            out.append({"text": flag["text"] or "", "flags": [], "dismissed": e["code"],
                        "raised_by": e.get("actor") or flag.get("actor") or "",
                        "reason": e["text"] or "", "case": e["case_id"],
                        "at": e["at"].isoformat() if hasattr(e["at"], "isoformat") else str(e["at"])})
    return out


def cmd_dismissals(args: argparse.Namespace) -> int:
    import yaml
    from datetime import datetime, timezone

    since = (datetime.fromisoformat(args.since).replace(tzinfo=timezone.utc)
             if args.since else None)
    rows = dismissals(CaseStore().flag_events(since))
    header = ("# Red flags marked as raised in error, for review (python -m actions.casenotes "
              "dismissals).\n# Each entry: the words that raised the flag, the check that "
              "raised it and the counsellor's reason.\n# `flags` is the counsellor's view "
              "(none); a safeguarding lead confirms the label before any entry moves to\n"
              "# data/risk/meaning/ to retrain the meaning voter (make model).\n")
    text = header + yaml.safe_dump({"examples": rows}, allow_unicode=True, sort_keys=False,
                                   width=100)
    audit("dismissals", None, actor=args.actor, entries=len(rows),
          output="file" if args.output else "stdout")
    return write_out(text, args.output)


def cmd_purge(args: argparse.Namespace) -> int:
    days = retention_days() if args.days is None else args.days
    store = CaseStore()
    cases = store.purge(days=days, dry_run=args.dry_run)
    conversations = {c["conversation_id"] for c in cases}
    if not args.dry_run:
        conversations -= store.conversations_still_in_use(conversations)
    else:  # what would still be in use once these cases are gone
        kept = {c["conversation_id"] for c in store.cases()
                if c["id"] not in {x["id"] for x in cases}}
        conversations -= kept
    trackers = purge_trackers(conversations, dry_run=args.dry_run)
    verb = "would delete" if args.dry_run else "deleted"
    for c in cases:
        tracker_events = trackers.get(c["conversation_id"], 0)
        audit("purge", c["id"], actor=args.actor, dry_run=args.dry_run, days=days,
              events=c["events"], tracker_events=tracker_events)
        print(f"{verb} case {c['id']} (closed {c['closed_at']:%Y-%m-%d}, {c['events']} events, "
              f"{tracker_events} tracker events)")
    if not cases:
        audit("purge", None, actor=args.actor, dry_run=args.dry_run, days=days, cases=0)
    print(f"{verb} {len(cases)} case(s) closed more than {days} days ago")
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m actions.casenotes", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(func=cmd_migrate)
    e = sub.add_parser("export", help="print a case's handover summary")
    e.add_argument("case_id")
    e.add_argument("--format", choices=("md", "json"), default="md")
    e.add_argument("--output", help="write to this file instead of standard output")
    e.add_argument("--actor", default=None, help="who exports (default: the OS user)")
    e.set_defaults(func=cmd_export)
    d = sub.add_parser("dismissals", help="export flags marked as raised in error, for review")
    d.add_argument("--since", help="only dismissals from this date (YYYY-MM-DD, UTC)")
    d.add_argument("--output", help="write to this file instead of standard output")
    d.add_argument("--actor", default=None, help="who exports (default: the OS user)")
    d.set_defaults(func=cmd_dismissals)
    g = sub.add_parser("purge", help="delete closed cases past the retention period")
    g.add_argument("--days", type=int, default=None, help="default: RETENTION_DAYS or 90")
    g.add_argument("--dry-run", action="store_true", help="report, delete nothing")
    g.add_argument("--actor", default=None, help="who purges (default: the OS user)")
    g.set_defaults(func=cmd_purge)
    return p


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)
    args = parser().parse_args(argv)
    if getattr(args, "actor", None) is None and args.command != "migrate":
        args.actor = default_actor()
    try:
        return args.func(args)
    except CaseNotesError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
