"""Which tag path names a meter by its last element, per site: two paths must not feed one meter.

The MQTT doors map a tag path that is not in the site's ``tag_map`` to the meter named by its
last element (``boiler-1/_historian/steam`` -> meter ``steam``). Two work cells publishing a
tag of the same name (``boiler-1/.../steam`` and ``boiler-2/.../steam``) would then feed one
meter: their values interleave, and at a shared instant one of them is silently dropped (a
meter holds one value per instant). The first path seen claims the meter; another path is
refused while the claim is alive (its path was seen within :data:`CLAIM_TTL_S`), with a reason
that says to map the right one in the ``tag_map``. A claim whose path went quiet lapses, so a
plant that renames a tag path is refused for at most that long.

Memory: one entry per (company, site, meter) mapped this way; callers claim only meters of
the company's registered sites (bounded by the registry), and lapsed claims are dropped when
the table grows past :data:`PRUNE_AT`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

CLAIM_TTL_S: Final = 600.0
"""A claim lapses when its path has not been seen for this long (10 minutes)."""
PRUNE_AT: Final = 100_000
"""Lapsed claims are dropped when the table holds this many."""


class MeterClaims:
    """The tag path that claimed each (site, meter); not thread-safe (one caller)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._claims: dict[tuple[str, str, str], tuple[str, float]] = {}

    def claim(self, company: str, site: str, meter: str, path: str) -> str | None:
        """Claim ``meter`` at ``site`` for ``company``'s ``path``; the other live path, or ``None``.

        Claims are the publishing company's own: another tenant's messages (refused later as
        not its meter) can never hold a meter against the company whose meter it is.
        """
        now = self._clock()
        key = (company, site, meter)
        held = self._claims.get(key)
        if held is not None and held[0] != path and now - held[1] < CLAIM_TTL_S:
            return held[0]
        self._claims[key] = (path, now)
        if len(self._claims) >= PRUNE_AT:
            self._claims = {k: v for k, v in self._claims.items() if now - v[1] < CLAIM_TTL_S}
        return None
