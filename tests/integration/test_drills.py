"""The fault drills in short form: each fault once under load, nothing lost (``bench/drills.py``).

Kills the stream worker, the sink, the API, the MQTT bridge and the Kafka broker, and crashes
PostgreSQL, each once under a steady HTTP and MQTT load, then checks what the drill's JSON line
says: no acknowledged reading lost, nothing stored twice, the ledger equal to a recomputation
from the stored rows, every alert lifecycle well-formed. Then the same on a three-node cluster
started beside the suite's broker, each node killed in turn: every partition catches up.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.settings import Settings
from symbiosis.local_kafka import LocalKafka
from symbiosis.stack_settings import StackSettings

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.timeout(1500)  # a drill is minutes of load and faults (bench/drills.py)
def test_every_fault_once_under_load_loses_nothing(stack: Settings) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "drills.py"), "--rounds", "1", "--settle", "4"],
        cwd=ROOT, capture_output=True, text=True, timeout=1500, check=False,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    # the verdict is the last line; without it, the drill stopped: say why (its stderr)
    why = done.stdout[-2000:] + done.stderr[-12000:]
    assert lines, why
    assert lines[-1].startswith("{"), why
    verdict = json.loads(lines[-1])
    assert verdict["faults"] == 6, done.stdout[-3000:]
    assert verdict["acknowledged"] > 1_000
    assert verdict["stored"] >= verdict["acknowledged"]
    assert (verdict["lost"], verdict["duplicated"]) == (0, 0), done.stdout[-3000:]
    assert verdict["ledger_mismatches"] == 0, done.stdout[-3000:]
    assert verdict["alert_lifecycle_errors"] == 0, done.stdout[-3000:]
    assert verdict["alert_events"] > 0  # the load opened and resolved alerts throughout
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.mark.timeout(1500)  # a drill is minutes of load and faults (bench/drills.py)
def test_a_three_node_cluster_loses_nothing_when_each_node_is_killed_in_turn(
    stack: Settings,
) -> None:
    """``--brokers 3`` beside the suite's single node (other ports), each node killed once."""
    ports = {"SYMBIOSIS_KAFKA_PORT": "29092", "SYMBIOSIS_KAFKA_CONTROLLER_PORT": "29093"}
    cluster = LocalKafka(StackSettings(kafka_brokers=3, kafka_port=29092,
                                       kafka_controller_port=29093))  # fmt: skip
    try:
        done = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "drills.py"), "--brokers", "3",
             "--faults", "broker", "--rounds", "3", "--settle", "4"],
            cwd=ROOT, capture_output=True, text=True, timeout=1500, check=False,
            env={**os.environ, **ports, "SYMBIOSIS_KAFKA_HEAP": "384m"},
        )  # fmt: skip
    finally:
        cluster.down()
    lines = done.stdout.strip().splitlines()
    # the verdict is the last line; without it, the drill stopped: say why (its stderr)
    why = done.stdout[-2000:] + done.stderr[-12000:]
    assert lines, why
    assert lines[-1].startswith("{"), why
    verdict = json.loads(lines[-1])
    assert (verdict["brokers"], verdict["faults"]) == (3, 3), done.stdout[-3000:]
    assert verdict["acknowledged"] > 500
    assert (verdict["lost"], verdict["duplicated"]) == (0, 0), done.stdout[-3000:]
    assert verdict["ledger_mismatches"] == 0, done.stdout[-3000:]
    assert verdict["alert_lifecycle_errors"] == 0, done.stdout[-3000:]
    assert verdict["under_replicated"] == 0  # each killed node rejoined and caught up
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


@pytest.mark.timeout(1500)  # a drill is minutes of load and faults (bench/drills.py)
def test_twenty_worker_restarts_at_once_under_load_never_stall(stack: Settings) -> None:
    """The stream worker killed 20 times and restarted at once, with no back-off and no
    restart by the harness: each time it recovers its tables and the pipeline flows again
    (the drill fails after 300 s without fresh ledger entries)."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "drills.py"), "--faults", "worker",
         "--rounds", "20", "--settle", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=1500, check=False,
    )  # fmt: skip
    lines = done.stdout.strip().splitlines()
    assert lines, done.stderr[-3000:]
    verdict = json.loads(lines[-1])
    assert verdict["faults"] == 20, done.stdout[-3000:] + done.stderr[-3000:]
    assert (verdict["lost"], verdict["duplicated"]) == (0, 0), done.stdout[-3000:]
    assert verdict["ledger_mismatches"] == 0, done.stdout[-3000:]
    assert verdict["alert_lifecycle_errors"] == 0, done.stdout[-3000:]
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
