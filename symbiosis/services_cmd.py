"""``symbiosis up | down | worker | sink | delivery``: the pipeline's processes, by hand.

``worker``, ``sink`` and ``delivery`` run one process in the foreground (what a container or a
systemd unit runs). ``up`` starts the whole local pipeline in the background and returns once
it answers; ``down`` stops it. Their logs go to ``<stack_dir>/logs/<app_id>/``.
"""

from __future__ import annotations

import secrets
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Annotated, Final

import psycopg
import typer
from pydantic import SecretStr
from rich.console import Console

from domain.errors import PipelineError, StackError, SymbiosisError, UnavailableError
from domain.park import bundled_park_path, load_park
from ingest.api import tokens
from runtime.logs import configure_logging
from runtime.settings import get_settings
from runtime.waiting import wait_until
from sinks.migrate import migrate
from streams.app import changelog_configs
from symbiosis import background
from symbiosis.config_errors import EXIT_USAGE, fail
from symbiosis.pipeline import LocalPipeline
from symbiosis.stack import StackOption
from symbiosis.stack_settings import StackSettings, get_stack_settings
from topics.kafka_admin import ensure_topics

err = Console(stderr=True, soft_wrap=True)

PIPELINE = ("streams", "sink", "delivery", "api")
"""What ``up`` starts, in order (each a role of :data:`symbiosis.pipeline.ROLES`)."""

TOKEN_FILE = "operator-token"  # noqa: S105 - a file name, not a secret
"""File in :func:`background.run_dir` holding the operator token ``up`` issued (mode 0600)."""

WEBHOOK_SECRET_FILE = "webhook-secret"  # noqa: S105 - a file name, not a secret
"""File under the stack folder holding the local webhook master key (mode 0600)."""


def worker() -> None:
    """Run one stream worker in the foreground (ledger, matching, alerts) until Ctrl-C.

    Start more (here or on other machines, same SYMBIOSIS_KAFKA_BOOTSTRAP and APP_ID) to
    share the readings topic's partitions. Metrics and /healthz on SYMBIOSIS_METRICS_PORT.
    """
    from streams.run import main

    main(get_settings())


def sink() -> None:
    """Run one PostgreSQL sink in the foreground (readings, ledger, alerts, offers) until Ctrl-C.

    Stores each record exactly once (its offsets commit with the rows). Metrics and /healthz on
    SYMBIOSIS_METRICS_PORT.
    """
    from sinks.consumer import run_sink

    configure_logging()
    run_sink(get_settings())


def delivery() -> None:
    """Run the webhook delivery in the foreground (signed alerts to partners) until Ctrl-C.

    Needs SYMBIOSIS_WEBHOOK_SECRET; webhooks are Standard Webhooks signed per subscription.
    Metrics and /healthz on SYMBIOSIS_METRICS_PORT.
    """
    from delivery.process import main

    configure_logging()
    main(get_settings())


