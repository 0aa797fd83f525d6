"""What the API process holds while it runs: Kafka producer, registry, database pool, tokens."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import psycopg
import structlog
from psycopg_pool import ConnectionPool

from ingest.api.tokens import Conn, TokenVerifier
from ingest.gateway import ReadingGateway
from ingest.publisher import Publisher
from ingest.registry_follower import RegistryFollower
from symbiosis.errors import ConfigurationError, PipelineError
from symbiosis.kafka_admin import ensure_topics
from symbiosis.settings import Settings

log = structlog.get_logger(__name__)


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

    @classmethod
    def open(cls, settings: Settings) -> Services:
        """Connect to Kafka and the database and read the registry.

        Raises:
            PipelineError: Kafka cannot be reached or the registry not read in time.
            ConfigurationError: the database cannot be reached or lacks the API's tables.
        """
        ensure_topics(settings.kafka_bootstrap, settings.topics.configs(), settings.partitions)
        publisher = Publisher(settings.kafka_bootstrap, max_block_s=settings.api_ack_timeout_s)
        registry = RegistryFollower(settings.kafka_bootstrap, settings.topics)
        registry.start()
        pool: ConnectionPool[Conn] = ConnectionPool(
            settings.database_url, min_size=1, max_size=8, open=False, timeout=10,
            kwargs={"autocommit": True},
        )  # fmt: skip
        try:
            pool.open(wait=True, timeout=30)
            with pool.connection() as conn:
                conn.execute("SELECT 1 FROM api_tokens LIMIT 1")
            registry.wait_ready()
        except psycopg.errors.UndefinedTable as e:
            cls._stop(publisher, registry, pool)
            raise ConfigurationError(
                "the database lacks the API's tables: run `symbiosis db migrate`"
            ) from e
        except (psycopg.Error, PipelineError) as e:
            cls._stop(publisher, registry, pool)
            if isinstance(e, PipelineError):
                raise
            raise ConfigurationError(f"cannot use the database: {e}") from e
        except Exception:
            cls._stop(publisher, registry, pool)
            raise
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

    def close(self) -> None:
        """Stop following the registry, flush the producer, close the pool."""
        self._stop(self.publisher, self.registry, self.pool)
