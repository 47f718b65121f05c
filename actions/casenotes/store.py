"""The case-notes store: an append-only event log per case, through SQLAlchemy.

Append-only: the store API inserts events and never updates or deletes them. The two
time columns on ``cases`` (``closed_at``, ``escalated_at``) are a cache of the first
``closed`` / ``escalation`` event, written in the same transaction as that event and
never changed afterwards; the summary is always derived from the events. The one delete
is :meth:`CaseStore.purge` (retention: closed cases older than ``RETENTION_DAYS``), run
by the ``purge`` command and written to the audit log.

Every database failure surfaces as :class:`StoreUnavailable`, so the caller can tell the
counsellor that notes are not being saved. Nothing here logs note text.
"""
from __future__ import annotations

import contextlib
import getpass
import json
import logging
import os
import threading
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator

import sqlalchemy as sa
import sqlalchemy.exc
from cryptography.fernet import MultiFernet
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from actions.casenotes import crypto
from actions.casenotes.models import DEADLINE_CODES, KINDS, Case, CaseEvent, utc
from actions import settings

logger = logging.getLogger(__name__)

ROOT = Path(__file__).resolve().parents[2]
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
DEFAULT_RETENTION_DAYS = 90


class CaseNotesError(Exception):
    """Base class of the case-notes store's errors."""


class StoreUnavailable(CaseNotesError):
    """The case-notes database cannot be reached or used: notes are NOT being saved."""


class UnknownCase(CaseNotesError, LookupError):
    """No case with that id."""


class CaseNotOwned(CaseNotesError, PermissionError):
    """The case exists but belongs to another conversation: nothing was read or written."""


# --- configuration ------------------------------------------------------------------------

def _resolve(url: str) -> str:
    """The URL from the environment or default, with a relative SQLite path made absolute
    under the repository root (and its folder created)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database in ("", ":memory:") or database.startswith("file:"):
            return url
        path = Path(database)
        if not path.is_absolute():
            path = ROOT / path
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        private_file(path)
        parsed = parsed.set(database=str(path))
    return parsed.render_as_string(hide_password=False)


def private_file(path: Path) -> None:
    """Create ``path`` if missing, readable and writable by this user only (0600): case
    notes and conversations, even encrypted, are nobody else's on the machine. SQLite
    gives its journal files the database file's permissions."""
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    os.chmod(path, 0o600)


def database_url(url: str | None = None) -> str:
    """``url``, else ``CASE_DB_URL``, else ``sqlite:///var/casenotes.db`` under the repo."""
    raw = url or settings.env("CASE_DB_URL") or "sqlite:///var/casenotes.db"
    return _resolve(raw)


def tracker_database_url(url: str | None = None) -> str:
    """``url``, else ``TRACKER_DB_URL``, else ``sqlite:///var/tracker.db`` under the repo."""
    raw = url or settings.env("TRACKER_DB_URL") or "sqlite:///var/tracker.db"
    return _resolve(raw)


def retention_days() -> int:
    raw = settings.env("RETENTION_DAYS", "")
    try:
        days = int(raw) if raw else DEFAULT_RETENTION_DAYS
    except ValueError as exc:
        raise ValueError(f"RETENTION_DAYS={raw!r} is not a whole number of days") from exc
    if days < 0:
        raise ValueError("RETENTION_DAYS must not be negative")
    return days


def create_engine(url: str) -> sa.engine.Engine:
    """An engine for one of the project's databases: pre-ping, no parameters in errors,
    foreign keys on in SQLite, a short connect timeout on PostgreSQL."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"future": True, "pool_pre_ping": True, "hide_parameters": True}
    backend = parsed.get_backend_name()
    if backend == "postgresql" and "connect_timeout" not in parsed.query:
        kwargs["connect_args"] = {"connect_timeout": 5}
    if backend == "sqlite":
        kwargs["connect_args"] = {"timeout": 15}
    engine = sa.create_engine(parsed, **kwargs)
    if backend == "sqlite":
        @sa.event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection, _record):  # pragma: no cover - trivial
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()
    return engine


def alembic_config(connection: sa.engine.Connection | None = None):
    """An Alembic config pointing at ``migrations/`` (no alembic.ini needed)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


_UNAVAILABLE = (
    sqlalchemy.exc.OperationalError,
    sqlalchemy.exc.InterfaceError,
    sqlalchemy.exc.ProgrammingError,  # e.g. tables missing: the database was never migrated
    sqlalchemy.exc.InternalError,
    sqlalchemy.exc.TimeoutError,
    sqlalchemy.exc.DisconnectionError,
)


