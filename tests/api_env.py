"""A running API on the real stack for tests: the demo park registered, tokens, a sink thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from fastapi.testclient import TestClient

from domain.park import bundled_park_path, load_park
from ingest.api import tokens
from ingest.api.app import create_app
from ingest.api.services import Services
from ingest.registry_publisher import RegistryPublisher
from runtime.settings import Settings
from schemas.registry import Park
from sinks.consumer import Sink
from topics.kafka_admin import ensure_topics

# Companies of the demo park used by the tests:
SUPPLIER = "kalundborg-refinery"  # gives refinery-fuel-gas; does not disclose its identity
PARTNER = "saint-gobain"  # Gyproc: need gyproc-fuel-gas (and gyproc-gypsum)
DISCLOSING = "orsted"  # gives asnaes-steam, asnaes-gypsum; discloses its identity
OUTSIDER = "argo"


PUBLIC_ADDRESS = "93.184.215.14"  # a public address; nothing is ever sent to it


def stub_resolve(host: str, port: int) -> list[str]:
    """Webhook hosts as the SSRF guard sees them in tests (no DNS, no traffic).

    ``*.example`` names resolve to a public address; ``*.internal.example`` to the cloud
    metadata address; anything else does not resolve.
    """
    if host.endswith(".internal.example"):
        return ["169.254.169.254"]
    if host.endswith(".example"):
        return [PUBLIC_ADDRESS]
    raise OSError(f"{host} does not resolve")


@dataclass
class ApiEnv:
    settings: Settings
    client: TestClient
    park: Park
    tokens: dict[str, str]  # company (or "operator") -> token
    sink: Sink

    def auth(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}

    def readings(self, meter: str, n: int, *, value: float = 3000.0, unit: str = "m^3/h",
                 start: datetime | None = None) -> list[dict[str, Any]]:  # fmt: skip
        t0 = start or datetime.now(UTC) - timedelta(minutes=5)
        return [
            {"meter": meter, "ts": (t0 + timedelta(seconds=i)).isoformat(), "value": value,
             "unit": unit}
            for i in range(n)
        ]  # fmt: skip


@contextmanager
def api_env(settings: Settings, *, sink: bool = True) -> Iterator[ApiEnv]:
    """Topics created, demo park published, one token per company plus the operator."""
    ensure_topics(settings.kafka_bootstrap, settings.topics.configs(), settings.partitions)
    park = load_park(bundled_park_path())
    publisher = RegistryPublisher(settings.kafka_bootstrap, settings.topics)
    publisher.park(park)
    publisher.flush()
    publisher.close()
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        issued = {s.company: tokens.issue(conn, s.company, label="test") for s in park.sites}
        issued["operator"] = tokens.issue(conn, None, label="test")
    runner = Sink(settings.model_copy(update={"sink_flush_s": 0.2}))
    thread = threading.Thread(target=runner.run, daemon=True)
    if sink:
        thread.start()
    services = Services.open(settings)  # shared: every client of the app reuses it
    services.resolve_host = stub_resolve
    try:
        with TestClient(create_app(settings, services)) as client:
            yield ApiEnv(settings, client, park, issued, runner)
    finally:
        services.close()
        runner.stop()
        if sink:
            thread.join(30)
