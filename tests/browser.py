"""Real Chromium for the page tests: Debian's build (the Playwright download does not work
here), headless, with the flags that keep it off the network; one browser per test module,
one context per page, as separate devices in a hall would be."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]
PASSWORD = "Tulip-7741-q"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                               args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Any]:
    """Pages in their own contexts (own cookies), as separate devices in a hall would be."""
    contexts = []

    def make(width: int = 1280, height: int = 800, timezone: str | None = None) -> Page:
        """`timezone`: the device's own clock zone (a TV left on UTC); None = the machine's."""
        ctx = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN",
                                  timezone_id=timezone)
        contexts.append(ctx)
        page = ctx.new_page()
        page.set_default_timeout(10_000)
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def login_counter(page: Page, url: str, user: str, window: int,
                  password: str = PASSWORD) -> None:
    """The counter pad's own login form, as a clerk fills it at the start of a shift."""
    page.goto(url + "/counter")
    page.fill("#l-user", user)
    page.fill("#l-pass", password)
    page.select_option("#l-window", str(window))
    page.click("#l-submit")