@contextlib.contextmanager
def _unavailable_as_error(what: str) -> Iterator[None]:
    try:
        yield
    except _UNAVAILABLE as exc:
        reason = type(getattr(exc, "orig", None) or exc).__name__
        logger.warning("case-notes database unavailable during %s (%s)", what, reason)
        raise StoreUnavailable(
            f"The case-notes database is unavailable ({reason}); notes are not being saved."
        ) from exc
    except sqlalchemy.exc.IntegrityError as exc:
        raise CaseNotesError(f"the case-notes database refused the {what} "
                             f"({type(exc.orig).__name__})") from exc


def _now() -> datetime:
    return datetime.now(timezone.utc)


def deadline_time(text: str | None) -> datetime | None:
    """The time a ``deadline`` event of code ``set`` names ("<ISO time> (<words>)"), to
    keep in clear beside the encrypted text (``due_at``); None if it names none."""
    from actions.casenotes.summary import _parse_deadline

    at, _ = _parse_deadline(text)
    return None if at is None else utc(at)


def _event_dict(row: CaseEvent, fernet: MultiFernet) -> dict[str, Any]:
    return {
        "id": row.id, "case_id": row.case_id, "at": row.at, "kind": row.kind,
        "code": row.code, "text": crypto.decrypt(row.text_enc, fernet), "actor": row.actor,
    }


def _case_dict(row: Case) -> dict[str, Any]:
    return {
        "id": row.id, "conversation_id": row.conversation_id, "opened_at": row.opened_at,
        "closed_at": row.closed_at, "caller_role": row.caller_role,
        "escalated_at": row.escalated_at, "counsellor_id": row.counsellor_id,
    }


# --- the store ----------------------------------------------------------------------------

