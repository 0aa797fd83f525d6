"""A historian simulator: readings for every meter of a park, around each stream's nominal.

Deterministic for a given seed and start time. A stream's surplus is split evenly over its
meters; each value is ``nominal * factor(t) / meters * (1 + variability * N(0, 1))``, never
negative. Readings carry the stream's unit.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta

from schemas.readings import MAX_READINGS_PER_RECORD, Reading, ReadingBatch, SiteReadings
from schemas.registry import Park, Stream


class Simulator:
    """Readings of every stream, tick by tick.

    One :class:`ReadingBatch` per stream per tick (:meth:`tick`), or, as the historians push
    them, one :class:`SiteReadings` per site per tick (:meth:`pushes`).
    """

    def __init__(self, park: Park, *, rate_hz: float = 1.0, seed: int = 0) -> None:
        """Set up a simulator.

        Args:
            park: the park whose streams to simulate.
            rate_hz: readings per meter per second.
            seed: random seed (same seed, same values).

        Raises:
            ValueError: ``rate_hz`` is not positive.
        """
        if rate_hz <= 0:
            raise ValueError("rate_hz must be positive")
        self.streams: list[Stream] = [st for _, st in park.streams()]
        self.site_of: dict[str, str] = {st.id: site.id for site, st in park.streams()}
        self.rate_hz = rate_hz
        self.rng = random.Random(seed)
        self.run = uuid.UUID(int=self.rng.getrandbits(128)).hex[:12]
        self.ticks = 0

    def tick(self, start: datetime, elapsed_s: float, span_s: float) -> Iterator[ReadingBatch]:
        """Batches for the readings timestamped in ``[elapsed_s, elapsed_s + span_s)``.

        Args:
            start: the simulation's start (timezone-aware).
            elapsed_s: seconds since start at the beginning of this tick.
            span_s: length of the tick.
        """
        self.ticks += 1
        step = 1.0 / self.rate_hz
        first = int(elapsed_s * self.rate_hz + 1e-9)
        last = int((elapsed_s + span_s) * self.rate_hz + 1e-9)
        for stream in self.streams:
            meters = stream.meter_ids
            readings: list[Reading] = []
            for i in range(first, last):
                t = i * step
                ts = start + timedelta(seconds=t)
                base = stream.nominal * stream.factor_at(t) / len(meters)
                for meter in meters:
                    noise = 1.0 + stream.variability * self.rng.gauss(0.0, 1.0)
                    readings.append(
                        Reading(meter=meter, ts=ts, value=max(base * noise, 0.0), unit=stream.unit)
                    )
            if readings:
                yield ReadingBatch(
                    batch_id=f"{self.run}-{self.ticks}-{stream.id}"[:64],
                    stream=stream.id,
                    readings=readings,
                )

    def pushes(self, start: datetime, elapsed_s: float, span_s: float) -> Iterator[SiteReadings]:
        """The batches of :meth:`tick` as records, one per site (what its historian pushes).

        A site whose tick holds more than ``MAX_READINGS_PER_RECORD`` readings gives several
        records; a stream's batch is never split.
        """
        by_site: dict[str, list[ReadingBatch]] = {}
        for batch in self.tick(start, elapsed_s, span_s):
            by_site.setdefault(self.site_of[batch.stream], []).append(batch)
        for site, batches in by_site.items():
            record: list[ReadingBatch] = []
            size = 0
            for batch in batches:
                if record and size + len(batch.readings) > MAX_READINGS_PER_RECORD:
                    yield SiteReadings(site=site, batches=record)
                    record, size = [], 0
                record.append(batch)
                size += len(batch.readings)
            if record:
                yield SiteReadings(site=site, batches=record)
