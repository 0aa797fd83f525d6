"""structlog set-up shared by every process: key-value lines on stderr, JSON when asked.

The level and format come from ``SYMBIOSIS_LOG_LEVEL`` and ``SYMBIOSIS_LOG_FORMAT`` (or
``./.env``; :class:`runtime.settings.LogSettings`), so a child process started with its
parent's environment (:meth:`runtime.settings.Settings.child_env`) logs the same way. The
``symbiosis`` command's ``--log-level`` and ``--log-format`` set those variables.
"""

from __future__ import annotations

import logging
import sys

import structlog

from runtime.settings import LogFormat, LogSettings


class _Stderr:
    """``sys.stderr`` as it is at each write, not as it was when logging was set up.

    A command run in-process (a test's CLI runner, pytest's capture) swaps ``sys.stderr``;
    log lines then follow it instead of going to a stream that has since been put aside.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_STDERR = _Stderr()


def configure_logging(*, level: str | None = None, json: bool | None = None) -> None:
    """Route structlog and stdlib logging to stderr.

    Stdout stays free for command output (JSON lines, the demo's summary).

    Args:
        level: This process's level when neither ``SYMBIOSIS_LOG_LEVEL`` nor ``.env`` sets
            one (e.g. ``"WARNING"`` for a command whose terminal should stay quiet); None:
            the settings' level (INFO by default). A level that is set always wins.
        json: Likewise for the format: JSON lines when ``SYMBIOSIS_LOG_FORMAT`` is unset and
            this is true; None: the settings' format (console by default).

    Raises:
        pydantic.ValidationError: ``SYMBIOSIS_LOG_LEVEL`` or ``SYMBIOSIS_LOG_FORMAT`` is not
            one of its values (the ``symbiosis`` command reports it in one line, exit 2).
    """
    settings = LogSettings()
    chosen = settings.model_fields_set
    name = settings.log_level.value if level is None or "log_level" in chosen else level
    as_json = settings.log_format is LogFormat.JSON
    if json is not None and "log_format" not in chosen:
        as_json = json
    numeric = logging.getLevelNamesMapping().get(name.upper(), logging.INFO)
    logging.basicConfig(stream=_STDERR, level=numeric, format="%(message)s", force=True)
    for chatty in ("kafka", "aiokafka"):
        logging.getLogger(chatty).setLevel(max(numeric, logging.WARNING))
    # kafka-python's I/O loop warns whenever one task takes > 0.1 s ("ran for 0.117s"): on a
    # busy 2-core machine that is routine and says nothing actionable.
    logging.getLogger("kafka.net.selector").setLevel(logging.ERROR)
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer()
        if as_json
        # plain tracebacks: the default (rich) prints every frame's local variables, which
        # hold tokens, passwords and tenants' payloads, and can take seconds on a deep one
        else structlog.dev.ConsoleRenderer(
            colors=False, exception_formatter=structlog.dev.plain_traceback
        )
    )
    # JSON: the traceback as a string field "exception" (no locals either)
    tracebacks = [structlog.processors.format_exc_info] if as_json else []
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            *tracebacks,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # print() needs write() and flush() only
        logger_factory=structlog.PrintLoggerFactory(file=_STDERR),  # type: ignore[arg-type]
        cache_logger_on_first_use=True,
    )
