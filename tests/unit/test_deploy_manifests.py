"""The deployment files in deploy/: valid against their schemas, and consistent with the code.

Offline and without Docker or a cluster:
- every Kubernetes document in deploy/k8s is validated against the Kubernetes JSON schemas
  bundled with ``kubernetes-validate``, in strict mode (unknown fields are errors);
- deploy/compose/compose.yaml is validated against the Compose Specification's JSON Schema,
  vendored as deploy/compose/compose-spec.schema.json (provenance in deploy/README.md);
- cross-references: kustomization resources, ConfigMaps/Secrets, depends_on targets, bind mounts,
  SYMBIOSIS_* names and values against ``Settings``, replicas against partitions, the topic list
  against the code's topic names, the commands against the real modules and CLI;
- security: Kafka's listeners are all SASL_SSL and every client is given its user, password and
  CA; the MQTT bridge logs in over TLS with settings that exist; the Mosquitto templates deny
  anonymous clients and confine each company to its tree; the NetworkPolicies allow exactly the
  flows the components need (a small evaluator of their semantics checks each flow).
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import typer.main
import yaml
from pydantic import BaseModel

from ingest.sparkplug_host import NAMESPACE as SPARKPLUG
from ingest.umh_historian import PREFIX as UMH_PREFIX
from runtime.settings import Settings, Topics
from streams.app import changelog_configs, changelog_topics
from symbiosis.cli import app as cli_app

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
COMPOSE_DIR = DEPLOY / "compose"
COMPOSE_FILE = COMPOSE_DIR / "compose.yaml"
COMPOSE_SCHEMA = COMPOSE_DIR / "compose-spec.schema.json"
TOPICS_DIR = K8S / "kafka-topics"
TOPICS_FILE = TOPICS_DIR / "topics.txt"
TOPICS_SCRIPT = TOPICS_DIR / "kafka-topics.sh"
MOSQUITTO_DIR = DEPLOY / "mosquitto"
COMPOSE_SECRETS_DIR = COMPOSE_DIR / "secrets"

K8S_VERSION = "1.37"
NAMESPACE = "symbiosis"
APP_IMAGE = "symbiosis"
# processes that consume with a consumer group, so partitions cap their replicas
GROUP_WORKERS = ("streams", "sink", "delivery")
# Prometheus scrapes these (jobs symbiosis-api, -streams, -sink, -delivery)
SCRAPED = ("api", "streams", "sink", "delivery")
# the MQTT bridge serves no HTTP endpoint: nothing to probe or scrape
NO_PROBES = ("mqtt-bridge",)
# ConfigMaps made with kubectl from deploy/prometheus and deploy/grafana (see deploy/README.md)
EXTERNAL_CONFIGMAPS = {
    "prometheus-config",
    "grafana-provisioning-datasources",
    "grafana-provisioning-dashboards",
    "grafana-dashboards",
    "kafka-ca",  # the CA of the brokers' certificates
}
# Secrets of TLS files, made with kubectl (deploy/README.md); mounted as volumes only
EXTERNAL_SECRETS = {"kafka-tls", "mqtt-tls"}
# Kafka clients: the app containers that produce or consume (the migrations do not)
KAFKA_CLIENTS = ("api", "streams", "sink", "delivery", "mqtt-bridge")
# the settings that make the bridge log in over TLS; they must exist in Settings
MQTT_SECURITY_SETTINGS = (
    "SYMBIOSIS_MQTT_USERNAME",
    "SYMBIOSIS_MQTT_PASSWORD",
    "SYMBIOSIS_MQTT_TLS",
    "SYMBIOSIS_MQTT_CA_FILE",
)
KAFKA_SECURITY_SETTINGS = (
    "SYMBIOSIS_KAFKA_SECURITY_PROTOCOL",
    "SYMBIOSIS_KAFKA_SASL_MECHANISM",
    "SYMBIOSIS_KAFKA_SASL_USERNAME",
    "SYMBIOSIS_KAFKA_SASL_PASSWORD",
    "SYMBIOSIS_KAFKA_SSL_CAFILE",
)
# written by the monitoring work and possibly not there yet: the only mounts allowed to be missing
PENDING_MOUNTS = (
    DEPLOY / "prometheus",
    DEPLOY / "grafana" / "provisioning",
    DEPLOY / "grafana" / "dashboards",
)
WORKLOAD_KINDS = ("Deployment", "StatefulSet", "Job")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Validation must not reach the network: any connection attempt fails the test."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access during a deploy-manifest test: {args}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


# --- helpers ----------------------------------------------------------------------------------


def setting_env_names() -> set[str]:
    """Every ``SYMBIOSIS_*`` variable ``Settings`` reads (nested models with ``__``)."""
    names: set[str] = set()
    for field, info in Settings.model_fields.items():
        names.add(f"SYMBIOSIS_{field.upper()}")
        model = info.annotation
        if isinstance(model, type) and issubclass(model, BaseModel):
            names |= {f"SYMBIOSIS_{field.upper()}__{sub.upper()}" for sub in model.model_fields}
    return names


def unknown_settings(names: Any) -> list[str]:
    """The ``SYMBIOSIS_*`` names among ``names`` that no setting reads."""
    known = setting_env_names()
    return sorted(n for n in names if n.startswith("SYMBIOSIS_") and n.upper() not in known)


def settings_from_env(env: dict[str, str]) -> Settings:
    """Settings built from ``SYMBIOSIS_*`` values as a process would read them."""
    kwargs: dict[str, Any] = {}
    for name, value in env.items():
        if not name.startswith("SYMBIOSIS_"):
            continue
        field, _, sub = name.removeprefix("SYMBIOSIS_").lower().partition("__")
        if sub:
            kwargs.setdefault(field, {})[sub] = value
        else:
            kwargs[field] = value
    return Settings(**kwargs)


def expected_topics(app_id: str) -> dict[str, bool]:
    """Every topic the code uses -> whether it is compacted."""
    topics = {name: configs.get("cleanup.policy") == "compact" for name, configs in
              Topics().configs().items()}  # fmt: skip
    settings = Settings.model_construct(app_id=app_id)
    topics |= dict.fromkeys(changelog_topics(settings), True)  # faust table changelogs
    # faust's leader-election topic (faust.assignor.leader_assignor), one partition
    topics[f"{settings.streams_group}-__assignor-__leader"] = False
    return topics


def read_topics_file() -> dict[str, tuple[str, list[str]]]:
    """topics.txt: name -> (partitions, configs)."""
    topics: dict[str, tuple[str, list[str]]] = {}
    for line in TOPICS_FILE.read_text().splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, partitions, configs = line.split()
        assert name not in topics, f"{name} listed twice"
        topics[name] = (partitions, [] if configs == "-" else configs.split(","))
    return topics


def check_command(argv: list[str]) -> None:
    """``argv`` starts a real module (``python -m``) or a real ``symbiosis`` subcommand."""
    if argv[:2] == ["python", "-m"]:
        module = argv[2]
        spec = importlib.util.find_spec(module)
        assert spec is not None, f"no module {module}"
        if spec.submodule_search_locations is not None:  # a package: needs a __main__
            assert importlib.util.find_spec(f"{module}.__main__"), f"{module} has no __main__"
        return
    assert argv[0] == "symbiosis", f"unexpected command {argv}"
    command: Any = typer.main.get_command(cli_app)
    for word in argv[1:]:
        if word.startswith("-"):
            break
        if not hasattr(command, "commands"):
            break  # arguments of a leaf command
        assert word in command.commands, f"`{' '.join(argv)}`: no subcommand {word!r}"
        command = command.commands[word]


# --- Kubernetes -------------------------------------------------------------------------------


def k8s_manifest_files() -> list[Path]:
    return sorted(p for p in K8S.glob("*.yaml") if p.name != "kustomization.yaml")


def k8s_documents() -> list[tuple[str, dict[str, Any]]]:
    docs = []
    for path in k8s_manifest_files():
        docs += [(path.name, d) for d in yaml.safe_load_all(path.read_text()) if d is not None]
    return docs


DOCS = k8s_documents()


def kustomization() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    return data


def by_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for _, d in DOCS if d["kind"] == kind}


def pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    spec: dict[str, Any] = doc["spec"]["template"]["spec"]
    return spec


def workloads() -> Iterator[dict[str, Any]]:
    return (d for _, d in DOCS if d["kind"] in WORKLOAD_KINDS)


def all_containers(doc: dict[str, Any]) -> list[dict[str, Any]]:
    spec = pod_spec(doc)
    return [*spec.get("initContainers", []), *spec["containers"]]


def is_app_image(container: dict[str, Any]) -> bool:
    return bool(container["image"].split(":")[0] == APP_IMAGE)


def app_deployments() -> dict[str, dict[str, Any]]:
    return {
        name: d
        for name, d in by_kind("Deployment").items()
        if any(is_app_image(c) for c in pod_spec(d)["containers"])
    }


def container_env(container: dict[str, Any]) -> dict[str, str | None]:
    """The container's environment: envFrom ConfigMaps, then env (None: from a Secret etc.)."""
    configmaps = by_kind("ConfigMap")
    env: dict[str, str | None] = {}
    for source in container.get("envFrom", []):
        env |= configmaps[source["configMapRef"]["name"]]["data"]
    for var in container.get("env", []):
        env[var["name"]] = var.get("value")
    return env


