"""``symbiosis up`` keeps the whole pipeline running for a user to explore; ``down`` stops it.

Run as a user would (the ``symbiosis`` command in a subprocess, on the real stack), with topics
and an app id of its own so it does not disturb other tests. The dashboard it prints is checked
in headless Chromium: KPIs, map labels and the alert table, whose quantity is what the pair
could exchange (what ``symbiosis match`` says), not the stream's whole surplus.
"""

from __future__ import annotations

import os
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from selenium.webdriver.common.by import By

from symbiosis import background
from symbiosis.browser import chrome, wait_for
from symbiosis.procs import alive
from symbiosis.stack_settings import PROJECT_ROOT, StackSettings
from tests.helpers import isolated

pytestmark = pytest.mark.integration

API_PORT = 28097
METRICS_PORT = 28300
SHOTS = PROJECT_ROOT / ".stack" / "screenshots"
SYMBIOSIS = str(Path(sys.executable).parent / "symbiosis")


@dataclass
class Up:
    settings: StackSettings
    env: dict[str, str]
    url: str

    def run(self, *args: str, timeout_s: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [SYMBIOSIS, *args], env=self.env, capture_output=True, text=True,
            timeout=timeout_s, check=False,
        )  # fmt: skip


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


@pytest.fixture(scope="module")
def up(stack: StackSettings) -> Iterator[Up]:
    app_id = f"test-up-{uuid.uuid4().hex[:8]}"
    settings = isolated(stack, "up", app_id=app_id, api_port=API_PORT, metrics_port=METRICS_PORT)
    assert isinstance(settings, StackSettings)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SYMBIOSIS_")}
    env |= settings.child_env()
    env["COLUMNS"] = "200"
    first = subprocess.run(
        [SYMBIOSIS, "up", "--no-stack", "--simulate"], env=env, capture_output=True,
        text=True, timeout=240, check=False,
    )  # fmt: skip
    state = Up(settings, env, first.stdout.strip().splitlines()[-1] if first.stdout else "")
    try:
        assert first.returncode == 0, first.stderr[-3000:]
        yield state
    finally:
        state.run("down", "--keep-stack")


def test_up_prints_the_dashboard_and_where_the_token_is(up: Up) -> None:
    assert up.url.startswith(f"http://127.0.0.1:{API_PORT}/dashboard#token=sym_")
    token_file = background.run_dir(up.settings) / "operator-token"
    assert token_file.read_text().strip() == up.url.split("#token=", 1)[1]
    assert token_file.stat().st_mode & 0o077 == 0  # the operator's token: owner only
    running = background.running(background.run_dir(up.settings))
    assert set(running) == {"streams", "sink", "delivery", "api", "simulator"}
    again = up.run("up", "--no-stack", "--no-park")  # idempotent: starts only what is missing
    assert again.returncode == 0, again.stderr
    assert "started: nothing (all running)" in again.stderr
    assert again.stdout.strip() == up.url  # the same, still valid token
    assert background.running(background.run_dir(up.settings)) == running
    # a second worker for a busier park: started beside the others, on a metrics port of its own
    more = up.run("up", "--no-stack", "--no-park", "--workers", "2")
    assert more.returncode == 0, more.stderr
    assert "started: streams-1" in more.stderr
    assert set(background.running(background.run_dir(up.settings))) == {*running, "streams-1"}
    assert _get(f"http://127.0.0.1:{METRICS_PORT + 7}/healthz") == (200, "ok\n")
    for port in range(METRICS_PORT + 1, METRICS_PORT + 5):  # the others still answer theirs
        assert _get(f"http://127.0.0.1:{port}/healthz") == (200, "ok\n")


def test_each_process_serves_its_own_metrics_and_health(up: Up) -> None:
    # each process of `up` has a fixed port: METRICS_PORT + 1, + 2 ... for streams, sink,
    # delivery, api (then mqtt-bridge, simulator, streams-1, streams-2...)
    ports = {"sink": METRICS_PORT + 2, "delivery": METRICS_PORT + 3, "api": METRICS_PORT + 4}
    for port in ports.values():
        assert _get(f"http://127.0.0.1:{port}/healthz") == (200, "ok\n")
    _, sink = _get(f"http://127.0.0.1:{ports['sink']}/metrics")
    _, delivery = _get(f"http://127.0.0.1:{ports['delivery']}/metrics")
    assert "symbiosis_rows_written_total" in sink
    assert "symbiosis_webhook_attempts" not in sink
    assert "symbiosis_rows_written" not in delivery


def test_the_dashboard_after_up_shows_kpis_map_labels_and_alerts(up: Up) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chrome(up.settings) as driver:
        driver.get(up.url)
        rows = "#alerts tbody tr[data-alert]"
        assert wait_for(driver, lambda d: len(d.find_elements(By.CSS_SELECTOR, rows)) >= 5, 150)
        assert driver.find_element(By.ID, "kpi-co2e").text not in ("", "-")
        assert driver.find_element(By.ID, "kpi-potential").text not in ("", "-", "0")
        # read in one script: the map is redrawn on each refresh, an element found before a
        # redraw is stale after it
        labels: list[str] = driver.execute_script(
            "return [...document.querySelectorAll('#map-svg g.site text')]"
            ".map((t) => t.textContent)"
        )
        assert "asnaes" in " ".join(labels), labels
        shown: list[list[str]] = driver.execute_script(
            "return [...document.querySelectorAll('#alerts tbody tr[data-alert]')]"
            ".map((r) => [r.dataset.alert, r.querySelector('[data-quantity]').dataset.quantity])"
        )
        driver.save_screenshot(str(SHOTS / "dashboard-after-up.png"))
    # the quantity column is what each pair could exchange, as the API's alerts say
    token = up.url.split("#token=", 1)[1]
    alerts = httpx.get(
        f"http://127.0.0.1:{API_PORT}/v1/alerts",
        headers={"Authorization": f"Bearer {token}"}, timeout=30,
    ).json()  # fmt: skip
    quantity = {a["alert_id"]: a["quantity"] for a in alerts}
    compared = [(alert_id, float(q)) for alert_id, q in shown if alert_id in quantity]
    assert compared, (shown, alerts)
    for alert_id, q in compared:
        assert q == quantity[alert_id]


def test_down_stops_everything_and_revokes_the_token(up: Up) -> None:
    pids = background.running(background.run_dir(up.settings))
    done = up.run("down", "--keep-stack")
    assert done.returncode == 0, done.stderr
    assert not any(alive(pid) for pid in pids.values())
    assert background.running(background.run_dir(up.settings)) == {}
    assert not (background.run_dir(up.settings) / "operator-token").exists()
    assert not _api_up()


def _api_up() -> bool:
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{API_PORT}/healthz", timeout=2)
    except (urllib.error.URLError, OSError):
        return False
    return True
