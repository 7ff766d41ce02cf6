"""The web pages' fixtures: the app served over real HTTP, and Debian's Chromium.

The browser is the machine's ``chromium`` (``PARKING_CHROMIUM`` names another), driven by
Playwright through ``executable_path`` with the no-sandbox and no-background-networking
flags; Playwright's own browser download is never used. ``make test`` installs chromium
with apt where it is missing, so a missing browser fails these tests rather than skip them.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import uvicorn
from litestar.testing import AsyncTestClient
from playwright.async_api import Browser, Page, async_playwright

from parking.app import create_app
from parking.settings import Settings
from tests.conftest import REPO_ROOT
from tests.helpers import PASSWORD

SCREENSHOTS = REPO_ROOT / "docs" / "screenshots"

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-default-apps",
    "--disable-dev-shm-usage",
    "--disable-sync",
    "--no-first-run",
    "--no-default-browser-check",
]

PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 860}


def chromium_path() -> str:
    configured = os.environ.get("PARKING_CHROMIUM")
    found = configured or shutil.which("chromium") or shutil.which("chromium-browser")
    if not found or not Path(found).exists():
        pytest.fail(
            "Debian's chromium is not installed: `make test` installs it "
            "(apt-get install chromium), or set PARKING_CHROMIUM to a Chromium binary."
        )
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(settings: Settings) -> Iterator[str]:
    """The app of this test's settings, served by uvicorn in a thread; its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings),
            host="127.0.0.1",
            port=port,
            log_level="warning",
            access_log=False,
            lifespan="on",
        )
    )
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the live server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(15)


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path(), headless=True, args=CHROMIUM_FLAGS
        )
        try:
            yield launched
        finally:
            await launched.close()


@asynccontextmanager
async def _page(browser: Browser, base_url: str, **options: object) -> AsyncIterator[Page]:
    """A page in a fresh context; the test fails if a page logged a script error or broke
    its Content-Security-Policy (an inline script, a foreign asset) along the way."""
    context = await browser.new_context(base_url=base_url, locale="zh-CN", **options)
    context.set_default_timeout(15_000)
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        yield page
    finally:
        await context.close()
    # A 4xx page the test opened on purpose logs its status; that is not a script error.
    errors = [e for e in errors if "the server responded with a status of" not in e]
    assert errors == [], errors


@pytest.fixture
async def phone(browser: Browser, live_server: str) -> AsyncIterator[Page]:
    """A page as a resident's phone shows it."""
    async with _page(
        browser, live_server, viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    ) as page:
        yield page


@pytest.fixture
async def desk(browser: Browser, live_server: str) -> AsyncIterator[Page]:
    """A page as a manager's or admin's desk screen shows it."""
    async with _page(browser, live_server, viewport=DESK) as page:
        yield page


async def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    """Sign in through the sign-in page, as a person does, and land on the home page."""
    await page.goto("/app/login")
    await page.fill("input[name=email]", email)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit].primary")
    await page.wait_for_load_state()
    assert "/app/login" not in page.url, await page.inner_text("main")


async def screenshot(page: Page, name: str) -> Path:
    """Save the whole page as docs/screenshots/<name>.png (the README shows them)."""
    assert re.fullmatch(r"[a-z0-9-]+", name)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    await page.screenshot(path=str(path), full_page=True)
    return path


class WebForm:
    """Posting a page's form from a test client as a browser does: with the CSRF token the
    page carries and the key of the form sent (when the page shows a form for that action)."""

    def __init__(self, client: AsyncTestClient) -> None:
        self.client = client

    async def token(self, path: str) -> str:
        page = await self.client.get(path)
        assert page.status_code == 200, page.text
        found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
        assert found, "the page has no form with a CSRF token"
        return found.group(1)

    async def shown(self, form_page: str, action: str) -> dict[str, str]:
        """The hidden fields of the form for ``action`` on the page as it is shown now."""
        page = await self.client.get(form_page)
        assert page.status_code == 200, page.text
        return form_fields_of(page.text, action)

    async def send(self, action: str, data: dict[str, str], shown: dict[str, str], **kwargs):
        """Post ``data`` with the hidden fields of a form shown before."""
        return await self.client.post(
            action, data={**data, **shown}, follow_redirects=False, **kwargs
        )

    async def post(self, form_page: str, action: str, data: dict[str, str], **kwargs: object):
        page = await self.client.get(form_page)
        assert page.status_code == 200, page.text
        shown = form_fields_of(page.text, action)
        if not shown:  # an action the page shows no form for: its token only
            found = re.search(r'name="_csrf_token" value="([^"]+)"', page.text)
            assert found, "the page has no form with a CSRF token"
            shown = {"_csrf_token": found.group(1)}
        return await self.send(action, data, shown, **kwargs)


def form_fields_of(html: str, action: str) -> dict[str, str]:
    """The CSRF token and form key of the first form posting to ``action`` ({} if none)."""
    for form in re.finditer(r"<form\b([^>]*)>(.*?)</form>", html, re.S):
        if f'action="{action}"' in form.group(1):
            return dict(
                re.findall(
                    r'<input type="hidden" name="(_csrf_token|_form_key)" value="([^"]*)">',
                    form.group(2),
                )
            )
    return {}


@pytest.fixture
def web(client: AsyncTestClient) -> WebForm:
    return WebForm(client)