class CaseStore:
    """Case notes in SQL. ``url`` defaults to ``CASE_DB_URL``; ``key`` to ``CASE_NOTES_KEY``.

    The engine is made here; nothing connects until the first call. ``auto_migrate``
    (default: on for SQLite, the embedded single-machine database; off otherwise, where
    ``python -m actions.casenotes migrate`` runs once per release) brings the schema to
    the newest revision before the first use.
    """

    def __init__(self, url: str | None = None, key: str | None = None,
                 auto_migrate: bool | None = None) -> None:
        self.url = database_url(url)
        self.engine = create_engine(self.url)
        self.fernet = crypto.get_fernet(key)
        self.auto_migrate = (self.engine.dialect.name == "sqlite"
                             if auto_migrate is None else auto_migrate)
        self._migrated = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"CaseStore({make_url(self.url).render_as_string(hide_password=True)!r})"

    def dispose(self) -> None:
        self.engine.dispose()

    # -- schema --------------------------------------------------------------------------

    def upgrade(self, revision: str = "head") -> None:
        """Apply the Alembic migrations up to ``revision`` (default: the newest)."""
        from alembic import command

        with _unavailable_as_error("migration"):
            with self.engine.begin() as connection:
                command.upgrade(alembic_config(connection), revision)
        self._migrated = True

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with _unavailable_as_error("revision check"), self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def _ready(self) -> None:
        if self.auto_migrate and not self._migrated:
            with self._lock:
                if not self._migrated:
                    self.upgrade()

    @contextlib.contextmanager
    def _session(self, what: str) -> Iterator[Session]:
        """One transaction; database failures become :class:`StoreUnavailable`."""
        with _unavailable_as_error(what):
            self._ready()
            with Session(self.engine, future=True) as session, session.begin():
                yield session

    def session(self, what: str = "read") -> contextlib.AbstractContextManager[Session]:
        """One transaction for a reader outside the store (the supervisor's board,
        actions/board.py): the schema migrated first where ``auto_migrate``, database
        failures as :class:`StoreUnavailable`. Writes go through the methods below."""
        return self._session(what)

    # -- writing -------------------------------------------------------------------------

    def open_case(self, conversation_id: str, caller_role: str | None, at: datetime | None = None,
                  case_id: str | None = None, actor: str | None = None,
                  counsellor_id: str | None = None) -> str:
        """Open a case (and log its ``opened`` event); returns the case id (uuid4 hex).
        ``counsellor_id``: who took the call (their token's claim), also the event's actor
        unless ``actor`` is given; anything but a short text is not kept."""
        case_id = case_id or uuid.uuid4().hex
        at = utc(at or _now())
        if not isinstance(counsellor_id, str) or not counsellor_id.strip():
            counsellor_id = None
        counsellor_id = counsellor_id[:255] if counsellor_id else None
        actor = actor or counsellor_id
        with self._session("open_case") as session:
            session.add(Case(id=case_id, conversation_id=conversation_id, opened_at=at,
                             caller_role=caller_role, counsellor_id=counsellor_id))
            session.flush()
            session.add(CaseEvent(case_id=case_id, at=at, kind="opened", code=caller_role,
                                  actor=actor))
        return case_id

    def append(self, case_id: str, kind: str, text: str | None = None, code: str | None = None,
               at: datetime | None = None, actor: str | None = None) -> None:
        """Append one event in its own transaction."""
        self.append_many(case_id, [{"kind": kind, "text": text, "code": code, "at": at,
                                    "actor": actor}])

    def append_many(self, case_id: str, events: Iterable[dict[str, Any]],
                    conversation_id: str | None = None) -> None:
        """Append one turn's events in a single transaction (all or none).

        With ``conversation_id`` (as every caller serving a conversation must give), the
        case must be that conversation's, else :class:`CaseNotOwned` and nothing is written.

        Each event is a dict with ``kind`` and optionally ``code``, ``text``, ``at``
        (aware datetime or ISO string; default now) and ``actor`` (who recorded it; a red
        flag's ``source``, e.g. ``rules:deadline``, is kept there when no actor is given);
        other keys are ignored.
        """
        rows = [self._row(case_id, event) for event in events]
        if not rows:
            return
        with self._session("append") as session:
            case = session.get(Case, case_id)
            if case is None:
                raise UnknownCase(case_id)
            if conversation_id is not None and case.conversation_id != conversation_id:
                raise CaseNotOwned("the case belongs to another conversation")
            session.add_all(rows)
            for row in rows:  # the set-once cache of the first closed/escalation event
                if row.kind == "closed" and case.closed_at is None:
                    case.closed_at = row.at
                if row.kind == "escalation" and case.escalated_at is None:
                    case.escalated_at = row.at
                if row.kind == "caller_role" and row.code:  # named after the case opened
                    case.caller_role = row.code

    def _row(self, case_id: str, event: dict[str, Any]) -> CaseEvent:
        kind = event.get("kind")
        if kind not in KINDS:
            raise ValueError(f"unknown case event kind {kind!r}; expected one of {sorted(KINDS)}")
        code = event.get("code")
        if kind == "deadline" and code not in DEADLINE_CODES:
            raise ValueError(f"deadline event code must be one of {sorted(DEADLINE_CODES)}")
        at = event.get("at") or _now()
        if isinstance(at, str):
            at = datetime.fromisoformat(at)
        text = event.get("text")
        if text is not None and not isinstance(text, str):
            text = str(text)
        return CaseEvent(case_id=case_id, at=utc(at), kind=kind,
                         code=None if code is None else str(code)[:255],
                         text_enc=crypto.encrypt(text, self.fernet),
                         actor=event.get("actor") or event.get("source"),
                         due_at=deadline_time(text) if kind == "deadline" and code == "set"
                         else None)

    def close_case(self, case_id: str, at: datetime | None = None, text: str | None = None,
                   actor: str | None = None) -> None:
        """Log the ``closed`` event (the first one sets ``cases.closed_at``)."""
        self.append(case_id, "closed", text=text, at=at, actor=actor)

    # -- reading -------------------------------------------------------------------------

    def case(self, case_id: str) -> dict[str, Any] | None:
        with self._session("read") as session:
            row = session.get(Case, case_id)
            return None if row is None else _case_dict(row)

    def owned_case(self, case_id: str, conversation_id: str) -> dict[str, Any] | None:
        """The case if it is ``conversation_id``'s; None if there is no such case;
        :class:`CaseNotOwned` if it is another conversation's."""
        case = self.case(case_id)
        if case is not None and case["conversation_id"] != conversation_id:
            raise CaseNotOwned("the case belongs to another conversation")
        return case

    def events(self, case_id: str) -> list[dict[str, Any]]:
        """The case's events in the order written, text decrypted."""
        with self._session("read") as session:
            rows = session.execute(
                sa.select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
            ).scalars().all()
            return [_event_dict(row, self.fernet) for row in rows]

    def flag_events(self, since: datetime | None = None) -> list[dict[str, Any]]:
        """Every red flag raised and dismissed, in every case, in order (text decrypted):
        the material for reviewing flags raised in error."""
        kinds = ("red_flag", "red_flag_dismissed", "red_flag_restored")
        with self._session("read") as session:
            query = sa.select(CaseEvent).where(CaseEvent.kind.in_(kinds))
            if since is not None:
                query = query.where(CaseEvent.at >= utc(since))
            rows = session.execute(query.order_by(CaseEvent.case_id, CaseEvent.id)).scalars()
            return [_event_dict(row, self.fernet) for row in rows]

    def find_open_case(self, conversation_id: str) -> str | None:
        """The newest case of the conversation that is not closed, if any."""
        with self._session("read") as session:
            return session.execute(
                sa.select(Case.id)
                .where(Case.conversation_id == conversation_id, Case.closed_at.is_(None))
                .order_by(Case.opened_at.desc()).limit(1)
            ).scalar_one_or_none()

    def cases(self, conversation_id: str | None = None) -> list[dict[str, Any]]:
        with self._session("read") as session:
            query = sa.select(Case).order_by(Case.opened_at)
            if conversation_id is not None:
                query = query.where(Case.conversation_id == conversation_id)
            return [_case_dict(row) for row in session.execute(query).scalars()]

    # -- retention -----------------------------------------------------------------------

    def purge(self, days: int | None = None, dry_run: bool = False,
              now: datetime | None = None) -> list[dict[str, Any]]:
        """Delete closed cases older than the retention period with all their events.

        The only delete in the store. Returns what was (or, with ``dry_run``, would be)
        deleted: ``[{"id", "conversation_id", "closed_at", "events"}]`` - ids, no content.
        """
        days = retention_days() if days is None else days
        cutoff = utc(now or _now()) - timedelta(days=days)
        with self._session("purge") as session:
            cases = session.execute(
                sa.select(Case).where(Case.closed_at.is_not(None), Case.closed_at < cutoff)
                .order_by(Case.closed_at)
            ).scalars().all()
            ids = [c.id for c in cases]
            counts = dict(session.execute(
                sa.select(CaseEvent.case_id, sa.func.count())
                .where(CaseEvent.case_id.in_(ids)).group_by(CaseEvent.case_id)
            ).all()) if ids else {}
            result = [{"id": c.id, "conversation_id": c.conversation_id,
                       "closed_at": c.closed_at, "events": counts.get(c.id, 0)} for c in cases]
            if ids and not dry_run:
                session.execute(sa.delete(CaseEvent).where(CaseEvent.case_id.in_(ids)))
                session.execute(sa.delete(Case).where(Case.id.in_(ids)))
        return result

    def conversations_still_in_use(self, conversation_ids: Iterable[str]) -> set[str]:
        """Which of these conversations still have a case in the store."""
        ids = list(set(conversation_ids))
        if not ids:
            return set()
        with self._session("read") as session:
            return set(session.execute(
                sa.select(Case.conversation_id).where(Case.conversation_id.in_(ids)).distinct()
            ).scalars())


