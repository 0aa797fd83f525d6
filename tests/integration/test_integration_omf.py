"""OMF 1.1/1.2 over HTTP against the real API, Kafka, the sink and PostgreSQL.

An AVEVA PI adapter's sequence (types, containers, data; gzip; the headers of the
specification's examples, osisoft/OMF-Docs) reaches the readings table once; bad input is
refused with a clear reason and lands on the rejected topic; another company's meter is
refused; types and containers survive a restart of the API (a new process reads them back
from their compacted topic); 413 over 192 KB; 503 when Kafka does not take the records.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient

from ingest.api.app import create_app
from ingest.api.services import Services
from runtime.settings import Settings
from schemas.omf import OmfRecord
from schemas.rejections import Rejection
from tests.api_env import DISCLOSING, SUPPLIER, ApiEnv, api_env
from tests.helpers import KafkaAway, consume_all, isolated, scalar, wait_for

pytestmark = pytest.mark.integration

# types-message example of the specification (types/type-message-example.md), plus a dynamic
# type of the same shape whose values are flows (FlowMeasurement) and one with two
# properties mapped by tags (GasMeasurement)
TYPES: list[dict[str, Any]] = [
    {"id": "Plant", "version": "1.0.0.0", "type": "object", "classification": "static",
     "extrapolation": "all", "properties": {
         "PlantId": {"type": "string", "isindex": True},
         "PlantName": {"type": "string", "isname": True},
         "Address": {"type": "string"}, "Contact": {"type": "string"}}},
    {"id": "TankPressure", "version": "1.0.0.0", "type": "object", "classification": "dynamic",
     "extrapolation": "forward", "properties": {
         "Timestamp": {"type": "string", "format": "date-time", "isindex": True},
         "Pressure": {"type": "number", "name": "Tank Pressure", "uom": "pascal",
                      "interpolation": "continuous", "maximum": 20, "minimum": 10}}},
    {"id": "FlowMeasurement", "version": "1.0.0.0", "type": "object",
     "classification": "dynamic", "properties": {
         "Timestamp": {"type": "string", "format": "date-time", "isindex": True},
         "Flow": {"type": ["number", "null"], "format": "float64", "uom": "m3/h"}}},
    {"id": "GasMeasurement", "type": "object", "classification": "dynamic", "properties": {
        "Time": {"type": "string", "format": "date-time", "isindex": True},
        "FuelGas": {"type": "number", "uom": "m3/h"},
        "Quality": {"type": "integer", "isquality": True}}},
]  # fmt: skip

PI_HEADERS = {"messageformat": "json", "omfversion": "1.2", "action": "create",
              "X-Requested-With": "XMLHttpRequest"}  # fmt: skip


@pytest.fixture(scope="module")
def env(stack: Settings) -> Iterator[ApiEnv]:
    with api_env(isolated(stack, "omf")) as e:
        yield e


def omf(client: TestClient, env: ApiEnv, messagetype: str, items: Any, *, who: str = SUPPLIER,
        compress: bool = True, path: str = "/omf", **headers: str) -> Any:  # fmt: skip
    """POST an OMF message as a PI adapter does: gzip, no JSON content type."""
    body = orjson.dumps(items)
    extra = {"compression": "gzip"} if compress else {"Content-Type": "application/json"}
    if compress:
        body = gzip.compress(body)
    return client.post(path, content=body, headers={
        **env.auth(who), **PI_HEADERS, "messagetype": messagetype, **extra, **headers})  # fmt: skip


def _values(start: datetime, n: int, prop: str = "Flow", index: str = "Timestamp",
            value: float = 310.0) -> list[dict[str, Any]]:  # fmt: skip
    return [{index: (start + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
             prop: value + i} for i in range(n)]  # fmt: skip


def _count(env: ApiEnv, meter: str, since: datetime, until: datetime | None = None) -> int:
    end = f" AND ts < '{until.isoformat()}'" if until is not None else ""
    return scalar(env.settings, f"SELECT count(*) FROM readings WHERE meter = '{meter}'"
                  f" AND ts >= '{since.isoformat()}'{end}")  # fmt: skip


def _rejections(env: ApiEnv) -> list[Rejection]:
    """Every rejection of the module's topic so far (read for a few seconds)."""
    raw = consume_all(env.settings, env.settings.topics.rejected, 100_000, timeout_s=8)
    return [Rejection.model_validate_json(v) for v in raw]


