"""The security rules of issue 12 that hold without a server: one reading of HELPLINE_ENV,
of a token, of a button payload; a case read or written only by its own conversation; a
queue of unsaved notes that takes only this conversation's recent events."""
from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import jwt
import pytest

from actions import actions as A
from actions import settings
from actions.casenotes import CaseNotOwned, CaseStore, summarise
from actions.payload import is_button_payload, was_button
from rasa_plugins import http_guard, tokens
from rasa_plugins.nlu_input import nlu_text
from unit.test_actions import open_case, run, texts

SECRET = "a-test-secret-of-reasonable-length-0123456789"


# --- HELPLINE_ENV ------------------------------------------------------------------------------

@pytest.mark.parametrize("value,mode", [(None, "development"), ("", "development"),
                                        ("production", "production"),
                                        ("production ", "production"),
                                        (" Production\n", "production"),
                                        ("DEVELOPMENT", "development")])
def test_helpline_env_is_read_the_same_way_everywhere(value, mode):
    environ = {} if value is None else {"HELPLINE_ENV": value}
    assert settings.helpline_env(environ) == mode
    assert settings.production(environ) is (mode == "production")


@pytest.mark.parametrize("value", ["prod", "staging", "production1", "yes"])
def test_an_unknown_helpline_env_is_refused_not_taken_for_development(value):
    with pytest.raises(ValueError, match="not one of development, production"):
        settings.helpline_env({"HELPLINE_ENV": value})
    assert "not one of" in settings.production_error({"HELPLINE_ENV": value})


def test_the_panel_origin_and_the_hosts_that_may_frame_it():
    environ = {"RASA_HOST": "127.0.0.1", "PANEL_PORT": "8081",
               "PANEL_HOST_ORIGINS": "https://crm.helpline.example, https://CRM.helpline.example/x"}
    assert settings.panel_origin(environ) == "http://127.0.0.1:8081"
    assert settings.host_origins(environ) == ["http://127.0.0.1:8081",
                                              "https://crm.helpline.example"]
    with pytest.raises(ValueError):
        settings.host_origins({"PANEL_HOST_ORIGINS": "javascript:alert(1)"})


# --- tokens ------------------------------------------------------------------------------------

def token(secret=SECRET, algorithm="HS256", **claims):
    payload = {"user": {"username": "conv-1", "role": "user"}, "exp": int(time.time()) + 600}
    payload.update(claims)
    return jwt.encode(payload, secret, algorithm=algorithm)


def test_a_user_token_speaks_for_its_conversation_and_an_admin_for_all():
    user = tokens.claims(token(), SECRET)
    assert user.allows("conv-1") and not user.allows("conv-2") and not user.admin
    admin = tokens.claims(tokens.mint(SECRET, "admin", hours=1), SECRET)
    assert admin.admin and admin.allows("anything")


@pytest.mark.parametrize("name,bad", [
    ("no exp", lambda: jwt.encode({"user": {"username": "c", "role": "user"}}, SECRET,
                                  algorithm="HS256")),
    ("exp in 2100", lambda: token(exp=4102444800)),
    ("expired a second ago", lambda: token(exp=int(time.time()) - 1)),
    ("alg none", lambda: jwt.encode({"user": {"role": "admin"}, "exp": int(time.time()) + 60},
                                    None, algorithm="none")),
    ("HS512", lambda: token(algorithm="HS512")),
    ("wrong secret", lambda: token(secret="another-secret-of-reasonable-length-987654")),
    ("role Admin", lambda: token(user={"username": "x", "role": "Admin"})),
    ("no conversation", lambda: token(user={"role": "user"})),
    ("conversation too long", lambda: token(user={"role": "user", "username": "c" * 300})),
    ("exp not a number", lambda: token(exp="tomorrow")),
    ("not a token", lambda: "not-a-jwt"),
])
def test_every_bad_token_is_refused(name, bad):
    with pytest.raises(tokens.TokenRefused):
        tokens.claims(bad(), SECRET)


def test_the_token_life_cap_is_configurable(monkeypatch):
    monkeypatch.setenv("TOKEN_MAX_HOURS", "1")
    with pytest.raises(tokens.TokenRefused, match="longer than 1 hours"):
        tokens.claims(token(exp=int(time.time()) + 3 * 3600), SECRET)


# --- what the NLU reads ------------------------------------------------------------------------

INTENTS, ENTITIES = ["start_case", "what_next", "dismiss_flag"], ["caller_role", "flag"]


