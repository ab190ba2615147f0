"""Headless Chromium for the page tests: Debian's `chromium` driven by Playwright (never a downloaded browser).


`chromium_page()` yields a page that records console errors and uncaught exceptions in `page.errors`."""

from __future__ import annotations

import contextlib
import shutil
import time
from collections.abc import Iterator
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run",
]  # fmt: skip


def need_chromium() -> Any:
    """Skip (with the reason) where the browser or Playwright is missing; scripts/test installs both."""
    try:
        import playwright  # noqa: F401
    except ImportError:
        return pytest.mark.skip(reason="needs the playwright Python package (scripts/test installs it)")
    if shutil.which("chromium") is None:
        return pytest.mark.skip(reason="needs the Debian chromium package (scripts/test installs it)")
    return pytest.mark.skipif(False, reason="chromium and playwright are installed")


def wait_js(page: Any, expression: str, *, timeout: float = 15.0) -> Any:
    """Poll a JavaScript expression until it is truthy (page.evaluate, not wait_for_function: the pages forbid
    eval in their Content-Security-Policy, and the test keeps that policy on)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expression)
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout}s: {expression}")
        time.sleep(0.05)


@contextlib.contextmanager
def chromium_page(width: int = 1280, height: int = 900) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.errors = errors
            yield page
        finally:
            browser.close()