def test_a_pi_adapters_types_containers_and_gzip_data_are_stored_once(env: ApiEnv) -> None:
    r = omf(env.client, env, "type", TYPES)
    assert r.status_code == 200, r.text
    assert r.json()["applied"] == 4
    containers = [{"id": "refinery-cooling-water", "typeid": "FlowMeasurement",
                   "datasource": "Modbus", "indexes": ["Flow"]}]  # fmt: skip
    r = omf(env.client, env, "container", containers, path="/piwebapi/omf")
    assert r.status_code == 200, r.text
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
    data = [
        {"typeid": "Plant", "values": [{"PlantId": "KR", "PlantName": "Kalundborg refinery"}]},
        {"typeid": "__Link", "values": [{"source": {"typeid": "Plant", "index": "KR"},
                                         "target": {"containerid": "refinery-cooling-water"}}]},
        {"containerid": "refinery-cooling-water", "values": _values(t0, 50)},
    ]  # fmt: skip
    r = omf(env.client, env, "data", data)
    assert r.status_code == 200, r.text
    assert (r.json()["accepted"], r.json()["ignored"]) == (50, 2)
    wait_for(lambda: _count(env, "refinery-cooling-water", t0) == 50, 30, "50 OMF readings")
    # the adapter restarts and sends everything again: nothing is stored twice
    assert omf(env.client, env, "type", TYPES).json()["unchanged"] == 4
    assert omf(env.client, env, "container", containers).json()["unchanged"] == 1
    assert omf(env.client, env, "data", data).json()["accepted"] == 50
    # a later value on the same stream (same partition, so stored after the repeat)
    marker = [
        {"containerid": "refinery-cooling-water", "values": _values(t0 + timedelta(minutes=5), 1)}
    ]
    assert omf(env.client, env, "data", marker, compress=False).status_code == 200
    wait_for(lambda: _count(env, "refinery-cooling-water", t0) >= 51, 30, "the marker")
    assert _count(env, "refinery-cooling-water", t0) == 51


def test_two_properties_map_by_tags_with_quality(env: ApiEnv) -> None:
    site = next(s for s in env.park.sites if s.id == "refinery").model_dump(mode="json")
    site["tag_map"] = {"KR-GAS.FuelGas": "refinery-fuel-gas"}
    assert env.client.put("/v1/sites/refinery", json=site,
                          headers=env.auth(SUPPLIER)).status_code == 200  # fmt: skip
    assert omf(env.client, env, "type", TYPES).status_code == 200
    r = omf(env.client, env, "container", [{"id": "KR-GAS", "typeid": "GasMeasurement"}])
    assert r.status_code == 200, r.text
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    values = _values(t0, 3, prop="FuelGas", index="Time", value=2900.0)
    values[1]["Quality"] = 2147483648  # OPC UA Bad
    r = omf(env.client, env, "data", [{"containerid": "KR-GAS", "values": values}])
    assert (r.status_code, r.json()["accepted"]) == (200, 3), r.text
    wait_for(lambda: _count(env, "refinery-fuel-gas", t0) == 3, 30, "3 tagged readings")
    bad = scalar(env.settings, "SELECT count(*) FROM readings WHERE meter = 'refinery-fuel-gas'"
                 f" AND ts >= '{t0.isoformat()}' AND quality = 'bad'")  # fmt: skip
    assert bad == 1


def test_bad_values_are_refused_named_and_on_the_rejected_topic(env: ApiEnv) -> None:
    kf = "kalundborg-forsyning"
    assert omf(env.client, env, "type", TYPES, who=kf).status_code == 200
    effluent = [{"id": "kf-treated-effluent", "typeid": "FlowMeasurement"}]
    assert omf(env.client, env, "container", effluent, who=kf).status_code == 200
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=5)
    values = _values(t0, 3)
    values[1]["Timestamp"] = "2026-01-01T00:00:00"  # no timezone
    values[2]["Flow"] = "lots"
    data = [{"containerid": "kf-treated-effluent", "values": values},
            {"containerid": "Tank1_PressureMeasurements", "values": _values(t0, 1)}]  # fmt: skip
    r = omf(env.client, env, "data", data, who=kf)
    assert r.status_code == 200  # partly accepted: a client must not resend the accepted part
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (1, 3)
    assert [e["field"] for e in body["errors"]] == [
        "[0].values[1].Timestamp", "[0].values[2].Flow", "[1].containerid"]  # fmt: skip
    sources = {x.source for x in _rejections(env)}
    assert {"POST /omf (data create) [0].values[1]", "POST /omf (data create) [1]"} <= sources
    wait_for(lambda: _count(env, "kf-treated-effluent", t0) == 1, 30, "the valid reading")


def test_another_companys_meter_is_refused(env: ApiEnv) -> None:
    omf(env.client, env, "type", TYPES)
    before = scalar(env.settings, "SELECT count(*) FROM readings WHERE meter = 'asnaes-steam'")
    r = omf(env.client, env, "container", [{"id": "asnaes-steam", "typeid": "FlowMeasurement"}])
    assert r.status_code == 400
    assert "maps to no meter of the company: 'asnaes-steam'" in r.json()["message"]
    # the owner's container is its own; the supplier still cannot send data into it
    omf(env.client, env, "type", TYPES, who=DISCLOSING)
    steam = [{"id": "asnaes-steam", "typeid": "FlowMeasurement",
              "propertyoverrides": {"Flow": {"uom": "MW"}}}]  # fmt: skip
    assert omf(env.client, env, "container", steam, who=DISCLOSING).status_code == 200
    t0 = datetime.now(UTC) - timedelta(minutes=3)
    r = omf(env.client, env, "data", [{"containerid": "asnaes-steam", "values": _values(t0, 2)}])
    assert r.status_code == 404  # not a container of the company: a resource not found
    assert r.json()["accepted"] == 0
    reasons = [x.reason for x in _rejections(env)]
    assert any("maps to no meter of the company: 'asnaes-steam'" in x for x in reasons)
    after = scalar(env.settings, "SELECT count(*) FROM readings WHERE meter = 'asnaes-steam'")
    assert after == before