def symbiosis_config() -> dict[str, str]:
    data: dict[str, str] = by_kind("ConfigMap")["symbiosis-config"]["data"]
    return data


def k8s_partitions() -> int:
    return int(symbiosis_config()["SYMBIOSIS_PARTITIONS"])


def test_k8s_manifests_exist() -> None:
    kinds = {d["kind"] for _, d in DOCS}
    assert {"Namespace", "Deployment", "StatefulSet", "Service", "Job"} <= kinds
    assert {"PodDisruptionBudget", "HorizontalPodAutoscaler", "Secret", "ConfigMap"} <= kinds
    assert "NetworkPolicy" in kinds


@pytest.mark.parametrize(
    "doc", [d for _, d in DOCS], ids=[f"{f}:{d['kind']}/{d['metadata']['name']}" for f, d in DOCS]
)
def test_k8s_document_is_valid(doc: dict[str, Any]) -> None:
    # raises ValidationError (bad or unknown field) or SchemaNotFoundError (unknown kind)
    kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (["spec", "template", "spec", "containers", 0, "livenesProbe"], {}),  # unknown field
        (["spec", "replicas"], "two"),  # wrong type
        (["spec", "template", "metadata", "annotations", "prometheus.io/port"], 9464),
    ],
)
def test_k8s_validation_rejects_mistakes(path: list[Any], value: Any) -> None:
    doc = copy.deepcopy(by_kind("Deployment")["streams"])
    node = doc
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_kustomization_lists_every_manifest() -> None:
    k = kustomization()
    assert k["namespace"] == NAMESPACE
    assert sorted(k["resources"]) == sorted(p.name for p in k8s_manifest_files())
    for generator in k.get("configMapGenerator", []):
        for file in generator["files"]:
            assert (K8S / file).is_file(), file
    assert [i["name"] for i in k["images"]] == [APP_IMAGE]


def test_k8s_documents_are_in_the_namespace() -> None:
    for file, doc in DOCS:
        if doc["kind"] != "Namespace":
            assert doc["metadata"].get("namespace") == NAMESPACE, f"{file}: {doc['kind']}"


def test_k8s_configmaps_and_secrets_exist() -> None:
    configmaps = set(by_kind("ConfigMap"))
    configmaps |= {g["name"] for g in kustomization()["configMapGenerator"]}
    configmaps |= EXTERNAL_CONFIGMAPS
    secrets = by_kind("Secret")
    for doc in workloads():
        name = f"{doc['kind']}/{doc['metadata']['name']}"
        for volume in pod_spec(doc).get("volumes", []):
            sources = volume.get("projected", {}).get("sources", [volume])
            for source in sources:
                if "configMap" in source:
                    assert source["configMap"]["name"] in configmaps, f"{name}: {volume}"
                secret = source.get("secret", {})
                secret_name = secret.get("secretName", secret.get("name"))
                if secret_name in EXTERNAL_SECRETS:
                    continue
                if secret:
                    keys = secrets[secret_name]["stringData"]
                    assert all(i["key"] in keys for i in secret.get("items", [])), name
        for c in all_containers(doc):
            for source in c.get("envFrom", []):
                assert source["configMapRef"]["name"] in by_kind("ConfigMap"), f"{name}"
            for var in c.get("env", []):
                ref = var.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    assert ref["key"] in secrets[ref["name"]]["stringData"], f"{name}: {ref}"


def test_k8s_secrets_are_placeholders() -> None:
    secrets = by_kind("Secret")
    assert secrets
    for name, secret in secrets.items():
        assert "data" not in secret, f"{name}: use stringData templates, not encoded values"
        for key, value in secret["stringData"].items():
            assert "CHANGE_ME" in value, f"{name}.{key} must be a marked placeholder"


def test_k8s_env_names_are_settings() -> None:
    checked = 0
    for doc in workloads():
        for c in filter(is_app_image, all_containers(doc)):
            names = list(container_env(c))
            assert unknown_settings(names) == [], f"{doc['metadata']['name']}/{c['name']}"
            checked += sum(n.startswith("SYMBIOSIS_") for n in names)
    assert checked > 20


def test_k8s_app_settings_parse() -> None:
    for name, doc in app_deployments().items():
        for c in all_containers(doc):
            if is_app_image(c):
                env = {k: v for k, v in container_env(c).items() if v is not None}
                settings = settings_from_env(env)
                assert settings.partitions == k8s_partitions(), name
                assert settings.kafka_bootstrap.count(":9092") == 3, name


def test_k8s_app_commands_exist() -> None:
    for doc in workloads():
        for c in all_containers(doc):
            if is_app_image(c):
                check_command(c["command"])


def test_k8s_app_pods_are_annotated_for_prometheus() -> None:
    deployments = app_deployments()
    assert set(SCRAPED) <= set(deployments)
    for name, doc in deployments.items():
        annotations = doc["spec"]["template"]["metadata"].get("annotations", {})
        assert annotations.get("prometheus.io/scrape") in ("true", "false"), name
        if annotations["prometheus.io/scrape"] == "false":
            assert name not in SCRAPED, name
            continue
        main = pod_spec(doc)["containers"][0]
        ports = {p["containerPort"] for p in main["ports"]}
        assert int(annotations["prometheus.io/port"]) in ports, name
        assert annotations["prometheus.io/path"].startswith("/metrics"), name
        # prometheus-kubernetes.yml names the job symbiosis-<component>, as the rules expect
        assert doc["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/component"] == name
        env = container_env(main)
        assert env["SYMBIOSIS_METRICS_PORT"] == annotations["prometheus.io/port"], name


def test_k8s_replicas_within_partitions() -> None:
    deployments = by_kind("Deployment")
    for name in GROUP_WORKERS:
        assert 1 <= deployments[name]["spec"]["replicas"] <= k8s_partitions(), name
    assert deployments["mqtt-bridge"]["spec"]["replicas"] <= 1
    assert deployments["mqtt-bridge"]["spec"]["strategy"]["type"] == "Recreate"
    topics_config = by_kind("ConfigMap")["kafka-topics-config"]["data"]
    assert int(topics_config["PARTITIONS"]) == k8s_partitions()
    assert topics_config["BOOTSTRAP"] == symbiosis_config()["SYMBIOSIS_KAFKA_BOOTSTRAP"]
    hpa = by_kind("HorizontalPodAutoscaler")["api"]["spec"]
    assert hpa["scaleTargetRef"]["name"] == "api"
    assert "replicas" not in deployments["api"]["spec"], "the HPA owns the API's replicas"


