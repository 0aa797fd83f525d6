"""The local stack's settings: ports, folders and binaries, on top of the runtime settings.

Only the CLI, the local stack and the demo (this package) use them; a production process reads
:class:`runtime.settings.Settings` alone. Same ``SYMBIOSIS_*`` variables.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator

from runtime.settings import Settings

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class StackSettings(Settings):
    """:class:`~runtime.settings.Settings` plus where and how the local stack runs.

    ``state_dir`` follows ``stack_dir`` unless set itself, so one variable moves everything.
    """

    stack_dir: Path = Field(
        default=PROJECT_ROOT / ".stack",
        description="Where the local stack keeps jars, data directories, logs and pid files.",
    )
    kafka_port: int = Field(default=19092, ge=1024, le=65535)
    kafka_controller_port: int = Field(default=19093, ge=1024, le=65535)
    kafka_brokers: int = Field(
        default=1,
        ge=1,
        le=5,
        description="Nodes of the local Kafka (`symbiosis stack up --brokers 3`): with more than "
        "one, the bootstrap lists every node and topics are replicated 3 times.",
    )
    kafka_heap: str = Field(default="512m", pattern=r"^\d+[mg]$")
    postgres_port: int = Field(default=15432, ge=1024, le=65535)
    postgres_bin: Path = Field(default=Path("/usr/lib/postgresql/15/bin"))
    database_name: str = Field(default="symbiosis", pattern=r"^[a-z_][a-z0-9_]*$")
    mosquitto_bin: Path = Field(default=Path("/usr/sbin/mosquitto"))
    chromium_bin: Path = Field(
        default=Path("/usr/bin/chromium"), description="Browser for screenshots and UI tests."
    )
    chromedriver_bin: Path = Field(default=Path("/usr/bin/chromedriver"))

    @model_validator(mode="after")
    def _state_in_the_stack(self) -> Self:
        if "state_dir" not in self.model_fields_set:
            self.state_dir = self.stack_dir
        return self

    @model_validator(mode="after")
    def _kafka_of_its_shape(self) -> Self:
        """A local cluster: clients know every node, topics get 3 replicas (unless set)."""
        if self.kafka_brokers > 1:
            if "kafka_bootstrap" not in self.model_fields_set:
                self.kafka_bootstrap = ",".join(
                    f"127.0.0.1:{self.kafka_port + 2 * i}" for i in range(self.kafka_brokers)
                )
            if "kafka_replication_factor" not in self.model_fields_set:
                self.kafka_replication_factor = min(3, self.kafka_brokers)
        return self


@cache
def get_stack_settings() -> StackSettings:
    """The local stack's settings, read once from the environment."""
    return StackSettings()
