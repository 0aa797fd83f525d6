"""Fakes for the in-process API tests (``test_api_*``): no Kafka, no PostgreSQL, no port.

The API runs in a ``TestClient`` (as in ``test_site_records.py``): a publisher that records
what it is sent, tokens known in advance, a registry follower that is never started (sites are
applied to it directly) and a database pool that answers each query from a script.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from fastapi.testclient import TestClient

from ingest.api.app import create_app
from ingest.api.services import Services
from ingest.api.tokens import Principal
from ingest.gateway import ReadingGateway
from runtime.settings import Settings
from schemas.registry import Site, Stream
from topics.registry_follower import RegistryFollower

COMPANY = {"Authorization": "Bearer refco"}
OPERATOR = {"Authorization": "Bearer operator"}

REFINERY = Site(
    id="refinery", name="Refinery", company="refco", lat=55.68, lon=11.09,
    streams=[Stream(id="fuel-gas", kind="gas", unit="m^3/h", nominal=3000,
                    meters=["gas-1", "gas-2"])],
)  # fmt: skip


class FakeKafka:
    """The API's publisher: records what was sent; every send is acknowledged."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, str | None, bytes | None]] = []

    def send(self, topic: str, key: str | None, value: bytes | None) -> object:
        self.sent.append((topic, key, value))
        return object()

    def wait(self, futures: Any, timeout_s: float) -> int:
        return len(list(futures))

    def close(self) -> None:
        pass


class FakeTokens:
    """``refco`` is a company token, ``operator`` the operator's; anything else is unknown."""

    def verify(self, token: str) -> Principal | None:
        if token == "operator":
            return Principal(role="operator", company=None, prefix="operator")
        if token in ("refco", "rival"):
            return Principal(role="company", company=token, prefix=token)
        return None


Answer = Callable[[str, Any], list[dict[str, Any]]]
"""``(sql, params)`` -> rows; ``params`` as the query gave them (a tuple or a dict)."""


@dataclass
class FakePool:
    """A database pool whose queries are answered by ``answer(sql, params)``; each is kept."""

    answer: Answer = lambda sql, params: []
    queries: list[tuple[str, Any]] = field(default_factory=list)

    @contextmanager
    def connection(self) -> Iterator[FakePool]:
        yield self

    @contextmanager
    def cursor(self, **_: Any) -> Iterator[FakePool]:
        yield self

    def execute(self, sql: bytes | str, params: Any) -> None:
        text = sql.decode() if isinstance(sql, bytes) else sql
        self.queries.append((text, params))
        self._rows = self.answer(text, params)

    def fetchall(self) -> list[dict[str, Any]]:
        return self._rows


@dataclass
class Api:
    client: TestClient
    kafka: FakeKafka
    pool: FakePool
    settings: Settings


@contextmanager
def running_api(settings: Settings | None = None) -> Iterator[Api]:
    """The API app in process, with the refinery (meters ``gas-1``, ``gas-2``) registered."""
    s = settings or Settings()
    kafka = FakeKafka()
    pool = FakePool()
    follower = RegistryFollower(s.kafka_bootstrap, s.topics)  # not started
    follower.apply(s.topics.sites, REFINERY.id, REFINERY.model_dump_json().encode())
    services = Services(
        settings=s, publisher=kafka, registry=follower,  # type: ignore[arg-type]
        gateway=ReadingGateway(s, kafka, follower),  # type: ignore[arg-type]
        pool=pool, tokens=FakeTokens(),  # type: ignore[arg-type]
    )  # fmt: skip
    services.store_retirements = lambda items: None  # type: ignore[method-assign]
    with TestClient(create_app(s, services), raise_server_exceptions=False) as client:
        yield Api(client, kafka, pool, s)