def test_k8s_pod_templates() -> None:
    for doc in workloads():
        name = doc["metadata"]["name"]
        spec = pod_spec(doc)
        # service links would inject e.g. KAFKA_PORT, which the Kafka image turns into a property
        assert spec.get("enableServiceLinks") is False, name
        for c in all_containers(doc):
            assert c["resources"]["requests"], f"{name}/{c['name']}"
            assert c["resources"]["limits"]["memory"], f"{name}/{c['name']}"
        if doc["kind"] != "Job" and name not in NO_PROBES:
            for c in spec["containers"]:
                assert c.get("readinessProbe"), f"{name}/{c['name']}"
                assert c.get("livenessProbe"), f"{name}/{c['name']}"


def test_k8s_stateful_services() -> None:
    services = by_kind("Service")
    statefulsets = by_kind("StatefulSet")
    for name in ("kafka", "timescaledb"):
        governing = services[statefulsets[name]["spec"]["serviceName"]]
        assert governing["spec"]["clusterIP"] == "None", name
        assert statefulsets[name]["spec"]["volumeClaimTemplates"], name
    assert statefulsets["kafka"]["spec"]["replicas"] == 3
    pdbs = {d["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"] for d in
            by_kind("PodDisruptionBudget").values()}  # fmt: skip
    assert {"kafka", *GROUP_WORKERS} <= pdbs
    kafka_env = container_env(pod_spec(statefulsets["kafka"])["containers"][0])
    voters = kafka_env["KAFKA_CONTROLLER_QUORUM_VOTERS"]
    assert voters is not None
    assert len(voters.split(",")) == statefulsets["kafka"]["spec"]["replicas"]
    assert kafka_env["KAFKA_MIN_INSYNC_REPLICAS"] == "2"
    assert kafka_env["KAFKA_DEFAULT_REPLICATION_FACTOR"] == "3"
    # a topic a process creates itself (faust's changelogs) gets as many replicas
    assert "SYMBIOSIS_KAFKA_REPLICATION_FACTOR" in setting_env_names()
    assert symbiosis_config()["SYMBIOSIS_KAFKA_REPLICATION_FACTOR"] == "3"


def test_k8s_processes_that_create_topics_wait_for_them() -> None:
    # the processes would create missing topics themselves, racing the Job
    for name in ("api", "streams", "mqtt-bridge", "delivery"):
        init = pod_spec(by_kind("Deployment")[name]).get("initContainers", [])
        commands = [c["command"] for c in init]
        assert ["/bin/sh", "/topics/kafka-topics.sh", "wait"] in commands, name


def test_k8s_monitoring_matches_deploy_monitoring_files() -> None:
    # checked once the monitoring files exist (they are written separately)
    prometheus = pod_spec(by_kind("StatefulSet")["prometheus"])["containers"][0]
    config = next(a for a in prometheus["args"] if a.startswith("--config.file="))
    config_file = DEPLOY / "prometheus" / Path(config.split("=", 1)[1]).name
    if config_file.parent.is_dir():
        assert config_file.is_file(), config
    grafana = pod_spec(by_kind("Deployment")["grafana"])["containers"][0]
    mounts = {m["name"]: m["mountPath"] for m in grafana["volumeMounts"]}
    for provider_file in (DEPLOY / "grafana" / "provisioning" / "dashboards").glob("*.y*ml"):
        for provider in yaml.safe_load(provider_file.read_text())["providers"]:
            assert provider["options"]["path"] == mounts["dashboards"], provider_file.name
    for source_file in (DEPLOY / "grafana" / "provisioning" / "datasources").glob("*.y*ml"):
        for source in yaml.safe_load(source_file.read_text())["datasources"]:
            host = source["url"].removeprefix("http://").split(":")[0]
            assert host in by_kind("Service"), f"{source_file.name}: {source['url']}"
        for name in re.findall(r"\$__env\{(\w+)\}", source_file.read_text()):
            assert name in container_env(grafana), f"{source_file.name} reads {name}"


# --- Compose ----------------------------------------------------------------------------------


def compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return data


def compose_schema() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(COMPOSE_SCHEMA.read_text())
    return data


def compose_errors(doc: dict[str, Any]) -> list[str]:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]
    # rules the spec keeps apart from the schema: a service has an image or a build
    constraint = schema["definitions"]["constraints"]["service"]
    for name, service in doc.get("services", {}).items():
        errors += [f"{name}: {e.message}" for e in jsonschema.Draft201909Validator(
            constraint).iter_errors(service)]  # fmt: skip
    return errors


def compose_partitions(service: dict[str, Any]) -> int:
    return int(service["environment"]["SYMBIOSIS_PARTITIONS"])


def test_compose_schema_is_the_compose_specification() -> None:
    schema = compose_schema()
    assert schema["title"] == "Compose Specification"
    jsonschema.validators.validator_for(schema).check_schema(schema)


def test_compose_file_is_valid() -> None:
    assert compose_errors(compose()) == []


@pytest.mark.parametrize(
    ("service", "key", "value"),
    [
        ("streams", "replica", 2),  # unknown key
        ("api", "depends_on", {"migrate": {"condition": "service_done"}}),
        ("sink", "healthcheck", {"test": ["CMD", "true"], "intervall": "5s"}),
    ],
)
def test_compose_validation_rejects_mistakes(service: str, key: str, value: Any) -> None:
    doc = compose()
    doc["services"][service][key] = value
    assert compose_errors(doc) != []


def test_compose_depends_on_targets_exist() -> None:
    services = compose()["services"]
    for name, service in services.items():
        for target in service.get("depends_on", {}):
            assert target in services, f"{name} depends on a missing service {target}"
            assert target != name


def test_compose_bind_mounts_exist() -> None:
    mounts = 0
    for name, service in compose()["services"].items():
        for volume in service.get("volumes", []):
            if isinstance(volume, str):
                source = volume.split(":")[0]
                if not source.startswith((".", "/")):
                    continue  # a named volume
            elif volume["type"] == "bind":
                source = volume["source"]
            else:
                continue
            path = (COMPOSE_DIR / source).resolve()
            mounts += 1
            pending = any(path == p or p in path.parents for p in PENDING_MOUNTS)
            assert path.exists() or pending, f"{name}: bind mount {source} does not exist"
    assert mounts >= 4


def test_compose_build_uses_the_dockerfile() -> None:
    for name, service in compose()["services"].items():
        if "build" in service:
            context = (COMPOSE_DIR / service["build"]["context"]).resolve()
            assert context == ROOT, name
            assert (context / service["build"]["dockerfile"]).is_file(), name
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "FROM ${PYTHON_IMAGE}" in dockerfile
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in dockerfile
    assert "pip install ." in dockerfile
    assert "USER 10001" in dockerfile
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert {".venv", ".stack", ".git", "tests"} <= set(ignored)


def test_compose_env_names_are_settings() -> None:
    checked = 0
    for name, service in compose()["services"].items():
        if "build" not in service:
            continue  # not a symbiosis process (Grafana reads SYMBIOSIS_GRAFANA_DB_PASSWORD)
        env = service.get("environment", {})
        assert isinstance(env, dict), f"{name}: use a mapping for environment"
        assert unknown_settings(env) == [], name
        checked += sum(n.startswith("SYMBIOSIS_") for n in env)
    assert checked > 20


