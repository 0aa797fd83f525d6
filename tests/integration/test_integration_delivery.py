"""Webhook delivery on the real broker: signed alerts reach subscribers, failures dead-letter."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr

from delivery.webhooks import IDEMPOTENCY_HEADER, SIGNATURE_HEADER, verify_header
from domain.subscriptions import signing_key
from runtime.settings import Settings
from schemas.dead_letters import DeadLetter
from schemas.registry import Need, Park, Subscription
from schemas.views import AlertView
from symbiosis.pipeline import LocalPipeline
from tests.helpers import consume_all, wait_for
from tests.integration.test_integration_lifecycle import SUPPLIER, TAKER, batches, produce

pytestmark = pytest.mark.integration

SECRET = "s3cret-for-tests"


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.received: list[tuple[dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path.startswith("/gone"):
            self.send_response(404)
        else:
            self.server.received.append((dict(self.headers), body))
            self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()


def test_alerts_are_signed_delivered_and_failures_dead_lettered(
    settings: Settings, receiver: Receiver
) -> None:
    run = settings.model_copy(
        update={
            "app_id": f"t-{uuid.uuid4().hex[:8]}",
            "ledger_window_s": 2.0,
            "webhook_secret": SecretStr(SECRET),
            "webhook_allow_private": True,  # the receiver listens on 127.0.0.1
            "webhook_require_https": False,
            "webhook_max_attempts": 2,
            "webhook_backoff_s": 0.05,
        }
    )
    subscribed = Need(
        id="greenhouse-heat", site="greenhouse", kind="heat", unit="MW", min_quantity=5,
        min_temperature_c=60, subscription=Subscription(webhook=f"{receiver.url}/hooks/heat"),
    )  # fmt: skip
    gone = subscribed.model_copy(
        update={
            "id": "greenhouse-heat-old",
            "subscription": Subscription(webhook=f"{receiver.url}/gone"),
        }
    )
    pipeline = LocalPipeline(run)
    pipeline.reset()
    pipeline.publish(Park(park="p", sites=[SUPPLIER, TAKER], needs=[subscribed, gone]))
    try:
        pipeline.start("streams")
        pipeline.start("delivery")
        produce(pipeline, batches("heat-0", [10.0] * 6, start_s=0))
        wait_for(lambda: len(receiver.received) >= 1, 90, "a webhook delivery")
        dead = [
            DeadLetter.model_validate_json(v)
            for v in consume_all(run, run.topics.dead_letters, 1, 90)
        ]
    finally:
        pipeline.stop()

    headers, body = receiver.received[0]
    view = AlertView.model_validate_json(body)
    assert (view.need, view.event.value, view.kind.value) == ("greenhouse-heat", "opened", "heat")
    # the smelter does not disclose itself: the partner's webhook gets bands, not its identity,
    # exactly what GET /v1/alerts shows the partner
    assert view.redacted
    assert (view.stream, view.supplier_company, view.available, view.distance_km) == (
        None, None, None, None,
    )  # fmt: skip
    for secret_fact in (b"heat-0", b"smelter", b"metal-co"):
        assert secret_fact not in body
    assert headers[IDEMPOTENCY_HEADER].startswith(view.alert_id)
    # signed with the subscription's own key, not with the deployment's master secret
    own = signing_key(SECRET.encode(), TAKER.company, "greenhouse-heat", 1)
    assert verify_header(own, headers[SIGNATURE_HEADER], body)
    assert not verify_header(SECRET.encode(), headers[SIGNATURE_HEADER], body)
    other = signing_key(SECRET.encode(), TAKER.company, "greenhouse-heat-old", 1)
    assert not verify_header(other, headers[SIGNATURE_HEADER], body)

    assert len(dead) == 1
    assert dead[0].alert.need == "greenhouse-heat-old"
    assert dead[0].permanent
    assert dead[0].last_status == 404
