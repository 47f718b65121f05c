"""The supervisor's board (actions/board.py): which cases it lists, in what order, with
what in each row, and that no text of any note is read for it. On SQLite and on the
PostgreSQL at TEST_POSTGRES_URL (skipped with the reason when it is not reachable), with
the fixtures of test_casenotes.py."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from actions import board
from actions.casenotes import CaseStore, summarise, to_handover, to_markdown, to_timeline
import test_casenotes

# the case-notes tests' fixtures: a fresh store on SQLite and on PostgreSQL
db_url, key, store = test_casenotes.db_url, test_casenotes.key, test_casenotes.store

NOW = datetime(2026, 11, 24, 20, 0, tzinfo=timezone.utc)


def minutes(n: float) -> datetime:
    return NOW + timedelta(minutes=n)


def word() -> str:
    return "zq" + uuid.uuid4().hex[:12]


def open_case(store, conversation: str, at: float = -60, role: str = "child",
              counsellor: str | None = "c-7") -> str:
    return store.open_case(conversation, role, minutes(at), counsellor_id=counsellor)


def flag(store, case_id: str, code: str, at: float, text: str = "words",
         source: str = "rules:x") -> None:
    store.append(case_id, "red_flag", code=code, text=text, at=minutes(at), actor=source)


def deadline(store, case_id: str, due: float, at: float) -> None:
    store.append(case_id, "deadline", code="set", at=minutes(at),
                 text=f"{minutes(due).isoformat()} (in a while)")


def rows(store, **kwargs) -> list[dict]:
    return board.open_cases(store, now=NOW, **kwargs)


# --- order ----------------------------------------------------------------------------------

def test_unacknowledged_unescalated_flags_first_oldest_first_then_deadlines_then_activity(store):
    quiet_old = open_case(store, "quiet-old", at=-50)
    quiet_new = open_case(store, "quiet-new", at=-40)
    store.append(quiet_new, "note", text="later", at=minutes(-5))
    far = open_case(store, "deadline-far", at=-50)
    deadline(store, far, due=300, at=-45)
    near = open_case(store, "deadline-near", at=-50)
    deadline(store, near, due=30, at=-44)
    flag_new = open_case(store, "flag-new", at=-50)
    flag(store, flag_new, "offender_known", at=-10)
    flag_old = open_case(store, "flag-old", at=-50)
    flag(store, flag_old, "ongoing_risk", at=-30)
    acked = open_case(store, "flag-acknowledged", at=-50)
    flag(store, acked, "self_harm_risk", at=-45)
    board.acknowledge(store, acked, "self_harm_risk", "sup-1", now=minutes(-44))
    escalated = open_case(store, "flag-escalated", at=-50)
    flag(store, escalated, "self_harm_risk", at=-46)
    store.append(escalated, "escalation", code="self_harm_risk", at=minutes(-43))
    listed = rows(store)
    # urgent flags, the longest waiting first; deadlines, the nearest first; then the rest,
    # the most recently active first (an acknowledgement is not the counsellor's activity)
    assert [row["conversation_id"] for row in listed] == [
        "flag-old", "flag-new", "deadline-near", "deadline-far",
        "quiet-new", "flag-escalated", "flag-acknowledged", "quiet-old"]
    assert [row["urgent"] for row in listed] == [True, True] + [False] * 6
    assert listed[-1]["case_id"] == quiet_old


def test_a_deadline_case_with_an_urgent_flag_goes_by_the_flag(store):
    both = open_case(store, "both", at=-50)
    deadline(store, both, due=20, at=-40)
    flag(store, both, "active_deadline", at=-40, source="rules:deadline")
    other = open_case(store, "flag-older", at=-50)
    flag(store, other, "offender_known", at=-45)
    assert [r["conversation_id"] for r in rows(store)] == ["flag-older", "both"]


# --- what is listed ---------------------------------------------------------------------------

def test_a_closed_case_is_not_listed_nor_an_old_idle_one(store):
    closed = open_case(store, "closed", at=-30)
    flag(store, closed, "self_harm_risk", at=-20)
    store.close_case(closed, at=minutes(-10))
    idle = open_case(store, "idle", at=-60 * 13)
    flag(store, idle, "ongoing_risk", at=-60 * 13 + 1)
    live = open_case(store, "live", at=-5)
    assert [r["case_id"] for r in rows(store)] == [live]
    assert {r["case_id"] for r in rows(store, hours=14)} == {live, idle}


def test_a_flag_marked_raised_in_error_is_not_shown_and_a_restored_one_starts_afresh(store):
    case_id = open_case(store, "conv", at=-60)
    flag(store, case_id, "offender_known", at=-50)
    flag(store, case_id, "ongoing_risk", at=-40)
    store.append(case_id, "red_flag_dismissed", code="offender_known", text="a misreading",
                 at=minutes(-35))
    row = rows(store)[0]
    assert [f["code"] for f in row["flags"]] == ["ongoing_risk"]
    assert row["escalation"]["pending_since"] == minutes(-40).isoformat()

    board.acknowledge(store, case_id, "ongoing_risk", "sup-1", now=minutes(-30))
    store.append(case_id, "escalation", code="ongoing_risk", at=minutes(-25))
    store.append(case_id, "red_flag_dismissed", code="ongoing_risk", at=minutes(-20))
    store.append(case_id, "red_flag_restored", code="ongoing_risk", at=minutes(-15))
    restored = rows(store)[0]["flags"][0]
    # back as the panel shows it: NOT escalated, not acknowledged, live again since -15
    assert restored["raised_at"] == minutes(-40).isoformat()
    assert restored["since"] == minutes(-15).isoformat()
    assert restored["escalated_at"] is None and restored["acknowledged"] == []
    assert rows(store)[0]["urgent"]


# --- what a row says --------------------------------------------------------------------------

def test_a_row_has_the_case_its_flags_escalation_deadline_and_acknowledgements(store):
    case_id = open_case(store, "conv-a", at=-60, counsellor="counsellor-17")
    flag(store, case_id, "offender_known", at=-50, source="classifier:report_offender_known")
    flag(store, case_id, "self_harm_risk", at=-40, source="rules:self_harm + meaning:0.91")
    store.append(case_id, "escalation", code="offender_known", at=minutes(-30))
    deadline(store, case_id, due=45, at=-20)
    store.append(case_id, "stage", code="immediate_risk", at=minutes(-12))
    board.acknowledge(store, case_id, "self_harm_risk", "sup-9", now=minutes(-2))
    row = rows(store)[0]
    assert row["case_id"] == case_id and row["ref"] == case_id[:8]
    assert (row["conversation_id"], row["counsellor"], row["caller_role"]) == (
        "conv-a", "counsellor-17", "child")
    assert row["stage"] == "immediate_risk" and row["stage_title"]
    assert row["last_activity"] == minutes(-12).isoformat()  # an acknowledgement is not one
    self_harm, known = row["flags"]  # the most severe first
    assert self_harm["code"] == "self_harm_risk"
    assert self_harm["label"] == "Self-harm or suicide risk"
    assert self_harm["raised_at"] == minutes(-40).isoformat()
    assert self_harm["source"] == "rules:self_harm + meaning:0.91"
    assert self_harm["found_by"] == "rules + meaning 0.91"
    assert self_harm["escalated_at"] is None
    assert self_harm["acknowledged"] == [{"by": "sup-9", "at": minutes(-2).isoformat()}]
    assert known["escalated_at"] == minutes(-30).isoformat()
    assert known["found_by"] == "classifier"
    assert row["escalation"] == {"started_at": minutes(-30).isoformat(),
                                 "pending_since": minutes(-40).isoformat(),
                                 "pending_minutes": 40}
    assert row["deadline"] == {"status": "set", "at": minutes(45).isoformat(),
                               "last_hour": True}
    assert row["acknowledgements"] == [{"code": "self_harm_risk", "by": "sup-9",
                                        "at": minutes(-2).isoformat()}]
    assert not row["urgent"]  # escalated or acknowledged, every one


@pytest.mark.parametrize("due,status,last_hour", [(61, "set", False), (59, "set", True),
                                                  (-1, "passed", False)])
def test_the_deadline_is_urgent_in_its_last_hour_and_passed_after(store, due, status,
                                                                   last_hour):
    case_id = open_case(store, "conv", at=-120)
    deadline(store, case_id, due=due, at=-100)
    assert rows(store)[0]["deadline"] == {"status": status, "at": minutes(due).isoformat(),
                                          "last_hour": last_hour}


def test_a_withdrawn_or_vague_deadline_has_no_time(store):
    case_id = open_case(store, "conv", at=-120)
    store.append(case_id, "deadline", code="ambiguous", text="by friday", at=minutes(-50))
    assert rows(store)[0]["deadline"] == {"status": "ambiguous", "at": None, "last_hour": False}
    deadline(store, case_id, due=30, at=-40)
    store.append(case_id, "deadline", code="withdrawn", text="he took it back", at=minutes(-30))
    assert rows(store)[0]["deadline"] == {"status": "withdrawn", "at": None, "last_hour": False}


def test_no_text_of_any_note_is_read_for_the_rows(store, db_url):
    secrets = [word() for _ in range(6)]
    case_id = open_case(store, "conv", at=-60)
    store.append(case_id, "note", text=f"the child said {secrets[0]}", at=minutes(-50))
    flag(store, case_id, "self_harm_risk", at=-45, text=f"raised by {secrets[1]}")
    store.append(case_id, "answer", code="self_harm", text=secrets[2], at=minutes(-40))
    deadline(store, case_id, due=30, at=-35)
    store.append(case_id, "escalation", text=secrets[3], at=minutes(-30))
    store.append(case_id, "red_flag_not_raised", code="ongoing_risk", text=secrets[4],
                 at=minutes(-20), actor="meaning:0.1")
    with store.engine.begin() as conn:  # a text no key can read: decrypting it would fail
        conn.execute(sa.text("UPDATE case_events SET text_enc = :junk WHERE kind = 'note'"),
                     {"junk": f"not-a-fernet-token {secrets[5]}"})
    blind = CaseStore(db_url, key=Fernet.generate_key().decode(), auto_migrate=False)
    try:  # another key: the board still reads every row
        found = json.dumps(board.open_cases(blind, now=NOW))
        acks = json.dumps(board.conversation_acks(blind, "conv", now=NOW))
    finally:
        blind.dispose()
    assert case_id in found and "self_harm_risk" in found and minutes(30).isoformat() in found
    for secret in secrets + ["the child said", "in a while"]:
        assert secret not in found and secret not in acks


def test_the_change_mark_moves_with_every_event_written(store):
    before = board.change_mark(store)
    case_id = open_case(store, "conv", at=-1)
    opened = board.change_mark(store)
    assert opened != before
    store.append(case_id, "note", text="x")
    assert board.change_mark(store) != opened
    assert board.change_mark(store) == board.change_mark(store)


# --- acknowledging ------------------------------------------------------------------------------

def test_an_acknowledgement_is_a_case_event_with_the_supervisor_as_actor_and_no_text(store):
    case_id = open_case(store, "conv", at=-30)
    flag(store, case_id, "ongoing_risk", at=-20)
    done = board.acknowledge(store, case_id, "ongoing_risk", "sup-3", now=minutes(-1))
    assert done == {"case_id": case_id, "code": "ongoing_risk", "by": "sup-3",
                    "at": minutes(-1).isoformat(), "new": True}
    event = store.events(case_id)[-1]
    assert (event["kind"], event["code"], event["actor"], event["text"]) == (
        "acknowledged", "ongoing_risk", "sup-3", None)
    again = board.acknowledge(store, case_id, "ongoing_risk", "sup-4", now=NOW)
    assert again["new"] is False and again["by"] == "sup-3"
    assert [e["kind"] for e in store.events(case_id)].count("acknowledged") == 1


@pytest.mark.parametrize("case,code,status", [
    ("unknown", "ongoing_risk", 404), ("not-an-id", "ongoing_risk", 400), (None, "ongoing_risk", 400),
    ("closed", "ongoing_risk", 409), ("open", "self_harm_risk", 409), ("open", "no_such_flag", 400),
    ("open", None, 400), ("dismissed", "ongoing_risk", 409)])
def test_only_a_raised_flag_of_an_open_case_can_be_acknowledged(store, case, code, status):
    ids = {}
    for name in ("open", "closed", "dismissed"):
        ids[name] = open_case(store, f"conv-{name}", at=-30)
        flag(store, ids[name], "ongoing_risk", at=-20)
    store.close_case(ids["closed"], at=minutes(-10))
    store.append(ids["dismissed"], "red_flag_dismissed", code="ongoing_risk", at=minutes(-10))
    ids["unknown"] = "f" * 32
    with pytest.raises(board.BoardRefusal) as refused:
        board.acknowledge(store, ids.get(case, case), code, "sup-1", now=NOW)
    assert refused.value.status == status


def test_a_panel_learns_of_its_own_conversations_acknowledgements_only(store):
    mine = open_case(store, "conv-mine", at=-30)
    theirs = open_case(store, "conv-theirs", at=-30)
    for case_id in (mine, theirs):
        flag(store, case_id, "ongoing_risk", at=-20)
        flag(store, case_id, "offender_known", at=-19)
    board.acknowledge(store, mine, "ongoing_risk", "sup-1", now=minutes(-5))
    board.acknowledge(store, theirs, "offender_known", "sup-1", now=minutes(-4))
    assert board.conversation_acks(store, "conv-mine", now=NOW) == [
        {"case_id": mine, "code": "ongoing_risk", "at": minutes(-5).isoformat()}]
    store.close_case(mine, at=minutes(-1))
    assert board.conversation_acks(store, "conv-mine", now=NOW) == []


def test_the_handover_and_the_export_say_a_supervisor_acknowledged_a_flag(store, monkeypatch):
    monkeypatch.setenv("HELPLINE_TIMEZONE", "UTC")
    case_id = open_case(store, "conv", at=-30)
    flag(store, case_id, "ongoing_risk", at=-20)
    board.acknowledge(store, case_id, "ongoing_risk", "sup-5", now=minutes(-3))
    summary = summarise(store, case_id, now=NOW)
    assert summary["red_flags"][0]["acknowledged"] == [{"at": minutes(-3).isoformat(),
                                                        "by": "sup-5"}]
    assert "supervisor acknowledged 19:57" in to_handover(summary)
    assert "acknowledged by supervisor sup-5" in to_markdown(summary)
    texts = [e["text"] for e in to_timeline(summary)["entries"]]
    assert "Supervisor acknowledged: Still at risk from the offender" in texts


def test_the_counsellor_of_a_case_is_kept_in_clear_and_is_its_opening_events_actor(store):
    case_id = open_case(store, "conv", counsellor="counsellor-42")
    assert store.case(case_id)["counsellor_id"] == "counsellor-42"
    assert store.events(case_id)[0]["actor"] == "counsellor-42"
    nobody = open_case(store, "conv-2", counsellor=None)
    assert store.case(nobody)["counsellor_id"] is None
    assert {r["case_id"]: r["counsellor"] for r in rows(store)} == {
        case_id: "counsellor-42", nobody: None}


def test_a_deadline_set_keeps_its_time_in_clear_and_only_that(store):
    case_id = open_case(store, "conv", at=-30)
    deadline(store, case_id, due=30, at=-20)
    store.append(case_id, "deadline", code="ambiguous", text="2026-11-24T22:00:00+00:00 maybe",
                 at=minutes(-10))
    with store.engine.connect() as conn:
        due = conn.execute(sa.text("SELECT kind, code, due_at FROM case_events "
                                   "WHERE kind = 'deadline' ORDER BY id")).all()
    assert [(k, c, d is not None) for k, c, d in due] == [("deadline", "set", True),
                                                          ("deadline", "ambiguous", False)]