def test_compose_app_settings_parse_and_commands_exist() -> None:
    apps = {n: s for n, s in compose()["services"].items() if "build" in s}
    assert {"api", "streams", "sink", "delivery", "migrate", "mqtt-bridge"} <= set(apps)
    for name, service in apps.items():
        # values from .env (${...}) are not known here
        env = {k: str(v) for k, v in service["environment"].items() if "${" not in str(v)}
        settings = settings_from_env(env)
        assert settings.kafka_bootstrap.count(":9092") == 3, name
        check_command(service["command"])


def test_compose_replicas_within_partitions() -> None:
    services = compose()["services"]
    for name in GROUP_WORKERS:
        service = services[name]
        assert 1 <= service["deploy"]["replicas"] <= compose_partitions(service), name
        assert "container_name" not in service, f"{name}: replicas need generated names"
    assert services["mqtt-bridge"]["deploy"]["replicas"] == 1
    assert int(services["topics"]["environment"]["PARTITIONS"]) == compose_partitions(
        services["api"]
    )


def test_compose_startup_order() -> None:
    services = compose()["services"]
    for name in ("api", "streams", "delivery", "mqtt-bridge", "sink"):
        depends = services[name]["depends_on"]
        assert depends["topics"]["condition"] == "service_completed_successfully", name
    assert services["api"]["depends_on"]["migrate"]["condition"] == (
        "service_completed_successfully"
    )
    for broker in ("kafka-0", "kafka-1", "kafka-2"):
        assert services["topics"]["depends_on"][broker]["condition"] == "service_healthy"
        assert "healthcheck" in services[broker]
    for name in ("api", "streams", "sink", "delivery", "timescaledb", "prometheus", "grafana"):
        assert "healthcheck" in services[name], name


def test_compose_monitoring_targets_are_services() -> None:
    # checked once the monitoring files exist (they are written separately)
    services = compose()["services"]
    config_file = DEPLOY / "prometheus" / "prometheus.yml"
    if config_file.is_file():
        for job in yaml.safe_load(config_file.read_text())["scrape_configs"]:
            hosts = [t.split(":")[0] for c in job.get("static_configs", []) for t in c["targets"]]
            hosts += [n for c in job.get("dns_sd_configs", []) for n in c["names"]]
            for host in hosts:
                assert host in services or host == "localhost", f"{job['job_name']}: {host}"
    for source_file in (DEPLOY / "grafana" / "provisioning" / "datasources").glob("*.y*ml"):
        for source in yaml.safe_load(source_file.read_text())["datasources"]:
            host = source["url"].removeprefix("http://").split(":")[0]
            assert host in services, f"{source_file.name}: {source['url']}"
    grafana_env = services["grafana"]["environment"]
    for source_file in (DEPLOY / "grafana" / "provisioning" / "datasources").glob("*.y*ml"):
        for name in re.findall(r"\$__env\{(\w+)\}", source_file.read_text()):
            assert name in grafana_env, f"{source_file.name} reads {name}"


def test_compose_secrets_come_from_the_env_file() -> None:
    services = compose()["services"]
    assert "${" in services["delivery"]["environment"]["SYMBIOSIS_WEBHOOK_SECRET"]
    assert "${" in services["timescaledb"]["environment"]["POSTGRES_PASSWORD"]
    example = (COMPOSE_DIR / ".env.example").read_text().splitlines()
    for line in example:
        key, _, value = line.partition("=")
        if key.endswith(("PASSWORD", "SECRET")):
            assert "CHANGE_ME" in value, key


# --- Topics -----------------------------------------------------------------------------------


def test_topics_file_lists_the_codes_topics() -> None:
    app_id = symbiosis_config()["SYMBIOSIS_APP_ID"]
    assert compose()["services"]["api"]["environment"]["SYMBIOSIS_APP_ID"] == app_id
    listed = read_topics_file()
    expected = expected_topics(app_id)
    assert sorted(listed) == sorted(expected)
    for name, (partitions, configs) in listed.items():
        assert ("cleanup.policy=compact" in configs) == expected[name], name
        assert partitions == ("1" if name.endswith("__leader") else "default"), name


def test_topics_file_gives_the_changelogs_the_codes_configs() -> None:
    app_id = symbiosis_config()["SYMBIOSIS_APP_ID"]
    listed = read_topics_file()
    settings = Settings.model_construct(app_id=app_id)
    for name, configs in changelog_configs(settings).items():
        assert sorted(listed[name][1]) == sorted(f"{k}={v}" for k, v in configs.items()), name


def test_topics_script_syntax() -> None:
    subprocess.run(["sh", "-n", str(TOPICS_SCRIPT)], check=True, timeout=30)


def _fake_kafka(tmp_path: Path, *, topics_exit: int = 0) -> tuple[Path, Path]:
    """A directory of stand-ins for the Kafka tools; the second path logs kafka-topics calls."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(parents=True)
    log = tmp_path / "calls.log"
    # every tool keeps a copy of its --command-config file (the script deletes it at exit)
    keep_config = (
        'prev=; for a in "$@"; do [ "$prev" = --command-config ] && cat "$a" > "'
        f'{log}.config"; prev=$a; done\n'
    )
    tools = {
        "kafka-broker-api-versions.sh": 'for i in 0 1 2; do echo "k$i:9092 (id: $i rack: null)'
        ' -> ("; done\n',
        "kafka-topics.sh": f'echo "$*" >> "{log}"\nexit {topics_exit}\n',
        "kafka-configs.sh": f'echo "$*" >> "{log}"\n',
    }
    for name, body in tools.items():
        tool = bin_dir / name
        tool.write_text("#!/bin/sh\n" + keep_config + body)
        tool.chmod(0o755)
    return bin_dir, log


def _run_topics_script(bin_dir: Path, mode: str, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "BOOTSTRAP": "k0:9092,k1:9092,k2:9092",
        "PARTITIONS": "7",
        "KAFKA_BIN": str(bin_dir),
        "TMPDIR": str(bin_dir.parent),
        **extra,
    }
    return subprocess.run(
        ["sh", str(TOPICS_SCRIPT), mode], env=env, capture_output=True, text=True, timeout=60
    )


def test_topics_script_creates_every_topic_with_rf3(tmp_path: Path) -> None:
    bin_dir, log = _fake_kafka(tmp_path)
    result = _run_topics_script(bin_dir, "create")
    assert result.returncode == 0, result.stdout + result.stderr
    created: dict[str, list[str]] = {}
    for call in log.read_text().splitlines():
        args = call.split()
        assert "--create" in args
        assert "--if-not-exists" in args
        assert args[args.index("--replication-factor") + 1] == "3"
        created[args[args.index("--topic") + 1]] = args
    expected = expected_topics(symbiosis_config()["SYMBIOSIS_APP_ID"])
    assert sorted(created) == sorted(expected)
    for name, args in created.items():
        assert args[args.index("--partitions") + 1] == ("1" if name.endswith("__leader") else "7")
        assert ("cleanup.policy=compact" in args) == expected[name], name


def test_topics_script_waits_and_fails_loudly(tmp_path: Path) -> None:
    bin_dir, log = _fake_kafka(tmp_path)
    assert _run_topics_script(bin_dir, "wait").returncode == 0
    assert all("--describe" in call for call in log.read_text().splitlines())
    failing_dir, _ = _fake_kafka(tmp_path / "failing", topics_exit=1)
    assert _run_topics_script(failing_dir, "create").returncode != 0  # the Job retries
    assert _run_topics_script(bin_dir, "delete").returncode == 2


def test_helpers_catch_mistakes() -> None:
    assert unknown_settings(["SYMBIOSIS_TOPICS__READINGS", "SYMBIOSIS_PARTITIONS", "PATH"]) == []
    assert unknown_settings(["SYMBIOSIS_KAFKA_BOOTSTRAPS", "SYMBIOSIS_TOPICS__READING"]) == [
        "SYMBIOSIS_KAFKA_BOOTSTRAPS",
        "SYMBIOSIS_TOPICS__READING",
    ]
    with pytest.raises(ValueError, match="partitions"):
        settings_from_env({"SYMBIOSIS_PARTITIONS": "twelve"})
    with pytest.raises(AssertionError):
        check_command(["python", "-m", "streams_nope"])
    with pytest.raises(AssertionError):
        check_command(["symbiosis", "db", "migrat"])


def test_sh_is_available() -> None:
    assert shutil.which("sh"), "the topic-script tests need a POSIX sh"


# --- Security: Kafka SASL_SSL, the MQTT bridge's login, the Mosquitto templates ----------------


def secret_ref(container: dict[str, Any], name: str) -> tuple[str, str] | None:
    """(Secret, key) that the container's variable ``name`` comes from, if it is one."""
    for var in container.get("env", []):
        if var["name"] == name:
            ref = var.get("valueFrom", {}).get("secretKeyRef")
            return (ref["name"], ref["key"]) if ref else None
    return None


