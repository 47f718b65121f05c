"""HELPLINE_ENV=production refuses to start without its secrets and shared stores, and
says in one line what is missing; the Rasa server's tracker store refuses too, however
the server was started."""
from __future__ import annotations

import re

import pytest

from actions import settings

ROOT = settings.ROOT

COMPLETE = {
    "HELPLINE_ENV": "production",
    "RASA_JWT_SECRET": "s" * 48,
    "CASE_NOTES_KEY": "k",
    "TRACKER_DB_URL": "postgresql://helpline@db/helpline",
    "CASE_DB_URL": "postgresql+psycopg2://helpline@db/helpline",
    "REDIS_URL": "redis://cache:6379/1",
}


def test_complete_production_settings_pass():
    assert settings.production_problems(COMPLETE) == []
    assert settings.production_error(COMPLETE) is None


def test_development_needs_nothing():
    assert settings.production_error({}) is None


def test_each_missing_or_local_store_is_named_in_one_line():
    environ = dict(COMPLETE, CASE_DB_URL="sqlite:///var/casenotes.db", REDIS_URL="")
    del environ["RASA_JWT_SECRET"]
    error = settings.production_error(environ)
    assert "\n" not in error
    assert error.startswith("ERROR: HELPLINE_ENV=production needs")
    assert "RASA_JWT_SECRET" in error and "REDIS_URL" in error
    assert "CASE_DB_URL (must be postgresql://...)" in error
    assert "TRACKER_DB_URL" not in error and "CASE_NOTES_KEY" not in error


def test_the_tracker_store_refuses_a_production_server_without_settings(monkeypatch):
    from rasa_plugins.tracker_store import EncryptedSQLTrackerStore

    for name in settings.PRODUCTION_NEEDS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HELPLINE_ENV", "production")
    from cryptography.fernet import Fernet

    monkeypatch.setenv("CASE_NOTES_KEY", Fernet.generate_key().decode())
    with pytest.raises(RuntimeError, match="RASA_JWT_SECRET, TRACKER_DB_URL, CASE_DB_URL, REDIS_URL"):
        EncryptedSQLTrackerStore()


def test_every_setting_is_documented_and_no_other_name_is_read(monkeypatch):
    documented = set(re.findall(r"`([A-Z][A-Z_]+)`", (ROOT / "docs" / "configuration.md").read_text()))
    assert settings.VARIABLES <= documented, sorted(settings.VARIABLES - documented)
    monkeypatch.setenv("HELPLINE_TIMEZONE", "  Europe/London ")
    assert settings.env("HELPLINE_TIMEZONE") == "Europe/London"
    monkeypatch.setenv("HELPLINE_TIMEZNOE", "Europe/London")  # a misspelt name is an error
    with pytest.raises(KeyError, match="not a setting"):
        settings.env("HELPLINE_TIMEZNOE")
