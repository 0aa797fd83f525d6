"""Publishing a park's registry (sites with streams, needs, exchanges) to compacted topics.

Each record is keyed by its id, so the topic keeps the latest version of every site, need and
exchange; a tombstone (``None`` value) withdraws a need or an exchange. Stream workers read the
whole topics, so a need published while they run is matched from then on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from pydantic import BaseModel

from domain.errors import UnavailableError
from runtime.settings import Topics
from schemas.registry import Exchange, Need, Park, Site


class RegistryPublisher:
    """Writes registry records with an idempotent, ``acks=all`` producer."""

    def __init__(
        self, bootstrap: str, topics: Topics, *, options: Mapping[str, Any] | None = None
    ) -> None:
        """Connect to Kafka (``options``: client settings, e.g. SASL_SSL).

        Raises:
            UnavailableError: the brokers cannot be reached.
        """
        self.topics = topics
        self._futures: list[Any] = []
        try:
            self._producer = KafkaProducer(
                bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5,
                **(options or {}),
            )  # fmt: skip
        except KafkaError as e:
            raise UnavailableError(f"cannot reach Kafka at {bootstrap}: {e}") from e

    def _send(self, topic: str, key: str, model: BaseModel | None) -> None:
        value = model.model_dump_json().encode() if model is not None else None
        self._futures.append(self._producer.send(topic, key=key.encode(), value=value))

    def site(self, site: Site) -> None:
        """Publish (or replace) a site with its streams."""
        self._send(self.topics.sites, site.id, site)

    def need(self, need: Need) -> None:
        """Publish (or replace) a need; workers match it from then on."""
        self._send(self.topics.needs, need.id, need)

    def withdraw_need(self, need_id: str) -> None:
        """Withdraw a need (tombstone); its open alerts resolve."""
        self._send(self.topics.needs, need_id, None)

    def exchange(self, exchange: Exchange) -> None:
        """Publish (or replace) a committed exchange."""
        self._send(self.topics.exchanges, exchange.id, exchange)

    def park(self, park: Park) -> int:
        """Publish every site, need and exchange of a park; returns the number of records."""
        for s in park.sites:
            self.site(s)
        for n in park.needs:
            self.need(n)
        for x in park.exchanges:
            self.exchange(x)
        return len(park.sites) + len(park.needs) + len(park.exchanges)

    def flush(self, timeout_s: float = 60.0) -> None:
        """Wait until Kafka acknowledged everything sent.

        Raises:
            UnavailableError: a record could not be delivered.
        """
        try:
            self._producer.flush(timeout=timeout_s)
        except KafkaError as e:
            raise UnavailableError(f"publishing the registry failed: {e}") from e
        failed = [f.exception for f in self._futures if f.failed()]
        self._futures.clear()
        if failed:
            raise UnavailableError(
                f"{len(failed)} registry records were not accepted: {failed[:3]}"
            )

    def close(self) -> None:
        """Flush and close."""
        self._producer.close(timeout=30)
