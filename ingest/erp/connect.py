"""Kafka for the import: reached within seconds, or one line saying where it was looked for.

kafka-python waits 30 s for a first broker by default; an import waits
:data:`CONNECT_TIMEOUT_S`, then stops with one line naming the address and the setting that
holds it (``SYMBIOSIS_KAFKA_BOOTSTRAP``). While it tries, kafka-python's own log lines (one
per failed attempt) are held back (:func:`quiet_kafka`), unless the log level is DEBUG.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Final

from domain.errors import UnavailableError
from ingest.acked_publisher import Publisher
from runtime.settings import Settings
from topics.kafka_security import kafka_client_options

CONNECT_TIMEOUT_S: Final = 5.0
"""Longest wait for a first broker to answer."""
SETTING: Final = "SYMBIOSIS_KAFKA_BOOTSTRAP"


def kafka_options(settings: Settings) -> dict[str, Any]:
    """Client settings of the import's Kafka clients: security, and the short bootstrap wait.

    Raises:
        ConfigurationError: as :func:`~topics.kafka_security.kafka_client_options`.
    """
    return {
        **kafka_client_options(settings),
        "bootstrap_timeout_ms": int(CONNECT_TIMEOUT_S * 1000),
    }


@contextmanager
def quiet_kafka() -> Iterator[None]:
    """Hold back kafka-python's log lines in the block, unless the log level is DEBUG.

    Trying a broker that is away logs a few lines per attempt; :func:`unreachable` says it
    in one.
    """
    logger = logging.getLogger("kafka")
    before = logger.level
    if logger.getEffectiveLevel() > logging.DEBUG:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        logger.setLevel(before)


def unreachable(bootstrap: str, error: BaseException) -> UnavailableError:
    """The one-line error for Kafka not reached at ``bootstrap``, naming the setting.

    ``error`` (or the Kafka error it was raised from) says why, on the same line.
    """
    root = error.__cause__ if error.__cause__ is not None else error
    why = " ".join(str(root).split()) or type(root).__name__
    return UnavailableError(
        f"cannot reach Kafka at {bootstrap} within {CONNECT_TIMEOUT_S:g} s ({why}); is it "
        f"running, and is {SETTING} its address?"
    )


def open_publisher(settings: Settings) -> Publisher:
    """A publisher connected to the brokers of ``settings``.

    Raises:
        UnavailableError: no broker answered within :data:`CONNECT_TIMEOUT_S` (one line, see
            :func:`unreachable`).
        ConfigurationError: the Kafka security settings are wrong.
    """
    try:
        with quiet_kafka():
            return Publisher(settings.kafka_bootstrap, **kafka_options(settings))
    except UnavailableError as e:
        raise unreachable(settings.kafka_bootstrap, e) from e
