"""Case notes: an append-only, encrypted event log per case, and the handover summary.

Plain Python over SQLAlchemy; knows nothing of Rasa. Public API::

    store = CaseStore()                       # CASE_DB_URL, CASE_NOTES_KEY
    case_id = store.open_case(conversation_id, "child", at)
    store.append(case_id, "note", text="...")
    store.append_many(case_id, [{"kind": "red_flag", "code": "...", "text": "..."}])
    md = to_markdown(summarise(store, case_id))     # the export (CLI)
    text = to_handover(summarise(store, case_id))   # the chat handover: plain, one bubble

Command line: ``python -m actions.casenotes migrate | export CASE_ID | purge``.
"""
from actions.casenotes.crypto import MissingKeyError, generate_key, get_fernet
from actions.casenotes.models import DEADLINE_CODES, KINDS
from actions.casenotes.store import (
    CaseNotesError, CaseNotOwned, CaseStore, StoreUnavailable, UnknownCase, audit, database_url,
    purge_trackers, retention_days, tracker_database_url,
)
from actions.casenotes.summary import summarise, to_handover, to_markdown, to_timeline

__all__ = [
    "CaseNotesError", "CaseNotOwned", "CaseStore", "DEADLINE_CODES", "KINDS", "MissingKeyError",
    "StoreUnavailable", "UnknownCase", "audit", "database_url", "generate_key", "get_fernet",
    "purge_trackers", "retention_days", "summarise", "to_handover", "to_markdown",
    "to_timeline", "tracker_database_url",
]