def mounted(doc: dict[str, Any], container: dict[str, Any], path: str) -> bool:
    """Whether ``path`` lies in one of the container's volume mounts (and the volume exists)."""
    volumes = {v["name"] for v in pod_spec(doc).get("volumes", [])}
    return any(
        m["name"] in volumes and Path(m["mountPath"]) in Path(path).parents
        for m in container.get("volumeMounts", [])
    )


def container(doc: dict[str, Any], name: str) -> dict[str, Any]:
    return next(c for c in all_containers(doc) if c["name"] == name)


def kafka_listeners(env: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """Listener name -> (security protocol, port) of a Kafka node's environment."""
    protocols = dict(p.split(":") for p in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
    ports = {
        listener.split("://")[0]: listener.rsplit(":", 1)[1]
        for listener in env["KAFKA_LISTENERS"].split(",")
    }
    assert set(protocols) == set(ports), env["KAFKA_LISTENERS"]
    return {name: (protocols[name], ports[name]) for name in ports}


def check_kafka_node(env: dict[str, Any], secret_files: set[str], where: str) -> None:
    """Every listener SASL_SSL; clients on 9092 with SCRAM-SHA-512; the TLS files are there."""
    listeners = kafka_listeners(env)
    assert {protocol for protocol, _ in listeners.values()} == {"SASL_SSL"}, where
    client = next(name for name, (_, port) in listeners.items() if port == "9092")
    controller = env["KAFKA_CONTROLLER_LISTENER_NAMES"]
    internal = env["KAFKA_INTER_BROKER_LISTENER_NAME"]
    assert len({client, controller, internal}) == 3, where
    assert env[f"KAFKA_LISTENER_NAME_{client}_SASL_ENABLED_MECHANISMS"] == "SCRAM-SHA-512", where
    for name in (controller, internal):  # SCRAM credentials need the metadata: not for these
        assert env[f"KAFKA_LISTENER_NAME_{name}_SASL_ENABLED_MECHANISMS"] == "PLAIN", where
    assert env["KAFKA_SASL_MECHANISM_CONTROLLER_PROTOCOL"] == "PLAIN", where
    assert env["KAFKA_SASL_MECHANISM_INTER_BROKER_PROTOCOL"] == "PLAIN", where
    advertised = {a.split("://")[0] for a in env["KAFKA_ADVERTISED_LISTENERS"].split(",")}
    assert advertised == {client, internal}, where
    assert "PLAINTEXT" not in env["KAFKA_ADVERTISED_LISTENERS"], where
    # the apache/kafka image reads these from /etc/kafka/secrets
    jaas = re.fullmatch(r"-Djava\.security\.auth\.login\.config=(\S+)", env["KAFKA_OPTS"])
    assert jaas, where
    truststore = env["KAFKA_SSL_TRUSTSTORE_LOCATION"]
    assert env["KAFKA_SSL_TRUSTSTORE_TYPE"] == "PEM", where
    needed = {
        f"/etc/kafka/secrets/{env[k]}"
        for k in ("KAFKA_SSL_KEYSTORE_FILENAME", "KAFKA_SSL_KEYSTORE_CREDENTIALS",
                  "KAFKA_SSL_KEY_CREDENTIALS")
    } | {jaas.group(1), truststore}  # fmt: skip
    assert needed <= secret_files, f"{where}: missing {sorted(needed - secret_files)}"


def jaas_admin(jaas: str) -> tuple[str, str, str]:
    """(username, password, user_admin) of the PLAIN login module of a broker JAAS file."""
    plain = re.search(r"PlainLoginModule required(.*?);", jaas, re.S)
    assert plain, jaas
    options = dict(re.findall(r'(\w+)="([^"]*)"', plain.group(1)))
    assert "ScramLoginModule required;" in jaas
    return options["username"], options["password"], options["user_admin"]


def test_k8s_kafka_listeners_are_sasl_ssl() -> None:
    kafka = by_kind("StatefulSet")["kafka"]
    main = pod_spec(kafka)["containers"][0]
    env = {k: v for k, v in container_env(main).items() if v is not None}
    mounts = {m["name"]: m["mountPath"] for m in main["volumeMounts"]}
    volume = next(v for v in pod_spec(kafka)["volumes"] if v["name"] == "secrets")
    files = {
        f"{mounts['secrets']}/{item['path']}"
        for source in volume["projected"]["sources"]
        for item in source["secret"]["items"]
    }
    check_kafka_node(env, files, "k8s kafka")
    ports = {p["name"]: str(p["containerPort"]) for p in main["ports"]}
    assert {port for _, port in kafka_listeners(env).values()} == set(ports.values())
    headless = by_kind("Service")["kafka-headless"]["spec"]["ports"]
    assert {p["targetPort"] for p in headless} == set(ports)


def test_k8s_kafka_admin_password_is_one_secret() -> None:
    credentials = by_kind("Secret")["kafka-credentials"]["stringData"]
    user, password, accepted = jaas_admin(credentials["kafka_server_jaas.conf"])
    assert (user, password, accepted) == ("admin", credentials["admin-password"], password)
    job = container(by_kind("Job")["kafka-topics"], "create-topics")
    env = container_env(job)
    assert env["SASL_USERNAME"] == user
    assert secret_ref(job, "SASL_PASSWORD") == ("kafka-credentials", "admin-password")


def test_k8s_kafka_clients_log_in() -> None:
    config = symbiosis_config()
    assert config["SYMBIOSIS_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["SYMBIOSIS_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512"
    assert set(KAFKA_SECURITY_SETTINGS) <= setting_env_names()
    user = config["SYMBIOSIS_KAFKA_SASL_USERNAME"]
    password = ("symbiosis-secrets", "kafka-sasl-password")
    deployments = by_kind("Deployment")
    for name in KAFKA_CLIENTS:
        doc = deployments[name]
        main = container(doc, name)
        assert secret_ref(main, "SYMBIOSIS_KAFKA_SASL_PASSWORD") == password, name
        assert mounted(doc, main, config["SYMBIOSIS_KAFKA_SSL_CAFILE"]), name
        for init in pod_spec(doc).get("initContainers", []):
            if init["name"] != "wait-for-topics":
                assert "SASL_PASSWORD" not in container_env(init), f"{name}/{init['name']}"
                continue
            env = container_env(init)
            assert (env["SECURITY_PROTOCOL"], env["SASL_USERNAME"]) == ("SASL_SSL", user), name
            assert secret_ref(init, "SASL_PASSWORD") == password, name
            assert env["SSL_CAFILE"] is not None, name
            assert mounted(doc, init, env["SSL_CAFILE"]), name
    # the Job creates exactly that user, logging in as admin on the inter-broker listener
    job_doc = by_kind("Job")["kafka-topics"]
    job = container(job_doc, "create-topics")
    env = container_env(job)
    assert env["SCRAM_USERNAME"] == user
    assert secret_ref(job, "SCRAM_PASSWORD") == password
    kafka_env = container_env(pod_spec(by_kind("StatefulSet")["kafka"])["containers"][0])
    internal = kafka_listeners(kafka_env)[str(kafka_env["KAFKA_INTER_BROKER_LISTENER_NAME"])]
    bootstrap = config["SYMBIOSIS_KAFKA_BOOTSTRAP"]
    assert env["BOOTSTRAP"] == bootstrap.replace(":9092", f":{internal[1]}")
    assert env["SSL_CAFILE"] is not None
    assert mounted(job_doc, job, env["SSL_CAFILE"])


def test_k8s_mqtt_bridge_logs_in_over_tls() -> None:
    assert set(MQTT_SECURITY_SETTINGS) <= setting_env_names()
    doc = by_kind("Deployment")["mqtt-bridge"]
    main = container(doc, "mqtt-bridge")
    env = container_env(main)
    assert set(MQTT_SECURITY_SETTINGS) <= set(env)
    assert secret_ref(main, "SYMBIOSIS_MQTT_PASSWORD") == ("symbiosis-secrets", "mqtt-password")
    settings = settings_from_env({k: v for k, v in env.items() if v is not None})
    assert settings.mqtt_tls is True
    assert settings.mqtt_tls_insecure is False
    assert settings.mqtt_port == 8883
    assert settings.mqtt_username == mosquitto_bridge_user()
    assert settings.mqtt_topic_root == mosquitto_root()
    assert settings.mqtt_ca_file is not None
    assert mounted(doc, main, str(settings.mqtt_ca_file))


def compose_secret_targets(service: dict[str, Any]) -> dict[str, str]:
    """Path in the container -> top-level secret, of a service's secrets."""
    targets: dict[str, str] = {}
    for entry in service.get("secrets", []):
        source = entry if isinstance(entry, str) else entry["source"]
        target = source if isinstance(entry, str) else entry.get("target", source)
        targets[target if target.startswith("/") else f"/run/secrets/{target}"] = source
    return targets


def test_compose_secrets_are_defined_and_kept_out_of_git() -> None:
    doc = compose()
    defined = doc["secrets"]
    used: set[str] = set()
    for name, service in doc["services"].items():
        for source in compose_secret_targets(service).values():
            assert source in defined, f"{name}: secret {source} is not defined"
            used.add(source)
    assert used == set(defined)
    for name, secret in defined.items():
        path = (COMPOSE_DIR / secret["file"]).resolve()
        assert path.parent == COMPOSE_SECRETS_DIR, f"{name}: keep it in {COMPOSE_SECRETS_DIR}"
    ignored = [
        line for line in (COMPOSE_SECRETS_DIR / ".gitignore").read_text().splitlines()
        if line and not line.startswith("#")
    ]  # fmt: skip
    assert ignored == ["*", "!.gitignore"]


def test_compose_kafka_listeners_are_sasl_ssl() -> None:
    services = compose()["services"]
    for broker in ("kafka-0", "kafka-1", "kafka-2"):
        service = services[broker]
        env = {k: str(v) for k, v in service["environment"].items()}
        check_kafka_node(env, set(compose_secret_targets(service)), broker)
        assert f"://{broker}:9092" in env["KAFKA_ADVERTISED_LISTENERS"], broker
        assert "ports" not in service, f"{broker}: Kafka is not published on the host"


def test_compose_kafka_clients_log_in() -> None:
    services = compose()["services"]
    assert set(KAFKA_SECURITY_SETTINGS) <= setting_env_names()
    for name, service in services.items():
        if "build" not in service:
            continue
        env = service["environment"]
        assert env["SYMBIOSIS_KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL", name
        assert env["SYMBIOSIS_KAFKA_SASL_MECHANISM"] == "SCRAM-SHA-512", name
        assert "${KAFKA_SASL_PASSWORD" in env["SYMBIOSIS_KAFKA_SASL_PASSWORD"], name
        assert env["SYMBIOSIS_KAFKA_SSL_CAFILE"] in compose_secret_targets(service), name
        # a topic a process creates itself (faust's changelogs) is replicated like the others
        replicas = services["kafka-0"]["environment"]["KAFKA_DEFAULT_REPLICATION_FACTOR"]
        assert env["SYMBIOSIS_KAFKA_REPLICATION_FACTOR"] == replicas == "3", name
    topics = services["topics"]
    env = topics["environment"]
    api_env = services["api"]["environment"]
    assert env["SCRAM_USERNAME"] == api_env["SYMBIOSIS_KAFKA_SASL_USERNAME"]
    assert env["SCRAM_PASSWORD"] == api_env["SYMBIOSIS_KAFKA_SASL_PASSWORD"]
    assert (env["SECURITY_PROTOCOL"], env["SASL_MECHANISM"]) == ("SASL_SSL", "PLAIN")
    assert env["SSL_CAFILE"] in compose_secret_targets(topics)
    internal = kafka_listeners(services["kafka-0"]["environment"])["INTERNAL"][1]
    assert env["BOOTSTRAP"] == api_env["SYMBIOSIS_KAFKA_BOOTSTRAP"].replace(":9092", f":{internal}")


def test_compose_mqtt_bridge_logs_in_over_tls() -> None:
    service = compose()["services"]["mqtt-bridge"]
    env = service["environment"]
    assert set(MQTT_SECURITY_SETTINGS) <= set(env)
    assert set(MQTT_SECURITY_SETTINGS) <= setting_env_names()
    assert "${MQTT_PASSWORD" in env["SYMBIOSIS_MQTT_PASSWORD"]
    assert env["SYMBIOSIS_MQTT_TLS"] == "true"
    assert env["SYMBIOSIS_MQTT_CA_FILE"] in compose_secret_targets(service)
    assert "SYMBIOSIS_MQTT_TLS_INSECURE" not in env
    defaults = dict(re.findall(r"\$\{(\w+):-([^}]*)\}", " ".join(map(str, env.values()))))
    assert defaults["MQTT_PORT"] == "8883"
    assert defaults["MQTT_USERNAME"] == mosquitto_bridge_user()
    assert defaults["MQTT_TOPIC_ROOT"] == mosquitto_root()


def test_compose_variables_are_in_the_env_example() -> None:
    example = {
        line.partition("=")[0]
        for line in (COMPOSE_DIR / ".env.example").read_text().splitlines()
        if line and not line.startswith("#")
    }
    used = set(re.findall(r"\$\{(\w+)", COMPOSE_FILE.read_text()))
    assert used - example == set()


def mosquitto_lines(name: str) -> list[list[str]]:
    text = (MOSQUITTO_DIR / name).read_text()
    return [line.split() for line in text.splitlines() if line.strip() and line[0] != "#"]


def mosquitto_root() -> str:
    patterns = [words for words in mosquitto_lines("acl") if words[0] == "pattern"]
    patterns = [words for words in patterns if words[1] == "write"]
    patterns = [words for words in patterns if not words[2].startswith(f"{UMH_PREFIX}/")]
    patterns = [words for words in patterns if not words[2].startswith(f"{SPARKPLUG}/")]
    assert len(patterns) == 1, patterns
    root = re.fullmatch(r"(.+)/%u/#", patterns[0][2])
    assert root, patterns
    return root.group(1)


def mosquitto_bridge_user() -> str:
    users = [words[1] for words in mosquitto_lines("acl") if words[0] == "user"]
    assert len(users) == 1, users
    return users[0]


def test_mosquitto_conf_denies_anonymous_and_plaintext() -> None:
    lines = mosquitto_lines("mosquitto.conf")
    options = {words[0]: words[1:] for words in lines if words[0] != "listener"}
    assert options["allow_anonymous"] == ["false"]
    assert options["per_listener_settings"] == ["false"]
    assert options["password_file"]
    assert Path(options["acl_file"][0]).name == "acl"
    listeners = [words[1:] for words in lines if words[0] == "listener"]
    assert listeners == [["8883"]], "one listener, TLS on 8883 (plaintext only on loopback)"
    for key in ("cafile", "certfile", "keyfile"):
        assert options[key][0].startswith("/"), key
    assert options["tls_version"] == ["tlsv1.2"]


def test_mosquitto_acl_confines_each_company() -> None:
    lines = mosquitto_lines("acl")
    # the pattern applies to every user; before the first `user` line nothing else is granted
    first_user = next(i for i, words in enumerate(lines) if words[0] == "user")
    assert [w for w in lines[:first_user] if w[0] == "topic"] == [], "no anonymous topics"
    assert lines[first_user:] == [["user", mosquitto_bridge_user()],
                                  ["topic", "read", f"{mosquitto_root()}/#"],
                                  ["topic", "read", f"{UMH_PREFIX}/#"],
                                  ["topic", "read", f"{SPARKPLUG}/#"],
                                  ["topic", "write", f"{SPARKPLUG}/+/NCMD/#"],
                                  ["topic", "write", f"{SPARKPLUG}/STATE/#"]]  # fmt: skip
    patterns = [words for words in lines if words[0] == "pattern"]
    # companies write only under their own trees; of Sparkplug they read only their own
    # nodes' commands and the host's STATE (no readings of anyone)
    assert patterns == [["pattern", "write", f"{mosquitto_root()}/%u/#"],
                        ["pattern", "write", f"{UMH_PREFIX}/%u/#"],
                        ["pattern", "write", f"{SPARKPLUG}/%u/#"],
                        ["pattern", "read", f"{SPARKPLUG}/%u/NCMD/#"],
                        ["pattern", "read", f"{SPARKPLUG}/%u/DCMD/#"],
                        ["pattern", "read", f"{SPARKPLUG}/STATE/#"]]  # fmt: skip
    assert mosquitto_root() == Settings().mqtt_topic_root


def test_topics_script_logs_in_with_sasl(tmp_path: Path) -> None:
    bin_dir, log = _fake_kafka(tmp_path)
    login = {
        "SECURITY_PROTOCOL": "SASL_SSL",
        "SASL_MECHANISM": "PLAIN",
        "SASL_USERNAME": "admin",
        "SASL_PASSWORD": "a1b2",
        "SSL_CAFILE": "/ca/ca.crt",
    }
    result = _run_topics_script(bin_dir, "create", **login, SCRAM_USERNAME="symbiosis",
                                SCRAM_PASSWORD="c3d4")  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    calls = log.read_text().splitlines()
    assert calls[0].split()[-6:] == ["--entity-type", "users", "--entity-name", "symbiosis",
                                     "--add-config", "SCRAM-SHA-512=[password=c3d4]"]  # fmt: skip
    assert len(calls) == 1 + len(read_topics_file())
    assert all("--command-config" in call for call in calls)
    config = (log.parent / f"{log.name}.config").read_text().splitlines()
    assert config == [
        "security.protocol=SASL_SSL",
        "sasl.mechanism=PLAIN",
        "sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required "
        'username="admin" password="a1b2";',
        "ssl.truststore.type=PEM",
        "ssl.truststore.location=/ca/ca.crt",
    ]
    assert list(tmp_path.glob("kafka-client.*")) == [], "the password file is removed"
    # waiting never creates users, and logs in the same way (SCRAM by default)
    log.unlink()
    wait = _run_topics_script(bin_dir, "wait", **(login | {"SASL_MECHANISM": "SCRAM-SHA-512"}),
                              SCRAM_USERNAME="symbiosis", SCRAM_PASSWORD="c3d4")  # fmt: skip
    assert wait.returncode == 0, wait.stderr
    assert all("--describe" in call for call in log.read_text().splitlines())
    assert "ScramLoginModule" in (log.parent / f"{log.name}.config").read_text()


@pytest.mark.parametrize(
    "env",
    [
        {"SECURITY_PROTOCOL": "SSL"},
        {"SECURITY_PROTOCOL": "SASL_SSL", "SASL_USERNAME": "admin", "SASL_PASSWORD": 'x"y'},
        {"SECURITY_PROTOCOL": "SASL_SSL", "SASL_USERNAME": "admin"},
        {"SECURITY_PROTOCOL": "SASL_SSL", "SASL_USERNAME": "a", "SASL_PASSWORD": "p",
         "SASL_MECHANISM": "GSSAPI"},
        {"SCRAM_USERNAME": "symbiosis", "SCRAM_PASSWORD": "a,b]"},
    ],
)  # fmt: skip
def test_topics_script_refuses_bad_logins(tmp_path: Path, env: dict[str, str]) -> None:
    bin_dir, log = _fake_kafka(tmp_path)
    result = _run_topics_script(bin_dir, "create", **env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert not log.exists() or "--create" not in log.read_text()


# --- NetworkPolicies ----------------------------------------------------------------------------


OUTSIDE = "<outside the namespace>"


class Pod:
    """A workload's pod template: its labels and its container ports."""

    def __init__(self, doc: dict[str, Any] | None) -> None:
        self.name = OUTSIDE if doc is None else doc["metadata"]["name"]
        self.labels: dict[str, str] | None = (
            None if doc is None else doc["spec"]["template"]["metadata"]["labels"]
        )
        self.ports: dict[str, tuple[int, str]] = {}
        if doc is not None:
            for c in all_containers(doc):
                for p in c.get("ports", []):
                    self.ports[p.get("name", str(p["containerPort"]))] = (
                        p["containerPort"], p.get("protocol", "TCP"))  # fmt: skip

    def __repr__(self) -> str:
        return self.name


def pods() -> dict[str, Pod]:
    return {d["metadata"]["name"]: Pod(d) for d in workloads()}


def network_policies() -> list[dict[str, Any]]:
    return list(by_kind("NetworkPolicy").values())


def selects(selector: dict[str, Any], labels: dict[str, str] | None) -> bool:
    """Whether a label selector selects a pod of the namespace with these labels."""
    if labels is None:
        return False
    assert set(selector) <= {"matchLabels", "matchExpressions"}, selector
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        present, value = e["key"] in labels, labels.get(e["key"])
        ok = {"In": present and value in e.get("values", []),
              "NotIn": not present or value not in e.get("values", []),
              "Exists": present, "DoesNotExist": not present}[e["operator"]]  # fmt: skip
        if not ok:
            return False
    return True


def peer_matches(peer: dict[str, Any], pod: Pod) -> bool:
    # only pod selectors (this namespace) and ipBlocks (outside) are used here
    assert set(peer) in ({"podSelector"}, {"ipBlock"}), peer
    if "ipBlock" in peer:
        return pod.labels is None
    return selects(peer["podSelector"], pod.labels)


def port_matches(ports: list[dict[str, Any]] | None, dst: Pod, port: int, protocol: str) -> bool:
    if not ports:
        return True
    for p in ports:
        if p.get("protocol", "TCP") != protocol:
            continue
        wanted = p.get("port")
        if isinstance(wanted, str):  # a named port of the destination pod
            if wanted in dst.ports and dst.ports[wanted] == (port, protocol):
                return True
        elif wanted is None or wanted == port:
            return True
    return False


def rules(direction: str, pod: Pod) -> list[dict[str, Any]] | None:
    """The rules of every policy of that direction selecting the pod; None: none selects it."""
    selecting = [
        p for p in network_policies()
        if direction in p["spec"]["policyTypes"] and selects(p["spec"]["podSelector"], pod.labels)
    ]  # fmt: skip
    if not selecting:
        return None
    return [r for p in selecting for r in p["spec"].get(direction.lower(), [])]


def allowed(src: Pod, dst: Pod, port: int, protocol: str = "TCP") -> bool:
    """Whether the policies let ``src`` open a connection to ``dst`` on that port."""
    out = rules("Egress", src)
    if out is not None and not any(
        ("to" not in r or any(peer_matches(q, dst) for q in r["to"]))
        and port_matches(r.get("ports"), dst, port, protocol)
        for r in out
    ):
        return False
    into = rules("Ingress", dst)
    if dst.labels is None or into is None:
        return True
    return any(
        ("from" not in r or any(peer_matches(q, src) for q in r["from"]))
        and port_matches(r.get("ports"), dst, port, protocol)
        for r in into
    )


def test_network_policies_are_explicit_and_used() -> None:
    policies = network_policies()
    assert policies
    deny = [p for p in policies if p["spec"]["podSelector"] == {}]
    assert len(deny) == 1
    assert deny[0]["spec"]["policyTypes"] == ["Ingress"]
    assert "ingress" not in deny[0]["spec"], "the default policy allows nothing"
    everything = list(pods().values())
    for policy in policies:
        name = policy["metadata"]["name"]
        assert policy["spec"]["policyTypes"], name  # never implied
        for direction in policy["spec"]["policyTypes"]:
            assert direction in ("Ingress", "Egress"), name
        assert any(selects(policy["spec"]["podSelector"], p.labels) for p in everything), name


def test_every_deployment_and_statefulset_is_selected() -> None:
    for kind in ("Deployment", "StatefulSet"):
        for name, doc in by_kind(kind).items():
            pod = Pod(doc)
            specific = [p["metadata"]["name"] for p in network_policies()
                        if p["spec"]["podSelector"] and selects(p["spec"]["podSelector"],
                                                                pod.labels)]  # fmt: skip
            assert rules("Ingress", pod) is not None, f"{kind}/{name}: not under default deny"
            assert specific, f"{kind}/{name}: no policy of its own"


P = pods()
NEEDED_FLOWS = [
    # the API on its port, from anywhere (ingress controller), and Prometheus scraping it
    (OUTSIDE, "api", 18080), ("prometheus", "api", 9464),
    # Prometheus scrapes the metrics ports
    ("prometheus", "streams", 9464), ("prometheus", "sink", 9464), ("prometheus", "delivery", 9464),
    # Kafka clients, and the brokers among themselves
    ("api", "kafka", 9092), ("streams", "kafka", 9092), ("sink", "kafka", 9092),
    ("delivery", "kafka", 9092), ("mqtt-bridge", "kafka", 9092),
    ("kafka", "kafka", 9093), ("kafka", "kafka", 9094), ("kafka-topics", "kafka", 9094),
    # the database
    ("sink", "timescaledb", 5432), ("api", "timescaledb", 5432),
    ("symbiosis-migrate", "timescaledb", 5432), ("grafana", "timescaledb", 5432),
    # Grafana and its datasource
    (OUTSIDE, "grafana", 3000), ("grafana", "prometheus", 9090),
    # the bridge to the MQTT broker (outside), with DNS
    ("mqtt-bridge", OUTSIDE, 8883),
    # webhook delivery to subscribers (public https only; the app's SSRF guard refuses the rest)
    ("delivery", OUTSIDE, 443),
]  # fmt: skip
DENIED_FLOWS = [
    (OUTSIDE, "kafka", 9092), (OUTSIDE, "timescaledb", 5432), (OUTSIDE, "streams", 9464),
    (OUTSIDE, "prometheus", 9090), (OUTSIDE, "kafka", 9093), (OUTSIDE, "api", 9464),
    ("api", "kafka", 9093), ("api", "kafka", 9094), ("streams", "kafka", 9094),
    ("kafka-topics", "kafka", 9093), ("grafana", "kafka", 9092), ("prometheus", "kafka", 9092),
    ("streams", "timescaledb", 5432), ("delivery", "timescaledb", 5432),
    ("mqtt-bridge", "timescaledb", 5432), ("prometheus", "timescaledb", 5432),
    ("api", "sink", 9464), ("grafana", "streams", 9464), ("api", "prometheus", 9090),
    ("mqtt-bridge", OUTSIDE, 1883), ("mqtt-bridge", OUTSIDE, 443), ("mqtt-bridge", "api", 18080),
    ("delivery", OUTSIDE, 80), ("delivery", "api", 18080), ("delivery", "prometheus", 9090),
]  # fmt: skip


def _pod(name: str) -> Pod:
    return Pod(None) if name == OUTSIDE else P[name]


@pytest.mark.parametrize(("src", "dst", "port"), NEEDED_FLOWS)
def test_network_policies_allow(src: str, dst: str, port: int) -> None:
    assert allowed(_pod(src), _pod(dst), port), f"{src} -> {dst}:{port} is blocked"


@pytest.mark.parametrize(("src", "dst", "port"), DENIED_FLOWS)
def test_network_policies_deny(src: str, dst: str, port: int) -> None:
    assert not allowed(_pod(src), _pod(dst), port), f"{src} -> {dst}:{port} is open"


def test_the_bridge_resolves_names() -> None:
    bridge = P["mqtt-bridge"]
    assert allowed(bridge, Pod(None), 53, "UDP")
    assert allowed(bridge, Pod(None), 53, "TCP")


def test_every_service_port_is_reachable() -> None:
    # a default deny must not cut a Service off: some pod (or the outside) may reach each port
    sources = [Pod(None), *P.values()]
    for name, service in by_kind("Service").items():
        targets = [p for p in P.values() if selects(
            {"matchLabels": service["spec"]["selector"]}, p.labels)]  # fmt: skip
        assert targets, name
        for port in service["spec"]["ports"]:
            for dst in targets:
                number, protocol = dst.ports[port["targetPort"]]
                reachable = any(allowed(src, dst, number, protocol) for src in sources)
                assert reachable, f"{name}:{port['name']} ({dst}) is reachable from nowhere"


def test_processes_reach_what_they_are_configured_with() -> None:
    # derived from the manifests rather than listed: Kafka exactly for the pods given a Kafka
    # password (on the ports of the bootstrap servers they are given), the database exactly
    # for the pods with a database URL (and Grafana's datasource)
    for doc in workloads():
        src = P[doc["metadata"]["name"]]
        envs = [container_env(c) for c in all_containers(doc)]
        kafka_ports: set[int] = set()
        for env in envs:
            if "SYMBIOSIS_KAFKA_SASL_PASSWORD" in env:
                kafka_ports |= {int(b.rsplit(":", 1)[1]) for b in
                                str(env["SYMBIOSIS_KAFKA_BOOTSTRAP"]).split(",")}  # fmt: skip
            if "SASL_PASSWORD" in env:  # kafka-topics.sh
                kafka_ports |= {int(b.rsplit(":", 1)[1]) for b in str(env["BOOTSTRAP"]).split(",")}
        if src.name != "kafka":
            for port in (9092, 9093, 9094):
                assert allowed(src, P["kafka"], port) == (port in kafka_ports), f"{src}:{port}"
        database = any("SYMBIOSIS_DATABASE_URL" in env for env in envs)
        if src.name not in ("timescaledb", "grafana"):
            assert allowed(src, P["timescaledb"], 5432) == database, f"{src} -> database"
