"""``python -m symbiosis.simulate_process PARK [RATE_HZ]``: simulated historians, until SIGTERM.

Started by ``symbiosis up --simulate``: every site of the park pushes its meters' readings
in real time, one Kafka record per site and tick, as the doors would publish them. For
exploring the local pipeline only; a real park's historians push through the doors.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import structlog

from domain.park import load_park
from ingest.batch_producer import ReadingsProducer
from ingest.simulator import Simulator
from runtime.logs import configure_logging
from runtime.settings import Settings

log = structlog.get_logger(__name__)

TICK_S = 1.0


def simulate(settings: Settings, park_file: Path, rate_hz: float, stop: threading.Event) -> int:
    """Push the park's readings in real time until ``stop`` is set; returns readings acked.

    Raises:
        ConfigurationError: the park file is invalid.
        ValueError: ``rate_hz`` is not positive.
    """
    sim = Simulator(load_park(park_file), rate_hz=rate_hz, seed=int(time.time()))
    producer = ReadingsProducer(settings.kafka_bootstrap, settings.topics.readings)
    start, t0, elapsed = datetime.now(UTC), time.monotonic(), 0.0
    try:
        while not stop.is_set():
            for push in sim.pushes(start, elapsed, TICK_S):
                producer.send(push)
            elapsed += TICK_S
            stop.wait(max(t0 + elapsed - time.monotonic(), 0.0))
        return producer.flush()
    finally:
        producer.close()


def main(argv: list[str]) -> None:
    """Run :func:`simulate` with ``argv`` = ``[PARK, RATE_HZ]`` until SIGTERM/SIGINT."""
    configure_logging()
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    rate = float(argv[1]) if len(argv) > 1 else 1.0
    log.info("simulator.started", park=argv[0], rate_hz=rate)
    acked = simulate(Settings(), Path(argv[0]), rate, stop)
    log.info("simulator.stopped", readings_acked=acked)


if __name__ == "__main__":
    main(sys.argv[1:])
