"""Pushed readings -> Kafka, with the same rules for every door (HTTP API, MQTT bridge).

:meth:`ReadingGateway.submit` checks raw rows with :func:`domain.intake.check_readings`, then:

- if any row names another company's meter, nothing is published; the request is rejected
  as a whole (one rejection carrying the request and every reason);
- otherwise the valid readings are published as one :class:`~schemas.readings.SiteReadings`
  record per site (split at :data:`MAX_BATCH` readings), keyed by site, and each bad row goes
  to the rejected topic with its reasons.

:meth:`ReadingGateway.queue` and :meth:`ReadingGateway.settle` do the same in two steps, so a
door that takes many pushes at once (the MQTT bridge) waits for Kafka once for all of them.

``submit`` returns only after Kafka acknowledged every record it published (readings and
rejections), so an answer of "accepted" means the readings are on the topic, and nothing
refused is lost without a trace. Re-sending accepted readings is harmless: the ledger ignores
readings not newer than a meter's newest, and the sink stores each (meter, ts) once.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final, TypedDict, Unpack

from kafka.producer.future import FutureRecordMetadata

from domain.intake import Locate, RowError, check_readings, payload_json
from ingest.acked_publisher import Publisher
from runtime import metrics
from runtime.settings import Settings
from schemas.rejections import Rejection
from topics.registry_follower import RegistryFollower

STAGE: Final = "ingest"
MAX_BATCH: Final = 2_000
"""Readings per Kafka record. A reading is at most ~250 bytes of JSON (bounded ids and units),
so a record stays well under the broker's default ``message.max.bytes`` (1 MiB); 10,000 (the
schema's limit) made MessageSizeTooLarge records, found by bench/bench_ingest.py."""


@dataclass(frozen=True)
class Submission:
    """What happened to one push.

    Attributes:
        accepted: Readings acknowledged by Kafka (once its :class:`Pending` is settled).
        errors: One entry per bad field (rows named as the client sent them).
        forbidden: The push named another company's meter; nothing was published.
    """

    accepted: int
    errors: list[RowError] = field(default_factory=list)
    forbidden: bool = False

    @property
    def rejected_rows(self) -> int:
        """Rows refused (each with at least one error; all rows when forbidden)."""
        return len({e.row for e in self.errors})


class PushOptions(TypedDict, total=False):
    """How a door's push is checked and answered (:meth:`ReadingGateway.queue`'s options).

    Attributes:
        body: The raw request, carried by the rejection of a forbidden push.
        prefix: Name of the rows' list in error fields (default ``readings``).
        names: Field renames for error messages (OMF pushes).
        locate: Names each row's fields instead of ``prefix`` and ``names`` (see
            :data:`domain.intake.Locate`; OMF data messages).
        earlier_errors: Errors found before (e.g. mapping OMF tags); their rows are rejected
            with the others.
        row_sources: Where each row came from (e.g. its MQTT topic), for its rejection;
            default ``"<source> row <i>"``.
        all_or_nothing: A row naming another company's meter refuses the whole push (HTTP:
            one request, one answer; the default). ``False`` rejects only those rows (MQTT:
            independent messages batched together).
    """

    body: bytes
    prefix: str
    names: Mapping[str, str] | None
    locate: Locate | None
    earlier_errors: Sequence[RowError]
    row_sources: Sequence[str] | None
    all_or_nothing: bool


@dataclass(frozen=True)
class Pending:
    """A push checked and queued for Kafka, not yet acknowledged (:meth:`ReadingGateway.settle`).

    Attributes:
        submission: What the push's answer will be once its records are acknowledged.
        futures: The acknowledgements of its records (readings and rejections).
        rejected: Rows it rejected (every row of a forbidden push), for metrics.
    """

    submission: Submission
    futures: list[FutureRecordMetadata]
    rejected: int


