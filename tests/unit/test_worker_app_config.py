"""The stream worker's faust app takes its table settings from :class:`Settings`.

No Kafka here: building the app declares topics and tables without connecting.
"""

from pathlib import Path

import pytest

from runtime.settings import Settings
from streams.app import create_app


@pytest.fixture(autouse=True)
def _own_working_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings read ./.env: a checkout's .env must not leak into these tests."""
    monkeypatch.chdir(tmp_path)


def test_no_standby_tables_unless_asked(tmp_path: Path) -> None:
    # faust's own default (1) makes every worker of a group of two replay the other's whole
    # changelog traffic: as much CPU as its own readings (docs/performance.md)
    app = create_app(Settings(state_dir=tmp_path))
    assert app.conf.table_standby_replicas == 0


def test_standby_tables_when_asked(tmp_path: Path) -> None:
    app = create_app(Settings(state_dir=tmp_path, streams_standby_replicas=2))
    assert app.conf.table_standby_replicas == 2


def test_a_negative_standby_count_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="streams_standby_replicas"):
        Settings(state_dir=tmp_path, streams_standby_replicas=-1)
