"""CI must not pass by skipping (tests/ci_requirements.py): with HELPLINE_REQUIRE_SERVICES=1
a skip for a missing PostgreSQL, Redis or Chromium fails; other skips stay skips."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

import ci_requirements as ci

pytest_plugins = ["pytester"]

SKIPPING = '''
import pytest

@pytest.fixture
def db():
    pytest.skip("PostgreSQL not reachable at postgresql://postgres@127.0.0.1:5432/test "
                "(OperationalError)")

def test_postgres(db):
    pass

@pytest.mark.skipif(True, reason="no Redis at 127.0.0.1:6379")
def test_redis():
    pass

def test_chromium():
    pytest.skip("/usr/bin/chromium not found")

def test_not_for_this_machine():
    pytest.skip("this machine has a system python3")

@pytest.mark.xfail(reason="PostgreSQL-only bug", run=False)
def test_expected_to_fail():
    pass

def test_passes():
    pass
'''
MODULE_SKIPPED = '''
import pytest

pytest.skip("Redis is not reachable at 127.0.0.1:6379; production tests need it",
            allow_module_level=True)

def test_never_run():
    pass
'''


def run(pytester: pytest.Pytester, **files: str):
    """Run test files in a folder whose conftest loads the hook as tests/conftest.py does."""
    pytester.makeconftest(
        "from ci_requirements import pytest_make_collect_report, pytest_runtest_makereport")
    pytester.makepyfile(**files)
    return pytester.runpytest_inprocess("-rA")


def test_in_ci_a_skip_for_a_missing_service_fails_and_says_why(pytester, monkeypatch):
    monkeypatch.setenv(ci.ENV, "1")
    result = run(pytester, test_skipping=SKIPPING)
    # the fixture's skip and the skipif fail in set-up (errors), the test's own skip fails
    result.assert_outcomes(passed=1, skipped=1, failed=1, errors=2, xfailed=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines_random([
        "*PostgreSQL is required in CI: PostgreSQL not reachable at postgresql://*",
        "*Redis is required in CI: no Redis at 127.0.0.1:6379*",
        "*Chromium is required in CI: /usr/bin/chromium not found*",
        "SKIPPED*this machine has a system python3",  # not a service: still a skip
    ])


def test_in_ci_a_module_skipped_for_a_missing_service_fails(pytester, monkeypatch):
    monkeypatch.setenv(ci.ENV, "1")
    result = run(pytester, test_module_skipped=MODULE_SKIPPED)
    result.assert_outcomes(errors=1)
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error stops the run
    result.stdout.fnmatch_lines(
        ["*Redis is required in CI: Redis is not reachable at 127.0.0.1:6379; production*"])


@pytest.mark.parametrize("value", [None, "", "0", "yes"])
def test_without_it_skips_stay_skips(pytester, monkeypatch, value):
    if value is None:
        monkeypatch.delenv(ci.ENV, raising=False)
    else:
        monkeypatch.setenv(ci.ENV, value)
    result = run(pytester, test_skipping=SKIPPING, test_module_skipped=MODULE_SKIPPED)
    result.assert_outcomes(passed=1, skipped=5, xfailed=1)
    assert result.ret == pytest.ExitCode.OK


def test_the_service_is_read_from_the_skip_reason():
    assert ci.required_service("PostgreSQL not reachable at postgresql://x (OperationalError)") \
        == "PostgreSQL"
    assert ci.required_service("postgres is down") == "PostgreSQL"
    assert ci.required_service("no Redis at 127.0.0.1:6379") == "Redis"
    assert ci.required_service("/usr/bin/chromium not found") == "Chromium"
    for other in ("could not import 'rasa'", "this machine has a system python3", "", None,
                  "credis", "postgresqlish"):
        assert ci.required_service(other) is None


def test_failure_message_only_for_a_service_skip_with_services_required():
    skipped = SimpleNamespace(skipped=True, longrepr=("f.py", 3, "Skipped: no Redis at :6379"))
    on = {ci.ENV: "1"}
    assert ci.failure_message(skipped, on) == (
        "Redis is required in CI: no Redis at :6379 (HELPLINE_REQUIRE_SERVICES=1 turns a skip "
        "for a missing service into a failure)")
    assert ci.failure_message(skipped, {}) is None
    assert ci.failure_message(SimpleNamespace(skipped=False, longrepr=None), on) is None
    xfailed = SimpleNamespace(skipped=True, wasxfail="Redis flaky", longrepr=None)
    assert ci.failure_message(xfailed, on) is None


def test_ci_run_requires_the_services_before_make_test():
    from support import ROOT

    lines = [line.strip() for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    assert lines.index("export HELPLINE_REQUIRE_SERVICES=1") < lines.index("make test")


def test_the_test_suite_loads_the_hook(pytestconfig):
    plugins = pytestconfig.pluginmanager.get_plugins()
    hooks = [getattr(p, "pytest_runtest_makereport", None) for p in plugins]
    assert ci.pytest_runtest_makereport in hooks
