"""Alert delivery to subscribers' webhooks: signed, retried with backoff, dead-lettered.

Each alert is POSTed to the webhook of its need as the need's company may see it: the body is
the :class:`~schemas.views.AlertView` built by the disclosure policy
(:func:`domain.subscriptions.webhook_event`), never the raw alert, with these headers::

    Content-Type: application/json
    Idempotency-Key: <alert.idempotency_key>    # same on every retry and every redelivery
    Symbiosis-Alert-Id: <alert.alert_id>         # stable from opened to resolved
    Symbiosis-Event: opened | updated | resolved
    Symbiosis-Attempt: <n>                        # 1 for the first try (not signed, informative)
    Symbiosis-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=<hex>]

The signature is Stripe-style: ``hex(HMAC-SHA256(key, f"{t}.".encode() + raw_body))``, with the
subscription's own key (``whsec_<base64 key>``; two ``v1`` while a rotated-out key is in its
grace period). Binding
the timestamp into the MAC lets a receiver reject replays older than a tolerance (5 minutes by
default, :func:`verify`); every attempt is signed afresh, so a retry after a long backoff is not
stale. Receivers must verify over the raw body bytes, before parsing the JSON.

Guarantees and failure modes:

* At-least-once: an alert may arrive more than once (a retry after a lost response, a replay
  from the dead-letter topic, a pipeline restart); receivers dedupe on ``Idempotency-Key``.
* No ordering between alerts: concurrent deliveries and retries can reorder them; receivers
  order by the payload's ``ts`` within an ``alert_id``.
* Retried: connection errors, timeouts, 408, 429 and 5xx, with exponential backoff and jitter
  (:class:`RetryPolicy`), honouring ``Retry-After`` (seconds or HTTP date, capped at the policy's
  ``max_delay_s``). Not retried: any other status outside 2xx (3xx included, redirects are not
  followed), an invalid URL and a URL the SSRF guard refuses (:mod:`domain.url_guard`); these
  are permanent failures.
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
import hashlib
import hmac
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
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
from schemas.dead_letters import DeadLetter

log = structlog.get_logger(__name__)

SIGNATURE_HEADER: Final = "Symbiosis-Signature"
IDEMPOTENCY_HEADER: Final = "Idempotency-Key"
ALERT_ID_HEADER: Final = "Symbiosis-Alert-Id"
EVENT_HEADER: Final = "Symbiosis-Event"
ATTEMPT_HEADER: Final = "Symbiosis-Attempt"
USER_AGENT: Final = "symbiosis-webhooks/1"
DEFAULT_TOLERANCE_S: Final = 300.0
"""How old (or how far in the future) a signature timestamp may be before :func:`verify` refuses."""

_MAX_ERROR_CHARS: Final = 2000
_SNIPPET_BYTES: Final = 256
_DIGITS: Final = re.compile(r"[0-9]+")


class DeadLetterError(PipelineError):
    """An undeliverable alert could not be dead-lettered either; the alert must not be committed."""


# --- signatures --------------------------------------------------------------------------------


def sign(secret: bytes, timestamp: int, body: bytes) -> str:
    """Sign a webhook body.

    Args:
        secret: The shared secret of the subscriber (raw bytes).
        timestamp: Unix seconds sent in the header's ``t=``.
        body: The exact bytes of the request body.

    Returns:
        Lower-case hex HMAC-SHA256 over ``f"{timestamp}.".encode() + body``.
    """
    return hmac.new(secret, f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()


def signature_header(secret: bytes | Sequence[bytes], timestamp: int, body: bytes) -> str:
    """Build the ``Symbiosis-Signature`` header value: ``t=<unix>,v1=<hex>[,v1=<hex>...]``.

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
    """Check a webhook signature, for subscribers.

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
    """Check a whole ``Symbiosis-Signature`` header value (``t=<unix>,v1=<hex>[,v1=...]``).

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

    Attributes:
        max_attempts: Attempts in all, the first one included (>= 1).
        base_delay_s: Ceiling of the first backoff.
        max_delay_s: Cap of every backoff, ``Retry-After`` included.
        jitter: Randomised fraction of each delay, in [0, 1].
        timeout_s: Limit of one attempt (connect, send, response), in seconds.

    Raises:
        ConfigurationError: On construction, if a field is out of range.
    """

    max_attempts: int = 6
    base_delay_s: float = 0.5
    max_delay_s: float = 60.0
    jitter: float = 0.5
    timeout_s: float = 10.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be >= 1, got {self.max_attempts}")
        if self.base_delay_s < 0 or self.max_delay_s < 0:
            raise ConfigurationError("base_delay_s and max_delay_s must be >= 0")
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

    def retry_after_delay(self, retry_after: float) -> float:
        """A server's ``Retry-After`` (seconds), clamped to ``[0, max_delay_s]``."""
        return min(self.max_delay_s, max(0.0, retry_after))


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds or an HTTP date.

    Returns:
        The delay (>= 0), or None if the header is absent or unparseable.
    """
    if value is None:
        return None
    text = value.strip()
    if _DIGITS.fullmatch(text):
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


# --- results and metrics -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """How one alert's delivery ended.

    Attributes:
        delivered: True if a 2xx response came back.
        attempts: HTTP attempts made (>= 1).
        status: Status of the last response; None if the last attempt got none.
        error: Why the last attempt failed; None when delivered.
        permanent: True if it failed without retrying further because retrying cannot help
            (4xx other than 408/429, 3xx, invalid URL); False when delivered or retries ran out.
        url: The webhook it was sent to.
    """

    delivered: bool
    attempts: int
    status: int | None
    error: str | None
    permanent: bool
    url: str

    def dead_letter(self, alert: Alert, *, ts: datetime | None = None) -> DeadLetter:
        """The dead-letter topic payload for this failed delivery of ``alert``."""
        error = None if self.error is None else self.error[:_MAX_ERROR_CHARS]
        status = self.status if self.status is not None and 100 <= self.status <= 599 else None
        return DeadLetter(
            alert=alert,
            url=self.url,
            attempts=self.attempts,
            last_status=status,
            error=error,
            permanent=self.permanent,
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


def _is_retryable_status(status: int) -> bool:
    return status in (408, 429) or status >= 500


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


async def deliver(
    session: aiohttp.ClientSession,
    event: WebhookEvent,
    alert: Alert,
    *,
    policy: RetryPolicy,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    now: Callable[[], float] = time.time,
    rng: random.Random | None = None,
    limiter: asyncio.Semaphore | None = None,
    observer: DeliveryObserver | None = None,
    guard: UrlGuard | None = None,
) -> DeliveryResult:
    """POST one alert's event to its subscriber's webhook, retrying transient failures.

    Long because: most of it is its documented contract (arguments, retries, failure modes); the
    attempt itself is :func:`_attempt`.

    Args:
        session: Client session to send with (its connector pools connections; not closed here).
        event: Where to, the body (the alert as the subscriber may see it) and signing keys.
        alert: The alert itself: its ids go in the headers (``Idempotency-Key`` and so on).
        policy: Attempts, backoff and per-attempt timeout.
        sleep: Awaited with each backoff delay (inject a fake to test without waiting).
        now: Unix time, for the signature timestamp and ``Retry-After`` dates.
        rng: Source of backoff jitter (seed it for deterministic delays).
        limiter: Held during each HTTP attempt (not during backoff) to bound concurrency.
        observer: Told about every attempt and the result.
        guard: Checks the URL before each attempt (e.g. no private addresses); a refused URL
            fails at once, permanently. Names are checked again when resolved, by the
            session's resolver (see :mod:`domain.url_guard`).

    Returns:
        The outcome. Failures are reported in it, never raised: connection errors, timeouts,
        408/429/5xx are retried up to ``policy.max_attempts``; other non-2xx statuses, an
        invalid or refused URL end it at once with ``permanent=True``.

    Raises:
        ConfigurationError: If ``event`` has no signing key.
        asyncio.CancelledError: If cancelled; the alert may or may not have been received.
    """
    if not event.keys or not all(event.keys):
        raise ConfigurationError("webhook signing key is empty")
    timeout = aiohttp.ClientTimeout(total=policy.timeout_s)
    attempt = 0
    while True:
        attempt += 1
        started = time.perf_counter()
        tried = await _attempt(
            session, event, alert, attempt, timeout=timeout, now=now, limiter=limiter, guard=guard
        )
        if observer is not None:
            observer.on_attempt(tried.outcome, tried.status, time.perf_counter() - started)
        if tried.outcome is not AttemptOutcome.RETRYABLE or attempt >= policy.max_attempts:
            delivered = tried.outcome is AttemptOutcome.DELIVERED
            result = DeliveryResult(
                delivered=delivered,
                attempts=attempt,
                status=tried.status,
                error=None if delivered else tried.error,
                permanent=tried.outcome is AttemptOutcome.PERMANENT,
                url=redact_url(event.url),
            )
            if observer is not None:
                observer.on_result(result)
            return result
        wait = (
            policy.retry_after_delay(tried.retry_after)
            if tried.retry_after is not None
            else policy.delay(attempt, rng)
        )
        log.debug("webhook attempt failed, retrying", alert_id=alert.alert_id,
                  url=redact_url(event.url), attempt=attempt, status=tried.status,
                  error=tried.error, retry_in_s=round(wait, 3))  # fmt: skip
        await sleep(wait)


@dataclass(frozen=True, slots=True)
class _Attempt:
    outcome: AttemptOutcome
    status: int | None
    error: str | None
    retry_after: float | None = None


async def _attempt(
    session: aiohttp.ClientSession,
    event: WebhookEvent,
    alert: Alert,
    attempt: int,
    *,
    timeout: aiohttp.ClientTimeout,
    now: Callable[[], float],
    limiter: asyncio.Semaphore | None,
    guard: UrlGuard | None,
) -> _Attempt:
    """One signed POST of ``event``, classified: delivered, retryable or permanent."""
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        IDEMPOTENCY_HEADER: event.idempotency_key or alert.idempotency_key,
        ALERT_ID_HEADER: event.alert_id or alert.alert_id,
        EVENT_HEADER: str(alert.event),
        ATTEMPT_HEADER: str(attempt),
        SIGNATURE_HEADER: signature_header(event.keys, int(now()), event.body),
    }
    try:
        if guard is not None:
            guard.check_url(event.url)
        if limiter is None:
            status, retry_after, error = await _post(
                session, event.url, event.body, headers, timeout, now
            )
        else:
            async with limiter:
                status, retry_after, error = await _post(
                    session, event.url, event.body, headers, timeout, now
                )
    except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as e:
        return _Attempt(AttemptOutcome.PERMANENT, None, f"invalid webhook URL: {e}")
    except RefusedAddressError as e:
        return _Attempt(AttemptOutcome.PERMANENT, None, str(e))
    except TimeoutError:
        total = timeout.total or 0.0
        return _Attempt(AttemptOutcome.RETRYABLE, None, f"timed out after {total:g}s")
    except (aiohttp.ClientError, OSError) as e:
        return _Attempt(AttemptOutcome.RETRYABLE, None, f"{type(e).__name__}: {e}")
    if 200 <= status <= 299:
        outcome = AttemptOutcome.DELIVERED
    elif _is_retryable_status(status):
        outcome = AttemptOutcome.RETRYABLE
    else:
        outcome = AttemptOutcome.PERMANENT
    return _Attempt(outcome, status, error, retry_after)


async def _post(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    timeout: aiohttp.ClientTimeout,
    now: Callable[[], float],
) -> tuple[int, float | None, str | None]:
    """One POST: (status, Retry-After seconds or None, error text or None when 2xx)."""
    async with session.post(
        url, data=body, headers=headers, timeout=timeout, allow_redirects=False
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


class WebhookDispatcher:
    """Delivers alerts to the webhooks of their needs, bounded in concurrency.

    ``resolve`` turns an alert into what its subscriber receives (see
    :func:`domain.subscriptions.webhook_event`): the dispatcher never sends an alert's raw
    JSON. :meth:`dispatch` may be called from many tasks at once; at most ``max_concurrency``
    HTTP requests are in flight (backoff waits hold no slot, so a dead subscriber does not
    starve the others).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        resolve: EventResolver,
        policy: RetryPolicy,
        dead_letter: DeadLetterSink,
        max_concurrency: int = 32,
        observer: DeliveryObserver | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        now: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        guard: UrlGuard | None = None,
    ) -> None:
        """Create a dispatcher.

        Args:
            session: Client session used for every request (owned by the caller).
            resolve: The event of an alert (body as its subscriber may see it, URL, keys).
            policy: Retry and timeout policy of each delivery.
            dead_letter: Awaited with each alert whose delivery failed for good.
            max_concurrency: Most HTTP requests in flight at once (>= 1).
            observer: Also told about every attempt, result and dead letter (e.g. Prometheus);
                :attr:`stats` counts them regardless.
            sleep: Backoff sleep (inject a fake in tests).
            now: Unix time source.
            rng: Source of backoff jitter.
            guard: Checks each URL before each attempt (SSRF guard); none when omitted.

        Raises:
            ConfigurationError: If ``max_concurrency`` < 1.
        """
        if max_concurrency < 1:
            raise ConfigurationError(f"max_concurrency must be >= 1, got {max_concurrency}")
        self._session = session
        self._resolve = resolve
        self._policy = policy
        self._dead_letter = dead_letter
        self._limiter = asyncio.Semaphore(max_concurrency)
        self._sleep = sleep
        self._now = now
        self._rng = rng
        self._guard = guard
        self.stats = WebhookStats()
        self._observers: tuple[DeliveryObserver, ...] = (
            (self.stats,) if observer is None else (self.stats, observer)
        )

    async def dispatch(
        self, alert: Alert, event: WebhookEvent | None = None
    ) -> DeliveryResult | None:
        """Deliver ``alert`` to its need's webhook, dead-lettering it if that fails for good.

        ``event`` is the alert's webhook event when the caller resolved it already (the
        delivery process does, to pick the subscriber's queue); otherwise it is resolved here.

        Returns:
            None if the need has no webhook (nothing sent); otherwise the delivery's result,
            which, if not delivered, has been handed to ``dead_letter`` already.

        Raises:
            DeadLetterError: The delivery failed and ``dead_letter`` raised too: the alert is
                neither delivered nor dead-lettered; do not commit it (redeliver later).
            ConfigurationError: No signing key (no master secret configured).
            asyncio.CancelledError: If cancelled; treat the alert as not delivered.

        ``event`` is the alert's webhook event when the caller resolved it already (the
        delivery process does, to pick the subscriber's queue); otherwise it is resolved here.
        """
        if event is None:
            event = self._resolve(alert)
        if event is None:
            return None
        result = await deliver(
            self._session,
            event,
            alert,
            policy=self._policy,
            sleep=self._sleep,
            now=self._now,
            rng=self._rng,
            limiter=self._limiter,
            observer=_Fanout(self._observers),
            guard=self._guard,
        )
        if result.delivered:
            return result
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
        return result


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
