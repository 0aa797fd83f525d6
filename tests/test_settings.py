import pytest
from pydantic import ValidationError

from symbiosis.settings import Settings


def test_environment_overrides_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMBIOSIS_KAFKA_BOOTSTRAP", "kafka-0:9092,kafka-1:9092")
    monkeypatch.setenv("SYMBIOSIS_DATABASE_URL", "postgresql://u@tsdb:5432/park")
    monkeypatch.setenv("SYMBIOSIS_TOPICS__ALERTS", "park.alerts")
    s = Settings()
    assert s.kafka_bootstrap == "kafka-0:9092,kafka-1:9092"
    assert s.database_url == "postgresql://u@tsdb:5432/park"
    assert s.topics.alerts == "park.alerts"
    assert s.topics.readings == "symbiosis.readings"


def test_invalid_value_names_the_field(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SYMBIOSIS_PARTITIONS", "0")
    with pytest.raises(ValidationError, match="partitions"):
        Settings()


def test_child_env_reproduces_the_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Settings(app_id="run-1", ledger_window_s=3.5, partitions=7)
    original = original.model_copy(
        update={"topics": original.topics.model_copy(update={"ledger": "x.ledger"})}
    )
    for key, value in original.child_env().items():
        monkeypatch.setenv(key, value)
    assert Settings() == original


def test_group_names_follow_app_id() -> None:
    s = Settings(app_id="park-a")
    assert (s.streams_group, s.sink_group) == ("park-a-streams", "park-a-sink")


def test_unprefixed_variables_do_not_rename_topics(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("READINGS", "oops")
    monkeypatch.setenv("ALERTS", "oops")
    assert Settings().topics.readings == "symbiosis.readings"
    assert Settings().topics.alerts == "symbiosis.alerts"
