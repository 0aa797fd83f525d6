"""A single-node Apache Kafka 3.9 (KRaft) broker from Maven Central jars, owned by the project.

Layout under ``<stack_dir>/kafka``: ``lib/`` (jars, fetched once with ``mvn``),
``server.properties``, ``log4j.properties``, ``data/`` (formatted once), ``kafka.pid``,
``kafka.log``.
"""

from __future__ import annotations

import base64
import hashlib
import shutil
import subprocess
import uuid

import structlog

from domain.errors import StackError
from runtime.waiting import tail, wait_until
from symbiosis.procs import port_open, read_pid, terminate
from symbiosis.stack_settings import PROJECT_ROOT, StackSettings

log = structlog.get_logger(__name__)

POM = PROJECT_ROOT / "deploy" / "kafka" / "pom.xml"
READY_TIMEOUT_S = 120.0


class LocalKafka:
    """Install, start, stop and inspect the project's broker."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.home = settings.stack_dir / "kafka"
        self.lib = self.home / "lib"
        self.data = self.home / "data"
        self.pid_file = self.home / "kafka.pid"
        self.log_file = self.home / "kafka.log"
        self.config = self.home / "server.properties"
        self.log4j = self.home / "log4j.properties"

    @property
    def bootstrap(self) -> str:
        """``host:port`` of the broker's client listener."""
        return f"127.0.0.1:{self.settings.kafka_port}"

    def pid(self) -> int | None:
        """Pid of the running broker started by us, if any."""
        return read_pid(self.pid_file)

    def install(self) -> None:
        """Fetch the broker's jars with ``mvn`` unless the cached set matches the POM.

        Raises:
            StackError: java or mvn is missing, or Maven failed (its output is in the message).
        """
        for tool in ("java", "mvn"):
            if shutil.which(tool) is None:
                raise StackError(f"{tool} is not on PATH; install Java 17 and Maven first")
        stamp = self.lib / ".pom-sha256"
        digest = hashlib.sha256(POM.read_bytes()).hexdigest()
        if stamp.exists() and stamp.read_text() == digest:
            return
        log.info("kafka.install", pom=str(POM), into=str(self.lib))
        if self.lib.exists():
            shutil.rmtree(self.lib)
        self.lib.mkdir(parents=True)
        cmd = [
            "mvn", "-B", "-q", "-f", str(POM), "dependency:copy-dependencies",
            f"-DoutputDirectory={self.lib}", "-DincludeScope=runtime",
        ]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise StackError(
                f"mvn could not fetch Kafka's jars (exit {done.returncode}):\n"
                f"{done.stdout[-3000:]}{done.stderr[-3000:]}"
            )
        stamp.write_text(digest)

    def _write_config(self) -> None:
        s = self.settings
        self.home.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.voters=1@127.0.0.1:{s.kafka_controller_port}",
                    f"listeners=PLAINTEXT://127.0.0.1:{s.kafka_port},"
                    f"CONTROLLER://127.0.0.1:{s.kafka_controller_port}",
                    f"advertised.listeners=PLAINTEXT://127.0.0.1:{s.kafka_port}",
                    "controller.listener.names=CONTROLLER",
                    "inter.broker.listener.name=PLAINTEXT",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    f"log.dirs={self.data}",
                    f"num.partitions={s.partitions}",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=8",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "transaction.state.log.num.partitions=4",
                    "group.initial.rebalance.delay.ms=0",
                    "auto.create.topics.enable=true",
                    "delete.topic.enable=true",
                    "log.retention.hours=24",
                    "log.segment.bytes=268435456",
                    "num.network.threads=2",
                    "num.io.threads=2",
                    "",
                ]
            )
        )
        self.log4j.write_text(
            "\n".join(
                [
                    "log4j.rootLogger=INFO, file",
                    "log4j.appender.file=org.apache.log4j.FileAppender",
                    f"log4j.appender.file.File={self.log_file}",
                    "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
                    "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
                    "log4j.logger.kafka=INFO",
                    "log4j.logger.org.apache.kafka=INFO",
                    "log4j.logger.state.change.logger=WARN",
                    "log4j.logger.kafka.request.logger=WARN",
                    "",
                ]
            )
        )

    def _java(self, main: str, *args: str, heap: str = "256m") -> list[str]:
        return [
            "java", f"-Xmx{heap}", f"-Xms{heap}", "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{self.log4j}",
            "-cp", f"{self.lib}/*", main, *args,
        ]  # fmt: skip

    def _format_storage(self) -> None:
        if (self.data / "meta.properties").exists():
            return
        cluster_id = new_cluster_id()
        done = subprocess.run(
            self._java(
                "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(self.config)
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise StackError(f"formatting Kafka storage failed:\n{done.stdout}{done.stderr}")

    def ready(self) -> bool:
        """Whether the broker answers a metadata request."""
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        if not port_open("127.0.0.1", self.settings.kafka_port):
            return False
        try:
            admin = KafkaAdminClient(bootstrap_servers=self.bootstrap, request_timeout_ms=3000)
        except (KafkaError, OSError, ValueError):  # not up yet, or not Kafka
            return False
        try:
            admin.list_topics()
            return True
        except (KafkaError, OSError):
            return False
        finally:
            admin.close()

    def up(self) -> None:
        """Install if needed, format once, start the broker and wait until it answers.

        Idempotent: a broker of ours that is already running is left alone.

        Raises:
            StackError: install or start failed, or the broker was not ready in time (the
                message holds the tail of its log).
        """
        if self.pid() is not None:  # ours, already running: never swap jars under it
            wait_until(self.ready, timeout_s=READY_TIMEOUT_S, what="Kafka", log=self.log_file)
            return
        self.install()
        self._write_config()
        if self.ready():
            raise StackError(
                f"something else already answers on {self.bootstrap}; stop it or set "
                "SYMBIOSIS_KAFKA_PORT"
            )
        self._format_storage()
        with self.log_file.open("ab") as out:
            proc = subprocess.Popen(
                self._java("kafka.Kafka", str(self.config), heap=self.settings.kafka_heap),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        log.info("kafka.started", pid=proc.pid, bootstrap=self.bootstrap)

        def started() -> bool:
            if proc.poll() is not None:
                raise StackError(
                    f"Kafka exited with code {proc.returncode} during start-up\n"
                    f"--- last lines of {self.log_file} ---\n{tail(self.log_file)}"
                )
            return self.ready()

        wait_until(started, timeout_s=READY_TIMEOUT_S, what="Kafka", log=self.log_file)

    def down(self) -> bool:
        """Stop the broker we started; returns whether one was running."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        terminate(pid, timeout_s=60)
        self.pid_file.unlink(missing_ok=True)
        return True

    def status(self) -> dict[str, object]:
        """Running state, pid, bootstrap address and readiness."""
        pid = self.pid()
        return {
            "service": "kafka",
            "running": pid is not None,
            "pid": pid,
            "address": self.bootstrap,
            "ready": pid is not None and self.ready(),
            "version": "3.9.1 (KRaft, single node)",
            "log": str(self.log_file),
        }


def new_cluster_id() -> str:
    """A random KRaft cluster id: 16 bytes, URL-safe base64 without padding.

    Never starts with ``-``: the storage tool's argument parser would take such an id for an
    option ("--cluster-id: expected one argument", one format in 64). Kafka's own
    ``Uuid.randomUuid`` redraws for the same reason.
    """
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id
