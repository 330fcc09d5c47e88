"""A real headless browser for the dashboard's tests: Debian's chromium driven by its
chromedriver through Selenium. A missing browser fails the test (`make install` installs
both), never skips it. Selenium's calls block: tests run them in a thread (`in_thread`), so
the test's own servers (a webhook receiver) keep answering meanwhile."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import pytest
from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

T = TypeVar("T")
REPO = Path(__file__).resolve().parents[4]
# Where the screenshots go: bench-results/ is not tracked; docs/img/ keeps the README's copy.
SCREENSHOTS = Path(os.environ.get("DASHBOARD_SCREENSHOTS", REPO / "bench-results" / "dashboard"))
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _executable(names: tuple[str, ...], what: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    pytest.fail(f"{what} is missing: `make install` installs it (Debian: chromium chromium-driver)")


@contextmanager
def headless_chromium() -> Iterator[webdriver.Chrome]:
    options = webdriver.ChromeOptions()
    options.binary_location = _executable(BROWSERS, "chromium")
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.add_argument("--window-size=1366,900")  # a laptop's screen
    service = Service(_executable(("chromedriver",), "chromedriver"))
    try:
        driver = webdriver.Chrome(service=service, options=options)
    except WebDriverException as exc:
        pytest.fail(f"chromium did not start: {exc.msg}")
    try:
        yield driver
    finally:
        driver.quit()


async def in_thread(step: Callable[[], T]) -> T:
    return await asyncio.to_thread(step)


def wait_for(driver: webdriver.Chrome, condition: Callable[[], T], timeout: float = 30) -> T:
    """The first truthy answer of `condition`, asked again until `timeout`."""
    return WebDriverWait(driver, timeout, poll_frequency=0.2).until(lambda _: condition())


def text_of(driver: webdriver.Chrome, css: str) -> str:
    return driver.find_element(By.CSS_SELECTOR, css).text


def element(driver: webdriver.Chrome, css: str) -> WebElement:
    return driver.find_element(By.CSS_SELECTOR, css)


def screenshot(driver: webdriver.Chrome, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    assert driver.save_screenshot(str(path)), path
    return path
