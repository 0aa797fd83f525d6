"""Headless Chromium from Debian's packages, driven by Selenium: dashboard screenshots and tests.

``chromium`` and ``chromium-driver`` come from the same Debian source package, so the driver
always matches the browser; Selenium is pointed at both binaries and never downloads a driver.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import WebDriverException
from selenium.webdriver.chrome.service import Service

from domain.errors import StackError
from symbiosis.procs import apt_install
from symbiosis.stack_settings import StackSettings


def install(settings: StackSettings) -> None:
    """Install ``chromium`` and ``chromium-driver`` when the driver is missing (as root).

    Raises:
        StackError: missing and cannot be installed here.
    """
    apt_install(
        "chromium", "chromium-driver", binary=settings.chromedriver_bin,
        setting="SYMBIOSIS_CHROMEDRIVER_BIN",
    )  # fmt: skip


@contextmanager
def chrome(
    settings: StackSettings, *, width: int = 1600, height: int = 1200
) -> Iterator[webdriver.Chrome]:
    """A headless Chromium session, quit on exit.

    Raises:
        StackError: the browser cannot be installed or started.
    """
    install(settings)
    options = webdriver.ChromeOptions()
    options.binary_location = str(settings.chromium_bin)
    for arg in (
        "--headless=new", f"--window-size={width},{height}", "--disable-gpu",
        "--disable-dev-shm-usage", "--hide-scrollbars", "--force-device-scale-factor=1",
        # no calls home: this machine's network is closed, and a control room's may be too
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-quic",
    ):  # fmt: skip
        options.add_argument(arg)
    if os.geteuid() == 0:
        options.add_argument("--no-sandbox")  # Chromium refuses to sandbox as root
    try:
        driver = webdriver.Chrome(
            options=options, service=Service(executable_path=str(settings.chromedriver_bin))
        )
    except WebDriverException as e:
        raise StackError(f"Chromium could not start: {e.msg}") from e
    try:
        yield driver
    finally:
        driver.quit()


def wait_for(
    driver: webdriver.Chrome, check: Callable[[webdriver.Chrome], bool], timeout_s: float
) -> bool:
    """Poll ``check(driver)`` until true or ``timeout_s``; returns whether it became true."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if check(driver):
            return True
        time.sleep(0.2)
    return False


def screenshot_dashboard(
    settings: StackSettings, url: str, path: Path, *, min_alerts: int = 1, timeout_s: float = 30
) -> Path:
    """Open the dashboard at ``url`` (token in the fragment), wait for data, save a PNG.

    Waits until the page received a live update with at least ``min_alerts`` alert rows
    (best effort: after ``timeout_s`` it saves what is shown).

    Raises:
        StackError: the browser cannot be installed or started.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    with chrome(settings) as driver:
        driver.get(url)
        wait_for(
            driver,
            lambda d: bool(d.execute_script(
                "return Number(document.body.dataset.updates || 0) > 0 && "
                "document.querySelectorAll('#alerts tbody tr[data-alert]').length >= arguments[0]",
                min_alerts,
            )),
            timeout_s,
        )  # fmt: skip
        time.sleep(0.5)  # let the map's flow animation settle into a frame
        driver.save_screenshot(str(path))
    return path
