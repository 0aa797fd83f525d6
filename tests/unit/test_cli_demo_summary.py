"""The demo's end: how to keep exploring on stderr, the JSON summary last on stdout."""

from __future__ import annotations

import json

import pytest

from symbiosis.demo import print_summary


def test_the_demo_says_how_to_keep_exploring_and_ends_with_its_json(
    capsys: pytest.CaptureFixture[str],
) -> None:
    result = {"readings_produced": 2, "readings_stored": 2, "ledger_streams": 1,
              "alerts_opened": 0, "alerts": []}  # fmt: skip
    print_summary(result)
    out, err = capsys.readouterr()
    assert json.loads(out.strip().splitlines()[-1]) == result
    assert "symbiosis up" in err
    assert "symbiosis down" in err