@pytest.mark.parametrize("text,button", [
    ('/start_case{"caller_role":"child"}', True), ("/what_next", True),
    ('/dismiss_flag{"flag":"self_harm_risk"}', True),
    ("/what_next he wants to die", False), ("/ he says he wants to die", False),
    ("/unknown_intent", False), ('/start_case{"caller_role":"child"', False),
    ('/start_case{"other":"x"}', False), ('/start_case{"caller_role":{"a":1}}', False),
    ("/start_case@0.9", False), ("what_next", False),
])
def test_only_an_exact_button_payload_is_a_button(text, button):
    assert is_button_payload(text, INTENTS, ENTITIES) is button
    seen = nlu_text(text, INTENTS, ENTITIES)
    assert seen.lstrip().startswith("/") is button


def test_the_nlu_reads_the_start_of_a_long_message_only():
    text = "he keeps messaging her " * 2000
    assert nlu_text(text, INTENTS, ENTITIES) == text[:settings.NLU_MAX_CHARS]


def test_a_typed_slash_is_text_for_the_actions():
    assert was_button("/what_next", "what_next")
    assert not was_button("/ he said he wants to die", "report_self_harm")
    assert A.typed_text("/ he said he wants to die", "report_self_harm") == \
        "/ he said he wants to die"
    assert A.typed_text("/what_next", "what_next") == ""


# --- request bodies ----------------------------------------------------------------------------

def test_texts_and_metadata_over_the_limits_are_found_anywhere_in_a_body():
    limit = settings.max_message_chars()
    assert http_guard.too_big({"message": "x" * limit}) is None
    assert http_guard.too_big({"message": "x" * (limit + 1)})[0] == 413
    assert http_guard.too_big([{"event": "user", "text": "x" * (limit + 1)}])[0] == 413
    assert http_guard.too_big({"text": "hi", "metadata": {"m": "x" * 5000}})[0] == 413
    assert http_guard.too_big({"text": "hi", "metadata": "not an object"})[0] == 400


# --- a case belongs to one conversation ---------------------------------------------------------

def test_the_store_refuses_to_write_or_summarise_another_conversations_case(tmp_path):
    store = CaseStore(url=f"sqlite:///{tmp_path / 'cases.db'}")
    case_id = store.open_case("conv-a", "child")
    store.append_many(case_id, [{"kind": "note", "text": "a's note"}], conversation_id="conv-a")
    with pytest.raises(CaseNotOwned):
        store.append_many(case_id, [{"kind": "closed"}], conversation_id="conv-b")
    with pytest.raises(CaseNotOwned):
        summarise(store, case_id, conversation_id="conv-b")
    assert store.case(case_id)["closed_at"] is None
    assert [e["kind"] for e in store.events(case_id)] == ["opened", "note"]


async def test_a_forged_case_id_slot_reads_and_writes_nothing_of_that_case():
    victim = await open_case(sender="conv-victim")
    await run(A.ActionAddNote(), "add note: the victim's words", "add_note", victim,
              sender="conv-victim")
    attacker = await open_case(sender="conv-attacker")
    forged = dict(attacker, case_id=victim["case_id"])
    messages, _, after = await run(A.ActionSummary(), "summary", "summary", forged,
                                   sender="conv-attacker")
    assert not any("the victim's words" in t for t in texts(messages))
    assert after.get("case_id") != victim["case_id"], "the foreign case is cleared"
    await run(A.ActionAddNote(), "add note: the attacker's words", "add_note", forged,
              sender="conv-attacker")
    notes = [e["text"] for e in A.case_store().events(victim["case_id"]) if e["kind"] == "note"]
    assert notes == ["the victim's words"]


async def test_forged_queued_events_never_close_another_conversations_case():
    victim = await open_case(sender="conv-v2")
    attacker = await open_case(sender="conv-a2")
    queued = [{"kind": "closed", "case_id": victim["case_id"], "conversation_id": cid,
               "at": "2001-01-01T00:00:00+00:00", "caller_role": "child"}
              for cid in ("conv-a2", "conv-v2")]
    queued.append(dict(queued[0], at=datetime.now(timezone.utc).isoformat()))
    await run(A.ActionAddNote(), "add note: fine", "add_note",
              dict(attacker, unsaved_events=queued), sender="conv-a2")
    assert A.case_store().case(victim["case_id"])["closed_at"] is None


def test_the_queue_of_unsaved_notes_takes_only_this_conversations_recent_events():
    now = datetime.now(timezone.utc)
    good = {"kind": "note", "case_id": "a" * 32, "conversation_id": "c1",
            "at": (now - timedelta(minutes=5)).isoformat(), "text": "x"}
    kept = [good,
            dict(good, conversation_id="c2"),
            dict(good, at="2001-01-01T00:00:00+00:00"),
            dict(good, at=(now + timedelta(hours=1)).isoformat()),
            dict(good, kind="delete_everything"),
            dict(good, case_id="../../etc"),
            dict(good, at="2026-11-29T10:00:00"),  # no time zone
            "not an event", {"kind": "note"}]
    assert A.queued_events(kept, "c1", now) == [good]
