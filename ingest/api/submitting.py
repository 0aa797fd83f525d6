"""Handing a push to the gateway: behind the in-flight bound, with Kafka's outages as 503s.

Both push doors (our JSON at ``/v1/readings``, OMF at ``/omf``) go through :func:`submit`, so
the back-pressure rule is the same for every historian.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi.concurrency import run_in_threadpool

from domain.errors import TransientError
from ingest.api.errors import ApiError
from ingest.api.services import Services
from ingest.gateway import Submission


async def submit(svc: Services, work: Callable[[], Submission]) -> Submission:
    """Run ``work`` (a gateway submission) in the thread pool, if the bound allows.

    Raises:
        ApiError: 503 at once when ``api_max_pushes_in_flight`` pushes already wait for Kafka
            (back-pressure: nothing queues while Kafka is slow), or when Kafka did not
            acknowledge (nothing of the push was accepted). Every 503 carries ``Retry-After``.
    """
    gate = svc.pushes_in_flight
    if not gate.enter():
        raise ApiError(
            503, f"busy: {gate.limit} pushes are waiting for Kafka's acknowledgement; retry"
        )
    try:
        return await run_in_threadpool(work)
    except TransientError as e:
        raise ApiError(503, f"not accepted, retry: {e}") from e
    finally:
        gate.leave()
