"""Webhook delivery on the real broker: Standard Webhooks reach subscribers (checked with the
``standardwebhooks`` package's own verifier), failures dead-letter, 410 Gone disables."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from pydantic import SecretStr
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from delivery.webhooks import LEGACY_SIGNATURE_HEADER, WEBHOOK_ID_HEADER, verify_header
from domain.registry_records import decode_record
from domain.subscriptions import secret_text, signing_key
from runtime.settings import Settings
from schemas.dead_letters import DeadLetter
from schemas.registry import Need, Park, Subscription, WebhookState
from schemas.views import AlertView, AlertWebhook
from symbiosis.pipeline import LocalPipeline
from tests.helpers import consume_all, wait_for
from tests.integration.test_integration_lifecycle import SUPPLIER, TAKER, batches, produce

pytestmark = pytest.mark.integration

SECRET = "s3cret-for-tests"


class Receiver(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.gone: list[tuple[dict[str, str], bytes]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        if self.path.startswith("/missing"):
            self.send_response(404)
        elif self.path.startswith("/gone"):
            self.server.gone.append((dict(self.headers), body))
            self.send_response(410)
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
        min_temperature_c=60, subscription=Subscription(
            webhook=f"{receiver.url}/hooks/heat", format="standard"),  # type: ignore[arg-type]
    )  # fmt: skip
    missing = subscribed.model_copy(
        update={
            "id": "greenhouse-heat-old",
            "subscription": Subscription(webhook=f"{receiver.url}/missing", format="standard"),  # type: ignore[arg-type]
        }
    )
    legacy = subscribed.model_copy(
        update={
            "id": "greenhouse-heat-legacy",
            "subscription": Subscription(webhook=f"{receiver.url}/hooks/legacy"),  # type: ignore[arg-type]
        }
    )
    gone = subscribed.model_copy(
        update={
            "id": "greenhouse-heat-gone",
            "subscription": Subscription(webhook=f"{receiver.url}/gone", format="standard"),  # type: ignore[arg-type]
        }
    )
    pipeline = LocalPipeline(run)
    pipeline.reset()
    pipeline.publish(
        Park(park="p", sites=[SUPPLIER, TAKER], needs=[subscribed, missing, legacy, gone])
    )
    try:
        pipeline.start("streams")
        pipeline.start("delivery")
        produce(pipeline, batches("heat-0", [10.0] * 6, start_s=0))
        wait_for(
            lambda: {LEGACY_SIGNATURE_HEADER in h for h, _ in receiver.received} == {True, False},
            90,
            "the webhook deliveries (standard and legacy)",
        )
        dead = [
            DeadLetter.model_validate_json(v)
            for v in consume_all(run, run.topics.dead_letters, 2, 90)
        ]
        states = consume_all(run, run.topics.webhook_states, 1, 90)
    finally:
        pipeline.stop()

    standard = [(h, b) for h, b in receiver.received if LEGACY_SIGNATURE_HEADER not in h]
    old_style = [(h, b) for h, b in receiver.received if LEGACY_SIGNATURE_HEADER in h]
    assert standard
    assert old_style

    # every delivered webhook passes the standardwebhooks package's verifier, with the
    # subscription's own whsec_ secret (the key ids are the park file's: none)
    def key(need_id: str) -> bytes:
        return signing_key(SECRET.encode(), TAKER.company, need_id, 1)

    for headers, body in receiver.received:
        need_id = json.loads(body).get("need") or json.loads(body)["data"]["need"]
        Webhook(secret_text(key(need_id))).verify(body, headers)
        for wrong in (SECRET.encode(), key("greenhouse-heat-old")):  # master, another's key
            with pytest.raises(WebhookVerificationError):
                Webhook(secret_text(wrong)).verify(body, headers)

    headers, body = standard[0]
    payload = AlertWebhook.model_validate_json(body)
    view = payload.data
    assert payload.type == "alert.opened"
    assert payload.timestamp == view.ts
    assert (view.need, view.event.value, view.kind.value) == ("greenhouse-heat", "opened", "heat")
    # the smelter does not disclose itself: the partner's webhook gets bands, not its identity,
    # exactly what GET /v1/alerts shows the partner
    assert view.redacted
    assert (view.stream, view.supplier_company, view.available, view.distance_km) == (
        None, None, None, None,
    )  # fmt: skip
    for secret_fact in (b"heat-0", b"smelter", b"metal-co"):
        assert secret_fact not in body
    assert headers[WEBHOOK_ID_HEADER] == f"msg_{view.alert_id}_opened_1"
    assert LEGACY_SIGNATURE_HEADER not in headers

    # a subscription from before Standard Webhooks (no format) keeps its body and old header
    headers, body = old_style[0]
    assert AlertView.model_validate_json(body).need == "greenhouse-heat-legacy"
    own = signing_key(SECRET.encode(), TAKER.company, "greenhouse-heat-legacy", 1)
    assert verify_header(own, headers[LEGACY_SIGNATURE_HEADER], body)

    # 404: dead-lettered as refused; 410: tried once, dead-lettered as gone, and disabled
    # durably (a webhook state on the registry's compacted topic)
    assert sorted((d.alert.need, d.reason, d.last_status, d.permanent) for d in dead) == [
        ("greenhouse-heat-gone", "gone", 410, True),
        ("greenhouse-heat-old", "refused", 404, True),
    ]
    assert len(receiver.gone) == 1
    (value,) = states
    state = decode_record("webhook_state", value)
    assert isinstance(state, WebhookState)
    assert (state.need, state.secret_version, state.disabled.reason) == (
        "greenhouse-heat-gone", 1, "gone",
    )  # fmt: skip
    assert str(state.webhook) == f"{receiver.url}/gone"
