"""CI must not pass by skipping: a pytest plugin (loaded by tests/conftest.py).

Some tests skip, with the reason, when PostgreSQL, Redis or Chromium is not there (a
laptop without them still runs the rest). In CI (``.ci/run``) ``HELPLINE_REQUIRE_SERVICES=1``
is set, and such a skip becomes a failure that says which service was missing and why:
"PostgreSQL is required in CI: PostgreSQL not reachable at ...". A skip is one for a
service when its reason names the service. Other skips (a module that is not installed,
a test that does not apply to this machine) stay skips.
"""
from __future__ import annotations

import os
import re
from typing import Any, Mapping

import pytest

ENV = "HELPLINE_REQUIRE_SERVICES"
#: a service a skip reason names, as it is written in the failure
_SERVICE = re.compile(r"\b(postgres(?:ql)?|redis|chromium)\b", re.IGNORECASE)
_NAMES = {"postgres": "PostgreSQL", "postgresql": "PostgreSQL", "redis": "Redis",
          "chromium": "Chromium"}


def services_required(environ: Mapping[str, str] | None = None) -> bool:
    """``HELPLINE_REQUIRE_SERVICES=1``: every service must be there (CI)."""
    environ = os.environ if environ is None else environ
    return (environ.get(ENV) or "").strip() == "1"


def required_service(reason: str | None) -> str | None:
    """The service a skip reason names (PostgreSQL, Redis, Chromium), or None."""
    match = _SERVICE.search(reason or "")
    return _NAMES[match.group(1).lower()] if match else None


def skip_reason(report: Any) -> str:
    """The reason of a skipped test or collector report, without "Skipped: "."""
    longrepr = report.longrepr
    reason = longrepr[2] if isinstance(longrepr, tuple) and len(longrepr) == 3 else str(longrepr)
    return reason[len("Skipped: "):] if reason.startswith("Skipped: ") else reason


def failure_message(report: Any, environ: Mapping[str, str] | None = None) -> str | None:
    """What a report that must not be a skip fails with; None for every other report
    (passed, failed, xfailed, a skip naming no service, or services not required)."""
    if not report.skipped or hasattr(report, "wasxfail") or not services_required(environ):
        return None
    reason = skip_reason(report)
    service = required_service(reason)
    if service is None:
        return None
    return (f"{service} is required in CI: {reason} ({ENV}=1 turns a skip for a missing "
            "service into a failure)")


def _fail_if_required(report: Any) -> None:
    message = failure_message(report)
    if message:
        report.outcome = "failed"
        report.longrepr = message


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skip in setup (a fixture, ``skipif``) or in the test itself."""
    outcome = yield
    _fail_if_required(outcome.get_result())


@pytest.hookimpl(hookwrapper=True)
def pytest_make_collect_report(collector):
    """A module skipped whole (``pytest.skip(..., allow_module_level=True)``)."""
    outcome = yield
    _fail_if_required(outcome.get_result())
