"""The case-notes store (actions/casenotes): round trips, encryption at rest, key
rotation, migrations, the handover summary, retention purge and the audit log.

Every store test runs on SQLite in a temporary folder and again on the PostgreSQL server
at ``TEST_POSTGRES_URL`` (default postgresql://postgres@127.0.0.1:5432/test) in a schema
of its own, dropped afterwards; skipped with the reason when that server is not reachable.
"""
from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.engine import make_url
from sqlalchemy.schema import CreateSchema, DropSchema

ROOT = Path(__file__).resolve().parents[2]
from actions.casenotes import (
    CaseStore, MissingKeyError, StoreUnavailable, UnknownCase, crypto, summarise, to_markdown,
)
from actions.casenotes import __main__ as cli
from actions.messages import say

PG_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
NOW = datetime(2026, 11, 24, 20, 0, tzinfo=timezone.utc)


def word() -> str:
    """A word that appears nowhere else."""
    return "zq" + uuid.uuid4().hex[:12]


_pg_reason: list[str] = []


def postgres_unreachable() -> str | None:
    if not _pg_reason:
        engine = sa.create_engine(PG_URL, future=True, connect_args={"connect_timeout": 3})
        try:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            _pg_reason.append("")
        except Exception as exc:  # noqa: BLE001 - any failure means "not here"
            _pg_reason.append(f"PostgreSQL not reachable at {PG_URL} ({type(exc).__name__})")
        finally:
            engine.dispose()
    return _pg_reason[0] or None


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    """A fresh, empty database: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'cases.db'}"
        return
    reason = postgres_unreachable()
    if reason:
        pytest.skip(reason)
    schema = "casenotes_test_" + uuid.uuid4().hex[:10]
    admin = sa.create_engine(PG_URL, future=True)
    with admin.begin() as conn:
        conn.execute(CreateSchema(schema))
    url = make_url(PG_URL).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.begin() as conn:
            conn.execute(DropSchema(schema, cascade=True))
        admin.dispose()


@pytest.fixture
def key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def store(db_url, key):
    s = CaseStore(db_url, key=key, auto_migrate=False)
    s.upgrade()
    yield s
    s.dispose()


def raw_texts(store: CaseStore) -> list[str]:
    with store.engine.connect() as conn:
        return [row[0] for row in conn.execute(sa.text("SELECT text_enc FROM case_events"))
                if row[0] is not None]


# --- round trip ---------------------------------------------------------------------------

def test_open_append_read_close_round_trip(store):
    case_id = store.open_case("conv-1", "child", NOW)
    assert len(case_id) == 32 and store.find_open_case("conv-1") == case_id
    store.append(case_id, "note", text="14yo, he gave her an hour", at=NOW + timedelta(minutes=1))
    store.append_many(case_id, [
        {"kind": "red_flag", "code": "active_deadline", "text": "gave her an hour",
         "at": NOW + timedelta(minutes=2), "source": "rules:deadline"},
        {"kind": "deadline", "code": "set", "text": "2026-11-24T21:02:00+00:00 (an hour)",
         "at": (NOW + timedelta(minutes=2)).isoformat()},
    ])
    store.append(case_id, "escalation", code="active_deadline", at=NOW + timedelta(minutes=3))
    store.close_case(case_id, NOW + timedelta(minutes=30))
    store.close_case(case_id, NOW + timedelta(minutes=40))  # a second close changes nothing

    case = store.case(case_id)
    assert case["conversation_id"] == "conv-1" and case["caller_role"] == "child"
    assert case["opened_at"] == NOW
    assert case["closed_at"] == NOW + timedelta(minutes=30)
    assert case["escalated_at"] == NOW + timedelta(minutes=3)
    assert store.find_open_case("conv-1") is None

    events = store.events(case_id)
    assert [e["kind"] for e in events] == ["opened", "note", "red_flag", "deadline",
                                           "escalation", "closed", "closed"]
    assert events[1]["text"] == "14yo, he gave her an hour"
    assert events[2]["code"] == "active_deadline" and events[2]["text"] == "gave her an hour"
    assert all(e["at"].tzinfo is not None and e["at"].utcoffset() == timedelta(0)
               for e in events)
    assert events[1]["at"] == NOW + timedelta(minutes=1)
    assert store.case("no-such-case") is None and store.events("no-such-case") == []


def test_aware_times_in_any_zone_are_stored_as_utc(store):
    from zoneinfo import ZoneInfo

    local = datetime(2026, 6, 1, 21, 0, tzinfo=ZoneInfo("Europe/London"))  # BST, +01:00
    case_id = store.open_case("conv-z", "parent_carer", local)
    assert store.case(case_id)["opened_at"] == datetime(2026, 6, 1, 20, 0, tzinfo=timezone.utc)


def test_append_many_is_all_or_nothing_and_checks_its_input(store):
    case_id = store.open_case("conv-2", "child", NOW)
    with pytest.raises(ValueError):
        store.append_many(case_id, [{"kind": "note", "text": "first"},
                                    {"kind": "no_such_kind", "text": "second"}])
    with pytest.raises(ValueError):
        store.append(case_id, "deadline", code="tomorrow-ish")
    assert [e["kind"] for e in store.events(case_id)] == ["opened"]
    with pytest.raises(UnknownCase):
        store.append_many("f" * 32, [{"kind": "note", "text": "lost"}])
    store.append_many(case_id, [])  # nothing to write is fine


def test_open_case_takes_a_chosen_id_and_find_open_case_gives_the_newest(store):
    first = store.open_case("conv-3", "child", NOW, case_id="a" * 32)
    assert first == "a" * 32
    store.close_case(first, NOW + timedelta(minutes=5))
    second = store.open_case("conv-3", "child", NOW + timedelta(minutes=6))
    assert store.find_open_case("conv-3") == second
    assert [c["id"] for c in store.cases("conv-3")] == [first, second]


# --- encryption ---------------------------------------------------------------------------

def test_note_text_is_encrypted_at_rest(store, db_url):
    secret = word()
    case_id = store.open_case("conv-enc", "child", NOW)
    store.append(case_id, "note", text=f"she said {secret} to him")
    store.append(case_id, "red_flag", code="offender_known", text=f"{secret} is her cousin")
    assert store.events(case_id)[1]["text"] == f"she said {secret} to him"
    stored = raw_texts(store)
    assert len(stored) == 2
    assert all(t.startswith("gAAAAA") and secret not in t for t in stored)
    store.dispose()
    if db_url.startswith("sqlite"):
        raw = Path(make_url(db_url).database).read_bytes()
        assert secret.encode() not in raw
        assert b"offender_known" in raw  # codes are kept in clear, only text is encrypted


def test_key_rotation_new_key_first_old_key_still_decrypts(db_url):
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    s1 = CaseStore(db_url, key=old, auto_migrate=False)
    s1.upgrade()
    case_id = s1.open_case("conv-rot", "child", NOW)
    s1.append(case_id, "note", text="written with the old key")
    s1.dispose()

    s2 = CaseStore(db_url, key=f"{new}, {old}")
    s2.append(case_id, "note", text="written with the new key")
    assert [e["text"] for e in s2.events(case_id)][1:] == [
        "written with the old key", "written with the new key"]
    newest = raw_texts(s2)[-1]
    assert Fernet(new.encode()).decrypt(newest.encode()) == b"written with the new key"
    s2.dispose()

    s3 = CaseStore(db_url, key=new)  # the old key dropped too early: old notes unreadable
    with pytest.raises(InvalidToken):
        s3.events(case_id)
    s3.dispose()


def test_production_refuses_to_run_without_a_key(monkeypatch, tmp_path):
    monkeypatch.setenv("HELPLINE_ENV", "production")
    monkeypatch.delenv("CASE_NOTES_KEY", raising=False)
    with pytest.raises(MissingKeyError, match="CASE_NOTES_KEY must be set when HELPLINE_ENV=production"):
        CaseStore(f"sqlite:///{tmp_path / 'c.db'}")
    monkeypatch.setenv("CASE_NOTES_KEY", "not-a-key")
    with pytest.raises(ValueError) as info:
        crypto.get_fernet()
    assert "not-a-key" not in str(info.value)


def test_development_makes_a_private_key_file_once_and_warns(monkeypatch, tmp_path, caplog):
    monkeypatch.delenv("HELPLINE_ENV", raising=False)
    monkeypatch.delenv("CASE_NOTES_KEY", raising=False)
    monkeypatch.setattr(crypto, "var_dir", lambda: tmp_path)
    monkeypatch.setattr(crypto, "_cache", {})
    with pytest.warns(crypto.DevelopmentKeyWarning):
        first = crypto.get_fernet()
    path = tmp_path / "casenotes.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    key = path.read_text().strip()
    assert key not in caplog.text
    token = first.encrypt(b"x")
    monkeypatch.setattr(crypto, "_cache", {})
    with pytest.warns(crypto.DevelopmentKeyWarning):
        assert crypto.get_fernet().decrypt(token) == b"x"  # the same key, reused
    assert path.read_text().strip() == key


# --- migrations ---------------------------------------------------------------------------

def test_upgrade_from_revision_1_keeps_the_data(db_url, key):
    store = CaseStore(db_url, key=key, auto_migrate=False)
    store.upgrade("0001")
    assert store.current_revision() == "0001"
    token = crypto.encrypt("a note from before the upgrade", crypto.get_fernet(key))
    opened = datetime(2026, 1, 2, 3, 4, 5)  # naive UTC: what revision 1 stored on SQLite
    with store.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO cases (id, conversation_id, opened_at, caller_role) "
                             "VALUES (:id, :conv, :at, :role)"),
                     {"id": "b" * 32, "conv": "conv-old", "at": opened, "role": "child"})
        conn.execute(sa.text("INSERT INTO case_events (case_id, at, kind, text_enc) "
                             "VALUES (:id, :at, 'note', :text)"),
                     {"id": "b" * 32, "at": opened, "text": token})
    store.upgrade()
    assert store.current_revision() == "0003"
    columns = {c["name"] for c in sa.inspect(store.engine).get_columns("case_events")}
    assert {"actor", "due_at"} <= columns  # revisions 0002 and 0003
    assert "counsellor_id" in {c["name"] for c in sa.inspect(store.engine).get_columns("cases")}
    indexes = {i["name"] for i in sa.inspect(store.engine).get_indexes("cases")}
    assert {"ix_cases_conversation_id", "ix_cases_closed_at"} <= indexes
    case = store.case("b" * 32)
    assert case["conversation_id"] == "conv-old"
    assert case["opened_at"] == opened.replace(tzinfo=timezone.utc)
    assert [(e["kind"], e["text"], e["actor"]) for e in store.events("b" * 32)] == [
        ("note", "a note from before the upgrade", None)]
    store.append("b" * 32, "note", text="after", actor="counsellor-7")
    assert store.events("b" * 32)[-1]["actor"] == "counsellor-7"
    store.upgrade()  # running it again is a no-op
    store.dispose()


def test_sqlite_store_migrates_itself_on_first_use(tmp_path, key):
    store = CaseStore(f"sqlite:///{tmp_path / 'auto.db'}", key=key)
    case_id = store.open_case("conv-auto", "child", NOW)
    assert store.case(case_id) and store.current_revision() == "0003"


def test_migrations_folder_is_not_a_package():
    folder = ROOT / "actions" / "casenotes" / "migrations"
    assert (folder / "env.py").exists()
    assert not list(folder.rglob("__init__.py"))


# --- summary ------------------------------------------------------------------------------

def make_case(store: CaseStore, conversation: str = "conv-sum") -> tuple[str, dict]:
    w = {"flag": word(), "note": word(), "answer": word(), "reason": word()}
    case_id = store.open_case(conversation, "child", NOW)
    t = NOW
    store.append_many(case_id, [
        {"kind": "stage", "code": "immediate_risk", "at": t},
        {"kind": "red_flag", "code": "self_harm_risk", "text": f"better off dead {w['flag']}", "at": t,
         "source": "rules:self_harm"},
        {"kind": "red_flag", "code": "offender_known", "text": "her uncle", "at": t},
        {"kind": "deadline", "code": "ambiguous", "text": "before school tomorrow", "at": t},
    ])
    store.append_many(case_id, [
        {"kind": "deadline", "code": "set", "text": "2026-11-25T08:00:00+00:00 (8am)",
         "at": t + timedelta(minutes=2)},
        {"kind": "red_flag_dismissed", "code": "offender_known", "text": f"misheard {w['reason']}",
         "at": t + timedelta(minutes=3)},
        {"kind": "answer", "code": "offender_info", "text": f"username {w['answer']}",
         "at": t + timedelta(minutes=4)},
        {"kind": "advice", "code": "do_not_pay", "at": t + timedelta(minutes=5)},
        {"kind": "advice", "code": "platform:Instagram", "at": t + timedelta(minutes=5)},
        {"kind": "advice", "code": "referral_pathway", "at": t + timedelta(minutes=6)},
        {"kind": "note", "text": f"she is safe at home {w['note']}", "at": t + timedelta(minutes=7)},
        {"kind": "escalation", "code": "self_harm_risk", "at": t + timedelta(minutes=8)},
    ])
    return case_id, w


def test_summary_json_and_markdown_carry_the_case(store, monkeypatch):
    monkeypatch.setenv("HELPLINE_TIMEZONE", "UTC")
    case_id, w = make_case(store)
    s = summarise(store, case_id, now=NOW)
    json.dumps(s)  # JSON-able
    assert s["caller_role"] == "child" and s["stage"] == "immediate_risk"
    assert s["case_management"]["caller"] == say("role.child") == "Young person"
    flags = {f["code"]: f for f in s["red_flags"]}
    assert w["flag"] in flags["self_harm_risk"]["words"]
    assert flags["self_harm_risk"]["source"] == "rules:self_harm"
    assert flags["self_harm_risk"]["escalated_at"] == (NOW + timedelta(minutes=8)).isoformat()
    assert w["reason"] in flags["offender_known"]["dismissed"]
    assert s["deadline"]["status"] == "set"
    assert s["deadline"]["at"] == "2026-11-25T08:00:00+00:00"
    assert s["deadline"]["words"] == "8am"
    assert [h["status"] for h in s["deadline"]["history"]] == ["ambiguous", "set"]
    assert w["answer"] in s["answers"]["offender_info"]
    assert w["answer"] in s["case_management"]["perpetrator_info"]["offender_info"]
    assert "referral_pathway" in s["case_management"]["referrals"]
    assert s["notes"][0]["text"].endswith(w["note"])
    assert len(s["timeline"]) == 13
    concerns = s["case_management"]["categories_of_concern"]
    assert "Self-harm or suicide risk" in concerns  # data/risk/flags.yml's label
    assert not any("known" in c for c in concerns)  # dismissed flags are not a concern

    md = to_markdown(s)
    for heading in ("## Caller", "## Red flags", "## Deadline", "## Checklist answers",
                    "## Advice shown to the counsellor", "## Counsellor notes", "## Timeline"):
        assert heading in md
    for value in w.values():
        assert value in md
    assert "2026-11-25 08:00 UTC" in md and "dismissed" in md
    monkeypatch.setenv("HELPLINE_TIMEZONE", "America/New_York")
    assert "2026-11-25 03:00 EST" in to_markdown(s)  # the counsellors' clock


def test_every_flag_label_in_the_summary_is_the_one_in_flags_yml(store):
    """The handover and the panel name a flag the same way: data/risk/flags.yml's label
    (once the summary had its own, "Active deadline set by the offender", against the
    panel's "Outstanding deadline")."""
    flags_yml = yaml.safe_load((ROOT / "data" / "risk" / "flags.yml").read_text())
    case_id = store.open_case("conv-labels", "child", NOW)
    store.append_many(case_id, [{"kind": "red_flag", "code": code, "text": f"words {code}",
                                 "at": NOW} for code in flags_yml])
    s = summarise(store, case_id, now=NOW)
    labels = {f["code"]: f["label"] for f in s["red_flags"]}
    assert labels == {code: info["label"] for code, info in flags_yml.items()}
    assert labels["active_deadline"] == "Outstanding deadline"
    assert s["case_management"]["categories_of_concern"][1:] == list(labels.values())
    md = to_markdown(s)
    for label in labels.values():
        assert f"- **{label}** — raised" in md


def test_the_export_refuses_an_invalid_time_zone_rather_than_read_it_as_utc(store,
                                                                              monkeypatch):
    case_id, _ = make_case(store)
    s = summarise(store, case_id, now=NOW)
    monkeypatch.setenv("HELPLINE_TIMEZONE", "Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="HELPLINE_TIMEZONE='Mars/Olympus_Mons'"):
        to_markdown(s)
    monkeypatch.setenv("HELPLINE_TIMEZONE", "Asia/Kolkata")
    assert "2026-11-25 13:30 IST" in to_markdown(s)  # the deadline, on the helpline's clock


def test_a_deadline_in_the_past_shows_as_passed_and_unknown_case_is_keyerror(store):
    case_id = store.open_case("conv-d", "child", NOW)
    store.append(case_id, "deadline", code="set", text="2026-11-24T21:00:00+00:00")
    assert summarise(store, case_id, now=NOW + timedelta(hours=2))["deadline"]["status"] == "passed"
    store.append(case_id, "deadline", code="withdrawn", text="he said forget it")
    d = summarise(store, case_id, now=NOW)["deadline"]
    assert d["status"] == "withdrawn" and d["at"] is None
    with pytest.raises(KeyError):
        summarise(store, "c" * 32)


# --- command line, purge and audit --------------------------------------------------------

@pytest.fixture
def cli_env(monkeypatch, tmp_path, db_url, key):
    monkeypatch.setenv("CASE_DB_URL", db_url)
    monkeypatch.setenv("CASE_NOTES_KEY", key)
    monkeypatch.setenv("TRACKER_DB_URL", f"sqlite:///{tmp_path / 'tracker.db'}")
    monkeypatch.setenv("AUDIT_LOG", str(tmp_path / "audit.log"))
    monkeypatch.delenv("RETENTION_DAYS", raising=False)
    assert cli.main(["migrate"]) == 0
    return tmp_path


def tracker_table(path: Path, rows: list[str]) -> sa.engine.Engine:
    engine = sa.create_engine(f"sqlite:///{path}", future=True)
    meta = sa.MetaData()
    events = sa.Table("events", meta, sa.Column("id", sa.Integer, primary_key=True),
                      sa.Column("sender_id", sa.String(255)), sa.Column("data", sa.Text))
    meta.create_all(engine)
    with engine.begin() as conn:
        conn.execute(events.insert(), [{"sender_id": s, "data": "x"} for s in rows])
    return engine


def tracker_senders(engine) -> list[str]:
    with engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(sa.text("SELECT sender_id FROM events")))


def test_purge_dry_run_then_real(cli_env, capsys):
    store = CaseStore()
    now = datetime.now(timezone.utc)
    old = store.open_case("conv-old", "child", now - timedelta(days=120))
    store.append(old, "note", text="old note")
    store.close_case(old, now - timedelta(days=100))
    recent = store.open_case("conv-recent", "child", now - timedelta(days=10))
    store.close_case(recent, now - timedelta(days=9))
    still_open = store.open_case("conv-open", "child", now - timedelta(days=200))
    shared_old = store.open_case("conv-shared", "child", now - timedelta(days=300))
    store.close_case(shared_old, now - timedelta(days=299))
    shared_new = store.open_case("conv-shared", "child", now - timedelta(days=1))
    tracker = tracker_table(cli_env / "tracker.db",
                            ["conv-old", "conv-old", "conv-recent", "conv-open", "conv-shared"])

    assert cli.main(["purge", "--dry-run", "--actor", "tester"]) == 0
    out = capsys.readouterr().out
    assert old in out and shared_old in out and recent not in out
    assert "would delete 2 case(s)" in out
    assert all(store.case(c) for c in (old, recent, still_open, shared_old, shared_new))
    assert len(tracker_senders(tracker)) == 5

    assert cli.main(["purge", "--actor", "tester"]) == 0
    out = capsys.readouterr().out
    assert "deleted 2 case(s)" in out and "2 tracker events" in out
    assert store.case(old) is None and store.events(old) == []
    assert store.case(shared_old) is None
    assert all(store.case(c) for c in (recent, still_open, shared_new))
    # the shared conversation's tracker stays: a kept case still belongs to it
    assert tracker_senders(tracker) == ["conv-open", "conv-recent", "conv-shared"]

    assert cli.main(["purge", "--days", "5", "--actor", "tester"]) == 0
    assert store.case(recent) is None and tracker_senders(tracker) == ["conv-open", "conv-shared"]

    lines = [json.loads(l) for l in (cli_env / "audit.log").read_text().splitlines()]
    assert [l["dry_run"] for l in lines] == [True, True, False, False, False]
    assert {l["actor"] for l in lines} == {"tester"}
    assert {l["action"] for l in lines} == {"purge"}
    tracker.dispose()
    store.dispose()


def test_purge_skips_trackers_when_there_is_no_events_table(cli_env, capsys):
    store = CaseStore()
    case_id = store.open_case("conv-x", "child", NOW - timedelta(days=400))
    store.close_case(case_id, NOW - timedelta(days=399))
    assert cli.main(["purge", "--days", "90"]) == 0
    assert store.case(case_id) is None
    store.dispose()


def test_export_writes_an_audit_line_without_content(cli_env, capsys, caplog):
    store = CaseStore()
    case_id, w = make_case(store)
    caplog.set_level(logging.INFO)
    assert cli.main(["export", case_id, "--format", "json", "--actor", "counsellor-3"]) == 0
    exported = json.loads(capsys.readouterr().out)
    assert exported["case_id"] == case_id and w["note"] in json.dumps(exported)
    assert cli.main(["export", case_id, "--format", "md",
                     "--output", str(cli_env / "handover.md")]) == 0
    assert w["flag"] in (cli_env / "handover.md").read_text()

    audit = (cli_env / "audit.log").read_text()
    lines = [json.loads(l) for l in audit.splitlines()]
    assert [(l["action"], l["case_id"]) for l in lines] == [("export", case_id)] * 2
    assert lines[0]["actor"] == "counsellor-3" and lines[1]["actor"]
    assert all(datetime.fromisoformat(l["at"]).tzinfo for l in lines)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert case_id in logged
    for value in w.values():
        assert value not in audit and value not in logged
    assert cli.main(["export", "d" * 32]) == 2
    store.dispose()


def test_command_line_runs_as_a_module(tmp_path, key):
    env = dict(os.environ, CASE_DB_URL=f"sqlite:///{tmp_path / 'm.db'}", CASE_NOTES_KEY=key,
               AUDIT_LOG=str(tmp_path / "audit.log"))
    run = subprocess.run([sys.executable, "-m", "actions.casenotes", "migrate"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "revision 0003" in run.stdout


# --- failures -----------------------------------------------------------------------------

def test_unreachable_database_raises_store_unavailable(key):
    store = CaseStore("postgresql://postgres@127.0.0.1:1/test?connect_timeout=2", key=key,
                      auto_migrate=False)
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match="notes are not being saved"):
        store.open_case("conv-down", "child", NOW)
    with pytest.raises(StoreUnavailable):
        store.events("e" * 32)
    assert time.monotonic() - started < 10


def test_unmigrated_database_raises_store_unavailable(tmp_path, key):
    store = CaseStore(f"sqlite:///{tmp_path / 'empty.db'}", key=key, auto_migrate=False)
    with pytest.raises(StoreUnavailable):
        store.append("e" * 32, "note", text="x")


def test_store_logs_no_note_text(store, caplog):
    caplog.set_level(logging.DEBUG, logger="actions")
    secret = word()
    case_id = store.open_case("conv-log", "child", NOW)
    store.append(case_id, "note", text=secret)
    summarise(store, case_id)
    assert secret not in caplog.text


def test_dismissals_export_names_the_check_that_raised_each_flag(cli_env, capsys):
    """Flags marked as raised in error come out with their words, the voter that raised
    them and the reason, ready for a safeguarding lead's review; the audit line has no text."""
    import yaml

    store = CaseStore()
    case = store.open_case("conv-dismiss", "parent")
    store.append(case, "red_flag", text="the lake looks peaceful", code="self_harm_risk",
                 actor="meaning:0.41")
    store.append(case, "red_flag", text="her cousin was there", code="offender_known",
                 actor="rules:offender_known#3")
    store.append(case, "red_flag_dismissed", text="the cousin is the caller",
                 code="offender_known", actor="rules:offender_known#3")
    assert cli.main(["dismissals", "--actor", "lead"]) == 0
    exported = yaml.safe_load(capsys.readouterr().out)["examples"]
    assert exported == [{"text": "her cousin was there", "flags": [],
                         "dismissed": "offender_known", "raised_by": "rules:offender_known#3",
                         "reason": "the cousin is the caller", "case": case,
                         "at": exported[0]["at"]}]
    audit_line = json.loads((cli_env / "audit.log").read_text().splitlines()[-1])
    assert audit_line["action"] == "dismissals" and audit_line["entries"] == 1
    assert "cousin" not in (cli_env / "audit.log").read_text()
