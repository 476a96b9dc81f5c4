"""Browser tests: the real app served over HTTP on a free port, driven by Playwright in Debian's headless Chromium.

Chromium comes from Debian (`make browser`, run by `make test`), never from `playwright install`. Screenshots go to
test-artifacts/screenshots/ (gitignored), named by test, backend and step.
"""
from __future__ import annotations

import os
import re
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from services.platform import Platform
from tests.conftest import backend

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
PASSWORD = "Passw0rd-ggzy"
WAIT_MS = 10_000  # generous for two test workers on a loaded 2-core machine; a passing step takes far less


def chromium_path() -> str | None:
    """Debian's chromium, or GGZY_CHROMIUM when set."""
    return os.environ.get("GGZY_CHROMIUM") or shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Chromium per test worker."""
    executable = chromium_path()
    if executable is None:
        # make test installs it (make browser): a missing browser is a broken install, never a reason to skip
        pytest.fail("Debian's chromium is not installed (make browser, or apt-get install chromium)")
    try:
        from playwright.sync_api import expect, sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: pip install -e '.[dev]'")
    if not (ROOT / "web" / "node_modules" / "bpmn-js" / "dist").is_dir():
        pytest.fail("web/node_modules is missing: run make venv (cd web && npm ci)")
    expect.set_options(timeout=WAIT_MS)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def bare_platform(db_url: str) -> Iterator[Platform]:
    """A platform without forms and processes, for tests that need neither (loading them costs seconds)."""
    from ggzy.config import Config

    p = Platform.build(Config(database_url=db_url, fake_clock=True))
    yield p
    p.dispose()


@pytest.fixture
def bare_client(bare_platform: Platform) -> Any:
    """A Flask test client of the app on bare_platform, without a timer worker."""
    from api.app import create_app

    return create_app(platform=bare_platform, start_worker=False).test_client()


@pytest.fixture
def timer_worker() -> bool:
    """Whether the served app runs its embedded timer worker; a module overrides this to keep due tasks open."""
    return True


@pytest.fixture
def server(platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, timer_worker: bool) -> Iterator[str]:
    """The app (with its embedded timer worker) served by a real HTTP server on a free port; yields the base URL."""
    from werkzeug.serving import make_server

    from api.app import create_app
    from services import web_sessions

    monkeypatch.setenv("GGZY_BID_STORAGE", str(tmp_path / "bids"))
    monkeypatch.setattr(web_sessions, "THROTTLE", web_sessions.Throttle())
    app = create_app(platform=platform, start_worker=timer_worker)
    http = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=http.serve_forever, name="ggzy-web-test-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{http.server_port}"
    finally:
        http.shutdown()
        thread.join(timeout=5)
        if timer_worker:
            app.extensions["ggzy_scheduler"].stop()


@pytest.fixture
def page(browser: Any, server: str, request: pytest.FixtureRequest) -> Iterator[Any]:
    """A fresh browser context (no stored session) on the server; script errors and CSP refusals fail the test."""
    context = browser.new_context(base_url=server, viewport={"width": 1440, "height": 900}, locale="zh-CN")
    context.set_default_timeout(WAIT_MS)
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda exc: errors.append(str(exc)))
    tab.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    try:
        yield tab
    finally:
        context.close()
    assert not errors, f"uncaught errors in the page: {errors}"


@pytest.fixture
def shot(page: Any, request: pytest.FixtureRequest) -> Callable[..., Path]:
    """shot('step'[, on=other_page]) saves a full-page screenshot as test-artifacts/screenshots/<test>-<backend>-<step>.png."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    test = re.sub(r"[^\w-]+", "_", request.node.name)

    def take(step: str, on: Any = None) -> Path:
        path = SHOTS / f"{test}-{backend()}-{step}.png"
        (on or page).screenshot(path=str(path), full_page=True)
        return path

    return take


@pytest.fixture
def web_user(platform: Platform) -> Callable[..., dict[str, str]]:
    """web_user(name, *roles, region=..., org=...) creates a user with PASSWORD; returns its name and API token."""
    from services.users import create_user

    def make(name: str, *roles: str, region: str | None = None, org: str | None = None) -> dict[str, str]:
        created = create_user(platform, name, list(roles), region=region, org=org, password=PASSWORD)
        return {"username": name, "token": created["token"], "Authorization": f"Bearer {created['token']}"}

    return make


def login(page: Any, username: str, password: str = PASSWORD, refused: bool = False) -> None:
    """Sign in through the login page; wait to land on the next page, or (refused) for the error shown."""
    page.goto("/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("#login-submit")
    if refused:
        page.wait_for_selector("#login-error:not([hidden])")
    else:
        page.wait_for_url(lambda url: "/login" not in url)