class ReadingGateway:
    """Checks, publishes and rejects pushed readings; see the module docstring."""

    def __init__(
        self, settings: Settings, publisher: Publisher, registry: RegistryFollower
    ) -> None:
        self.settings = settings
        self.publisher = publisher
        self.registry = registry

    def submit(
        self, rows: Sequence[object], *, company: str | None, source: str,
        **options: Unpack[PushOptions],
    ) -> Submission:  # fmt: skip
        """Check and publish one push; blocks until Kafka acknowledged what was published.

        :meth:`queue` then :meth:`settle`; the arguments are :meth:`queue`'s.

        Raises:
            TransientError: Kafka did not acknowledge in time; the caller answers 503 and the
                client retries (safe, see the module docstring).
        """
        pending = self.queue(rows, company=company, source=source, **options)
        self.settle([pending])
        return pending.submission

    def queue(
        self, rows: Sequence[object], *, company: str | None, source: str,
        **options: Unpack[PushOptions],
    ) -> Pending:  # fmt: skip
        """Check one push and queue its records for Kafka, without waiting for them.

        Nothing of it counts as accepted until :meth:`settle` returns for it: a door that
        takes many pushes at once (the MQTT bridge: a batch of messages of many companies)
        queues them all and waits once, instead of one Kafka round trip per push.

        Long because: a forbidden push, accepted readings and rejected rows each make their
        own records.

        Args:
            rows: Decoded reading rows (see :func:`domain.intake.check_readings`).
            company: The pushing tenant; ``None`` for the operator.
            source: Where the push came from, for rejections (``POST /v1/readings``).
            options: See :class:`PushOptions`.

        Raises:
            TransientError: Kafka did not even take a record (no metadata, buffer full, a
                record too large).
            TypeError: an option :class:`PushOptions` does not have.
        """
        unknown = options.keys() - PushOptions.__optional_keys__
        if unknown:  # typed for mypy; callers forwarding **kwargs are checked here
            raise TypeError(f"unknown push options: {', '.join(sorted(unknown))}")
        body = options.get("body", b"")
        earlier_errors = options.get("earlier_errors", ())
        row_sources = options.get("row_sources")
        all_or_nothing = options.get("all_or_nothing", True)
        with self.registry.locked() as directory:
            checked = check_readings(
                rows, directory, company=company, now=datetime.now(UTC),
                max_skew_s=self.settings.max_clock_skew_s,
                prefix=options.get("prefix", "readings"), names=options.get("names"),
                locate=options.get("locate"),
            )  # fmt: skip
        errors = [*earlier_errors, *checked.errors]
        errors.sort(key=lambda e: e.row)
        topics = self.settings.topics
        futures: list[FutureRecordMetadata] = []
        if checked.forbidden and all_or_nothing:
            reasons = "; ".join(f"{e.field}: {e.reason}" for e in errors if e.forbidden)
            rejection = Rejection.of(STAGE, source, f"forbidden: {reasons}", body)
            futures.append(
                self.publisher.send(topics.rejected, None, rejection.model_dump_json().encode())
            )
            return Pending(Submission(0, errors, forbidden=True), futures, len(rows))
        for record in checked.records(f"i-{uuid.uuid4().hex}", max_readings=MAX_BATCH):
            futures.append(
                self.publisher.send(topics.readings, record.site, record.model_dump_json().encode())
            )
        by_row: dict[int, list[RowError]] = {}
        for e in errors:
            by_row.setdefault(e.row, []).append(e)
        for row, row_errors in by_row.items():
            reason = "; ".join(f"{e.field}: {e.reason}" for e in row_errors)
            payload = payload_json(row_errors[0].payload)
            where = row_sources[row] if row_sources is not None else f"{source} row {row}"
            rejection = Rejection.of(STAGE, where, reason, payload)
            futures.append(
                self.publisher.send(topics.rejected, None, rejection.model_dump_json().encode())
            )
        return Pending(Submission(checked.accepted, errors), futures, len(by_row))

    def settle(self, pending: Sequence[Pending]) -> None:
        """Block until Kafka acknowledged every record of ``pending`` (one wait for all).

        Raises:
            TransientError: a record was refused or not acknowledged within the settings'
                ``api_ack_timeout_s``; none of ``pending`` counts as accepted (re-sending
                them all is safe, see the module docstring).
        """
        futures = [f for p in pending for f in p.futures]
        self.publisher.wait(futures, self.settings.api_ack_timeout_s)
        for p in pending:
            metrics.READINGS.labels(STAGE).inc(p.submission.accepted)
            metrics.REJECTED.labels(STAGE).inc(p.rejected)