def up(
    park: Annotated[
        Path | None,
        typer.Option(
            help="Park file to register (sites, needs, exchanges). Default: the bundled demo "
            "park; --no-park keeps the registry as it is.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
    no_park: Annotated[
        bool, typer.Option("--no-park", help="Register no park file (keep the registry).")
    ] = False,
    simulate: Annotated[
        bool,
        typer.Option(
            "--simulate",
            help="Also run simulated historians for the park's meters (1 reading/s each).",
        ),
    ] = False,
    mqtt: Annotated[
        bool, typer.Option("--mqtt", help="Also start the MQTT broker and the MQTT bridge.")
    ] = False,
    stack: StackOption = True,
    workers: Annotated[
        int,
        typer.Option(
            "--workers",
            min=1,
            help="Stream workers to have running (streams, streams-1, ...); they share the "
            "readings partitions by site. One is enough for a small park; a TEDA-size park "
            "(1,000 companies pushing every second) needs two on a 2-core machine to alert "
            "within a second. At most SYMBIOSIS_PARTITIONS. Running 'up' again with more starts "
            "the missing ones; with fewer it stops none ('symbiosis down' stops them all).",
        ),
    ] = 1,
) -> None:
    """Start the whole local pipeline in the background and keep it up.

    Kafka and PostgreSQL (the local stack), the stream worker, the sink, the webhook delivery
    and the HTTP API with the dashboard; topics and tables are kept (nothing is reset). Once
    each process it started answers its health check, prints the dashboard's URL and where the
    operator token is stored. Running it again starts only
    what is not running. Stop everything with 'symbiosis down'.

    \f
    Long because: a CLI command: most lines declare its options and their help (the form feed
    above ends what ``--help`` shows).
    """  # noqa: D301 - \f ends what --help shows
    park_file = _park_file(park, no_park)
    stack_settings = get_stack_settings()
    if workers > stack_settings.partitions:
        raise fail(
            f"--workers {workers}: more than the {stack_settings.partitions} partitions of new "
            "topics (SYMBIOSIS_PARTITIONS); the extra workers would sit idle",
            code=EXIT_USAGE,
        )
    settings = _with_webhook_secret(stack_settings)
    configure_logging(level="WARNING")
    try:
        if stack:
            _stack_up(settings, mqtt=mqtt)
        started = _start_pipeline(
            settings, park_file, simulate=simulate, mqtt=mqtt, workers=workers
        )
        token = _operator_token(settings)
    except SymbiosisError as e:
        err.print(f"up failed: {e}", markup=False)
        if isinstance(e, PipelineError):
            stopped = background.stop_all(background.run_dir(settings))
            err.print(f"stopped again: {', '.join(stopped) or 'nothing'}", markup=False)
        raise typer.Exit(2 if isinstance(e, StackError) else 1) from e
    logs = LocalPipeline(settings).logs
    running = background.running(background.run_dir(settings))
    err.print(f"started: {', '.join(started) or 'nothing (all running)'}", markup=False)
    err.print(f"running: {', '.join(f'{n} (pid {p})' for n, p in running.items())}", markup=False)
    err.print(f"logs:    {logs}", markup=False)
    err.print(f"token:   {background.run_dir(settings) / TOKEN_FILE} (operator)", markup=False)
    err.print("stop:    symbiosis down", markup=False)
    url = f"http://{settings.api_host}:{settings.api_port}/dashboard#token={token}"
    typer.echo(url)


def down(
    keep_stack: Annotated[
        bool,
        typer.Option("--keep-stack", help="Stop the pipeline only; leave Kafka and PostgreSQL."),
    ] = False,
) -> None:
    """Stop what 'symbiosis up' started (data in Kafka and PostgreSQL is kept)."""
    from symbiosis.stack import stack_down

    settings = get_stack_settings()
    try:
        stopped = background.stop_all(background.run_dir(settings))
        revoked = _revoke_operator_token(settings)
        if not keep_stack:
            stopped += stack_down(settings)
    except SymbiosisError as e:
        err.print(f"down failed: {e}", markup=False)
        raise typer.Exit(2) from e
    err.print(f"stopped: {', '.join(stopped) if stopped else 'nothing was running'}")
    if revoked:
        err.print("the operator token of 'up' is revoked")


def _with_webhook_secret(settings: StackSettings) -> StackSettings:
    """``settings`` with a webhook secret: the one set, else the local stack's own.

    The local one is made once and kept in ``<stack_dir>/webhook-secret`` (0600), so webhook
    signing keys stay the same across ``up``/``down``.
    """
    if settings.webhook_secret.get_secret_value():
        return settings
    path = settings.stack_dir / WEBHOOK_SECRET_FILE
    if not path.exists():
        settings.stack_dir.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(32) + "\n")
    return settings.model_copy(update={"webhook_secret": SecretStr(path.read_text().strip())})


def _park_file(park: Path | None, no_park: bool) -> Path | None:
    if no_park:
        if park is not None:
            raise typer.BadParameter("give --park or --no-park, not both")
        return None
    return park or bundled_park_path()


def _stack_up(settings: StackSettings, *, mqtt: bool) -> None:
    from symbiosis.local_mosquitto import LocalMosquitto
    from symbiosis.stack import stack_up

    with err.status("starting the local stack ..."):
        stack_up(settings)
        if mqtt:
            LocalMosquitto(settings).up()


def _start_pipeline(
    settings: StackSettings,
    park_file: Path | None,
    *,
    simulate: bool,
    mqtt: bool,
    workers: int = 1,
) -> list[str]:
    """Topics, tables, the park, then each process not yet running; returns those started.

    Raises:
        UnavailableError: Kafka is not reachable.
        ConfigurationError: the park file is invalid.
        PipelineError: a process died at start (its log's tail is in the message).
    """
    ensure_topics(
        settings.kafka_bootstrap,
        {**settings.topics.configs(), **changelog_configs(settings)},
        settings.partitions,
        replication_factor=settings.kafka_replication_factor,
    )
    migrate(settings.database_url)
    pipeline = LocalPipeline(settings)
    if park_file is not None:
        records = pipeline.publish(load_park(park_file))
        err.print(f"registered {park_file.name}: {records} registry records", markup=False)
    folder = background.run_dir(settings)
    alive = background.running(folder)
    started = []
    processes = _processes(park_file, simulate=simulate, mqtt=mqtt, workers=workers)
    if settings.metrics_port > 0:  # fixed ports: one started by a later `up` takes no other's
        pipeline.ports.update({name: settings.metrics_port + _metrics_slot(name)
                               for name, _, _ in processes})  # fmt: skip
    probed = []
    for name, role, args in processes:
        if name not in alive:
            child = pipeline.start(role, name, args=args)
            background.record(folder, name, child.proc.pid)
            started.append(name)
            probed += [] if role in _UNPROBED else [name]
    _wait_answering(settings, pipeline, probed)
    time.sleep(1.0)  # a process that cannot start (a busy port, bad settings) dies at once
    pipeline.check(restart=False)  # a restart here would run without a pid file
    return started


_SLOTS: Final = {
    **{role: i + 1 for i, role in enumerate(PIPELINE)},
    "mqtt-bridge": 5,
    "simulator": 6,
}
"""Metrics port of each process of ``up``: ``SYMBIOSIS_METRICS_PORT`` + its slot."""

_UNPROBED: Final = frozenset({"simulator"})
"""Roles that serve no ``/healthz`` (the simulator stands in for plant historians)."""


def _metrics_slot(name: str) -> int:
    """A process's fixed metrics slot: its role's, or after them for ``streams-N`` (N >= 1)."""
    if name in _SLOTS:
        return _SLOTS[name]
    return len(_SLOTS) + int(name.removeprefix("streams-"))


def _processes(
    park_file: Path | None, *, simulate: bool, mqtt: bool, workers: int
) -> list[tuple[str, str, list[str]]]:
    """(name, role, arguments) of each process ``up`` keeps running, in start order.

    The first stream worker is ``streams``, the others ``streams-1``, ``streams-2``...
    """
    wanted: list[tuple[str, str, list[str]]] = [(role, role, []) for role in PIPELINE]
    wanted += [(f"streams-{i}", "streams", []) for i in range(1, workers)]
    if mqtt:
        wanted.append(("mqtt-bridge", "mqtt-bridge", []))
    if simulate:
        wanted.append(("simulator", "simulator", [str(park_file or bundled_park_path())]))
    return wanted


def _wait_answering(
    settings: StackSettings, pipeline: LocalPipeline, started: list[str], timeout_s: float = 60.0
) -> None:
    """Return once the API and each process named in ``started`` answer their ``/healthz``.

    A process's health port opens only once it has imported its libraries (seconds on a busy
    machine), so ``up`` returning means what it printed is reachable.

    Raises:
        PipelineError: a process died meanwhile (its log's tail in the message), or one did
            not answer within ``timeout_s`` (the first such URL in the message).
    """
    listening_on_all = settings.metrics_host in ("0.0.0.0", "::")  # noqa: S104 - read, not bound
    host = "127.0.0.1" if listening_on_all else settings.metrics_host
    waiting = [f"http://{settings.api_host}:{settings.api_port}/healthz"]
    if settings.metrics_port > 0:
        waiting += [f"http://{host}:{pipeline.ports[name]}/healthz" for name in started]

    def answered() -> bool:
        pipeline.check(restart=False)  # `up` records pids: it restarts nothing itself
        waiting[:] = [url for url in waiting if not _answers(url)]
        return not waiting

    try:  # a process that died raises its PipelineError from answered(), its log's tail in it
        wait_until(answered, timeout_s=timeout_s, what="/healthz")
    except UnavailableError as e:
        raise PipelineError(f"no answer from {waiting[0]} in {timeout_s:.0f} s") from e


def _answers(url: str) -> bool:
    """Whether ``url`` answers 200 now."""
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - http:// built here
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def _operator_token(settings: StackSettings) -> str:
    """The operator token of ``up``: the stored one while it is valid, else a new one."""
    path = background.run_dir(settings) / TOKEN_FILE
    with psycopg.connect(settings.database_url, autocommit=True) as conn:
        if path.exists():
            token = path.read_text().strip()
            live = conn.execute(
                "SELECT 1 FROM api_tokens WHERE token_sha256 = %s AND revoked_at IS NULL",
                (tokens.token_sha256(token),),
            ).fetchone()
            if live is not None:
                return token
        token = tokens.issue(conn, None, label="symbiosis up")
    path.touch(mode=0o600)
    path.write_text(token + "\n")
    return token


def _revoke_operator_token(settings: StackSettings) -> bool:
    path = background.run_dir(settings) / TOKEN_FILE
    if not path.exists():
        return False
    token = path.read_text().strip()
    try:
        with psycopg.connect(settings.database_url, autocommit=True, connect_timeout=5) as conn:
            tokens.revoke(conn, token[:10])
    except psycopg.OperationalError:
        return False  # the database is down: the token cannot be used until it is back
    path.unlink()
    return True


def register(app: typer.Typer) -> None:
    """Add the commands to the ``symbiosis`` app."""
    app.command("up")(up)
    app.command("down")(down)
    app.command("worker")(worker)
    app.command("sink")(sink)
    app.command("delivery")(delivery)
