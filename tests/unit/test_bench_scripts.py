"""The benchmark scripts still import: a moved module or setting breaks them here, not later."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench"


@pytest.mark.parametrize("script", sorted(p.name for p in BENCH.glob("*.py")))
def test_a_benchmark_script_imports(script: str) -> None:
    names = runpy.run_path(str(BENCH / script), run_name="imported_by_test")
    assert callable(names.get("main")), f"{script} has no main()"
