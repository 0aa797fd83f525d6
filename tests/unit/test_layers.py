"""The layer rule, read from the code's imports, so that it stays true.

From the bottom: ``schemas`` (payload models) <- ``domain`` (pure rules, the error hierarchy)
<- ``runtime`` (settings, logging, metrics) <- ``topics`` (the Kafka side every stage shares)
<- the stages ``ingest``, ``streams``, ``sinks``, ``delivery`` (which never import each other:
they meet at topics whose payloads are ``schemas`` models) <- ``symbiosis`` (the CLI, the local
stack, the demo). A package may import only packages below it; ``bench/`` imports no tests.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LAYERS: dict[str, int] = {
    "schemas": 0,
    "domain": 1,
    "runtime": 2,
    "topics": 3,
    "ingest": 4,
    "streams": 4,
    "sinks": 4,
    "delivery": 4,
    "symbiosis": 5,
}


def imports_of(package: str) -> Iterator[tuple[str, str]]:
    """``(file, imported module)`` for every absolute import in a package's files."""
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield str(path.relative_to(ROOT)), alias.name
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                yield str(path.relative_to(ROOT)), node.module


def violations(package: str) -> list[str]:
    """Imports of ``package`` that reach its own layer's siblings or a layer above."""
    out = []
    for where, module in imports_of(package):
        top = module.split(".")[0]
        if top not in LAYERS or top == package:
            continue
        if LAYERS[top] >= LAYERS[package]:
            out.append(f"{where} imports {module} ({package} may import only layers below it)")
    return out


@pytest.mark.parametrize("package", sorted(LAYERS))
def test_a_package_imports_only_layers_below_it(package: str) -> None:
    assert violations(package) == []


def test_the_rule_catches_an_upward_import(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "domain"
    fake.mkdir()
    (fake / "oops.py").write_text("from symbiosis.cli import main\nimport schemas.common\n")
    monkeypatch.setattr(f"{__name__}.ROOT", tmp_path)
    assert violations("domain") == [
        "domain/oops.py imports symbiosis.cli (domain may import only layers below it)"
    ]


def test_bench_imports_no_tests() -> None:
    found = [
        f"{where} imports {module}"
        for where, module in imports_of("bench")
        if module.split(".")[0] == "tests"
    ]
    assert found == []
