"""Handing a push to the gateway: behind the in-flight bound, with Kafka's outages as 503s.

Both push doors (our JSON at ``/v1/readings``, OMF at ``/omf``) go through :func:`submit`, so
the back-pressure rule is the same for every historian. A 503 tells the client a plain reason
and when to retry (:func:`kafka_unavailable`); what Kafka said (topics, exception names) goes
to the log only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial

import structlog
from fastapi.concurrency import run_in_threadpool

from domain.errors import TransientError
from ingest.api.errors import RETRY_UNAVAILABLE_S, ApiError
from ingest.api.limits import InFlight
from ingest.api.services import Services
from ingest.gateway import Submission

log = structlog.get_logger(__name__)

KAFKA_UNAVAILABLE = f"not accepted: Kafka is unavailable; retry after {RETRY_UNAVAILABLE_S} s"
"""The client's reason when Kafka did not take or acknowledge a write (no internals in it)."""


def kafka_unavailable(e: TransientError) -> ApiError:
    """The 503 of a write Kafka did not take or acknowledge; logs ``e``'s full text.

    The client gets :data:`KAFKA_UNAVAILABLE` (and ``Retry-After``), never ``e``'s text: it
    names topics and Kafka's exceptions. Never raises.
    """
    log.warning("api.kafka_unavailable", error=str(e)[:1000], error_type=type(e).__name__)
    return ApiError(503, KAFKA_UNAVAILABLE)


async def submit(svc: Services, work: Callable[[], Submission]) -> Submission:
    """Run ``work`` (a gateway submission) in the thread pool, if the bound allows.

    Answered within ``api_ack_timeout_s`` of arriving here, whatever Kafka does: a push
    still waiting then (for a thread, for Kafka's metadata or its acknowledgement) is
    answered 503 and keeps its place in the bound until its thread ends, so the bound also
    counts the threads a slow Kafka holds. Such a push may still be written: the client sends
    it again, and a repeat is stored once.

    Raises:
        ApiError: 503 at once when ``api_max_pushes_in_flight`` pushes already wait for Kafka
            (back-pressure: nothing queues while Kafka is slow), when Kafka did not
            acknowledge (nothing of the push was accepted), or when the timeout passed.
            Every 503 carries ``Retry-After``.
    """
    gate = svc.pushes_in_flight
    if not gate.enter():
        raise ApiError(
            503, f"busy: {gate.limit} pushes are waiting for Kafka's acknowledgement; retry"
        )
    timeout_s = svc.settings.api_ack_timeout_s
    task = asyncio.ensure_future(run_in_threadpool(work))
    try:
        done, _ = await asyncio.wait({task}, timeout=timeout_s)
    except BaseException:  # the request went away (client gone, shutdown): the thread goes on
        task.add_done_callback(partial(_leave_when_done, gate))
        raise
    if not done:
        task.add_done_callback(partial(_leave_when_done, gate))
        raise ApiError(
            503, f"Kafka did not acknowledge within {timeout_s:g} s; not accepted, retry"
        )
    gate.leave()
    try:
        return task.result()
    except TransientError as e:
        raise kafka_unavailable(e) from e


def _leave_when_done(gate: InFlight, task: asyncio.Future[Submission]) -> None:
    """A push answered before its thread ended leaves the bound now (its outcome is gone)."""
    gate.leave()
    if not task.cancelled():
        task.exception()  # retrieved: the client was answered 503 already
