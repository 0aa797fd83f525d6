"""An Eclipse Mosquitto MQTT broker from Debian's packages, on a project-owned port.

Layout under ``<stack_dir>/mosquitto``: ``mosquitto.conf`` (listener on 127.0.0.1 only,
anonymous clients allowed: a local test and demo broker, not a production one),
``mosquitto.log``, ``mosquitto.pid``. Installed with apt when missing (as root). As root,
Mosquitto drops to its ``mosquitto`` user, so the files it writes live where that user can.
"""

from __future__ import annotations

import subprocess

import structlog

from domain.errors import StackError
from runtime.waiting import tail, wait_until
from symbiosis.procs import apt_install, port_open, read_pid, terminate
from symbiosis.stack_settings import StackSettings

log = structlog.get_logger(__name__)

READY_TIMEOUT_S = 20.0


class LocalMosquitto:
    """Install, start, stop and inspect the project's MQTT broker."""

    def __init__(self, settings: StackSettings) -> None:
        self.settings = settings
        self.home = settings.stack_dir / "mosquitto"
        self.config = self.home / "mosquitto.conf"
        self.log_file = self.home / "mosquitto.log"
        self.pid_file = self.home / "mosquitto.pid"

    @property
    def address(self) -> str:
        """``host:port`` of the broker."""
        return f"{self.settings.mqtt_host}:{self.settings.mqtt_port}"

    def pid(self) -> int | None:
        """Pid of our running broker, if any."""
        return read_pid(self.pid_file)

    def ready(self) -> bool:
        """Whether the port accepts connections."""
        return port_open(self.settings.mqtt_host, self.settings.mqtt_port)

    def up(self) -> None:
        """Install if needed, start the broker and wait until its port answers (idempotent).

        Raises:
            StackError: install or start failed, or another process holds the port.
        """
        if self.pid() is not None:
            wait_until(self.ready, timeout_s=READY_TIMEOUT_S, what="Mosquitto", log=self.log_file)
            return
        binary = self.settings.mosquitto_bin
        apt_install("mosquitto", binary=binary, setting="SYMBIOSIS_MOSQUITTO_BIN")
        if self.ready():
            raise StackError(
                f"something else already answers on {self.address}; stop it or set "
                "SYMBIOSIS_MQTT_PORT"
            )
        self.home.mkdir(parents=True, exist_ok=True)
        self.config.write_text(
            "\n".join(
                [
                    "per_listener_settings false",
                    f"listener {self.settings.mqtt_port} {self.settings.mqtt_host}",
                    "allow_anonymous true",
                    "persistence false",
                    "log_dest stderr",
                    "log_type error",
                    "log_type warning",
                    "log_type notice",
                    "max_queued_messages 100000",
                    "",
                ]
            )
        )
        with self.log_file.open("ab") as out:
            proc = subprocess.Popen(
                [str(binary), "-c", str(self.config)],
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(f"{proc.pid}\n")
        log.info("mosquitto.started", pid=proc.pid, address=self.address)

        def started() -> bool:
            if proc.poll() is not None:
                raise StackError(
                    f"Mosquitto exited with code {proc.returncode} during start-up\n"
                    f"--- last lines of {self.log_file} ---\n{tail(self.log_file)}"
                )
            return self.ready()

        wait_until(started, timeout_s=READY_TIMEOUT_S, what="Mosquitto", log=self.log_file)

    def down(self) -> bool:
        """Stop the broker we started; returns whether one was running."""
        pid = self.pid()
        self.pid_file.unlink(missing_ok=True)
        if pid is None:
            return False
        terminate(pid, timeout_s=10)
        return True

    def status(self) -> dict[str, object]:
        """Running state, pid, address and readiness."""
        pid = self.pid()
        return {
            "service": "mosquitto",
            "running": pid is not None,
            "pid": pid,
            "address": self.address,
            "ready": pid is not None and self.ready(),
            "version": "Debian mosquitto (MQTT 3.1.1/5)",
            "log": str(self.log_file),
        }
