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
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from domain.directory import Directory
from domain.disclosure import alert_view
from domain.errors import ConfigurationError
from schemas.alerts import Alert
from schemas.registry import Need

SECRET_PREFIX: Final = "whsec_"  # noqa: S105 - the format's prefix, not a secret
ROTATION_GRACE: Final = timedelta(hours=24)
"""How long a rotated-out key still signs events (beside the new one)."""


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
        body: The alert as the need's company may see it, as JSON bytes.
        keys: Signing keys, newest first.
        alert_id: The alert's id as the subscriber sees it (a pseudonym when redacted).
        idempotency_key: The event's key as the subscriber sees it (same on every retry).
    """

    url: str
    body: bytes
    keys: tuple[bytes, ...]
    alert_id: str = ""
    idempotency_key: str = ""


def webhook_event(
    alert: Alert, directory: Directory, master: bytes, now: datetime, *, disclosure_key: bytes
) -> WebhookEvent | None:
    """The webhook event of ``alert``, or ``None`` when its need has no webhook.

    A withdrawn need still gets its alerts' last events (their ``resolved``) at the webhook it
    had. The body is redacted for the need's company; a need whose company is unknown gets
    nothing (there is no one to redact for).

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
    if company is None:
        return None
    found = directory.stream(alert.stream)
    site, stream = found if found is not None else (None, None)
    view = alert_view(
        alert, site, stream, company, key=disclosure_key, receiver=directory.sites.get(need.site)
    )
    sequence = alert.idempotency_key.rsplit(":", 1)[-1]
    return WebhookEvent(
        url=str(need.subscription.webhook),
        body=view.model_dump_json().encode(),
        keys=signing_keys(master, company, need, now),
        alert_id=view.alert_id,
        idempotency_key=f"{view.alert_id}:{sequence}",
    )