def test_conflicts_unsupported_features_and_size_answer_the_specs_codes(env: ApiEnv) -> None:
    first = [{**TYPES[0], "id": "PlantV"}]
    assert omf(env.client, env, "type", first).status_code == 200
    changed = [{**first[0], "version": "2.0.0.0"}]
    assert omf(env.client, env, "type", changed).status_code == 409
    assert omf(env.client, env, "type", changed, action="update").status_code == 200
    assert omf(env.client, env, "data", [], action="update").status_code == 200  # as create
    assert omf(env.client, env, "data", [], action="delete").status_code == 501
    assert omf(env.client, env, "data", [], omfversion="1.0").status_code == 200  # 1.1 adds
    assert omf(env.client, env, "data", [], compress=False, omfversion="1.1",
               producertoken="b7CNvN36cq").status_code == 200  # fmt: skip
    big = b"[" + b" " * (192 * 1024) + b"]"
    r = env.client.post("/omf", content=big, headers={**env.auth(SUPPLIER), **PI_HEADERS,
                                                      "messagetype": "data"})  # fmt: skip
    assert r.status_code == 413
    r = omf(env.client, env, "type", TYPES, who="operator")
    assert r.status_code == 403
    r = env.client.post("/omf", content=b"[]", headers={**PI_HEADERS, "messagetype": "data"})
    assert r.status_code == 401


def test_types_and_containers_survive_a_restart(env: ApiEnv) -> None:
    assert omf(env.client, env, "type", TYPES).status_code == 200
    # the same definition as the first test's (the module shares its topics): sent again, it
    # changes nothing and is answered 200, as an adapter restarting resends it
    containers = [{"id": "refinery-cooling-water", "typeid": "FlowMeasurement",
                   "datasource": "Modbus", "indexes": ["Flow"]}]  # fmt: skip
    assert omf(env.client, env, "container", containers).status_code == 200
    kept = consume_all(env.settings, env.settings.topics.omf, 5, timeout_s=20)
    assert {OmfRecord.model_validate_json(v).key for v in kept if v} >= {
        "kalundborg-refinery/type/FlowMeasurement",
        "kalundborg-refinery/container/refinery-cooling-water",
    }
    fresh = Services.open(env.settings)  # a new API process on the same topics
    try:
        with TestClient(create_app(env.settings, fresh)) as client:
            t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=40)
            data = [{"containerid": "refinery-cooling-water", "values": _values(t0, 5)}]
            r = omf(client, env, "data", data)
            assert (r.status_code, r.json()["accepted"]) == (200, 5), r.text
            changed = [{**containers[0], "datasource": "OPC UA"}]
            assert omf(client, env, "container", changed).status_code == 409
    finally:
        fresh.close()
    t1 = t0 + timedelta(minutes=1)
    wait_for(lambda: _count(env, "refinery-cooling-water", t0, t1) == 5, 30, "after the restart")


def test_kafka_away_is_503_and_nothing_is_acknowledged(env: ApiEnv) -> None:
    omf(env.client, env, "type", TYPES)
    containers = [{"id": "refinery-oily-sludge", "typeid": "FlowMeasurement",
                   "propertyoverrides": {"Flow": {"uom": "t/d"}}}]  # fmt: skip
    assert omf(env.client, env, "container", containers).status_code == 200
    services: Services = env.client.app.state.services  # type: ignore[attr-defined]
    real = services.gateway.publisher
    t0 = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=2)
    data = [{"containerid": "refinery-oily-sludge", "values": _values(t0, 4, value=12.0)}]
    services.gateway.publisher = KafkaAway()  # type: ignore[assignment]
    services.publisher = KafkaAway()  # type: ignore[assignment]
    try:
        r = omf(env.client, env, "data", data)
        assert r.status_code == 503
        assert r.json()["error"] == "unavailable"
        more = [{"id": "refinery-fuel-gas", "typeid": "FlowMeasurement"}]
        assert omf(env.client, env, "container", more).status_code == 503
    finally:
        services.gateway.publisher = real
        services.publisher = real
    assert _count(env, "refinery-oily-sludge", t0) == 0
    r = omf(env.client, env, "data", data)  # the adapter retries: now accepted
    assert (r.status_code, r.json()["accepted"]) == (200, 4)
    wait_for(lambda: _count(env, "refinery-oily-sludge", t0) == 4, 30, "the retried readings")
