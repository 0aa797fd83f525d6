"""No function over 60 lines without a reason in its docstring (``Long because: ...``)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "domain", "runtime", "topics", "ingest", "streams", "sinks", "delivery",
            "symbiosis")  # fmt: skip
MAX_LINES = 60


def long_functions_without_a_reason(root: Path) -> list[str]:
    """``file:line name (n lines)`` of every long function whose docstring gives no reason."""
    found = []
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                    continue
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > MAX_LINES and "Long because:" not in (ast.get_docstring(node) or ""):
                    where = path.relative_to(root)
                    found.append(f"{where}:{node.lineno} {node.name} ({lines} lines)")
    return found


def test_long_functions_say_why() -> None:
    assert long_functions_without_a_reason(ROOT) == []


def test_the_check_finds_a_long_function(tmp_path: Path) -> None:
    body = "\n".join(f"    x{i} = {i}" for i in range(70))
    (tmp_path / "domain").mkdir()
    (tmp_path / "domain" / "big.py").write_text(f'def big():\n    """Big."""\n{body}\n')
    assert long_functions_without_a_reason(tmp_path) == ["domain/big.py:1 big (72 lines)"]
