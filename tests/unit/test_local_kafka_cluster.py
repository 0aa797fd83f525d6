"""``symbiosis stack up --brokers 3``: the shape of the local cluster, without starting it."""

from __future__ import annotations

from pathlib import Path

from symbiosis.local_kafka import LocalKafka
from symbiosis.stack_settings import StackSettings


def properties(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line)


def test_one_node_keeps_its_folder_ports_and_replication_of_one(tmp_path: Path) -> None:
    settings = StackSettings(stack_dir=tmp_path)
    kafka = LocalKafka(settings)
    assert [n.home for n in kafka.nodes] == [tmp_path / "kafka"]
    assert kafka.bootstrap == settings.kafka_bootstrap == "127.0.0.1:19092"
    assert settings.kafka_replication_factor == 1
    kafka._write_config(kafka.nodes[0])
    conf = properties(kafka.nodes[0].config)
    assert conf["controller.quorum.voters"] == "1@127.0.0.1:19093"
    assert (conf["default.replication.factor"], conf["min.insync.replicas"]) == ("1", "1")


def test_three_nodes_form_one_quorum_with_three_replicas_and_two_in_sync(tmp_path: Path) -> None:
    settings = StackSettings(stack_dir=tmp_path, kafka_brokers=3)
    kafka = LocalKafka(settings)
    assert (
        settings.kafka_bootstrap
        == kafka.bootstrap
        == ("127.0.0.1:19092,127.0.0.1:19094,127.0.0.1:19096")
    )
    assert settings.kafka_replication_factor == 3  # what the processes create topics with
    assert settings.child_env()["SYMBIOSIS_KAFKA_REPLICATION_FACTOR"] == "3"
    for node in kafka.nodes:
        kafka._write_config(node)
    confs = [properties(n.config) for n in kafka.nodes]
    assert [c["node.id"] for c in confs] == ["1", "2", "3"]
    voters = "1@127.0.0.1:19093,2@127.0.0.1:19095,3@127.0.0.1:19097"
    assert {c["controller.quorum.voters"] for c in confs} == {voters}
    assert [c["listeners"].split(",")[0] for c in confs] == [
        f"PLAINTEXT://127.0.0.1:{p}" for p in (19092, 19094, 19096)
    ]
    assert {c["log.dirs"] for c in confs} == {
        str(tmp_path / "kafka-3" / f"node-{i}" / "data") for i in range(3)
    }
    for c in confs:
        assert c["default.replication.factor"] == c["offsets.topic.replication.factor"] == "3"
        assert c["min.insync.replicas"] == c["transaction.state.log.min.isr"] == "2"
    assert kafka.lib == tmp_path / "kafka" / "lib"  # the jars are shared
    assert kafka._cluster_id() == kafka._cluster_id()  # one id for every node


def test_an_explicit_bootstrap_or_replication_factor_wins(tmp_path: Path) -> None:
    settings = StackSettings(stack_dir=tmp_path, kafka_brokers=3,
                             kafka_bootstrap="kafka:9092", kafka_replication_factor=2)  # fmt: skip
    assert (settings.kafka_bootstrap, settings.kafka_replication_factor) == ("kafka:9092", 2)
