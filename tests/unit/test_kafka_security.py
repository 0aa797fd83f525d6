"""Kafka client security options from the settings (no broker: the options themselves)."""

from __future__ import annotations

import asyncio
import inspect
import ssl
from pathlib import Path
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer

from domain.errors import ConfigurationError
from runtime.settings import Settings
from tests.tls_files import TlsFiles, make_tls_files
from topics.kafka_security import faust_broker_credentials, kafka_client_options


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    return make_tls_files(tmp_path_factory.mktemp("tls"))


def _sasl(tls: TlsFiles, **values: Any) -> Settings:
    base: dict[str, Any] = {
        "kafka_security_protocol": "SASL_SSL",
        "kafka_sasl_username": "symbiosis",
        "kafka_sasl_password": "s3cret",
        "kafka_ssl_cafile": tls.ca,
    }
    return Settings(**(base | values))


def test_plaintext_adds_nothing() -> None:
    assert kafka_client_options(Settings()) == {}
    assert faust_broker_credentials(Settings()) is None


def test_sasl_ssl_options(tls: TlsFiles) -> None:
    options = kafka_client_options(_sasl(tls))
    context = options.pop("ssl_context")
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "symbiosis",
        "sasl_plain_password": "s3cret",
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED
    assert context.check_hostname is True
    assert context.minimum_version >= ssl.TLSVersion.TLSv1_2
    assert [c["subject"] for c in context.get_ca_certs()] == [
        ((("commonName", "symbiosis test CA"),),)
    ]


def test_the_system_cas_without_a_ca_file(tls: TlsFiles) -> None:
    context = kafka_client_options(_sasl(tls, kafka_ssl_cafile=None))["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode == ssl.CERT_REQUIRED


def test_the_mechanism_is_configurable(tls: TlsFiles) -> None:
    options = kafka_client_options(_sasl(tls, kafka_sasl_mechanism="SCRAM-SHA-256"))
    assert options["sasl_mechanism"] == "SCRAM-SHA-256"


@pytest.mark.parametrize(
    "client", [KafkaProducer, KafkaConsumer, KafkaAdminClient, AIOKafkaProducer, AIOKafkaConsumer]
)
def test_every_client_takes_the_options(tls: TlsFiles, client: type) -> None:
    names = set(getattr(client, "DEFAULT_CONFIG", {})) or set(
        inspect.signature(client.__init__).parameters
    )
    assert set(kafka_client_options(_sasl(tls))) <= names, client.__name__


def test_aiokafka_accepts_the_options(tls: TlsFiles) -> None:
    # constructing does not connect; aiokafka checks SASL_SSL's arguments in __init__
    async def build() -> None:
        options: dict[str, Any] = kafka_client_options(_sasl(tls))
        AIOKafkaProducer(bootstrap_servers="k:9092", **options)
        AIOKafkaConsumer("t", bootstrap_servers="k:9092", **options)
        with pytest.raises(ValueError, match="ssl_context"):  # why the context is in there
            AIOKafkaProducer(bootstrap_servers="k:9092", **(options | {"ssl_context": None}))

    asyncio.run(build())


def test_faust_credentials(tls: TlsFiles) -> None:
    credentials = faust_broker_credentials(_sasl(tls))
    assert isinstance(credentials, faust.SASLCredentials)
    assert credentials.protocol.value == "SASL_SSL"
    assert credentials.mechanism.value == "SCRAM-SHA-512"
    assert (credentials.username, credentials.password) == ("symbiosis", "s3cret")
    assert isinstance(credentials.ssl_context, ssl.SSLContext)


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"kafka_sasl_username": None}, "SYMBIOSIS_KAFKA_SASL_USERNAME"),
        ({"kafka_sasl_password": ""}, "SYMBIOSIS_KAFKA_SASL_PASSWORD"),
    ],
)
def test_sasl_ssl_needs_user_and_password(
    tls: TlsFiles, values: dict[str, Any], named: str
) -> None:
    with pytest.raises(ConfigurationError, match=named):
        kafka_client_options(_sasl(tls, **values))


def test_a_missing_ca_file_names_the_setting(tls: TlsFiles, tmp_path: Path) -> None:
    missing = tmp_path / "ca.crt"
    with pytest.raises(ConfigurationError, match=r"SYMBIOSIS_KAFKA_SSL_CAFILE: .* does not exist"):
        kafka_client_options(_sasl(tls, kafka_ssl_cafile=missing))
    missing.write_text("not a certificate\n")
    with pytest.raises(ConfigurationError, match="SYMBIOSIS_KAFKA_SSL_CAFILE: cannot load"):
        kafka_client_options(_sasl(tls, kafka_ssl_cafile=missing))


@pytest.mark.parametrize(
    ("values", "named"),
    [
        ({"kafka_sasl_username": "symbiosis"}, "SYMBIOSIS_KAFKA_SASL_USERNAME"),
        ({"kafka_sasl_password": "s3cret"}, "SYMBIOSIS_KAFKA_SASL_PASSWORD"),
        ({"kafka_ssl_cafile": Path("/ca.crt")}, "SYMBIOSIS_KAFKA_SSL_CAFILE"),
    ],
)
def test_security_settings_with_plaintext_are_refused(values: dict[str, Any], named: str) -> None:
    with pytest.raises(ConfigurationError, match=f"{named} set but .* is PLAINTEXT"):
        kafka_client_options(Settings(**values))


@pytest.mark.parametrize(
    ("field", "value"),
    [("kafka_security_protocol", "SSL"), ("kafka_sasl_mechanism", "GSSAPI")],
)
def test_unsupported_values_fail_validation(field: str, value: str) -> None:
    with pytest.raises(ValueError, match=field):
        Settings(**{field: value})
