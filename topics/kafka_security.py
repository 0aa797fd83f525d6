"""How every Kafka client authenticates: keyword arguments from the ``kafka_*`` settings.

The local stack's Kafka is PLAINTEXT, and then :func:`kafka_client_options` is empty: the
clients keep their defaults. Production brokers (deploy/) take SASL_SSL with SCRAM-SHA-512 on
the client listener; then the options carry the mechanism, the user and password, and an
:class:`ssl.SSLContext` that verifies the brokers' certificates (and host names) against
``SYMBIOSIS_KAFKA_SSL_CAFILE``, or the system's CAs when it is unset.

The same dictionary fits kafka-python (``KafkaProducer``, ``KafkaConsumer``,
``KafkaAdminClient``) and aiokafka (``AIOKafkaProducer``, ``AIOKafkaConsumer``): both take
``security_protocol``, ``sasl_mechanism``, ``sasl_plain_username``, ``sasl_plain_password``
and ``ssl_context`` (aiokafka has no ``ssl_cafile``, so the CA goes into the context). faust
takes the same as ``broker_credentials``: :func:`faust_broker_credentials`.
"""

from __future__ import annotations

import ssl
from typing import TYPE_CHECKING, Any

from domain.errors import ConfigurationError
from runtime.settings import Settings

if TYPE_CHECKING:
    import faust


def kafka_ssl_context(settings: Settings) -> ssl.SSLContext:
    """A client TLS context: TLS 1.2 or newer, certificates and host names verified.

    Raises:
        ConfigurationError: ``SYMBIOSIS_KAFKA_SSL_CAFILE`` is missing or not a CA file.
    """
    cafile = settings.kafka_ssl_cafile
    if cafile is not None and not cafile.is_file():
        raise ConfigurationError(
            f"SYMBIOSIS_KAFKA_SSL_CAFILE: {cafile} does not exist or is not a file"
        )
    try:
        context = ssl.create_default_context(cafile=None if cafile is None else str(cafile))
    except (OSError, ValueError) as e:  # ssl.SSLError is an OSError
        raise ConfigurationError(f"SYMBIOSIS_KAFKA_SSL_CAFILE: cannot load {cafile}: {e}") from e
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    return context


def kafka_client_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for a kafka-python or aiokafka client; empty for PLAINTEXT.

    Use as ``KafkaProducer(bootstrap_servers=..., **kafka_client_options(settings))``. Each
    call builds a fresh SSL context, so call it once per client (or once per process).

    Raises:
        ConfigurationError: SASL_SSL without a user or password, SASL or TLS settings with
            PLAINTEXT (they would be ignored silently), or an unusable CA file; the message
            names the settings.
    """
    password = settings.kafka_sasl_password.get_secret_value()
    if settings.kafka_security_protocol == "PLAINTEXT":
        stray = {
            "SYMBIOSIS_KAFKA_SASL_USERNAME": settings.kafka_sasl_username,
            "SYMBIOSIS_KAFKA_SASL_PASSWORD": password or None,
            "SYMBIOSIS_KAFKA_SSL_CAFILE": settings.kafka_ssl_cafile,
        }
        named = [name for name, value in stray.items() if value is not None]
        if named:
            raise ConfigurationError(
                f"{', '.join(named)} set but SYMBIOSIS_KAFKA_SECURITY_PROTOCOL is PLAINTEXT: "
                "set it to SASL_SSL"
            )
        return {}
    if not settings.kafka_sasl_username or not password:
        raise ConfigurationError(
            f"SYMBIOSIS_KAFKA_SECURITY_PROTOCOL={settings.kafka_security_protocol} needs "
            "SYMBIOSIS_KAFKA_SASL_USERNAME and SYMBIOSIS_KAFKA_SASL_PASSWORD"
        )
    return {
        "security_protocol": settings.kafka_security_protocol,
        "sasl_mechanism": settings.kafka_sasl_mechanism,
        "sasl_plain_username": settings.kafka_sasl_username,
        "sasl_plain_password": password,
        "ssl_context": kafka_ssl_context(settings),
    }


def faust_broker_credentials(settings: Settings) -> faust.SASLCredentials | None:
    """The same as :func:`kafka_client_options`, as faust's ``broker_credentials`` (None: none).

    Raises:
        ConfigurationError: as :func:`kafka_client_options`.
    """
    options = kafka_client_options(settings)
    if not options:
        return None
    import faust  # only the stream worker needs faust: not imported with this module

    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    return faust.SASLCredentials(
        username=settings.kafka_sasl_username,
        password=settings.kafka_sasl_password.get_secret_value(),
        ssl_context=context,
        mechanism=settings.kafka_sasl_mechanism,
    )
