"""Browser tests of the side panel: Debian's Chromium, headless, driven by Playwright, against
a real stack (the e2e `stack` fixture). Playwright downloads no browser here: it launches
/usr/bin/chromium (`make browser` installs it)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from e2e.conftest import stack  # noqa: F401  (the same real stack as the e2e tests)

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-quic", "--disable-features=Translate,MediaRouter"]


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import expect

    expect.set_options(timeout=60_000)
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} not found: run `make browser` (installs Debian's chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def context(browser):
    """A fresh browser profile per test: its own sessionStorage."""
    ctx = browser.new_context(viewport={"width": 400, "height": 800}, locale="en-GB")
    ctx.set_default_timeout(60_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    yield page


@pytest.fixture(scope="session")
def shots(workdir) -> Path:
    """Where screenshots go: docs/ when PANEL_SCREENSHOTS=docs, else the test's temp folder."""
    target = os.environ.get("PANEL_SCREENSHOTS", "")
    root = Path(__file__).resolve().parents[2]
    folder = root / "docs" if target == "docs" else workdir / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
