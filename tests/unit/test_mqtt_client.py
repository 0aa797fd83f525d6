"""The MQTT bridge's paho client: credentials and TLS from the settings, without a broker."""

from __future__ import annotations

import ssl
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from domain.errors import ConfigurationError
from ingest.mqtt_bridge import MqttBridge, mqtt_client
from runtime.settings import Settings
from tests.tls_files import TlsFiles, make_tls_files


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def _settings(**values: Any) -> Settings:
    return Settings(mqtt_host="mqtt.example.internal", **values)


def _context(client: Any) -> ssl.SSLContext | None:
    context: ssl.SSLContext | None = client._ssl_context  # paho has no public accessor
    return context


def test_default_is_anonymous_without_tls() -> None:
    client = mqtt_client(_settings(), "bridge")
    assert client.username is None
    assert client.password is None
    assert _context(client) is None
    assert client._client_id == b"bridge"
    assert client._clean_session is False  # persistent session: QoS 1 messages wait for us
    assert client._manual_ack is True


def test_username_and_password() -> None:
    client = mqtt_client(_settings(mqtt_username="bridge", mqtt_password="s3cret"), "b")
    assert (client.username, client.password) == ("bridge", "s3cret")


def test_username_without_password() -> None:
    client = mqtt_client(_settings(mqtt_username="bridge"), "b")
    assert (client.username, client.password) == ("bridge", None)


def test_password_without_username_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="SYMBIOSIS_MQTT_USERNAME"):
        mqtt_client(_settings(mqtt_password="s3cret"), "b")


def test_tls_with_the_system_cas() -> None:
    context = _context(mqtt_client(_settings(mqtt_tls=True), "b"))
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True


def test_tls_with_a_ca_file_and_a_client_certificate(tls: TlsFiles) -> None:
    settings = _settings(
        mqtt_username="bridge",
        mqtt_password="s3cret",
        mqtt_tls=True,
        mqtt_ca_file=tls.ca,
        mqtt_client_cert=tls.client_cert,
        mqtt_client_key=tls.client_key,
    )
    client = mqtt_client(settings, "b")
    context = _context(client)
    assert context is not None
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("commonName", "symbiosis test CA"),),)
    ]
    assert client.username == "bridge"


def test_tls_insecure_skips_only_the_host_name(tls: TlsFiles) -> None:
    settings = _settings(mqtt_tls=True, mqtt_ca_file=tls.ca, mqtt_tls_insecure=True)
    context = _context(mqtt_client(settings, "b"))
    assert context is not None
    assert context.check_hostname is False
    assert context.verify_mode == ssl.CERT_REQUIRED  # the chain is still verified


@pytest.mark.parametrize(
    ("field", "setting"),
    [
        ("mqtt_ca_file", "SYMBIOSIS_MQTT_CA_FILE"),
        ("mqtt_client_cert", "SYMBIOSIS_MQTT_CLIENT_CERT"),
        ("mqtt_client_key", "SYMBIOSIS_MQTT_CLIENT_KEY"),
    ],
)
def test_a_missing_file_names_its_setting(
    tls: TlsFiles, tmp_path: Path, field: str, setting: str
) -> None:
    files = {"mqtt_client_cert": tls.client_cert, "mqtt_client_key": tls.client_key}
    files[field] = tmp_path / "missing.pem"
    with pytest.raises(ConfigurationError, match=f"{setting}: .*missing.pem does not exist"):
        mqtt_client(_settings(mqtt_tls=True, **files), "b")


def test_a_file_that_is_no_certificate_is_a_configuration_error(tmp_path: Path) -> None:
    junk = tmp_path / "ca.pem"
    junk.write_text("not a certificate\n")
    with pytest.raises(ConfigurationError, match="SYMBIOSIS_MQTT_CA_FILE="):
        mqtt_client(_settings(mqtt_tls=True, mqtt_ca_file=junk), "b")


def test_a_key_without_its_certificate_is_refused(tls: TlsFiles) -> None:
    with pytest.raises(ConfigurationError, match="SYMBIOSIS_MQTT_CLIENT_CERT is not"):
        mqtt_client(_settings(mqtt_tls=True, mqtt_client_key=tls.client_key), "b")


@pytest.mark.parametrize(
    ("values", "setting"),
    [
        ({"mqtt_ca_file": Path("/etc/ssl/ca.pem")}, "SYMBIOSIS_MQTT_CA_FILE"),
        ({"mqtt_client_cert": Path("/c.pem")}, "SYMBIOSIS_MQTT_CLIENT_CERT"),
        ({"mqtt_tls_insecure": True}, "SYMBIOSIS_MQTT_TLS_INSECURE"),
    ],
)
def test_tls_settings_without_tls_are_refused(values: dict[str, Any], setting: str) -> None:
    # not silently plaintext: whoever set a CA file meant TLS
    with pytest.raises(ConfigurationError, match=f"{setting} set but SYMBIOSIS_MQTT_TLS"):
        mqtt_client(_settings(**values), "b")


def test_environment_configures_the_client(monkeypatch: pytest.MonkeyPatch, tls: TlsFiles) -> None:
    monkeypatch.setenv("SYMBIOSIS_MQTT_USERNAME", "bridge")
    monkeypatch.setenv("SYMBIOSIS_MQTT_PASSWORD", "s3cret")
    monkeypatch.setenv("SYMBIOSIS_MQTT_TLS", "true")
    monkeypatch.setenv("SYMBIOSIS_MQTT_CA_FILE", str(tls.ca))
    client = mqtt_client(Settings(), "b")
    assert client.password == "s3cret"
    assert _context(client) is not None


def test_the_bridge_uses_the_gateways_settings_unless_given_its_own() -> None:
    gateway: Any = SimpleNamespace(settings=_settings(mqtt_username="from-gateway"))
    bridge = MqttBridge(gateway, host="h", port=8883, root="park", client_id="b")
    assert bridge._client.username == "from-gateway"
    own = _settings(mqtt_username="own", mqtt_password="pw")
    bridge = MqttBridge(gateway, host="h", port=8883, root="park", client_id="b", settings=own)
    assert (bridge._client.username, bridge._client.password) == ("own", "pw")
    missing_ca = _settings(mqtt_tls=True, mqtt_ca_file=Path("/nonexistent/ca.pem"))
    with pytest.raises(ConfigurationError, match="SYMBIOSIS_MQTT_CA_FILE"):
        MqttBridge(gateway, host="h", port=8883, root="park", client_id="b", settings=missing_ca)
