"""The one settings object of every process, read from ``SYMBIOSIS_*`` environment variables.

Defaults point at the local stack that ``symbiosis stack up`` starts; set
``SYMBIOSIS_KAFKA_BOOTSTRAP`` and ``SYMBIOSIS_DATABASE_URL`` to run the same code against an
existing Kafka cluster and TimescaleDB/PostgreSQL. The same variables may be written in a
``.env`` file in the working directory; the environment wins over it.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Final

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

_PROCESS_KEY = secrets.token_bytes(32)
"""Alert pseudonym key of this process when no disclosure key or webhook secret is set."""

ENV_FILE: Final = ".env"
"""The dotenv file every process reads, relative to its working directory (missing: none)."""


class LogLevel(StrEnum):
    """How much a process logs (``SYMBIOSIS_LOG_LEVEL``, ``--log-level``; any case)."""

    DEBUG = "DEBUG"
    INFO = "INFO"
    WARNING = "WARNING"
    ERROR = "ERROR"


class LogFormat(StrEnum):
    """How log lines look (``SYMBIOSIS_LOG_FORMAT``, ``--log-format``; any case)."""

    CONSOLE = "console"
    """key=value lines for a person."""
    JSON = "json"
    """One JSON object a line, for a log collector."""


def _case_folded(value: object, members: type[StrEnum], fold: Callable[[str], str]) -> object:
    """``value`` spelled as the member it names in any case, else unchanged (left to fail)."""
    if isinstance(value, str):
        folded = fold(value)
        if folded in {m.value for m in members}:
            return folded
    return value


class LogSettings(BaseSettings):
    """How a process logs: the part of :class:`Settings` every process reads first.

    Its own class so logging can be set up (:func:`runtime.logs.configure_logging`) without
    validating every other setting. Read like :class:`Settings`: ``SYMBIOSIS_LOG_LEVEL`` and
    ``SYMBIOSIS_LOG_FORMAT`` from the environment, else from ``./.env``.

    Raises:
        pydantic.ValidationError: on construction, a level or format that is not one of the
            members (any case is accepted), naming the field.
    """

    model_config = SettingsConfigDict(
        env_prefix="SYMBIOSIS_",
        env_file=ENV_FILE,
        env_file_encoding="utf-8",
        dotenv_filtering="only_existing",
        extra="ignore",
    )

    log_level: LogLevel = Field(
        default=LogLevel.INFO, description="DEBUG, INFO, WARNING or ERROR (any case)."
    )
    log_format: LogFormat = Field(
        default=LogFormat.CONSOLE, description="console (key=value lines) or json (any case)."
    )

    @field_validator("log_level", mode="before")
    @classmethod
    def _any_case_level(cls, value: object) -> object:
        return _case_folded(value, LogLevel, str.upper)

    @field_validator("log_format", mode="before")
    @classmethod
    def _any_case_format(cls, value: object) -> object:
        return _case_folded(value, LogFormat, str.lower)


class Topics(BaseModel):
    """Kafka topic names (override with ``SYMBIOSIS_TOPICS__READINGS`` etc.).

    A plain model, not settings of its own: only the prefixed nested variables reach it.
    """

    model_config = ConfigDict(extra="forbid")

    readings: str = "symbiosis.readings"
    ledger: str = "symbiosis.ledger"
    alerts: str = "symbiosis.alerts"
    rejected: str = "symbiosis.rejected"
    sites: str = "symbiosis.registry.sites"
    streams: str = "symbiosis.registry.streams"
    needs: str = "symbiosis.registry.needs"
    exchanges: str = "symbiosis.registry.exchanges"
    webhook_states: str = "symbiosis.registry.webhook-states"
    omf: str = "symbiosis.registry.omf"
    dead_letters: str = "symbiosis.alerts.dead"
    offers: str = "symbiosis.offers"

    def configs(self) -> dict[str, dict[str, str]]:
        """Every topic with its Kafka configs: registry topics are compacted, the rest not.

        The ledger is history (the sink stores every entry), so it is not compacted either.
        """
        compacted = {"cleanup.policy": "compact"}
        return {
            name: (compacted if name in self.registry() else {})
            for name in self.model_dump().values()
        }

    def registry(self) -> list[str]:
        """The compacted registry topics, in the order a worker applies them."""
        return [self.sites, self.streams, self.needs, self.exchanges, self.webhook_states, self.omf]


class Settings(LogSettings):
    """Where the services are and how the pipeline behaves (and logs, :class:`LogSettings`).

    Every field can be set by an environment variable named ``SYMBIOSIS_<FIELD>`` (nested with
    ``__``), or by a line ``SYMBIOSIS_<FIELD>=value`` in ``.env`` in the working directory
    (dotenv syntax: ``#`` comments, optional quotes). A variable set in the environment wins
    over the same name in ``.env``; a missing ``.env`` is no error. Names in ``.env`` that no
    setting reads (another tool's variables, or a typo) are ignored here; the ``symbiosis``
    command warns about the ``SYMBIOSIS_*`` ones. Invalid values fail at start-up with the
    field named, wherever they were set.
    """

    model_config = SettingsConfigDict(
        env_prefix="SYMBIOSIS_",
        env_nested_delimiter="__",
        env_file=ENV_FILE,
        env_file_encoding="utf-8",
        dotenv_filtering="only_existing",
        extra="forbid",
    )

    kafka_bootstrap: str = Field(
        default="127.0.0.1:19092", description="Kafka bootstrap servers, comma separated."
    )
    kafka_security_protocol: str = Field(
        default="PLAINTEXT",
        pattern=r"^(PLAINTEXT|SASL_SSL)$",
        description="PLAINTEXT (the local stack) or SASL_SSL (production: deploy/README.md).",
    )
    kafka_sasl_mechanism: str = Field(
        default="SCRAM-SHA-512", pattern=r"^(SCRAM-SHA-512|SCRAM-SHA-256|PLAIN)$"
    )
    kafka_sasl_username: str | None = Field(default=None, description="SASL_SSL only.")
    kafka_sasl_password: SecretStr = Field(default=SecretStr(""), description="SASL_SSL only.")
    kafka_ssl_cafile: Path | None = Field(
        default=None,
        description="PEM file of the CA that signed the brokers' certificates (SASL_SSL); "
        "unset: the system's CAs.",
    )
    database_url: str = Field(
        default="postgresql://postgres@127.0.0.1:15432/symbiosis",
        description="libpq connection string of PostgreSQL/TimescaleDB.",
    )
    topics: Topics = Field(default_factory=Topics)
    app_id: str = Field(
        default="symbiosis",
        pattern=r"^[a-z0-9][a-z0-9_.-]*$",
        description="Prefix of consumer groups (<app_id>-streams, <app_id>-sink).",
    )
    partitions: int = Field(default=4, ge=1, le=1024, description="Partitions of new topics.")
    kafka_replication_factor: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Replication factor of the topics a process creates when they are missing "
        "(its own topics and the stream worker's changelogs): 3 on a production cluster.",
    )
    kafka_session_timeout_s: float = Field(
        default=10.0,
        ge=6,
        le=300,
        description="How long the broker waits for a silent member of the stream workers' or "
        "the sinks' consumer group before giving its partitions to the others: what a crashed "
        "process costs before its replacement or a peer takes over (heartbeats every third).",
    )

    state_dir: Path = Field(
        default=Path(".state"),
        description="Where a process keeps local state (the stream worker's faust data); a "
        "relative path is taken from the working directory.",
    )

    max_clock_skew_s: float = Field(
        default=300.0,
        gt=0,
        description="Readings timestamped further than this in the future are rejected.",
    )
    ledger_window_s: float = Field(
        default=10.0,
        ge=0.001,  # shorter than a float timestamp's spacing could hold no reading at all
        le=86_400 * 366,
        description="Window over which measured surplus is averaged (1 ms to a year).",
    )
    streams_batch_records: int = Field(
        default=2_000,
        ge=1,
        le=100_000,
        description="Readings records the stream worker takes at once (its state is written "
        "once per stream and batch, its outputs awaited together).",
    )
    streams_standby_replicas: int = Field(
        default=0,
        ge=0,
        le=10,
        description="Standby copies of each stream worker's tables kept by the other workers "
        "(faust's ``table_standby_replicas``, whose own default is 1). A standby copy costs "
        "its worker the changelog traffic of the partitions it stands by for, and with the "
        "worker's in-memory tables it saves nothing: faust drops it after each rebalance and "
        "restores a partition it is given from its changelog's start either way.",
    )
    streams_stall_s: float = Field(
        default=120.0,
        ge=0,
        le=86_400,
        description="A stream worker whose partitions have had records waiting this long with "
        "no offset committed and no table restored exits (code 75) for its supervisor to start "
        "it again: faust-streaming can stop for good inside a rebalance (streams/stall.py). "
        "0 judges nothing (the thread still reports the group's lag).",
    )
    streams_batch_s: float = Field(
        default=0.05,
        gt=0,
        le=10,
        description="Longest wait of the stream worker for a batch to fill (adds to alert "
        "latency at low load).",
    )
    alert_hysteresis: float = Field(
        default=0.1,
        ge=0,
        lt=1,
        description="An open alert resolves only when available falls this fraction below "
        "what the need requires.",
    )
    sink_batch_rows: int = Field(default=20_000, ge=1, description="Rows per COPY batch.")
    stale_after_s: float = Field(
        default=900.0,
        ge=1,
        description="A stream with no good reading this long is stale: its surplus counts zero "
        "and its open alerts resolve with reason `stale` until it reports again (keep it above "
        "the slowest meter's reporting interval).",
    )
    sink_flush_s: float = Field(default=0.5, gt=0, description="Longest wait before a flush.")
    metrics_port: int = Field(default=0, ge=0, le=65535, description="0: no metrics endpoint.")
    metrics_host: str = Field(
        default="127.0.0.1",
        description="Address of the metrics endpoint; 0.0.0.0 in containers, so Prometheus "
        "can scrape it from outside.",
    )

    api_host: str = Field(default="127.0.0.1", description="Where the HTTP API listens.")
    api_port: int = Field(default=18080, ge=1, le=65535)
    api_max_body_bytes: int = Field(
        default=4 * 1024 * 1024, ge=1024, description="Larger request bodies get 413."
    )
    api_max_batch_readings: int = Field(
        default=10_000, ge=1, le=100_000, description="Readings per push; more get 413."
    )
    api_ack_timeout_s: float = Field(
        default=30.0,
        gt=0,
        description="How long a push waits for Kafka's acknowledgement; by then it is "
        "answered (503 with Retry-After when Kafka has not acknowledged).",
    )
    api_max_pushes_in_flight: int = Field(
        default=32,
        ge=1,
        le=10_000,
        description="Pushes waiting for Kafka's acknowledgement at once, per API process; past "
        "it, a push is answered 503 with Retry-After at once (back-pressure: memory and threads "
        "stay bounded while Kafka is slow).",
    )
    api_rate_per_s: float = Field(
        default=50.0, gt=0, description="Requests per second per company (429 beyond it)."
    )
    api_rate_burst: int = Field(default=200, ge=1, description="Requests a company may burst.")
    api_registry_writes_per_min: float = Field(
        default=120.0, gt=0, description="Registry writes per minute per company (429 beyond)."
    )
    api_max_sites_per_company: int = Field(default=200, ge=1)
    api_max_needs_per_company: int = Field(default=1000, ge=1)
    api_max_webhooks_per_company: int = Field(
        default=100, ge=0, description="Needs with a webhook subscription per company."
    )
    api_token_cache_s: float = Field(
        default=30.0,
        ge=0,
        description="How long a verified token is trusted without a lookup (a revoked token "
        "stops working within it); while the database does not answer, a token known before "
        "keeps its last answer, so pushes go on.",
    )

    mqtt_host: str = Field(default="127.0.0.1", description="MQTT broker of the bridge.")
    mqtt_port: int = Field(default=11883, ge=1, le=65535)
    mqtt_topic_root: str = Field(
        default="park",
        pattern=r"^[^#+]+$",
        description="Root of the Unified-Namespace tree: <root>/<company>/<site>/<meter>.",
    )
    mqtt_username: str | None = Field(
        default=None, description="The bridge's broker user; unset: anonymous (local stack)."
    )
    mqtt_password: SecretStr = Field(default=SecretStr(""), description="Needs mqtt_username.")
    mqtt_tls: bool = Field(default=False, description="Connect with TLS (production: 8883).")
    mqtt_ca_file: Path | None = Field(
        default=None,
        description="PEM file of the CA that signed the broker's certificate (mqtt_tls); "
        "unset: the system's CAs.",
    )
    mqtt_client_cert: Path | None = Field(
        default=None, description="PEM client certificate, if the broker asks for one."
    )
    mqtt_client_key: Path | None = Field(
        default=None, description="Its private key (unset: inside mqtt_client_cert)."
    )
    mqtt_tls_insecure: bool = Field(
        default=False,
        description="Skip the check that the broker's certificate names mqtt_host. Tests "
        "only, never in production: anyone in the path can then impersonate the broker.",
    )

    sparkplug_host_id: str = Field(
        default="symbiosis",
        pattern=r"^[^/#+]+$",
        description="The bridge's Sparkplug B host application id: it publishes the retained "
        "spBv1.0/STATE/<id> message (edge nodes configured with this primary host id wait "
        "for it).",
    )
    sparkplug_reorder_timeout_s: float = Field(
        default=2.0,
        gt=0,
        le=60,
        description="How long a skipped Sparkplug seq is awaited before the edge node is "
        "asked to rebirth.",
    )

    webhook_secret: SecretStr = Field(
        default=SecretStr(""),
        description="Master key from which each subscription's own webhook signing key is "
        "derived; empty: webhooks are not sent.",
    )
    disclosure_key: SecretStr = Field(
        default=SecretStr(""),
        description="Keys the opaque alert ids partners see (redacted alerts), so an id "
        "confirms no guess about a supplier. Empty: derived from the webhook secret; both "
        "empty: random per process (ids then change across restarts).",
    )
    webhook_max_attempts: int = Field(
        default=36,
        ge=1,
        le=100,
        description="Attempts per alert (the first included) before it goes to the dead-letter "
        "topic; with the defaults they span 25-51 h.",
    )
    webhook_max_attempts_refused: int = Field(
        default=12,
        ge=1,
        le=100,
        description="Refusals per alert (answers 3xx, or 4xx other than 408/410/429) before it "
        "goes to the dead-letter topic (1.4-2.8 h with the defaults).",
    )
    webhook_backoff_s: float = Field(
        default=5.0, ge=0, le=600, description="First retry delay (at most 10 minutes)."
    )
    webhook_max_backoff_s: float = Field(
        default=7200.0, ge=0, le=21_600, description="Longest computed retry delay (at most 6 h)."
    )
    webhook_max_retry_after_s: float = Field(
        default=7200.0,
        ge=0,
        le=21_600,
        description="Longest Retry-After honoured (longer ones are capped; at most 6 h).",
    )
    webhook_jitter: float = Field(default=0.5, ge=0, le=1)
    webhook_timeout_s: float = Field(
        default=15.0, gt=0, le=60, description="One attempt's timeout (at most a minute)."
    )
    webhook_max_concurrency: int = Field(default=32, ge=1)
    webhook_max_pending: int = Field(
        default=10_000,
        ge=1,
        description="Alerts held in the queues of subscribers not in retry before polling waits.",
    )
    webhook_max_retrying: int = Field(
        default=10_000,
        ge=1,
        description="Alerts held for subscribers whose webhook is failing (in retry); beyond, "
        "their new alerts are dead-lettered as 'backlog full'.",
    )
    webhook_max_pending_per_subscriber: int = Field(
        default=500,
        ge=1,
        description="Alerts one subscriber's queue holds; beyond, they are dead-lettered as "
        "'backlog full' (a dead endpoint never holds back the others).",
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="Webhooks may point at loopback, private and link-local addresses (the "
        "local stack and tests only: in production this opens SSRF).",
    )
    webhook_require_https: bool = Field(
        default=True, description="Webhook URLs must use https (off for the local stack)."
    )

    def child_env(self) -> dict[str, str]:
        """``SYMBIOSIS_*`` variables that make a child process read exactly these settings."""
        env: dict[str, str] = {}
        dumped = self.model_dump(mode="json", exclude_none=True)  # unset: not passed
        dumped |= {k: v.get_secret_value() for k, v in self if isinstance(v, SecretStr)}
        for name, value in dumped.items():
            if isinstance(value, dict):
                for sub, subvalue in value.items():
                    env[f"SYMBIOSIS_{name.upper()}__{sub.upper()}"] = str(subvalue)
            else:
                env[f"SYMBIOSIS_{name.upper()}"] = str(value)
        return env

    def disclosure_key_bytes(self) -> bytes:
        """The key of partners' alert pseudonyms (see :attr:`disclosure_key`)."""
        given = self.disclosure_key.get_secret_value() or self.webhook_secret.get_secret_value()
        if given:
            return hashlib.sha256(b"symbiosis-disclosure/" + given.encode()).digest()
        return _PROCESS_KEY

    @property
    def streams_group(self) -> str:
        """Consumer group (and faust app id) of the stream workers."""
        return f"{self.app_id}-streams"

    @property
    def sink_group(self) -> str:
        """Consumer group of the sinks."""
        return f"{self.app_id}-sink"


@cache
def get_settings() -> Settings:
    """The process's settings, read once from the environment."""
    return Settings()
