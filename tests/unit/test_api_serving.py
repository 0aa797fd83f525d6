"""The API process: offline docs, request metrics, its command line (issue 17, points 4-6)."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from prometheus_client import REGISTRY

from runtime.settings import Settings
from tests.api_fakes import Api, running_api


@pytest.fixture
def api() -> Iterator[Api]:
    with running_api() as a:
        yield a


class _Urls(HTMLParser):
    """Every URL a page loads: script ``src``, link ``href``, image ``src``."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if value and (tag, name) in {("script", "src"), ("link", "href"), ("img", "src")}:
                self.urls.append(value)


def _loaded(html: str) -> list[str]:
    parser = _Urls()
    parser.feed(html)
    return parser.urls


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_load_only_same_origin_assets(api: Api, page: str) -> None:
    r = api.client.get(page)
    assert r.status_code == 200
    urls = _loaded(r.text)
    assert len(urls) >= 2  # the script and the style sheet (or favicon)
    for url in urls:
        assert not re.match(r"^(https?:)?//", url), url
        asset = api.client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url
    assert "fonts.googleapis" not in r.text
    assert "cdn." not in r.text
    assert api.client.get("/openapi.json").status_code == 200


def test_request_metrics_are_counted_by_route_template(api: Api) -> None:
    labels = {"handler": "/v1/needs/{need_id}/webhook-secret", "method": "GET", "status": "401"}
    before = REGISTRY.get_sample_value("http_requests_total", labels) or 0.0
    for need in ("need-a", "need-b"):
        assert api.client.get(f"/v1/needs/{need}/webhook-secret").status_code == 401
    assert REGISTRY.get_sample_value("http_requests_total", labels) == before + 2
    assert REGISTRY.get_sample_value("http_request_duration_seconds_count", labels) is not None
    raw = REGISTRY.get_sample_value(
        "http_requests_total", {**labels, "handler": "/v1/needs/need-a/webhook-secret"}
    )
    assert raw is None  # ids never become label values
    assert api.client.get("/metrics").status_code == 404  # not on the public port


def test_python_m_ingest_api_help_prints_usage_and_exits_0() -> None:
    done = subprocess.run([sys.executable, "-m", "ingest.api", "--help"], capture_output=True,
                          text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "usage:" in done.stdout
    assert "--port" in done.stdout


def test_unknown_arguments_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    from ingest.api.__main__ import main

    with pytest.raises(SystemExit) as e:
        main(["--no-such-option"])
    assert e.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_a_busy_port_fails_before_claiming_ready(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from ingest.api import __main__ as entry

    def must_not_start(*args: object, **kwargs: object) -> None:
        raise AssertionError("started although the port is busy")

    monkeypatch.setattr(entry, "get_settings", Settings)  # not the process's cached settings
    monkeypatch.setattr(entry, "create_app", must_not_start)
    monkeypatch.setattr(entry.metrics, "serve", must_not_start)
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        code = entry.main(["--host", "127.0.0.1", "--port", str(port)])
    assert code == 2
    err = capsys.readouterr().err
    assert err.strip() == f"port {port} on 127.0.0.1 is in use; set SYMBIOSIS_API_PORT"
