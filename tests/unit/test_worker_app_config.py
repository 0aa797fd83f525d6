"""The stream worker's faust app takes its table settings from :class:`Settings`.

No Kafka here: building the app declares topics and tables without connecting.
"""

from pathlib import Path

import pytest
from faust.transport.drivers.aiokafka import Transport

from runtime.settings import Settings
from streams.app import changelog_configs, create_app


@pytest.fixture(autouse=True)
def _own_working_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings read ./.env: a checkout's .env must not leak into these tests."""
    monkeypatch.chdir(tmp_path)


def test_no_standby_tables_unless_asked(tmp_path: Path) -> None:
    # faust's own default (1) makes each of two workers read the other's whole changelog
    # traffic (as much CPU again as its own readings at 1x TEDA), for copies its in-memory
    # store drops at every rebalance (docs/performance.md)
    app = create_app(Settings(state_dir=tmp_path))
    assert app.conf.table_standby_replicas == 0


def test_standby_tables_when_asked(tmp_path: Path) -> None:
    app = create_app(Settings(state_dir=tmp_path, streams_standby_replicas=2))
    assert app.conf.table_standby_replicas == 2


def test_a_negative_standby_count_names_the_field(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="streams_standby_replicas"):
        Settings(state_dir=tmp_path, streams_standby_replicas=-1)


def test_changelogs_close_a_segment_every_minute(tmp_path: Path) -> None:
    # Kafka compacts only closed segments: a restore reads the open one whole
    app = create_app(Settings(state_dir=tmp_path))
    tables = list(app.tables.values())
    assert len(tables) == 2
    for table in tables:
        assert table.changelog_topic.config == {"segment.ms": "60000", "segment.bytes": "67108864"}


def test_changelogs_are_created_with_the_configs_faust_gives_them(tmp_path: Path) -> None:
    settings = Settings(state_dir=tmp_path)
    configs = changelog_configs(settings)
    app = create_app(settings)
    for table in app.tables.values():
        topic = table.changelog_topic
        # what faust's Kafka driver creates the topic with (faust.transport.drivers.aiokafka)
        faust_gives = Transport._topic_config(None, None, topic.compacting, topic.deleting)  # type: ignore[arg-type]
        assert configs[topic.get_topic_name()] == {**faust_gives, **topic.config}
    assert len(configs) == 2
