"""Who receives a webhook event, what it says, and with which key it is signed: pure rules.

Every webhook event leaves through the disclosure policy: its body is the alert as the need's
company may see it (:func:`domain.disclosure.alert_view`), never the raw alert. A supplier
that does not disclose itself is not named, and its quantity and distance are bands.

Each subscription has its own signing secret, so one partner cannot sign events for another.
Secrets are not stored anywhere: each is derived from the deployment's master secret
(``SYMBIOSIS_WEBHOOK_SECRET``) and the subscription's identity,
``HMAC-SHA256(master, "symbiosis-webhook/<company>/<need>/<key id>/<version>")`` (the key id
is random per subscription), and shown to the need's
company as ``whsec_<base64 of the 32 key bytes>`` (the Standard Webhooks secret format). Rotating
bumps the subscription's ``secret_version``; the previous key keeps signing alongside the new
one for :data:`ROTATION_GRACE` so the subscriber can switch without losing events.

Events follow Standard Webhooks (https://www.standardwebhooks.com): each has a ``webhook-id``
that is the same on every retry and redelivery (:func:`webhook_id`: the pseudonymous alert id
of the view and the event's sequence number, nothing more), and a body chosen per subscription
(:data:`~schemas.registry.WebhookFormat`):

* ``standard``: ``{"type": "alert.opened", "timestamp": <the event's ts>, "data": <view>}``
  (:class:`~schemas.views.AlertWebhook`);
* ``cloudevents``: a CloudEvents 1.0 event in structured JSON mode with the same view as
  ``data`` (:class:`~schemas.views.AlertCloudEvent`);
* ``legacy`` (deprecated; a subscription registered before Standard Webhooks): the bare view.

Every envelope field is derived from the view, so no format discloses more than the view does.
A subscription whose endpoint answered 410 Gone is disabled
(:meth:`~domain.directory.Directory.webhook_disabled`) and gets no events.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from domain.directory import Directory
from domain.disclosure import alert_view
from domain.errors import ConfigurationError
from schemas.alerts import Alert
from schemas.registry import Need, SubscriptionDisabled, WebhookFormat, WebhookState
from schemas.views import AlertCloudEvent, AlertView, AlertWebhook

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the format's prefix, not a secret
ROTATION_GRACE: Final = timedelta(hours=24)
"""How long a rotated-out key still signs events (beside the new one)."""
LEGACY_FORMAT: Final[WebhookFormat] = "legacy"
"""The format of a subscription that names none (registered before Standard Webhooks)."""
JSON: Final = "application/json"
CLOUDEVENTS_JSON: Final = "application/cloudevents+json; charset=utf-8"
_NOT_ID_SAFE: Final = re.compile(r"[^A-Za-z0-9_-]")


def signing_key(
    master: bytes, company: str, need_id: str, version: int, key_id: str | None = None
) -> bytes:
    """The 32 key bytes of one subscription version.

    ``key_id`` is the subscription's random id (set by the API): a subscription removed and
    created again gets a new one, so it never signs with a key of its earlier life.

    Raises:
        ConfigurationError: ``master`` is empty (webhooks cannot be signed).
    """
    if not master:
        raise ConfigurationError("SYMBIOSIS_WEBHOOK_SECRET is empty: webhooks cannot be signed")
    kid = f"{key_id}/" if key_id else ""
    label = f"symbiosis-webhook/{company}/{need_id}/{kid}{version}".encode()
    return hmac.new(master, label, hashlib.sha256).digest()


def secret_text(key: bytes) -> str:
    """A key as its subscriber configures it: ``whsec_<base64>``."""
    return SECRET_PREFIX + base64.b64encode(key).decode()


def key_of(secret: str) -> bytes:
    """The key bytes of a ``whsec_...`` secret (what a subscriber's verifier needs).

    Raises:
        ConfigurationError: not a ``whsec_`` secret in base64.
    """
    if not secret.startswith(SECRET_PREFIX):
        raise ConfigurationError(f"a webhook secret starts with {SECRET_PREFIX!r}")
    try:
        return base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    except ValueError as e:
        raise ConfigurationError("a webhook secret is whsec_ followed by base64") from e


def signing_keys(master: bytes, company: str, need: Need, now: datetime) -> tuple[bytes, ...]:
    """The keys an event of ``need`` is signed with, newest first.

    The current key, and the previous one during :data:`ROTATION_GRACE` after a rotation.

    Raises:
        ConfigurationError: ``master`` is empty.
    """
    sub = need.subscription
    version = sub.secret_version if sub is not None else 1
    kid = sub.key_id if sub is not None else None
    keys = [signing_key(master, company, need.id, version, kid)]
    rotated = sub.rotated_at if sub is not None else None
    if version > 1 and rotated is not None and now - rotated < ROTATION_GRACE:
        keys.append(signing_key(master, company, need.id, version - 1, kid))
    return tuple(keys)


@dataclass(frozen=True, slots=True)
class WebhookEvent:
    """One alert as one subscriber receives it.

    Attributes:
        url: The need's webhook.
        body: What is sent, as JSON bytes: the alert as the need's company may see it, in the
            subscription's format.
        keys: Signing keys, newest first.
        alert_id: The alert's id as the subscriber sees it (a pseudonym when redacted).
        idempotency_key: The event's key as the subscriber sees it (same on every retry).
        webhook_id: The ``webhook-id`` (same on every retry and redelivery).
        event: ``opened``, ``updated`` or ``resolved``.
        format: How it is sent (the body above, and which headers).
        content_type: The body's media type.
        need: The need whose subscription it is.
        key_id: The subscription's key id (with ``secret_version`` and ``url``, which
            subscription it is: a 410 disables that one only).
        secret_version: The subscription's secret version.
    """

    url: str
    body: bytes
    keys: tuple[bytes, ...]
    alert_id: str = ""
    idempotency_key: str = ""
    webhook_id: str = ""
    event: str = ""
    format: WebhookFormat = "standard"
    content_type: str = JSON
    need: str = ""
    key_id: str | None = None
    secret_version: int = 1

    @property
    def subscription(self) -> tuple[str, str | None, int, str]:
        """Which subscription it goes to: need, key id, secret version, URL."""
        return (self.need, self.key_id, self.secret_version, self.url)


def webhook_id(view: AlertView, sequence: str) -> str:
    """The ``webhook-id`` of an event: ``msg_<alert id>_<event>_<sequence>``.

    Built from the view's (pseudonymous) alert id and the event's sequence number, both already
    in what the subscriber receives; characters outside ``[A-Za-z0-9_-]`` become ``-`` (the
    id is signed as ``<id>.<timestamp>.<body>``, so it must hold no ``.``).
    """
    raw = f"msg_{view.alert_id}_{view.event.value}_{sequence}"
    return _NOT_ID_SAFE.sub("-", raw)


def webhook_body(view: AlertView, fmt: WebhookFormat, msg_id: str) -> tuple[bytes, str]:
    """The body of one event in a subscription's format, and its content type.

    Every field besides ``data`` (the view, unchanged) is derived from the view.
    """
    event_type = f"alert.{view.event.value}"
    if fmt == "standard":
        payload = AlertWebhook.model_validate(
            {"type": event_type, "timestamp": view.ts, "data": view}
        )
        return payload.model_dump_json().encode(), JSON
    if fmt == "cloudevents":
        cloud = AlertCloudEvent(
            id=msg_id, source=f"/symbiosis/needs/{view.need}", type=f"symbiosis.{event_type}",
            subject=view.alert_id, time=view.ts, data=view,
        )  # fmt: skip
        return cloud.model_dump_json().encode(), CLOUDEVENTS_JSON
    return view.model_dump_json().encode(), JSON


def webhook_event(
    alert: Alert, directory: Directory, master: bytes, now: datetime, *, disclosure_key: bytes
) -> WebhookEvent | None:
    """The webhook event of ``alert``, or ``None`` when its need has no webhook.

    A withdrawn need still gets its alerts' last events (their ``resolved``) at the webhook it
    had. The body is redacted for the need's company; a need whose company is unknown gets
    nothing (there is no one to redact for), nor does a disabled subscription (410 Gone).

    Args:
        alert: The alert as the stream workers emitted it.
        directory: The registry (needs, including withdrawn ones; sites and streams).
        master: The master secret subscription keys derive from.
        now: The current time (a rotated-out key signs during its grace period).
        disclosure_key: Keys the pseudonymous alert ids of redacted views.

    Raises:
        ConfigurationError: ``master`` is empty.
    """
    need = directory.needs.get(alert.need) or directory.withdrawn.get(alert.need)
    if need is None or need.subscription is None or need.subscription.webhook is None:
        return None
    company = directory.owner_of_need(need.id)
    if company is None or directory.webhook_disabled(need) is not None:
        return None
    found = directory.stream(alert.stream)
    site, stream = found if found is not None else (None, None)
    view = alert_view(
        alert, site, stream, company, key=disclosure_key, receiver=directory.sites.get(need.site)
    )
    sub = need.subscription
    sequence = alert.idempotency_key.rsplit(":", 1)[-1]
    msg_id = webhook_id(view, sequence)
    fmt = sub.format or LEGACY_FORMAT
    body, content_type = webhook_body(view, fmt, msg_id)
    return WebhookEvent(
        url=str(sub.webhook),
        body=body,
        keys=signing_keys(master, company, need, now),
        alert_id=view.alert_id,
        idempotency_key=f"{view.alert_id}:{sequence}",
        webhook_id=msg_id,
        event=view.event.value,
        format=fmt,
        content_type=content_type,
        need=need.id,
        key_id=sub.key_id,
        secret_version=sub.secret_version,
    )


def gone_state(event: WebhookEvent, status: int, at: datetime) -> WebhookState:
    """The registry record disabling ``event``'s subscription after its endpoint said 410."""
    return WebhookState.model_validate(
        {
            "need": event.need,
            "key_id": event.key_id,
            "secret_version": event.secret_version,
            "webhook": event.url,
            "disabled": SubscriptionDisabled(reason="gone", status=status, at=at),
        }
    )
