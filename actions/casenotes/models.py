"""The case-notes schema: one ``cases`` row per case, an append-only ``case_events`` log.

Times are stored in UTC and always come back timezone-aware (``UTCDateTime``). The
schema is created and changed only by the Alembic migrations in ``migrations/versions``;
keep this file and the newest migration in step.
"""
from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import declarative_base

#: Kinds of case event. ``opened``/``closed`` mark the case's life; the rest are what the
#: counsellor said or the assistant raised. See summary.py for each kind's payload.
KINDS = frozenset({
    "opened", "closed", "note", "answer", "red_flag", "red_flag_dismissed",
    "red_flag_restored", "deadline", "advice", "referral", "escalation", "escalation_undone",
    "stage", "red_flag_not_raised", "acknowledged", "caller_role",
})
DEADLINE_CODES = frozenset({"set", "ambiguous", "withdrawn", "passed"})

#: Any: mypy cannot see through SQLAlchemy 1.4's declarative_base() (skipped as Any)
Base: Any = declarative_base()


def utc(value: datetime) -> datetime:
    """An aware UTC datetime (a naive one is taken to be UTC already)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


class UTCDateTime(sa.types.TypeDecorator):
    """``TIMESTAMP WITH TIME ZONE`` on PostgreSQL; naive UTC on SQLite; aware UTC in Python."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        value = utc(value)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value, dialect):
        return None if value is None else utc(value)


class Case(Base):
    __tablename__ = "cases"

    id = sa.Column(sa.String(32), primary_key=True)
    conversation_id = sa.Column(sa.String(255), nullable=False, index=True)
    opened_at = sa.Column(UTCDateTime, nullable=False)
    #: time of the first ``closed`` event, written with that event (set once)
    closed_at = sa.Column(UTCDateTime, nullable=True, index=True)
    caller_role = sa.Column(sa.String(32), nullable=True)
    #: time of the first ``escalation`` event, written with that event (set once)
    escalated_at = sa.Column(UTCDateTime, nullable=True)
    #: the counsellor who opened the case: the ``counsellor`` claim of their token, passed
    #: on by the channels (never from a message's text); added in revision 0003
    counsellor_id = sa.Column(sa.String(255), nullable=True)


class CaseEvent(Base):
    __tablename__ = "case_events"

    id = sa.Column(sa.Integer, primary_key=True, autoincrement=True)
    case_id = sa.Column(sa.String(32), sa.ForeignKey("cases.id"), nullable=False, index=True)
    at = sa.Column(UTCDateTime, nullable=False)
    kind = sa.Column(sa.String(32), nullable=False)
    code = sa.Column(sa.String(255), nullable=True)
    #: the event's text, Fernet-encrypted (never stored in clear)
    text_enc = sa.Column(sa.Text, nullable=True)
    #: who recorded it (counsellor id or "assistant"); added in revision 0002
    actor = sa.Column(sa.String(255), nullable=True)
    #: for a ``deadline`` event of code ``set``: the deadline itself, in clear like every
    #: other time, so the supervisor's board never decrypts a text; added in revision 0003
    due_at = sa.Column(UTCDateTime, nullable=True)
