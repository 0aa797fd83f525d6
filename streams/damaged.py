"""A worker table value that could not be read, and was replaced (the stream goes on)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DamagedState:
    """A stream's table value that could not be read; its state started afresh.

    Attributes:
        stream: the stream's id.
        reason: why the value was not a snapshot.
        snapshot: the value as the table held it (for the rejected topic).
        healed: the stream went on from a fresh state (its next snapshot replaces the value);
            ``False`` when the value was met while nothing was applied (the stale sweep): the
            stream starts afresh at its next batch.
    """

    stream: str
    reason: str
    snapshot: bytes
    healed: bool = True
