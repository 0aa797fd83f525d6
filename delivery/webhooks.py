"""Alert delivery to subscribers' webhooks: Standard Webhooks, retried with backoff, dead-lettered.

Each alert is POSTed to the webhook of its need as the need's company may see it: the body is
built by :func:`domain.subscriptions.webhook_event` from the :class:`~schemas.views.AlertView`
of the disclosure policy, never the raw alert, in the subscription's format (``standard``:
``{"type", "timestamp", "data"}``; ``cloudevents``: a CloudEvent in structured JSON mode;
``legacy``: the bare view). Headers follow Standard Webhooks (https://www.standardwebhooks.com)::

    Content-Type: application/json                 # application/cloudevents+json for cloudevents
    webhook-id: msg_<alert id>_<event>_<sequence>   # same on every retry and every redelivery
    webhook-timestamp: <unix seconds>               # of this attempt
    webhook-signature: v1,<base64 HMAC-SHA256>[ v1,<base64>]

``v1 = base64(HMAC-SHA256(key, f"{id}.{timestamp}.".encode() + raw_body))`` with the
subscription's own key (``whsec_<base64 key>``; two signatures, space separated, while a
rotated-out key is in its grace period). Any Standard Webhooks verifier checks it (the tests
use the ``standardwebhooks`` package's); it refuses timestamps more than 5 minutes away, and
every attempt is signed afresh, so a retry after a long backoff is not stale.

``legacy`` subscriptions (deprecated) also get the headers of before, beside those above::

    Idempotency-Key: <alert id>:<sequence>
    Symbiosis-Alert-Id: <alert id>
    Symbiosis-Event: opened | updated | resolved
    Symbiosis-Attempt: <n>
    Symbiosis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of f"{t}." + body>[,v1=<hex>]

Guarantees and failure modes:

* At-least-once: an alert may arrive more than once (a retry after a lost response, a replay
  from the dead-letter topic, a pipeline restart); receivers dedupe on ``webhook-id``.
* No ordering between alerts: concurrent deliveries and retries can reorder them; receivers
  order by the payload's ``timestamp`` within an alert id.
* Retried, as Standard Webhooks asks: connection errors, timeouts, every status outside 2xx
  but 410 (redirects are not followed: a 3xx is a failure) and any unexpected error of one
  attempt (logged; never raised to the caller), with exponential backoff and jitter over one
  to two days by default (:class:`RetryPolicy`), honouring ``Retry-After`` (seconds or HTTP
  date, bounded however long: between :meth:`RetryPolicy.floor` and the policy's
  ``max_retry_after_s``, 2 h by default). Refusals (3xx, 4xx but 408/429) are counted apart,
  on a shorter budget (``max_attempts_refused``: 1.4-2.8 h when every answer is one). The
  delivery process sends one event at a time per subscriber, so a retried failure also holds
  back that subscriber's later events (it is throttled; the others are not), and
  :meth:`WebhookDispatcher.retrying` tells it which subscribers are failing. Not retried: an
  invalid URL and a URL the SSRF guard refuses (:mod:`domain.url_guard`).
* Bounded in time: given the alert's record timestamp, no retry starts later than the policy's
  :attr:`~RetryPolicy.horizon_s` (51 h by default) after it, however long the alert waited in
  its subscriber's queue and however often the process restarted (an older one gets one
  attempt). Every retry resolves the subscription again (URL, keys, format): a held alert is
  signed with the current keys, follows a re-pointed URL and is dropped if the subscription
  went away. Failing endpoints hold at most ``max_retry_concurrency`` of the request slots.
* 410 Gone disables the subscription: the alert is dead-lettered (reason ``gone``), the
  dispatcher sends nothing more to that subscription, and its ``on_gone`` callback records it
  (the delivery process publishes a :class:`~schemas.registry.WebhookState`, so it survives a
  restart; registering the need again or rotating its secret enables it again).
* Nothing dropped silently: :class:`WebhookDispatcher` hands every final failure to its
  ``dead_letter`` callback (the dead-letter topic, whose payload is
  :class:`~schemas.dead_letters.DeadLetter`) and raises :class:`DeadLetterError` if that
  fails, so the caller does not commit the alert.

Metrics: this module does not import prometheus-client. Each attempt and result is reported to
a :class:`DeliveryObserver` (a plain protocol; a Prometheus adapter is a few lines), and the
dispatcher always keeps plain counters in :attr:`WebhookDispatcher.stats`.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import math
import random
import re
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Final, Protocol

import aiohttp
import structlog
from yarl import URL

from domain.errors import ConfigurationError, PipelineError
from domain.subscriptions import WebhookEvent
from domain.url_guard import RefusedAddressError, UrlGuard
from schemas.alerts import Alert
from schemas.dead_letters import DeadLetter, DeadLetterReason

log = structlog.get_logger(__name__)

WEBHOOK_ID_HEADER: Final = "webhook-id"
WEBHOOK_TIMESTAMP_HEADER: Final = "webhook-timestamp"
WEBHOOK_SIGNATURE_HEADER: Final = "webhook-signature"
LEGACY_SIGNATURE_HEADER: Final = "Symbiosis-Signature"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
ALERT_ID_HEADER: Final = "Symbiosis-Alert-Id"
EVENT_HEADER: Final = "Symbiosis-Event"
ATTEMPT_HEADER: Final = "Symbiosis-Attempt"
USER_AGENT: Final = "symbiosis-webhooks/1"
DEFAULT_TOLERANCE_S: Final = 300.0
"""How old (or how far in the future) a signature timestamp may be before :func:`verify` refuses."""

GONE: Final = 410
_MAX_ERROR_CHARS: Final = 2000
_SNIPPET_BYTES: Final = 256
_DIGITS: Final = re.compile(r"[0-9]+")
RETRY_AFTER_HUGE_S: Final = 1e9
"""What a ``Retry-After`` too large to read exactly counts as: ~31 years, past any cap."""
_RETRY_AFTER_DIGITS: Final = 9
_RETRY_AFTER_CHARS: Final = 64
_MAX_FAILING: Final = 100_000
"""Most endpoints :class:`Slots` remembers as failing."""


class DeadLetterError(PipelineError):
    """An undeliverable alert could not be dead-lettered either; the alert must not be committed."""


# --- signatures --------------------------------------------------------------------------------


def sign_standard(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """One Standard Webhooks signature: ``v1,<base64 HMAC-SHA256>``.

    Args:
        key: The subscription's key (the bytes of its ``whsec_`` secret).
        msg_id: The ``webhook-id`` (no ``.`` in it).
        timestamp: The ``webhook-timestamp``, Unix seconds.
        body: The exact bytes of the request body.

    Returns:
        ``v1,`` and the base64 HMAC-SHA256 over ``f"{msg_id}.{timestamp}.".encode() + body``.
    """
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(mac).decode()


def standard_signature_header(
    keys: Sequence[bytes], msg_id: str, timestamp: int, body: bytes
) -> str:
    """The ``webhook-signature`` value: one ``v1,<base64>`` per key (newest first), space separated.

    A subscriber accepts the event if any one matches, so a rotation loses nothing.
    """
    return " ".join(sign_standard(k, msg_id, timestamp, body) for k in keys)


def webhook_headers(event: WebhookEvent, timestamp: int, attempt: int) -> dict[str, str]:
    """The headers of one attempt of ``event``, signed at ``timestamp`` (Unix seconds).

    The Standard Webhooks headers for every format; the old ``Symbiosis-*`` headers and
    ``Idempotency-Key`` besides them for a ``legacy`` subscription.
    """
    headers = {
        "Content-Type": event.content_type,
        "User-Agent": USER_AGENT,
        WEBHOOK_ID_HEADER: event.webhook_id,
        WEBHOOK_TIMESTAMP_HEADER: str(timestamp),
        WEBHOOK_SIGNATURE_HEADER: standard_signature_header(
            event.keys, event.webhook_id, timestamp, event.body
        ),
    }
    if event.format == "legacy":
        headers |= {
            IDEMPOTENCY_HEADER: event.idempotency_key,
            ALERT_ID_HEADER: event.alert_id,
            EVENT_HEADER: event.event,
            ATTEMPT_HEADER: str(attempt),
            LEGACY_SIGNATURE_HEADER: signature_header(event.keys, timestamp, event.body),
        }
    return headers


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """Sign a webhook body the legacy way (``Symbiosis-Signature``; deprecated).

    Args:
        secret: The shared secret of the subscriber (raw bytes).
        timestamp: Unix seconds sent in the header's ``t=``.
        body: The exact bytes of the request body.

    Returns:
        Lower-case hex HMAC-SHA256 over ``f"{timestamp}.".encode() + body``.
    """
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: bytes | Sequence[bytes], timestamp: int, body: bytes) -> str:
    """Build the legacy ``Symbiosis-Signature`` value: ``t=<unix>,v1=<hex>[,v1=<hex>...]``.

    One ``v1`` per key (newest first), so a subscriber keeps verifying during a rotation.
    """
    keys = [secret] if isinstance(secret, bytes) else list(secret)
    return ",".join([f"t={timestamp}", *(f"v1={sign(k, timestamp, body)}" for k in keys)])


def verify(
    secret: bytes,
    timestamp: int,
    body: bytes,
    signature: str,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """Check a legacy webhook signature (deprecated: verify ``webhook-signature`` instead).

    The comparison is constant-time. A timestamp further than ``tolerance_s`` from ``now`` (past
    or future) is refused even with a correct MAC, so a captured request cannot be replayed later.

    Args:
        secret: The shared secret.
        timestamp: The header's ``t=`` value.
        body: The raw request body, exactly as received (before any JSON parsing).
        signature: The header's ``v1=`` value (hex).
        tolerance_s: Largest accepted distance between ``timestamp`` and ``now``, in seconds.
        now: Current Unix time; ``time.time()`` when omitted.

    Returns:
        True only if the signature matches and the timestamp is fresh. Never raises on bad input.
    """
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_s:
        return False
    expected = sign(secret, timestamp, body).encode()
    return hmac.compare_digest(expected, signature.strip().encode("utf-8", "replace"))


def verify_header(
    secret: bytes,
    header: str,
    body: bytes,
    *,
    tolerance_s: float = DEFAULT_TOLERANCE_S,
    now: float | None = None,
) -> bool:
    """Check a whole legacy ``Symbiosis-Signature`` value (``t=<unix>,v1=<hex>[,v1=...]``).

    Several ``v1`` entries are accepted (any one matching suffices), so a secret can be rotated
    by signing with both secrets for a while.

    Returns:
        True if the header is well formed, fresh and one ``v1`` matches; False otherwise.
    """
    timestamp: int | None = None
    signatures: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            return False
        if key == "t" and _DIGITS.fullmatch(value):
            timestamp = int(value)
        elif key == "v1":
            signatures.append(value)
    if timestamp is None or not signatures:
        return False
    return any(
        verify(secret, timestamp, body, s, tolerance_s=tolerance_s, now=now) for s in signatures
    )


# --- retry policy ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently a delivery is retried.

    The delay after failed attempt ``n`` (1-based) has the ceiling
    ``min(max_delay_s, base_delay_s * 2 ** (n - 1))``; ``jitter`` is the fraction of it that is
    randomised: ``ceiling * (1 - jitter) + ceiling * jitter * U[0, 1)``. ``jitter=1`` is "full
    jitter" (spreads a herd of retries best), ``0`` is plain exponential backoff, the default
    ``0.5`` keeps at least half the ceiling so a failing subscriber is never hammered.

    The defaults span one to two days, as Standard Webhooks recommends (:meth:`span_s`): 36
    attempts, the first retry after 2.5-5 s, doubling up to 1-2 h between attempts; the last
    attempt comes 25-51 h after the first. A refusal (a 3xx or a 4xx other than 408, 410 and
    429) is retried too, but only ``max_attempts_refused`` refusals in all (by default for
    1.4-2.8 h when they come from the first attempt on): it usually means a misconfigured
    receiver (fixed within the hour, or not at all) or a body this receiver will never take,
    and the subscriber's later alerts wait behind it (one subscriber's alerts are sent one at
    a time). Refusals are counted apart from the other failures: a 404 after hours of 503s is
    one refusal, not the last of a spent budget.

    Whatever the attempts, an alert is not retried past :attr:`horizon_s` after it was
    written to the alerts topic (see :func:`deliver`'s ``deadline``): that bounds how long it
    is held, across queueing behind other alerts and restarts.

    Attributes:
        max_attempts: Attempts in all, the first one included (>= 1).
        base_delay_s: Ceiling of the first backoff.
        max_delay_s: Cap of every computed backoff.
        jitter: Randomised fraction of each delay, in [0, 1].
        timeout_s: Limit of one attempt (connect, send, response), in seconds.
        max_attempts_refused: Refusals (3xx, 4xx but 408/410/429) in all before the alert is
            given up as refused; ``max_attempts`` bounds it too.
        max_retry_after_s: Cap of a server's ``Retry-After``; a shorter one is raised to
            :meth:`floor` (``Retry-After: 0`` does not spend the schedule in a burst).

    Raises:
        ConfigurationError: On construction, if a field is out of range.
    """

    max_attempts: int = 36
    base_delay_s: float = 5.0
    max_delay_s: float = 7200.0
    jitter: float = 0.5
    timeout_s: float = 15.0
    max_attempts_refused: int = 12
    max_retry_after_s: float = 7200.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.max_attempts_refused < 1:
            raise ConfigurationError(
                f"max_attempts and max_attempts_refused must be >= 1, got "
                f"{self.max_attempts} and {self.max_attempts_refused}"
            )
        spans = (self.base_delay_s, self.max_delay_s, self.max_retry_after_s, self.timeout_s)
        if not all(math.isfinite(x) for x in spans):
            raise ConfigurationError("webhook delays and timeouts must be finite")
        if self.base_delay_s < 0 or self.max_delay_s < 0 or self.max_retry_after_s < 0:
            raise ConfigurationError("base_delay_s, max_delay_s and max_retry_after_s must be >= 0")
        if not 0.0 <= self.jitter <= 1.0:
            raise ConfigurationError(f"jitter must be in [0, 1], got {self.jitter}")
        if self.timeout_s <= 0:
            raise ConfigurationError(f"timeout_s must be > 0, got {self.timeout_s}")

    def ceiling(self, attempt: int) -> float:
        """Largest delay after failed attempt ``attempt`` (1-based): exponential, capped."""
        exponent = min(max(attempt, 1) - 1, 60)  # 2**60 * base is past any cap; avoids overflow
        return min(self.max_delay_s, self.base_delay_s * 2.0**exponent)

    def delay(self, attempt: int, rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt ``attempt`` (1-based) before the next one.

        Args:
            attempt: Number of the attempt that just failed.
            rng: Source of jitter; the same seeded ``random.Random`` gives the same delays.
                The module's global generator when omitted.

        Returns:
            A delay in ``[ceiling * (1 - jitter), ceiling]``, never above ``max_delay_s``.
        """
        top = self.ceiling(attempt)
        u = rng.random() if rng is not None else random.random()
        return top * (1.0 - self.jitter) + top * self.jitter * u

    def floor(self, attempt: int) -> float:
        """Shortest wait after failed attempt ``attempt``, whatever ``Retry-After`` says.

        The schedule's own shortest delay for that attempt (``ceiling * (1 - jitter)``), and
        never less than ``base_delay_s`` (nor more than ``max_delay_s``).
        """
        return max(
            self.ceiling(attempt) * (1.0 - self.jitter), min(self.base_delay_s, self.max_delay_s)
        )

    def retry_after_delay(self, retry_after: float, attempt: int = 1) -> float:
        """A server's ``Retry-After`` (seconds) after failed attempt ``attempt``.

        Capped at ``max_retry_after_s``, raised to :meth:`floor` (a ``Retry-After: 0`` or a
        date in the past never makes retries come back to back).
        """
        capped = 0.0 if math.isnan(retry_after) else min(self.max_retry_after_s, retry_after)
        return max(self.floor(attempt), capped)

    @property
    def refusal_budget(self) -> int:
        """Refusals (3xx, 4xx but 408/410/429) in all before an alert is given up as refused."""
        return min(self.max_attempts, self.max_attempts_refused)

    def attempts_for(self, status: int | None) -> int:
        """Attempts in all when every attempt ended with ``status`` (None: no response)."""
        if status is not None and is_refusal(status):
            return self.refusal_budget
        return self.max_attempts

    @property
    def horizon_s(self) -> float:
        """How long after it was written an alert may still be retried: the longest schedule.

        The schedule's longest span (every delay at its ceiling) plus every attempt's timeout:
        an alert delivered from its first attempt on is never cut short by it, and one that
        waited (behind its subscriber's earlier alerts, or across restarts) is not held longer.
        51 h with the defaults.
        """
        return self.span_s()[1] + self.max_attempts * self.timeout_s

    def span_s(self, *, refused: bool = False) -> tuple[float, float]:
        """Shortest and longest time from the first attempt to the last (no ``Retry-After``).

        Request time not counted; ``refused``: the schedule of a refusal (3xx/4xx).
        """
        attempts = (
            min(self.max_attempts, self.max_attempts_refused) if refused else (self.max_attempts)
        )
        top = sum(self.ceiling(n) for n in range(1, attempts))
        return top * (1.0 - self.jitter), top


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date.

    Bounded, whatever a receiver sends: a number of more than :data:`_RETRY_AFTER_DIGITS`
    digits is :data:`RETRY_AFTER_HUGE_S` (longer than any cap, so the caller's cap applies; a
    400-digit number would overflow a float, a 5000-digit one Python's integer parsing), a
    text longer than :data:`_RETRY_AFTER_CHARS` is unparseable, and a date out of range too.

    Returns:
        The delay (>= 0, finite), or None if the header is absent or unparseable. Never raises.
    """
    if value is None:
        return None
    text = value.strip()
    if _DIGITS.fullmatch(text):
        digits = text.lstrip("0") or "0"
        return RETRY_AFTER_HUGE_S if len(digits) > _RETRY_AFTER_DIGITS else float(int(digits))
    if len(text) > _RETRY_AFTER_CHARS:
        return None
    try:
        when = parsedate_to_datetime(text)
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = when.timestamp() - now
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return min(max(0.0, delay), RETRY_AFTER_HUGE_S)


# --- results and metrics -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How one alert's delivery ended.

    Attributes:
        delivered: True if a 2xx response came back.
        attempts: HTTP attempts made (>= 1).
        status: Status of the last response; None if the last attempt got none.
        error: Why the last attempt failed; None when delivered.
        permanent: True if the subscriber refused it: 410 Gone, an invalid or refused URL (not
            retried), or ``max_attempts_refused`` refusals (3xx/4xx but 408/429); False when
            delivered, or given up with refusals to spare (out of attempts, or past the
            alert's horizon) while unreachable or failing (5xx, 408, 429, timeouts).
        url: The webhook it was sent to.
        reason: Why it was given up, when not told by the fields above (``backlog_full``).
    """

    delivered: bool
    attempts: int
    status: int | None
    error: str | None
    permanent: bool
    url: str
    reason: DeadLetterReason | None = None

    @property
    def gone(self) -> bool:
        """The endpoint answered 410 Gone: it wants no more events (disable it)."""
        return not self.delivered and self.status == GONE

    def dead_letter(self, alert: Alert, *, ts: datetime | None = None) -> DeadLetter:
        """The dead-letter topic payload for this failed delivery of ``alert``."""
        error = None if self.error is None else self.error[:_MAX_ERROR_CHARS]
        status = self.status if self.status is not None and 100 <= self.status <= 599 else None
        reason: DeadLetterReason = self.reason or (
            "gone" if self.gone else "refused" if self.permanent else "exhausted"
        )
        return DeadLetter(
            alert=alert,
            url=self.url,
            attempts=self.attempts,
            last_status=status,
            error=error,
            permanent=self.permanent,
            reason=reason,
            ts=ts or datetime.now(UTC),
        )


class AttemptOutcome(StrEnum):
    """What one HTTP attempt came to."""

    DELIVERED = "delivered"
    RETRYABLE = "retryable"
    PERMANENT = "permanent"


class DeliveryObserver(Protocol):
    """Receives delivery events, e.g. to feed Prometheus. Must not raise or block."""

    def on_attempt(self, outcome: AttemptOutcome, status: int | None, latency_s: float) -> None:
        """One HTTP attempt finished (``status`` None: no response), after ``latency_s``."""

    def on_result(self, result: DeliveryResult) -> None:
        """A delivery finished: delivered, failed permanently or out of retries."""

    def on_dead_letter(self, result: DeliveryResult) -> None:
        """A failed delivery was handed to the dead-letter callback successfully."""


@dataclass(slots=True)
class WebhookStats:
    """Plain counters of deliveries; a :class:`DeliveryObserver` with no dependencies."""

    attempts: int = 0
    retryable_attempts: int = 0
    delivered: int = 0
    failed: int = 0
    failed_permanent: int = 0
    dead_lettered: int = 0
    disabled: int = 0
    """Subscriptions disabled because their endpoint answered 410 Gone."""
    skipped_disabled: int = 0
    """Alerts not sent because their subscription was disabled."""
    dropped: int = 0
    """Alerts not retried any more because their subscription went away meanwhile."""
    latency_sum_s: float = 0.0
    latency_max_s: float = 0.0

    def on_attempt(self, outcome: AttemptOutcome, status: int | None, latency_s: float) -> None:
        """Count one attempt and its latency."""
        self.attempts += 1
        if outcome is AttemptOutcome.RETRYABLE:
            self.retryable_attempts += 1
        self.latency_sum_s += latency_s
        self.latency_max_s = max(self.latency_max_s, latency_s)

    def on_result(self, result: DeliveryResult) -> None:
        """Count one finished delivery."""
        if result.delivered:
            self.delivered += 1
        else:
            self.failed += 1
            self.failed_permanent += 1 if result.permanent else 0

    def on_dead_letter(self, result: DeliveryResult) -> None:
        """Count one dead-lettered alert."""
        self.dead_lettered += 1


# --- delivery ----------------------------------------------------------------------------------


def is_refusal(status: int) -> bool:
    """A 3xx or a 4xx other than 408, 410 and 429: the receiver refused this request.

    Retried (Standard Webhooks: every non-2xx but 410 is a failure to retry), on the shorter
    budget :attr:`RetryPolicy.max_attempts_refused`.
    """
    return 300 <= status <= 499 and status not in (408, 410, 429)


def redact_url(url: str) -> str:
    """The URL without credentials, query or fragment, for logs (tokens often hide there)."""
    try:
        return str(URL(url).with_user(None).with_query(None).with_fragment(None))
    except (ValueError, TypeError):
        return "<invalid url>"


async def _snippet(response: aiohttp.ClientResponse) -> str:
    try:
        raw = await response.content.read(_SNIPPET_BYTES)
    except (aiohttp.ClientError, TimeoutError):
        return ""
    return raw.decode("utf-8", "replace").strip()


class Slots:
    """Concurrency slots of webhook attempts, most of them kept for endpoints that answer.

    At most ``total`` attempts are in flight; of them at most ``retrying`` go to endpoints that
    did not answer their last attempt (timed out, refused the connection): such an endpoint
    holds its slot for the whole timeout, and however many do, attempts to endpoints that
    answer (a quick 503 too) always have ``total - retrying`` slots (all of them if
    ``retrying == total``).

    Which endpoints did not answer is kept in memory, at most :data:`_MAX_FAILING` of them
    (the oldest forgotten first); an endpoint leaves it at its first answer.

    Raises:
        ConfigurationError: On construction, unless ``1 <= retrying <= total``.
    """

    def __init__(self, total: int, retrying: int) -> None:
        if not 1 <= retrying <= total:
            raise ConfigurationError(f"need 1 <= retrying <= total, got {retrying} and {total}")
        self._all = asyncio.Semaphore(total)
        self._retrying = asyncio.Semaphore(retrying)
        self._failing: dict[str, None] = {}  # insertion-ordered: the oldest goes first

    def failing(self, url: str) -> bool:
        """Whether the last attempt to ``url`` got no answer (a timeout, a connection error)."""
        return url in self._failing

    def record(self, url: str, *, failed: bool) -> None:
        """Note how an attempt to ``url`` ended."""
        self._failing.pop(url, None)
        if failed:
            self._failing[url] = None
            while len(self._failing) > _MAX_FAILING:
                del self._failing[next(iter(self._failing))]

    @contextlib.asynccontextmanager
    async def hold(self, url: str, *, retry: bool) -> AsyncIterator[None]:
        """Hold a slot for one attempt to ``url``.

        ``retry`` (not the alert's first attempt) is kept for callers; the slot depends only
        on whether ``url`` answered its last attempt.
        """
        if url in self._failing:
            async with self._retrying, self._all:
                yield
        else:
            async with self._all:
                yield


async def deliver(
    session: aiohttp.ClientSession,
    event: WebhookEvent,
    alert: Alert,
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    now: Callable[[], float] = time.time,
    rng: random.Random | None = None,
    limiter: asyncio.Semaphore | Slots | None = None,
    observer: DeliveryObserver | None = None,
    guard: UrlGuard | None = None,
    deadline: float | None = None,
    refresh: Callable[[WebhookEvent], WebhookEvent] | None = None,
) -> DeliveryResult:
    """POST one alert's event to its subscriber's webhook, retrying transient failures.

    Long because: most of it is its documented contract (arguments, retries, failure modes); the
    attempt itself is :func:`_attempt`, the end of the delivery :func:`_finished`.

    Args:
        session: Client session to send with (its connector pools connections; not closed here).
        event: Where to, the body (the alert as the subscriber may see it) and signing keys.
        alert: The alert itself (named in the logs).
        policy: Attempts, backoff and per-attempt timeout.
        sleep: Awaited with each backoff delay (inject a fake to test without waiting).
        now: Unix time, for the signature timestamp, ``Retry-After`` dates and ``deadline``.
        rng: Source of backoff jitter (seed it for deterministic delays).
        limiter: Held during each HTTP attempt (not during backoff) to bound concurrency; the
            attempt is signed once the slot is taken, so a wait for it never stales the
            signature's timestamp. :class:`Slots` keeps most slots for endpoints that answer.
        observer: Told about every attempt and the result.
        guard: Checks the URL before each attempt (e.g. no private addresses); a refused URL
            fails at once, permanently. Names are checked again when resolved, by the
            session's resolver (see :mod:`domain.url_guard`).
        deadline: Unix time after which no retry starts (e.g. the alert's age limit): a
            failed attempt whose next one would come later ends the delivery (``exhausted``).
            The first attempt is always made.
        refresh: Called before each retry with the event of the previous attempt; returns the
            event to send now (the subscription's current URL, keys and body). What it raises
            propagates (the dispatcher stops a delivery whose subscription went away so).

    Returns:
        The outcome. Failures are reported in it, never raised: connection errors, timeouts,
        every non-2xx status but 410 and any unexpected error of one attempt (logged) are
        retried, up to ``policy.max_attempts`` attempts, ``policy.max_attempts_refused``
        refusals (3xx, 4xx but 408/429: then ``permanent=True``, the subscriber refused it) or
        ``deadline``; 410 Gone, an invalid or refused URL end it at once with
        ``permanent=True``. Each backoff is ``policy.delay`` or the server's ``Retry-After``
        (between ``policy.floor`` and ``policy.max_retry_after_s``).

    Raises:
        ConfigurationError: If ``event`` (or a refreshed one) has no signing key.
        asyncio.CancelledError: If cancelled; the alert may or may not have been received.
    """
    _check_keys(event)
    timeout = aiohttp.ClientTimeout(total=policy.timeout_s)
    attempt = refusals = 0
    while True:
        attempt += 1
        if attempt > 1 and refresh is not None:
            event = refresh(event)
            _check_keys(event)
        started = time.perf_counter()
        tried = await _attempt(
            session, event, attempt, timeout=timeout, now=now, limiter=limiter, guard=guard
        )
        if observer is not None:
            observer.on_attempt(tried.outcome, tried.status, time.perf_counter() - started)
        refusals += 1 if tried.status is not None and is_refusal(tried.status) else 0
        wait = 0.0
        finished = tried.outcome is not AttemptOutcome.RETRYABLE or (
            attempt >= policy.max_attempts or refusals >= policy.refusal_budget
        )
        if not finished:
            wait = (
                policy.retry_after_delay(tried.retry_after, attempt)
                if tried.retry_after is not None
                else policy.delay(attempt, rng)
            )
        too_late = not finished and deadline is not None and now() + wait > deadline
        if finished or too_late:
            result = _finished(event, tried, attempt, refusals >= policy.refusal_budget, too_late)
            if observer is not None:
                observer.on_result(result)
            return result
        log.debug("webhook attempt failed, retrying", alert_id=alert.alert_id,
                  url=redact_url(event.url), attempt=attempt, status=tried.status,
                  error=tried.error, retry_in_s=round(wait, 3))  # fmt: skip
        await sleep(wait)


def _check_keys(event: WebhookEvent) -> None:
    if not event.keys or not all(event.keys):
        raise ConfigurationError("webhook signing key is empty")


def _finished(
    event: WebhookEvent, tried: _Attempt, attempts: int, refused: bool, too_late: bool
) -> DeliveryResult:
    """The result of a delivery whose last attempt was ``tried``.

    ``refused``: the refusal budget is spent (a permanent failure, dead-lettered as refused);
    ``too_late``: given up by the deadline (the alert's age), dead-lettered as exhausted.
    """
    delivered = tried.outcome is AttemptOutcome.DELIVERED
    error = None if delivered else tried.error
    if too_late:
        error = f"{error or 'failed'} (not retried: the alert is past its retry horizon)"
    last_refused = tried.status is not None and is_refusal(tried.status)
    return DeliveryResult(
        delivered=delivered,
        attempts=attempts,
        status=tried.status,
        error=error,
        permanent=tried.outcome is AttemptOutcome.PERMANENT
        or (not delivered and refused and last_refused),
        url=redact_url(event.url),
    )


@dataclass(frozen=True, slots=True)
class _Attempt:
    outcome: AttemptOutcome
    status: int | None
    error: str | None
    retry_after: float | None = None


async def _attempt(
    session: aiohttp.ClientSession,
    event: WebhookEvent,
    attempt: int,
    *,
    timeout: aiohttp.ClientTimeout,
    now: Callable[[], float],
    limiter: asyncio.Semaphore | Slots | None,
    guard: UrlGuard | None,
) -> _Attempt:
    """One signed POST of ``event``, classified: delivered, retryable or permanent.

    Signed (``webhook-timestamp`` taken) after the concurrency slot is acquired, just before
    sending: however long the wait for a slot, the receiver sees a fresh timestamp. Never
    raises but :class:`asyncio.CancelledError`: an unexpected error (a bug, a library's
    surprise on a hostile answer) is logged and retryable, never the worker's failure.
    """
    try:
        if guard is not None:
            guard.check_url(event.url)
        if limiter is None:
            status, retry_after, error = await _post(session, event, attempt, timeout, now)
        elif isinstance(limiter, Slots):
            async with limiter.hold(event.url, retry=attempt > 1):
                status, retry_after, error = await _post(session, event, attempt, timeout, now)
        else:
            async with limiter:
                status, retry_after, error = await _post(session, event, attempt, timeout, now)
    except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as e:
        tried = _Attempt(AttemptOutcome.PERMANENT, None, f"invalid webhook URL: {e}")
    except RefusedAddressError as e:
        tried = _Attempt(AttemptOutcome.PERMANENT, None, str(e))
    except TimeoutError:
        total = timeout.total or 0.0
        tried = _Attempt(AttemptOutcome.RETRYABLE, None, f"timed out after {total:g}s")
    except (aiohttp.ClientError, OSError) as e:
        tried = _Attempt(AttemptOutcome.RETRYABLE, None, f"{type(e).__name__}: {e}")
    except Exception as e:  # noqa: BLE001 - one attempt's surprise must not stop the process
        log.error("webhook attempt failed unexpectedly, retrying", url=redact_url(event.url),
                  attempt=attempt, error=repr(e)[:300])  # fmt: skip
        tried = _Attempt(AttemptOutcome.RETRYABLE, None, f"unexpected {type(e).__name__}: {e}")
    else:
        tried = _Attempt(_classify(status), status, error, retry_after)
    if isinstance(limiter, Slots):  # no answer at all: the attempt held its slot to the timeout
        limiter.record(event.url, failed=tried.status is None and tried.outcome is not
                       AttemptOutcome.DELIVERED)  # fmt: skip
    return tried


def _classify(status: int) -> AttemptOutcome:
    if 200 <= status <= 299:
        return AttemptOutcome.DELIVERED
    if status == GONE:
        return AttemptOutcome.PERMANENT
    return AttemptOutcome.RETRYABLE  # Standard Webhooks: every other non-2xx is a failure


async def _post(
    session: aiohttp.ClientSession,
    event: WebhookEvent,
    attempt: int,
    timeout: aiohttp.ClientTimeout,
    now: Callable[[], float],
) -> tuple[int, float | None, str | None]:
    """One POST signed now: (status, Retry-After seconds or None, error text or None when 2xx)."""
    headers = webhook_headers(event, int(now()), attempt)
    async with session.post(
        event.url, data=event.body, headers=headers, timeout=timeout, allow_redirects=False
    ) as response:
        status = response.status
        if 200 <= status <= 299:
            return status, None, None
        retry_after = parse_retry_after(response.headers.get("Retry-After"), now=now())
        snippet = await _snippet(response)
        reason = f"HTTP {status} {response.reason or ''}".rstrip()
        return status, retry_after, f"{reason}: {snippet}" if snippet else reason


# --- dispatcher --------------------------------------------------------------------------------

DeadLetterSink = Callable[[Alert, DeliveryResult], Awaitable[None]]
"""Takes an undeliverable alert and its result; e.g. publishes ``result.dead_letter(alert)``."""


EventResolver = Callable[[Alert], WebhookEvent | None]
"""The webhook event of an alert (redacted body, URL, keys), or ``None`` if it has no webhook."""

GoneSink = Callable[[Alert, WebhookEvent, DeliveryResult], Awaitable[None]]
"""Told that an endpoint answered 410 Gone; e.g. records its subscription as disabled."""


@dataclass(frozen=True, slots=True)
class Moved:
    """The alert's subscription now points at another URL than the queue it waited in.

    Nothing more was sent to the old URL; hand the alert to ``event.url``'s queue, where
    :meth:`WebhookDispatcher.dispatch` resolves it again.
    """

    event: WebhookEvent


class _Rerouted(Exception):  # noqa: N818 - control flow between a refresh and dispatch
    """The subscription went away (``event`` None) or moved to another queue mid-delivery."""

    def __init__(self, event: WebhookEvent | None) -> None:
        super().__init__("webhook subscription changed")
        self.event = event


class WebhookDispatcher:
    """Delivers alerts to the webhooks of their needs, bounded in concurrency and in time.

    ``resolve`` turns an alert into what its subscriber receives (see
    :func:`domain.subscriptions.webhook_event`): the dispatcher never sends an alert's raw
    JSON. It is called again before every retry, so a held alert goes to the subscription's
    current URL, signed with its current keys, in its current format; a subscription that went
    away or was disabled meanwhile gets nothing more (the alert is dropped, not dead-lettered).
    :meth:`dispatch` may be called from many tasks at once; at most ``max_concurrency`` HTTP
    requests are in flight, at most ``max_retry_concurrency`` of them to failing endpoints
    (:class:`Slots`; backoff waits hold no slot), so dead subscribers do not starve the
    others. :meth:`retrying` says whether a webhook URL is failing (a delivery backing off, or
    its last attempt failed), so a caller can hold that subscriber's later alerts without
    waiting for them. A subscription whose endpoint answered 410 Gone gets nothing more from
    this dispatcher (:attr:`WebhookEvent.subscription` names it: a rotated or re-pointed
    subscription is another one).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        resolve: EventResolver,
        policy: RetryPolicy,
        dead_letter: DeadLetterSink,
        max_concurrency: int = 32,
        max_retry_concurrency: int | None = None,
        observer: DeliveryObserver | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        now: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        guard: UrlGuard | None = None,
        on_gone: GoneSink | None = None,
    ) -> None:
        """Create a dispatcher.

        Long because: it documents every argument; the body only stores them.

        Args:
            session: Client session used for every request (owned by the caller).
            resolve: The event of an alert (body as its subscriber may see it, URL, keys);
                called at each attempt. If it raises at a retry, the previous event is kept.
            policy: Retry and timeout policy of each delivery.
            dead_letter: Awaited with each alert whose delivery failed for good.
            max_concurrency: Most HTTP requests in flight at once (>= 1).
            max_retry_concurrency: Most of them to failing endpoints (retries, and attempts
                to an endpoint whose last attempt failed); ``max_concurrency // 4`` (at least
                1) when omitted.
            observer: Also told about every attempt, result and dead letter (e.g. Prometheus);
                :attr:`stats` counts them regardless.
            sleep: Backoff sleep (inject a fake in tests).
            now: Unix time source.
            rng: Source of backoff jitter.
            guard: Checks each URL before each attempt (SSRF guard); none when omitted.
            on_gone: Awaited when an endpoint answers 410 Gone (before the alert is
                dead-lettered), e.g. to record the subscription as disabled. If it raises, the
                subscription stays disabled in this dispatcher and the error is logged.

        Raises:
            ConfigurationError: If ``max_concurrency`` < 1 or ``max_retry_concurrency`` is not
                in ``[1, max_concurrency]``.
        """
        if max_concurrency < 1:
            raise ConfigurationError(f"max_concurrency must be >= 1, got {max_concurrency}")
        retry_slots = max(1, max_concurrency // 4)
        self._session = session
        self._resolve = resolve
        self._policy = policy
        self._dead_letter = dead_letter
        self._slots = Slots(
            max_concurrency, retry_slots if max_retry_concurrency is None else max_retry_concurrency
        )
        self._sleep = sleep
        self._now = now
        self._rng = rng
        self._guard = guard
        self._on_gone = on_gone
        self._disabled: set[tuple[str, str | None, int, str]] = set()
        self._backing_off: dict[str, int] = {}
        """Per webhook URL: deliveries that failed at least once and are not finished."""
        self.stats = WebhookStats()
        self._observers: tuple[DeliveryObserver, ...] = (
            (self.stats,) if observer is None else (self.stats, observer)
        )

    async def dispatch(
        self,
        alert: Alert,
        event: WebhookEvent | None = None,
        *,
        record_ts: float | None = None,
        queue: str | None = None,
        fallback: WebhookEvent | None = None,
    ) -> DeliveryResult | Moved | None:
        """Deliver ``alert`` to its need's webhook, dead-lettering it if that fails for good.

        Long because: most of it is its contract (arguments, outcomes, failure modes); the
        body resolves the subscription, delivers, and says how it ended.

        Args:
            alert: The alert.
            event: Its webhook event for the first attempt, when the caller resolved it
                already; resolved here when omitted (the delivery process resolves it when the
                alert's turn comes). Every retry resolves it again.
            record_ts: When the alert was written to the alerts topic (Unix seconds): no retry
                starts later than ``record_ts + policy.horizon_s``, so an alert is held for a
                bounded time whatever it waited behind and however often the process
                restarted (it gets one attempt at least). No limit when omitted.
            fallback: The event read with the alert, used when resolving it now fails.
            queue: The URL whose queue the alert waits in: if the subscription points
                elsewhere now, nothing more is sent here and :class:`Moved` is returned. When
                omitted, a retry follows the subscription to its new URL.

        Returns:
            None if the need has no webhook or a disabled one, or its subscription went away
            while it was retried (nothing more sent); :class:`Moved` (see ``queue``);
            otherwise the delivery's result, handed to ``dead_letter`` already if not
            delivered.

        Raises:
            DeadLetterError: The delivery failed and ``dead_letter`` raised too: the alert is
                neither delivered nor dead-lettered; do not commit it (redeliver later).
            ConfigurationError: No signing key (no master secret configured).
            asyncio.CancelledError: If cancelled; treat the alert as not delivered.
        """
        if event is None:
            try:
                event = self._resolve(alert)
            except Exception as e:  # no subscription read: the one read with the alert is kept
                if fallback is None:
                    raise
                log.warning("webhook subscription not resolved, the one read with it kept",
                            need=alert.need, error=repr(e)[:300])  # fmt: skip
                event = fallback
        if event is None or self._skipped(alert, event):
            return None
        if queue is not None and event.url != queue:
            return Moved(event)
        deadline = None if record_ts is None else record_ts + self._policy.horizon_s
        refresh = _Refresh(self, alert, queue, event)
        try:
            result = await self._deliver(alert, event, deadline=deadline, refresh=refresh)
        except _Rerouted as moved:
            if moved.event is not None:
                return Moved(moved.event)
            self.stats.dropped += 1
            log.info("webhook subscription gone or disabled while retrying: not sent again",
                     need=alert.need, alert_id=alert.alert_id,
                     url=redact_url(event.url))  # fmt: skip
            return None
        if result.delivered:
            return result
        if result.gone:  # the subscription the 410 answered (retries re-resolve it)
            await self._disable(alert, refresh.last, result)
        await self._give_up(alert, result)
        return result

    async def _give_up(self, alert: Alert, result: DeliveryResult) -> None:
        """Dead-letter ``alert``; :class:`DeadLetterError` if that fails."""
        log.warning(
            "webhook delivery failed, dead-lettering",
            alert_id=alert.alert_id,
            need=alert.need,
            url=result.url,
            attempts=result.attempts,
            status=result.status,
            error=result.error,
            permanent=result.permanent,
        )
        try:
            await self._dead_letter(alert, result)
        except Exception as e:  # any sink failure: the alert is not safe
            raise DeadLetterError(
                f"alert {alert.alert_id} for need {alert.need} could not be delivered "
                f"({result.error}) nor dead-lettered: {e}"
            ) from e
        for observer in self._observers:
            observer.on_dead_letter(result)

    async def _deliver(
        self, alert: Alert, event: WebhookEvent, *, deadline: float | None, refresh: _Refresh
    ) -> DeliveryResult:
        """:func:`deliver`, with ``event.url`` marked as retrying from its first backoff on."""
        url = event.url
        marked = False

        async def backoff(delay: float) -> None:
            nonlocal marked
            if not marked:
                self._backing_off[url] = self._backing_off.get(url, 0) + 1
                marked = True
            await self._sleep(delay)

        try:
            return await deliver(
                self._session,
                event,
                alert,
                policy=self._policy,
                sleep=backoff,
                now=self._now,
                rng=self._rng,
                limiter=self._slots,
                observer=_Fanout(self._observers),
                guard=self._guard,
                deadline=deadline,
                refresh=refresh,
            )
        finally:
            if marked:
                self._unmark(url)

    def retrying(self, url: str) -> bool:
        """Whether webhook ``url`` is failing: a delivery to it backs off, or its last try failed.

        Then its next alert is not expected to go through at once either.
        """
        return self._backing_off.get(url, 0) > 0 or self._slots.failing(url)

    def _unmark(self, url: str) -> None:
        left = self._backing_off.get(url, 0) - 1
        if left > 0:
            self._backing_off[url] = left
        else:
            self._backing_off.pop(url, None)

    def _skipped(self, alert: Alert, event: WebhookEvent) -> bool:
        """Whether ``event``'s subscription is disabled (410 Gone): then it is not sent."""
        if event.subscription not in self._disabled:
            return False
        self.stats.skipped_disabled += 1
        log.info("webhook subscription disabled (410 Gone), not sent", need=alert.need,
                 alert_id=alert.alert_id, url=redact_url(event.url))  # fmt: skip
        return True

    async def _disable(self, alert: Alert, event: WebhookEvent, result: DeliveryResult) -> None:
        """Send nothing more to ``event``'s subscription; tell ``on_gone``."""
        if event.subscription in self._disabled:
            return
        self._disabled.add(event.subscription)
        self.stats.disabled += 1
        log.warning("webhook answered 410 Gone: subscription disabled",
                    need=alert.need, url=result.url)  # fmt: skip
        if self._on_gone is None:
            return
        try:
            await self._on_gone(alert, event, result)
        except Exception as e:  # noqa: BLE001 - disabled here anyway; a restart finds 410 again
            log.error("webhook disable not recorded", need=alert.need, error=repr(e)[:300])


@dataclass(frozen=True, slots=True)
class _Fanout:
    observers: tuple[DeliveryObserver, ...]

    def on_attempt(self, outcome: AttemptOutcome, status: int | None, latency_s: float) -> None:
        for o in self.observers:
            o.on_attempt(outcome, status, latency_s)

    def on_result(self, result: DeliveryResult) -> None:
        for o in self.observers:
            o.on_result(result)

    def on_dead_letter(self, result: DeliveryResult) -> None:
        for o in self.observers:
            o.on_dead_letter(result)


class _Refresh:
    """Before a retry: the subscription's current event (raises :class:`_Rerouted`).

    ``last`` is the event of the latest attempt: a 410 disables that subscription (its secret
    version), not the one the alert was first read with.
    """

    def __init__(
        self, dispatcher: WebhookDispatcher, alert: Alert, queue: str | None, first: WebhookEvent
    ) -> None:
        self._dispatcher = dispatcher
        self._alert = alert
        self._queue = queue
        self.last = first

    def __call__(self, previous: WebhookEvent) -> WebhookEvent:
        """The event for the next attempt."""
        alert = self._alert
        try:
            current = self._dispatcher._resolve(alert)
        except Exception as e:  # noqa: BLE001 - a resolver's hiccup: keep what we had
            log.warning("webhook subscription not resolved again, previous one kept",
                        need=alert.need, error=repr(e)[:300])  # fmt: skip
            return previous
        if current is None or current.subscription in self._dispatcher._disabled:
            raise _Rerouted(None)
        if self._queue is not None and current.url != self._queue:
            raise _Rerouted(current)
        self.last = current
        return current