# --- Rasa trackers and the audit log ------------------------------------------------------

def purge_trackers(conversation_ids: Iterable[str], url: str | None = None,
                   dry_run: bool = False) -> dict[str, int]:
    """Delete the Rasa tracker events of these conversations (``TRACKER_DB_URL``).

    Returns ``{conversation_id: number of events}``. Skips (returns ``{}``) when the
    tracker database has no ``events`` table, e.g. trackers kept elsewhere.
    """
    ids = sorted(set(conversation_ids))
    if not ids:
        return {}
    engine = create_engine(tracker_database_url(url))
    try:
        with _unavailable_as_error("tracker purge"):
            if not sa.inspect(engine).has_table("events"):
                logger.info("tracker purge skipped: no events table in the tracker database")
                return {}
            events = sa.Table("events", sa.MetaData(), sa.Column("sender_id", sa.String(255)))
            with engine.begin() as connection:
                counts = {cid: n for cid, n in connection.execute(
                    sa.select(events.c.sender_id, sa.func.count())
                    .where(events.c.sender_id.in_(ids)).group_by(events.c.sender_id))}
                if not dry_run and counts:
                    connection.execute(sa.delete(events).where(events.c.sender_id.in_(ids)))
            return counts
    finally:
        engine.dispose()


def audit_log_path() -> Path:
    raw = settings.env("AUDIT_LOG", "")
    path = Path(raw) if raw else ROOT / "var" / "audit.log"
    if not path.is_absolute():
        path = ROOT / path
    path.parent.mkdir(parents=True, exist_ok=True)
    return path


def default_actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "unknown"


def audit(action: str, case_id: str | None, actor: str | None = None,
          at: datetime | None = None, **details: Any) -> dict[str, Any]:
    """Append one audit line (JSON): who, when, what, which case - never content.

    ``details`` may carry counts and flags only (e.g. ``dry_run=True``, ``events=12``).
    """
    entry = {"at": utc(at or _now()).isoformat(), "actor": actor or default_actor(),
             "action": action, "case_id": case_id, **details}
    line = json.dumps(entry, sort_keys=True, default=str)
    path = audit_log_path()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(line + "\n")
    logger.info("audit %s", line)
    return entry
