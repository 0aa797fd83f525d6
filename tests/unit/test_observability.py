"""Prometheus rules and Grafana dashboards in deploy/: they parse, name metrics the code
exports and point at provisioned data sources (their SQL runs in
tests/integration/test_dashboard_sql.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import promql_parser
import pytest
import yaml
from prometheus_client import REGISTRY

import runtime.metrics  # noqa: F401 - registers every metric of the project

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
DASHBOARDS = sorted((DEPLOY / "grafana" / "dashboards").glob("*.json"))


def _exported_names() -> set[str]:
    names = {"up"}
    for collector in list(REGISTRY._collector_to_names):
        for family in collector.collect():
            names.update(sample.name for sample in family.samples)
            names.add(family.name)
            if family.type == "histogram":
                names.update(f"{family.name}_{s}" for s in ("bucket", "sum", "count"))
            if family.type == "counter":
                names.add(f"{family.name}_total")
    return {n for n in names if n.startswith("symbiosis_") or n == "up"}


def _metrics_in(expr: str) -> set[str]:
    """Metric names an expression selects (parsing it: a syntax error fails the test)."""
    promql_parser.parse(expr)  # raises ValueError with the position of the error
    return set(re.findall(r"\b(symbiosis_[a-z_]+|up)\b(?=\s*[{\[)\s]|$)", expr))


def _rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load((DEPLOY / "prometheus" / "rules.yml").read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def test_alert_rules_parse_and_use_exported_metrics() -> None:
    exported = _exported_names()
    rules = _rules()
    assert {"SymbiosisConsumerLagGrowing", "SymbiosisDeadLetters", "SymbiosisStaleMeters"} <= {
        r["alert"] for r in rules
    }
    for rule in rules:
        used = _metrics_in(rule["expr"])
        assert used, rule["alert"]
        assert used <= exported, (rule["alert"], used - exported)
        assert rule["annotations"]["summary"], rule["alert"]
        assert rule["labels"]["severity"] in {"info", "warning", "critical"}


def test_a_broken_expression_is_caught() -> None:
    with pytest.raises(ValueError, match="parenthesis"):
        _metrics_in("sum by (group (symbiosis_consumer_lag_records")


def test_prometheus_configs_load_the_rules_and_scrape_every_process() -> None:
    for name in ("prometheus.yml", "prometheus-kubernetes.yml"):
        doc = yaml.safe_load((DEPLOY / "prometheus" / name).read_text())
        assert doc["rule_files"] == ["/etc/prometheus/rules.yml"], name
    compose = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    jobs = {j["job_name"] for j in compose["scrape_configs"]}
    assert {f"symbiosis-{p}" for p in ("api", "streams", "sink", "delivery")} <= jobs


def test_dashboards_are_provisioned_and_their_prometheus_queries_are_valid() -> None:
    sources = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "datasources.yml").read_text()
    )["datasources"]
    uids = {s["uid"] for s in sources}
    exported = _exported_names()
    assert [p.name for p in DASHBOARDS] == ["park.json", "pipeline.json"]
    for path in DASHBOARDS:
        board = json.loads(path.read_text())
        ids = [p["id"] for p in board["panels"]]
        assert len(ids) == len(set(ids)), path.name
        for p in board["panels"]:
            for t in p["targets"]:
                assert t["datasource"]["uid"] in uids, (path.name, p["title"])
                if "expr" in t:
                    used = _metrics_in(t["expr"])
                    assert used, p["title"]
                    assert used <= exported, (p["title"], used - exported)
