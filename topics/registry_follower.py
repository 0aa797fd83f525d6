"""A live :class:`~domain.directory.Directory` fed by the compacted registry topics.

A background thread reads the registry topics (sites, their streams, needs, exchanges, webhook
states, OMF definitions) from the beginning (no consumer group: every API replica and bridge
keeps its own full copy, like a table) and applies each record under a lock. A site arrives
as a header and one record per stream; the directory gets it once it holds them all (see
:mod:`domain.site_records`), so a stream record read before its header simply waits.
:meth:`RegistryFollower.wait_ready` returns once everything that was on the topics at start-up
has been applied, so a process never answers from a half-read registry.
Writes made through this process are applied at once as well (:meth:`RegistryFollower.apply`),
so a client reads its own writes without waiting for the round trip.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import structlog
from kafka import KafkaConsumer, TopicPartition
from kafka.errors import KafkaError
from pydantic import ValidationError

from domain.directory import Directory
from domain.errors import SymbiosisError, UnavailableError, UnknownReferenceError
from domain.registry_records import apply_record, decode_record
from runtime.settings import Topics
from runtime.waiting import wait_until
from topics.catalogue import index, registry_kind

log = structlog.get_logger(__name__)


class RegistryFollower:
    """Keeps a directory in step with the registry topics; see the module docstring."""

    def __init__(
        self, bootstrap: str, topics: Topics, *, options: Mapping[str, Any] | None = None
    ) -> None:
        """Follow ``topics`` on ``bootstrap``; ``options``: Kafka client settings (security)."""
        self.topics = topics
        self._index = index(topics)
        self._options = dict(options or {})
        self.directory = Directory()
        self._lock = threading.RLock()
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._bootstrap = bootstrap
        self._thread = threading.Thread(target=self._run, name="registry-follower", daemon=True)
        self.applied = 0

    @contextmanager
    def locked(self) -> Iterator[Directory]:
        """The directory, held still for the duration of the block."""
        with self._lock:
            yield self.directory

    def start(self) -> None:
        """Start following in the background."""
        self._thread.start()

    def wait_ready(self, timeout_s: float = 60.0) -> None:
        """Block until the registry present at start-up has been read.

        Raises:
            UnavailableError: Kafka could not be read, or not within ``timeout_s``.
        """
        wait_until(
            lambda: self._ready.is_set() or self._error is not None,
            timeout_s=timeout_s,
            what="the registry (reading its topics)",
            error=UnavailableError,
        )
        if self._error is not None:
            raise UnavailableError(f"reading the registry failed: {self._error}") from self._error

    @property
    def alive(self) -> bool:
        """Whether the follower thread runs and has not failed (a frozen registry is not)."""
        return self._thread.is_alive() and self._error is None

    def stop(self) -> None:
        """Stop the thread and wait for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def apply(self, topic: str, key: str, value: bytes | None) -> None:
        """Apply one registry record (``None``: tombstone).

        Raises:
            ConfigurationError: the record conflicts with the registry (see
                :class:`~domain.directory.Directory`).
            InvalidRecordError: a stream record under another stream's key.
            pydantic.ValidationError: the record is not a valid record of its topic's kind.
        """
        kind = registry_kind(self._index, topic)
        if kind is None:
            return
        record = decode_record(kind, value)
        with self._lock:
            apply_record(self.directory, kind, key, record)
            self.applied += 1

    def _run(self) -> None:
        try:
            consumer = KafkaConsumer(
                bootstrap_servers=self._bootstrap, enable_auto_commit=False, group_id=None,
                **self._options,
            )  # fmt: skip
        except KafkaError as e:
            self._error = e
            return
        try:
            self._follow(consumer)
        except Exception as e:  # noqa: BLE001 - surfaced through wait_ready and the log
            self._error = e
            log.error("registry.follow_failed", error=repr(e))
        finally:
            consumer.close()

    def _follow(self, consumer: KafkaConsumer) -> None:
        partitions = [
            TopicPartition(topic, p)
            for topic in self.topics.registry()
            for p in sorted(consumer.partitions_for_topic(topic) or ())
        ]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        end = {tp: off for tp, off in consumer.end_offsets(partitions).items() if off > 0}
        if not end:
            self._ready.set()
        # Sites first: a need or exchange naming a site not read yet waits for the next pass.
        waiting: list[tuple[str, str, bytes | None]] = []
        while not self._stop.is_set():
            for tp, records in consumer.poll(timeout_ms=200, max_records=5000).items():
                for rec in records:
                    key = rec.key.decode("utf-8", errors="replace") if rec.key else ""
                    waiting.append((tp.topic, key, rec.value))
                    if tp in end and rec.offset + 1 >= end[tp]:
                        del end[tp]
            waiting = self._apply_all(waiting)
            if not end and not self._ready.is_set():
                self._ready.set()
                with self._lock:
                    incomplete = self.directory.parts.waiting()
                log.info("registry.ready", records=self.applied, waiting=len(waiting),
                         incomplete_sites=len(incomplete))  # fmt: skip

    def _apply_all(
        self, records: list[tuple[str, str, bytes | None]]
    ) -> list[tuple[str, str, bytes | None]]:
        order = {topic: i for i, topic in enumerate(self.topics.registry())}
        still: list[tuple[str, str, bytes | None]] = []
        for topic, key, value in sorted(records, key=lambda r: order.get(r[0], 99)):
            try:
                self.apply(topic, key, value)
            except ValidationError as e:
                log.warning("registry.invalid_record", topic=topic, key=key, error=str(e)[:200])
            except UnknownReferenceError:  # names something not read yet: retry next pass
                still.append((topic, key, value))
            except SymbiosisError as e:
                log.warning("registry.refused", topic=topic, key=key, error=str(e)[:200])
        return still[-10_000:]
