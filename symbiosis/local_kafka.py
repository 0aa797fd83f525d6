"""The project's Apache Kafka 3.9 (KRaft) from Maven Central jars: one node, or a local cluster.

One node (``SYMBIOSIS_KAFKA_BROKERS=1``, the default): ``<stack_dir>/kafka`` holds ``lib/``
(jars, fetched once with ``mvn``), ``server.properties``, ``log4j.properties``, ``data/``
(formatted once), ``kafka.pid``, ``kafka.log``; clients on ``kafka_port``, the controller on
``kafka_controller_port``.

A cluster (``symbiosis stack up --brokers 3``): node *i* (0, 1, 2) lives in
``<stack_dir>/kafka-3/node-<i>`` with the same files, on ``kafka_port + 2i`` and
``kafka_controller_port + 2i``; every node is a broker and a KRaft controller (a quorum of
three voters), all formatted with one cluster id, and topics default to replication factor 3
with ``min.insync.replicas=2``, so one node may be down and nothing acknowledged is lost.
The jars are shared (``<stack_dir>/kafka/lib``).
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import signal
import subprocess
import uuid
from dataclasses import dataclass
from pathlib import Path

import structlog

from domain.errors import StackError
from runtime.waiting import tail, wait_until
from symbiosis.procs import alive, port_open, read_pid, terminate
from symbiosis.stack_settings import PROJECT_ROOT, StackSettings

log = structlog.get_logger(__name__)

POM = PROJECT_ROOT / "deploy" / "kafka" / "pom.xml"
READY_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class KafkaNode:
    """One broker-and-controller process: its folder, files and ports."""

    index: int
    home: Path
    port: int
    controller_port: int

    @property
    def node_id(self) -> int:
        """KRaft node id (1-based)."""
        return self.index + 1

    @property
    def address(self) -> str:
        """``host:port`` of its client listener."""
        return f"127.0.0.1:{self.port}"

    @property
    def data(self) -> Path:
        """Its log directory."""
        return self.home / "data"

    @property
    def pid_file(self) -> Path:
        """Where its pid is kept while it runs."""
        return self.home / "kafka.pid"

    @property
    def log_file(self) -> Path:
        """Its server log."""
        return self.home / "kafka.log"

    @property
    def config(self) -> Path:
        """Its ``server.properties``."""
        return self.home / "server.properties"

    @property
    def log4j(self) -> Path:
        """Its ``log4j.properties``."""
        return self.home / "log4j.properties"

    def pid(self) -> int | None:
        """Pid of the running process, if any."""
        return read_pid(self.pid_file)


class LocalKafka:
    """Install, start, stop and inspect the project's Kafka: one node or a local cluster."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.brokers = settings.kafka_brokers
        self.home = settings.stack_dir / "kafka"
        self.lib = self.home / "lib"
        if self.brokers == 1:
            self.nodes = [KafkaNode(0, self.home, settings.kafka_port,
                                    settings.kafka_controller_port)]  # fmt: skip
        else:
            cluster = settings.stack_dir / f"kafka-{self.brokers}"
            self.nodes = [
                KafkaNode(i, cluster / f"node-{i}", settings.kafka_port + 2 * i,
                          settings.kafka_controller_port + 2 * i)
                for i in range(self.brokers)
            ]  # fmt: skip
        first = self.nodes[0]
        self.pid_file, self.log_file = first.pid_file, first.log_file

    @property
    def bootstrap(self) -> str:
        """``host:port`` of every node's client listener, comma separated."""
        return ",".join(n.address for n in self.nodes)

    def pid(self) -> int | None:
        """Pid of the first running node, if any."""
        return next((p for n in self.nodes if (p := n.pid()) is not None), None)

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

    def _write_config(self, node: KafkaNode) -> None:
        s = self.settings
        replicas = min(3, self.brokers)
        isr = 2 if replicas >= 3 else 1
        voters = ",".join(f"{n.node_id}@127.0.0.1:{n.controller_port}" for n in self.nodes)
        node.home.mkdir(parents=True, exist_ok=True)
        node.config.write_text("\n".join([
            "process.roles=broker,controller",
            f"node.id={node.node_id}",
            f"controller.quorum.voters={voters}",
            f"listeners=PLAINTEXT://127.0.0.1:{node.port},"
            f"CONTROLLER://127.0.0.1:{node.controller_port}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{node.port}",
            "controller.listener.names=CONTROLLER",
            "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
            f"log.dirs={node.data}",
            f"num.partitions={s.partitions}",
            f"default.replication.factor={replicas}",
            f"min.insync.replicas={isr}",
            f"offsets.topic.replication.factor={replicas}",
            "offsets.topic.num.partitions=8",
            f"transaction.state.log.replication.factor={replicas}",
            f"transaction.state.log.min.isr={isr}",
            "transaction.state.log.num.partitions=4",
            "group.initial.rebalance.delay.ms=0",
            "auto.create.topics.enable=true",
            "delete.topic.enable=true",
            "log.retention.hours=24",
            "log.segment.bytes=268435456",
            "num.network.threads=2",
            "num.io.threads=2",
            "",
        ]))  # fmt: skip
        node.log4j.write_text("\n".join([
            "log4j.rootLogger=INFO, file",
            "log4j.appender.file=org.apache.log4j.FileAppender",
            f"log4j.appender.file.File={node.log_file}",
            "log4j.appender.file.layout=org.apache.log4j.PatternLayout",
            "log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n",
            "log4j.logger.kafka=INFO",
            "log4j.logger.org.apache.kafka=INFO",
            "log4j.logger.state.change.logger=WARN",
            "log4j.logger.kafka.request.logger=WARN",
            "",
        ]))  # fmt: skip

    def _java(self, node: KafkaNode, main: str, *args: str, heap: str = "256m") -> list[str]:
        return [
            "java", f"-Xmx{heap}", f"-Xms{heap}", "-XX:+UseG1GC",
            "-XX:MaxGCPauseMillis=20", "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{node.log4j}",
            "-cp", f"{self.lib}/*", main, *args,
        ]  # fmt: skip

    def _cluster_id(self) -> str:
        """One id for every node (kept beside the nodes so a node formatted later joins)."""
        if self.brokers == 1:
            return new_cluster_id()
        kept = self.nodes[0].home.parent / "cluster-id"
        if not kept.exists():
            kept.parent.mkdir(parents=True, exist_ok=True)
            kept.write_text(new_cluster_id())
        return kept.read_text().strip()

    def _format_storage(self, node: KafkaNode) -> None:
        if (node.data / "meta.properties").exists():
            return
        done = subprocess.run(
            self._java(node, "kafka.tools.StorageTool", "format", "-t", self._cluster_id(),
                       "-c", str(node.config)),
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise StackError(f"formatting Kafka storage failed:\n{done.stdout}{done.stderr}")

    def ready(self) -> bool:
        """Whether every node answers a metadata request that lists every node."""
        return all(self.node_ready(n) for n in self.nodes)

    def node_ready(self, node: KafkaNode) -> bool:
        """Whether ``node`` answers a metadata request that lists all the cluster's nodes.

        A node answers before the others have registered with the controller: a client
        that read that answer is told of a controller it has no address for (kafka-python's
        ``UnknownBrokerIdError`` on creating topics), so a node counts as ready only once
        its metadata names every node.
        """
        from kafka import KafkaAdminClient
        from kafka.errors import KafkaError

        if not port_open("127.0.0.1", node.port):
            return False
        try:
            admin = KafkaAdminClient(bootstrap_servers=node.address, request_timeout_ms=3000)
        except (KafkaError, OSError, ValueError):  # not up yet, or not Kafka
            return False
        try:
            return len(admin.describe_cluster()["brokers"]) >= self.brokers
        except (KafkaError, OSError):
            return False
        finally:
            admin.close()

    def up(self) -> None:
        """Install if needed, format once, start every node not running, wait until all answer.

        Idempotent: nodes of ours that already run are left alone (a cluster with one node
        down gets that node back).

        Raises:
            StackError: install or start failed, another service holds a node's port, or a
                node was not ready in time (the message holds the tail of its log).
        """
        down = [n for n in self.nodes if n.pid() is None]
        if down:
            self.install()
        procs: dict[int, subprocess.Popen[bytes]] = {}
        for node in down:
            self._write_config(node)
            if port_open("127.0.0.1", node.port):
                raise StackError(
                    f"something else already answers on {node.address}; stop it (a Kafka of "
                    "another shape: `symbiosis stack down`) or set SYMBIOSIS_KAFKA_PORT"
                )
            self._format_storage(node)
            command = self._java(node, "kafka.Kafka", str(node.config),
                                 heap=self.settings.kafka_heap)  # fmt: skip
            with node.log_file.open("ab") as out:
                procs[node.index] = subprocess.Popen(
                    command,
                    stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                    start_new_session=True,
                )  # fmt: skip
            node.pid_file.write_text(f"{procs[node.index].pid}\n")
            log.info("kafka.started", pid=procs[node.index].pid, bootstrap=node.address)
        for node in self.nodes:  # a quorum needs its voters: start them all, then wait

            def started(node: KafkaNode = node) -> bool:
                proc = procs.get(node.index)
                if proc is not None and proc.poll() is not None:
                    raise StackError(
                        f"Kafka node {node.node_id} exited with code {proc.returncode} during "
                        f"start-up\n--- last lines of {node.log_file} ---\n{tail(node.log_file)}"
                    )
                return self.node_ready(node)

            wait_until(started, timeout_s=READY_TIMEOUT_S, what=f"Kafka on {node.address}",
                       log=node.log_file)  # fmt: skip

    def kill(self, index: int) -> int | None:
        """``kill -9`` node ``index`` (a crash, for fault drills); returns its pid if it ran."""
        node = self.nodes[index]
        pid = node.pid()
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
            wait_until(lambda: not alive(pid), timeout_s=30, what=f"Kafka node {index} to die")
        return pid

    def down(self) -> bool:
        """Stop the nodes we started; returns whether one was running."""
        running = False
        for node in self.nodes:
            pid = node.pid()
            if pid is not None:
                terminate(pid, timeout_s=60)
                running = True
            node.pid_file.unlink(missing_ok=True)
        return running

    def status(self) -> dict[str, object]:
        """Running state, pid, bootstrap address and readiness."""
        pids = [n.pid() for n in self.nodes]
        shape = "single node" if self.brokers == 1 else f"{self.brokers} nodes"
        return {
            "service": "kafka",
            "running": any(p is not None for p in pids),
            "pid": ",".join(str(p) for p in pids if p is not None) or None,
            "address": self.bootstrap,
            "ready": all(p is not None for p in pids) and self.ready(),
            "version": f"3.9.1 (KRaft, {shape})",
            "log": str(self.log_file),
        }


def running_shapes(settings: StackSettings) -> list[LocalKafka]:
    """The project's Kafkas of any shape with a node running (for ``stack down``)."""
    found = [LocalKafka(settings.model_copy(update={"kafka_brokers": 1}))]
    for folder in sorted(settings.stack_dir.glob("kafka-*")):
        count = folder.name.removeprefix("kafka-")
        if count.isdigit() and int(count) > 1:
            found.append(LocalKafka(settings.model_copy(update={"kafka_brokers": int(count)})))
    return [k for k in found if k.pid() is not None]


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
