"""The dashboard in headless Chromium (Debian's package, driven by Selenium) on the real
pipeline: the demo park's alerts show, a new surplus appears without reloading, a partner's
view is redacted. Screenshots are saved under ``.stack/screenshots/``."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import psycopg
import pytest
import uvicorn
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webdriver import WebDriver

from domain.park import bundled_park_path, load_park
from ingest.api import tokens
from ingest.api.app import create_app
from ingest.api.services import Services
from ingest.batch_producer import ReadingsProducer
from ingest.simulator import Simulator
from runtime.settings import Settings
from symbiosis.browser import chrome, wait_for
from symbiosis.pipeline import LocalPipeline
from symbiosis.stack_settings import PROJECT_ROOT
from tests.helpers import isolated

pytestmark = pytest.mark.integration

PORT = 28090
SHOTS = PROJECT_ROOT / ".stack" / "screenshots"
HELD_BACK = "refinery-fuel-gas"  # not simulated: the live-update test makes it appear
HELD_BACK_NEED = "gyproc-fuel-gas"  # the only need it matches


@dataclass
class Live:
    settings: Settings
    base: str
    tokens: dict[str, str]

    def url(self, who: str) -> str:
        return f"{self.base}/dashboard#token={self.tokens[who]}"


def _simulate(settings: Settings, stop: threading.Event) -> None:
    """The demo park's historians (all streams but HELD_BACK), in real time, until stopped."""
    sim = Simulator(load_park(bundled_park_path()), rate_hz=2.0, seed=7)
    sim.streams = [s for s in sim.streams if s.id != HELD_BACK]
    producer = ReadingsProducer(settings.kafka_bootstrap, settings.topics.readings)
    start, elapsed = datetime.now(UTC), 0.0
    t0 = time.monotonic()
    try:
        while not stop.is_set():
            for push in sim.pushes(start, elapsed, 0.5):
                producer.send(push)
            producer.flush()
            elapsed += 0.5
            time.sleep(max(t0 + elapsed - time.monotonic(), 0.0))
    finally:
        producer.close()


@pytest.fixture(scope="module")
def live(stack: Settings) -> Iterator[Live]:
    app_id = f"test-ui-{uuid.uuid4().hex[:8]}"
    settings = isolated(stack, "ui", app_id=app_id, api_port=PORT)
    pipeline = LocalPipeline(settings)
    pipeline.reset()
    park = load_park(bundled_park_path())
    pipeline.publish(park)
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        issued = {c: tokens.issue(conn, c, label="ui test") for c in ("saint-gobain",)}
        issued["operator"] = tokens.issue(conn, None, label="ui test")
    pipeline.start("streams")
    pipeline.start("sink")
    services = Services.open(settings)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(settings, services), host="127.0.0.1", port=PORT, log_level="warning"
        )
    )
    serving = threading.Thread(target=server.run, daemon=True)
    serving.start()
    stop = threading.Event()
    simulating = threading.Thread(target=_simulate, args=(settings, stop), daemon=True)
    simulating.start()
    try:
        yield Live(settings, f"http://127.0.0.1:{PORT}", issued)
    finally:
        stop.set()
        simulating.join(30)
        server.should_exit = True
        serving.join(30)
        services.close()
        pipeline.stop()


def _alerts(driver: WebDriver) -> list[tuple[str, str]]:
    """(stream, need) of every alert row ('' where the stream is not disclosed)."""
    # one script call: the page re-renders its rows on every update
    rows: list[list[str]] = driver.execute_script(
        "return [...document.querySelectorAll('#alerts tbody tr[data-alert]')]"
        ".map((r) => [r.dataset.stream, r.dataset.need])"
    )
    return [(stream, need) for stream, need in rows]


def test_the_dashboard_shows_the_demo_parks_alerts_and_a_new_surplus_live(live: Live) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chrome(live.settings) as driver:
        driver.get(live.url("operator"))
        assert wait_for(driver, lambda d: len(_alerts(d)) >= 5, 120), driver.page_source[:3000]
        assert (HELD_BACK, HELD_BACK_NEED) not in _alerts(driver)
        assert driver.find_element(By.ID, "status").get_attribute("class") == "live"
        assert driver.find_elements(By.CSS_SELECTOR, "#map-svg path.flow")  # flows drawn
        assert driver.find_elements(By.CSS_SELECTOR, "#exchanges tbody tr[data-exchange]")
        assert driver.find_element(By.ID, "kpi-co2e").text not in ("", "-", "0")
        driver.save_screenshot(str(SHOTS / "dashboard-operator.png"))
        updates = int(driver.execute_script("return document.body.dataset.updates"))

        # The refinery's gas historian starts pushing over HTTP, a batch per 5 s of readings:
        # surplus appears, and so does its alert, on the open page.
        with psycopg.connect(live.settings.database_url, autocommit=True) as conn:
            supplier = tokens.issue(conn, "kalundborg-refinery", label="ui test")
        t0 = datetime.now(UTC) - timedelta(seconds=30)
        for start in range(0, 30, 5):
            push = {
                "readings": [
                    {"meter": HELD_BACK, "ts": (t0 + timedelta(seconds=start + i / 2)).isoformat(),
                     "value": 2900.0, "unit": "m^3/h"}
                    for i in range(10)
                ]
            }  # fmt: skip
            r = httpx.post(f"{live.base}/v1/readings", json=push,
                           headers={"Authorization": f"Bearer {supplier}"}, timeout=30)  # fmt: skip
            assert r.status_code == 200, r.text
        # min_duration_s of the gas need is 10 s: the pushes span 30 s
        assert wait_for(driver, lambda d: (HELD_BACK, HELD_BACK_NEED) in _alerts(d), 90)
        assert int(driver.execute_script("return document.body.dataset.updates")) > updates
        assert "sym_" not in driver.current_url  # the token left the address bar
        driver.save_screenshot(str(SHOTS / "dashboard-live-update.png"))


def test_a_partners_dashboard_is_redacted(live: Live) -> None:
    with chrome(live.settings) as driver:
        driver.get(live.url("saint-gobain"))
        assert wait_for(driver, lambda d: len(_alerts(d)) >= 1, 120)
        text = driver.find_element(By.TAG_NAME, "body").text
        assert "as saint-gobain" in text
        assert "undisclosed supplier" in text or "orsted" in text
        assert "kalundborg-refinery" not in text
        driver.save_screenshot(str(SHOTS / "dashboard-partner.png"))


def test_a_bad_token_gets_the_login_form(live: Live) -> None:
    with chrome(live.settings) as driver:
        driver.get(f"{live.base}/dashboard#token=sym_wrong")
        assert wait_for(driver, lambda d: d.find_element(By.ID, "login").is_displayed(), 30)
        assert "not valid" in driver.find_element(By.ID, "login-error").text
