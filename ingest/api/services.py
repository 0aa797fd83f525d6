"""What the API process holds while it runs: Kafka producer, registry, database pool, tokens."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from functools import cached_property

import psycopg
import structlog
from psycopg_pool import ConnectionPool

from domain.errors import ConfigurationError, TransientError
from domain.url_guard import Resolver, UrlGuard
from ingest.acked_publisher import Publisher
from ingest.api.limits import InFlight, RateLimiter
from ingest.api.tokens import Conn, TokenVerifier
from ingest.gateway import ReadingGateway
from runtime.settings import Settings
from topics.kafka_admin import ensure_topics
from topics.kafka_security import kafka_client_options
from topics.registry_follower import RegistryFollower

log = structlog.get_logger(__name__)


def system_resolve(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, through the system resolver.

    Raises:
        OSError: the name does not resolve.
    """
    return [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


@dataclass
class Services:
    """Connections of one API process; :meth:`open` starts them, :meth:`close` stops them."""

    settings: Settings
    publisher: Publisher
    registry: RegistryFollower
    gateway: ReadingGateway
    pool: ConnectionPool[Conn]
    tokens: TokenVerifier
    registry_writes: threading.Lock = field(default_factory=threading.Lock)
    """Held from a registry write's check to its local apply (one write at a time)."""
    request_rate: RateLimiter = field(init=False)
    """Requests per company (every route); the operator is not limited."""
    registry_write_rate: RateLimiter = field(init=False)
    """Registry writes per company: bounds how fast a tenant can probe with needs."""
    pushes_in_flight: InFlight = field(init=False)
    """Pushes waiting for Kafka's acknowledgement; past ``api_max_pushes_in_flight``: 503."""
    resolve_host: Resolver = field(default=system_resolve)
    """Resolves webhook hosts for the SSRF guard at registration (a stub in tests)."""

    def __post_init__(self) -> None:
        s = self.settings
        self.request_rate = RateLimiter(s.api_rate_per_s, s.api_rate_burst)
        self.registry_write_rate = RateLimiter(
            s.api_registry_writes_per_min / 60.0, s.api_registry_writes_per_min
        )
        self.pushes_in_flight = InFlight(s.api_max_pushes_in_flight)

    @cached_property
    def disclosure_key(self) -> bytes:
        """Keys the alert ids partners see (see :func:`domain.disclosure.pseudonym`)."""
        return self.settings.disclosure_key_bytes()

    @property
    def url_guard(self) -> UrlGuard:
        """The deployment's SSRF guard for webhook URLs."""
        return UrlGuard(
            allow_private=self.settings.webhook_allow_private,
            require_https=self.settings.webhook_require_https,
        )

    @classmethod
    def open(cls, settings: Settings) -> Services:
        """Connect to Kafka and the database and read the registry.

        Raises:
            TransientError: Kafka cannot be reached or the registry not read in time.
            ConfigurationError: the database cannot be reached or lacks the API's tables.
        """
        options = kafka_client_options(settings)
        ensure_topics(
            settings.kafka_bootstrap, settings.topics.configs(), settings.partitions, options,
            replication_factor=settings.kafka_replication_factor,
        )  # fmt: skip
        publisher = Publisher(
            settings.kafka_bootstrap, max_block_s=settings.api_ack_timeout_s, **options
        )
        registry = RegistryFollower(settings.kafka_bootstrap, settings.topics, options=options)
        registry.start()
        pool: ConnectionPool[Conn] = ConnectionPool(
            settings.database_url, min_size=1, max_size=8, open=False, timeout=10,
            kwargs={"autocommit": True},
        )  # fmt: skip
        try:
            pool.open(wait=True, timeout=30)
            with pool.connection() as conn:
                conn.execute("SELECT 1 FROM api_tokens LIMIT 1")
                conn.execute("SELECT 1 FROM retired_ids LIMIT 1")
            registry.wait_ready()
        except psycopg.errors.UndefinedTable as e:
            cls._stop(publisher, registry, pool)
            raise ConfigurationError(
                "the database lacks the API's tables: run `symbiosis db migrate`"
            ) from e
        except (psycopg.Error, TransientError) as e:
            cls._stop(publisher, registry, pool)
            if isinstance(e, TransientError):
                raise
            raise ConfigurationError(f"cannot use the database: {e}") from e
        except Exception:
            cls._stop(publisher, registry, pool)
            raise
        with pool.connection() as conn, registry.locked() as d:
            for kind, item_id, company in conn.execute(
                "SELECT kind, id, company FROM retired_ids"
            ).fetchall():
                d.retire(str(kind), str(item_id), str(company))
        log.info("api.ready", registry_records=registry.applied)
        return cls(
            settings=settings,
            publisher=publisher,
            registry=registry,
            gateway=ReadingGateway(settings, publisher, registry),
            pool=pool,
            tokens=TokenVerifier(pool, settings.api_token_cache_s),
        )

    @staticmethod
    def _stop(publisher: Publisher, registry: RegistryFollower, pool: ConnectionPool[Conn]) -> None:
        registry.stop()
        publisher.close()
        pool.close()

    def store_retirements(self, items: list[tuple[str, str, str]]) -> None:
        """Store ``(kind, id, company)`` retirements before the write that causes them.

        Raises:
            psycopg.Error: the database is unavailable (then nothing may be published).
        """
        if not items:
            return
        with self.pool.connection() as conn:
            conn.cursor().executemany(
                "INSERT INTO retired_ids (kind, id, company) VALUES (%s, %s, %s)"
                " ON CONFLICT (kind, id) DO NOTHING",
                items,
            )

    def close(self) -> None:
        """Stop following the registry, flush the producer, close the pool."""
        self._stop(self.publisher, self.registry, self.pool)
