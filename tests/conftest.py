"""Shared fixtures: an isolated environment per test session (stores under a temporary
folder, a fresh encryption key), rasa-sdk trackers built from dicts; and, with
HELPLINE_REQUIRE_SERVICES=1, no skipping for a missing service (tests/ci_requirements.py)."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

# HELPLINE_REQUIRE_SERVICES=1 (CI): a skip for a missing PostgreSQL, Redis or Chromium fails
from ci_requirements import pytest_make_collect_report, pytest_runtest_makereport  # noqa: F401


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("helpline")


@pytest.fixture(scope="session", autouse=True)
def isolated_env(workdir: Path) -> dict[str, str]:
    """Every store of the test session lives under one temporary folder."""
    from cryptography.fernet import Fernet

    values = {
        "CASE_DB_URL": f"sqlite:///{workdir / 'casenotes.db'}",
        "TRACKER_DB_URL": f"sqlite:///{workdir / 'tracker.db'}",
        "CASE_NOTES_KEY": Fernet.generate_key().decode(),
        "AUDIT_LOG": str(workdir / "audit.log"),
        "HELPLINE_TIMEZONE": "Europe/London",
        "HELPLINE_COUNTRY": "GB",
    }
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    yield values
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture(autouse=True)
def rasa_unpatched():
    """Whatever a test installs into Rasa (rasa_plugins/patches.py: directly, or by making
    a tracker store or REST channel), it is undone after the test."""
    yield
    from rasa_plugins import patches

    patches.uninstall()
