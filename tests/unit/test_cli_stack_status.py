"""``symbiosis stack status``: words, not Python booleans, and an exit code scripts can use."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from symbiosis import stack
from symbiosis.cli import app

runner = CliRunner()


def _row(service: str, *, ready: bool) -> dict[str, object]:
    return {"service": service, "running": ready, "ready": ready, "pid": 42 if ready else None,
            "address": "127.0.0.1:1", "version": "x"}  # fmt: skip


@pytest.mark.parametrize("kafka_ready", [True, False])
def test_status_says_yes_or_no_and_exits_1_when_a_service_is_down(
    monkeypatch: pytest.MonkeyPatch, kafka_ready: bool
) -> None:
    rows = {
        "LocalKafka": _row("kafka", ready=kafka_ready),
        "LocalPostgres": _row("postgres", ready=True),
        "LocalMosquitto": _row("mosquitto", ready=True),
    }
    for name, row in rows.items():
        monkeypatch.setattr(getattr(stack, name), "status", lambda self, row=row: row)
    result = runner.invoke(app, ["stack", "status"])
    assert result.exit_code == (0 if kafka_ready else 1)
    assert "True" not in result.stdout
    assert "False" not in result.stdout
    assert ("│ no " in result.stdout) != kafka_ready
    assert "│ yes " in result.stdout
    as_json = runner.invoke(app, ["stack", "status", "--json"])
    assert as_json.exit_code == (0 if kafka_ready else 1)
    assert json.loads(as_json.stdout)[0]["ready"] is kafka_ready
