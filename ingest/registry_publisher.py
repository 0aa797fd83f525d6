"""Publishing a park's registry (sites with streams, needs, exchanges) to compacted topics.

Each record is keyed by its id, so the topic keeps the latest version of every site, stream,
need and exchange; a tombstone (``None`` value) withdraws a stream, a need or an exchange. A
site is published as one record per stream plus a header listing them
(:func:`domain.site_records.split_site`), so no record grows with the site: a site of 10,000
meters is as registrable as one of ten. Stream workers read the whole topics, so a need
published while they run is matched from then on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaError
from pydantic import BaseModel

from domain.errors import UnavailableError
from domain.site_records import WireRecord, split_site
from runtime.settings import Topics
from schemas.registry import Exchange, Need, Park, Site
from topics.catalogue import topic_of


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

    def _send_wire(self, record: WireRecord) -> None:
        topic = topic_of(self.topics, record.kind)
        future = self._producer.send(topic, key=record.key.encode(), value=record.value)
        self._futures.append(future)

    def site(self, site: Site, previous: Site | None = None) -> int:
        """Publish (or replace) a site with its streams; returns the number of records.

        One record per stream and a header (see :func:`~domain.site_records.split_site`).
        With ``previous`` (the registered version), the streams it has and ``site`` does not
        are withdrawn too (tombstones), after the rest is acknowledged: this call then
        flushes.

        Raises:
            ConfigurationError: a record would be too large (it names the stream); nothing
                was sent.
            UnavailableError: as :meth:`flush`, when there were streams to withdraw.
        """
        records = split_site(site, previous)
        for record in records.records:
            self._send_wire(record)
        if records.removals:
            self.flush()
            for record in records.removals:
                self._send_wire(record)
        return len(records.all)

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
        """Publish every site, need and exchange of a park; returns the number of records.

        Streams a site had on the topics before and the park no longer lists are not
        withdrawn (no previous version is known here): no header lists them, so every
        follower ignores them.

        Raises:
            ConfigurationError: a site would need a record that is too large (nothing of
                that site was sent; the sites before it were).
        """
        sent = sum(self.site(s) for s in park.sites)
        for n in park.needs:
            self.need(n)
        for x in park.exchanges:
            self.exchange(x)
        return sent + len(park.needs) + len(park.exchanges)

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
