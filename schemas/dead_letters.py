"""Dead letters: alerts that could not be delivered to a subscriber's webhook.

An alert whose webhook delivery failed for good (a permanent HTTP error, or every retry used up)
is not dropped: it is published on the dead-letter topic as a :class:`DeadLetter`, carrying the
whole alert so an operator can inspect it and replay it once the subscriber is fixed.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.alerts import Alert
from schemas.common import SCHEMA_VERSION, StrictModel, UtcDatetime

DeadLetterReason = Literal["refused", "gone", "exhausted", "backlog_full"]
"""Why delivery was given up: the subscriber refused it (a 4xx or 3xx, an invalid or refused
URL), its webhook is gone (410: the subscription is disabled), the retries ran out, or its
backlog was full."""


class DeadLetter(StrictModel):
    """One undeliverable alert and why: the payload of the dead-letter topic.

    ``url`` is the webhook without credentials, query or fragment (they may hold a
    subscriber's token); replay through the registry's current subscription. Replaying
    ``alert`` is safe: it keeps its ``idempotency_key``, so a subscriber that already received
    it drops the repeat. ``attempts`` is 0 when the subscriber's backlog was full and the alert
    was not tried.
    """

    schema_version: Literal[1] = SCHEMA_VERSION
    alert: Alert
    url: str = Field(min_length=1, max_length=2048, description="Webhook the alert was sent to.")
    attempts: int = Field(
        ge=0, description="HTTP attempts made, the first one included (0: backlog full)."
    )
    last_status: int | None = Field(
        default=None,
        ge=100,
        le=599,
        description="HTTP status of the last attempt; null when no response came back.",
    )
    error: str | None = Field(
        default=None, max_length=2000, description="Why the last attempt failed."
    )
    permanent: bool = Field(
        description="True: the subscriber refused it (e.g. 4xx), retrying will not help; "
        "false: it was unreachable or failing until the retries ran out."
    )
    reason: DeadLetterReason | None = Field(
        default=None,
        description="refused, gone (410: the subscription is disabled), exhausted or "
        "backlog_full; null in dead letters written before it was recorded.",
    )
    ts: UtcDatetime = Field(description="When delivery was given up.")
