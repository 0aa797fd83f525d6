from pathlib import Path

import pytest
from pydantic import ValidationError

from runtime.settings import LogFormat, LogLevel, LogSettings, Settings


@pytest.fixture(autouse=True)
def _own_working_directory(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Settings read ./.env: a checkout's .env must not leak into these tests."""
    monkeypatch.chdir(tmp_path)


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


def _reproduce(monkeypatch: pytest.MonkeyPatch, original: Settings) -> Settings:
    for key, value in original.child_env().items():
        monkeypatch.setenv(key, value)
    return Settings()


def test_child_env_passes_secrets_in_clear(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Settings(
        webhook_secret="w-secret", mqtt_password="m-secret", kafka_sasl_password="k-secret"
    )
    env = original.child_env()
    assert env["SYMBIOSIS_MQTT_PASSWORD"] == "m-secret"
    assert env["SYMBIOSIS_KAFKA_SASL_PASSWORD"] == "k-secret"
    assert env["SYMBIOSIS_WEBHOOK_SECRET"] == "w-secret"
    child = _reproduce(monkeypatch, original)
    assert child == original
    assert child.mqtt_password.get_secret_value() == "m-secret"


def test_child_env_leaves_unset_optional_settings_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    # "None" in a variable would be read as a user name "None" or a file named None
    original = Settings()
    env = original.child_env()
    for name in ("MQTT_USERNAME", "MQTT_CA_FILE", "KAFKA_SASL_USERNAME", "KAFKA_SSL_CAFILE"):
        assert f"SYMBIOSIS_{name}" not in env
    child = _reproduce(monkeypatch, original)
    assert child.mqtt_username is None
    assert child.mqtt_ca_file is None
    assert child == original


def test_child_env_reproduces_security_settings(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    original = Settings(
        mqtt_username="bridge",
        mqtt_password="pw",
        mqtt_tls=True,
        mqtt_ca_file=tmp_path / "ca.crt",
        mqtt_client_cert=tmp_path / "c.crt",
        mqtt_client_key=tmp_path / "c.key",
        mqtt_tls_insecure=True,
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism="SCRAM-SHA-256",
        kafka_sasl_username="symbiosis",
        kafka_sasl_password="kpw",
        kafka_ssl_cafile=tmp_path / "kafka-ca.crt",
    )
    assert _reproduce(monkeypatch, original) == original


def test_security_settings_default_to_the_local_stack() -> None:
    s = Settings()
    assert (s.mqtt_username, s.mqtt_tls, s.mqtt_tls_insecure) == (None, False, False)
    assert s.mqtt_password.get_secret_value() == ""
    assert s.kafka_security_protocol == "PLAINTEXT"
    assert "m-secret" not in repr(Settings(mqtt_password="m-secret"))


def test_dotenv_in_the_working_directory_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "# local overrides\n"
        "SYMBIOSIS_APP_ID=from-dotenv\n"
        "SYMBIOSIS_TOPICS__ALERTS='dot.alerts'\n"
        "SYMBIOSIS_LOG_LEVEL=debug\n"
    )
    s = Settings()
    assert s.app_id == "from-dotenv"
    assert s.topics.alerts == "dot.alerts"
    assert s.log_level is LogLevel.DEBUG


def test_the_environment_wins_over_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("SYMBIOSIS_PARTITIONS=9\nSYMBIOSIS_APP_ID=from-dotenv\n")
    monkeypatch.setenv("SYMBIOSIS_PARTITIONS", "3")
    s = Settings()
    assert (s.partitions, s.app_id) == (3, "from-dotenv")


def test_names_no_setting_reads_in_dotenv_are_ignored(tmp_path: Path) -> None:
    # another tool's variables and typos: warned about by the CLI, never fatal
    (tmp_path / ".env").write_text("POSTGRES_PASSWORD=x\nSYMBIOSIS_KAFKA_BOOTSTRAPP=y\n")
    assert Settings().kafka_bootstrap == "127.0.0.1:19092"


def test_a_bad_value_in_dotenv_names_the_field(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("SYMBIOSIS_PARTITIONS=0\n")
    with pytest.raises(ValidationError, match="partitions"):
        Settings()


def test_no_dotenv_is_no_error() -> None:
    assert Settings().log_level is LogLevel.INFO


@pytest.mark.parametrize(
    ("level", "fmt", "expected"),
    [
        ("debug", "JSON", (LogLevel.DEBUG, LogFormat.JSON)),
        ("Warning", "console", (LogLevel.WARNING, LogFormat.CONSOLE)),
        ("ERROR", "Console", (LogLevel.ERROR, LogFormat.CONSOLE)),
    ],
)
def test_log_settings_in_any_case(
    monkeypatch: pytest.MonkeyPatch, level: str, fmt: str, expected: tuple[LogLevel, LogFormat]
) -> None:
    monkeypatch.setenv("SYMBIOSIS_LOG_LEVEL", level)
    monkeypatch.setenv("SYMBIOSIS_LOG_FORMAT", fmt)
    for settings in (LogSettings(), Settings()):
        assert (settings.log_level, settings.log_format) == expected


@pytest.mark.parametrize(("name", "value"), [("LOG_LEVEL", "loud"), ("LOG_FORMAT", "yaml")])
def test_bad_log_settings_name_the_field(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str
) -> None:
    monkeypatch.setenv(f"SYMBIOSIS_{name}", value)
    with pytest.raises(ValidationError, match=name.lower()):
        LogSettings()


def test_child_env_passes_the_log_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    original = Settings(log_level="warning", log_format="json")
    env = original.child_env()
    assert (env["SYMBIOSIS_LOG_LEVEL"], env["SYMBIOSIS_LOG_FORMAT"]) == ("WARNING", "json")
    assert _reproduce(monkeypatch, original) == original


@pytest.mark.parametrize("window_s", [0.0, 1e-9, 86_400 * 367])
def test_a_ledger_window_outside_a_millisecond_to_a_year_is_refused(window_s: float) -> None:
    with pytest.raises(ValidationError, match="ledger_window_s"):
        Settings(ledger_window_s=window_s)
