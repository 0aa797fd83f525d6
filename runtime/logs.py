"""structlog set-up shared by every process: key-value lines on stderr, JSON when asked."""

from __future__ import annotations

import logging
import sys

import structlog


def configure_logging(*, level: str = "INFO", json: bool = False) -> None:
    """Route structlog and stdlib logging to stderr at ``level``.

    Stdout stays free for command output (JSON lines, the demo's summary).
    """
    numeric = logging.getLevelNamesMapping().get(level.upper(), logging.INFO)
    logging.basicConfig(stream=sys.stderr, level=numeric, format="%(message)s", force=True)
    for chatty in ("kafka", "aiokafka"):
        logging.getLogger(chatty).setLevel(max(numeric, logging.WARNING))
    # kafka-python's I/O loop warns whenever one task takes > 0.1 s ("ran for 0.117s"): on a
    # busy 2-core machine that is routine and says nothing actionable.
    logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if json else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
