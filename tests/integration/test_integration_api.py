"""The HTTP API on the real stack: pushes reach the database, tenants stay in their scope."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import pytest
from kafka import KafkaProducer

from domain.kpis import allocate
from runtime.settings import Settings
from schemas.alerts import Alert, AlertEvent, Benefit
from schemas.ledger import LedgerEntry
from schemas.rejections import Rejection
from tests.api_env import DISCLOSING, OUTSIDER, PARTNER, SUPPLIER, ApiEnv, api_env
from tests.helpers import consume_all, isolated, scalar, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def env(stack: Settings) -> Iterator[ApiEnv]:
    """One API for the module (its tests use distinct meters and check their own rows)."""
    settings = isolated(stack, "api")
    with api_env(settings) as e:
        yield e


def _rejections(env: ApiEnv, expect: int) -> list[Rejection]:
    raw = consume_all(env.settings, env.settings.topics.rejected, expect, timeout_s=20)
    return [Rejection.model_validate_json(v) for v in raw]


def test_a_historian_batch_pushed_over_http_is_stored(env: ApiEnv) -> None:
    rows = env.readings("refinery-fuel-gas", 120)
    r = env.client.post("/v1/readings", json={"readings": rows}, headers=env.auth(SUPPLIER))
    assert r.status_code == 200, r.text
    assert r.json() == {"accepted": 120, "rejected": 0, "errors": []}
    count = "SELECT count(*) FROM readings WHERE meter = 'refinery-fuel-gas'"
    wait_for(lambda: scalar(env.settings, count) == 120, 30, "120 readings stored")
    got = env.client.get(
        "/v1/readings",
        params={"meter": "refinery-fuel-gas", "limit": 5, "since": rows[0]["ts"]},
        headers=env.auth(SUPPLIER),
    )
    assert got.status_code == 200
    assert [x["value"] for x in got.json()] == [3000.0] * 5
    pushed = [datetime.fromisoformat(x["ts"]) for x in rows]
    assert [datetime.fromisoformat(x["ts"]) for x in got.json()] == pushed[:5]  # oldest first
    link = got.headers["link"]  # the next page: keyset, after the last reading of this one
    assert link.startswith("</v1/readings?")
    assert link.endswith('>; rel="next"')
    after = env.client.get(link[1 : link.index(">")], headers=env.auth(SUPPLIER))
    assert [datetime.fromisoformat(x["ts"]) for x in after.json()] == pushed[5:10]


def test_a_company_cannot_push_for_or_read_another_companys_meters(env: ApiEnv) -> None:
    before = scalar(env.settings, "SELECT count(*) FROM readings WHERE meter = 'asnaes-steam'")
    rows = env.readings("novo-process-heat", 3, unit="MW", value=5) + env.readings(
        "asnaes-steam", 2, unit="MW", value=40
    )
    r = env.client.post("/v1/readings", json={"readings": rows}, headers=env.auth(OUTSIDER))
    assert r.status_code == 422  # as for unregistered meters: others' ids stay unknown
    body = r.json()
    assert (body["accepted"], body["rejected"]) == (0, 5)
    assert {e["row"] for e in body["errors"]} == {0, 1, 2, 3, 4}
    read = env.client.get(
        "/v1/readings", params={"meter": "asnaes-steam"}, headers=env.auth(PARTNER)
    )
    assert read.status_code == 404
    assert env.client.get("/v1/ledger", headers=env.auth(OUTSIDER)).json() == []
    rejected = [x for x in _rejections(env, 5) if "'asnaes-steam' is not one of" in x.reason]
    assert rejected
    assert (
        scalar(env.settings, "SELECT count(*) FROM readings WHERE meter = 'asnaes-steam'") == before
    )


def test_bad_rows_are_named_rejected_with_reason_and_the_rest_stored(env: ApiEnv) -> None:
    rows = env.readings("refinery-cooling-water", 4, unit="m^3/h", value=300)
    rows[1]["value"] = "lots"
    rows[2]["unit"] = "MW"  # energy is not a water flow
    rows[3]["ts"] = "2026-01-01T00:00:00"  # no timezone
    rows.append({"meter": "no-such-meter", "ts": rows[0]["ts"], "value": 1, "unit": "m^3/h"})
    r = env.client.post("/v1/readings", json={"readings": rows}, headers=env.auth(SUPPLIER))
    assert r.status_code == 422
    body = r.json()
    assert body["accepted"] == 1
    assert body["rejected"] == 4
    fields = {e["field"] for e in body["errors"]}
    assert fields == {
        "readings[1].value", "readings[2].unit", "readings[3].ts", "readings[4].meter",
    }  # fmt: skip
    sources = {
        x.source for x in _rejections(env, 4) if x.source.startswith("POST /v1/readings row")
    }
    assert {"POST /v1/readings row 1", "POST /v1/readings row 4"} <= sources
    count = "SELECT count(*) FROM readings WHERE meter = 'refinery-cooling-water'"
    wait_for(lambda: scalar(env.settings, count) == 1, 30, "the valid reading stored")


def test_omf_values_are_mapped_by_the_sites_tag_map(env: ApiEnv) -> None:
    site = next(s for s in env.park.sites if s.id == "refinery").model_dump(mode="json")
    site["tag_map"] = {"KR.GAS.FLOW.PV": "refinery-fuel-gas"}
    put = env.client.put("/v1/sites/refinery", json=site, headers=env.auth(SUPPLIER))
    assert put.status_code == 200, put.text
    t0 = datetime.now(UTC) - timedelta(minutes=30)
    values = [
        {"tag": "KR.GAS.FLOW.PV", "timestamp": (t0 + timedelta(seconds=i)).isoformat(),
         "value": 2900.0, "good": i != 1}
        for i in range(3)
    ] + [{"tag": "KR.UNKNOWN", "timestamp": t0.isoformat(), "value": 1.0}]  # fmt: skip
    r = env.client.post("/v1/sites/refinery/omf", json=values, headers=env.auth(SUPPLIER))
    assert r.status_code == 422
    assert r.json()["accepted"] == 3
    assert [e["field"] for e in r.json()["errors"]] == ["[3].tag"]
    t1 = t0 + timedelta(seconds=3)
    q = (
        "SELECT count(*) FROM readings WHERE meter = 'refinery-fuel-gas'"
        f" AND ts >= '{t0.isoformat()}' AND ts < '{t1.isoformat()}'"
    )
    wait_for(lambda: scalar(env.settings, q) == 3, 30, "3 OMF readings stored")
    assert scalar(env.settings, q + " AND quality = 'bad'") == 1
    other = env.client.post("/v1/sites/refinery/omf", json=values[:1], headers=env.auth(PARTNER))
    assert other.status_code == 404


def test_registry_writes_stay_inside_the_callers_company(env: ApiEnv) -> None:
    need = {
        "id": "gyproc-more-gypsum", "site": "gyproc", "kind": "material", "unit": "t/yr",
        "min_quantity": 1000, "accepts_ewc": ["100105"],
        "subscription": {"webhook": "https://gyproc.example/alerts"},
    }  # fmt: skip
    assert (
        env.client.put(f"/v1/needs/{need['id']}", json=need, headers=env.auth(PARTNER)).status_code
        == 200
    )
    assert need["id"] in {
        n["id"] for n in env.client.get("/v1/needs", headers=env.auth(PARTNER)).json()
    }
    stolen = {**need, "id": "argo-on-gyproc"}
    assert (
        env.client.put(
            "/v1/needs/argo-on-gyproc", json=stolen, headers=env.auth(OUTSIDER)
        ).status_code
        == 422  # the same answer as for a site that does not exist
    )
    site = next(s for s in env.park.sites if s.id == "gyproc").model_dump(mode="json")
    assert (
        env.client.put(
            "/v1/sites/gyproc", json={**site, "company": OUTSIDER}, headers=env.auth(OUTSIDER)
        ).status_code
        == 409
    )
    assert (
        env.client.delete(f"/v1/needs/{need['id']}", headers=env.auth(OUTSIDER)).status_code == 404
    )
    bad = {**need, "min_quantity": -1, "colour": "blue"}
    r = env.client.put(f"/v1/needs/{need['id']}", json=bad, headers=env.auth(PARTNER))
    assert r.status_code == 422
    assert {"min_quantity", "colour"} <= {e["field"] for e in r.json()["errors"]}
    assert any(x.source == f"PUT /v1/needs/{need['id']}" for x in _rejections(env, 1))
    assert (
        env.client.delete(f"/v1/needs/{need['id']}", headers=env.auth(PARTNER)).status_code == 204
    )


def test_tokens_are_required_and_revocable(env: ApiEnv) -> None:
    assert env.client.get("/v1/me").status_code == 401
    bad = {"Authorization": "Bearer sym_not-a-token"}
    assert env.client.post("/v1/readings", json={"readings": []}, headers=bad).status_code == 401
    me = env.client.get("/v1/me", headers=env.auth("operator")).json()
    assert me["role"] == "operator"
    assert me["company"] is None
    with psycopg.connect(env.settings.database_url) as conn:
        stored = {r[0] for r in conn.execute("SELECT token_sha256 FROM api_tokens")}
    assert not any(t in stored for t in env.tokens.values())  # only hashes are stored


def test_limits_answer_413(env: ApiEnv) -> None:
    limit = env.settings.api_max_batch_readings
    many = {"readings": env.readings("refinery-fuel-gas", 1) * (limit + 1)}
    assert env.client.post("/v1/readings", json=many, headers=env.auth(SUPPLIER)).status_code == 413
    huge = b'{"readings": [' + b" " * env.settings.api_max_body_bytes + b"]}"
    r = env.client.post("/v1/readings", content=huge, headers=env.auth(SUPPLIER))
    assert r.status_code == 413
    assert r.json()["error"] == "too_large"


def _alert(stream: str, need: str, event: AlertEvent = AlertEvent.OPENED) -> Alert:
    now = datetime.now(UTC)
    return Alert(
        alert_id=f"{stream}--{need}", idempotency_key=f"{stream}--{need}--{event}",
        event=event, stream=stream, need=need, kind="gas", available=2987.5, unit="m^3/h",
        quantity=2500, need_unit="m^3/h", distance_km=0.8,
        benefit=Benefit(co2e_t_per_yr=1234.0), ts=now,
    )  # fmt: skip


def _store_two_alerts(env: ApiEnv) -> None:
    """The alerts a worker would emit: refinery gas (undisclosed) and Asnaes gypsum (disclosed),
    both to Gyproc's needs; stored by the sink (replays are stored once)."""
    producer = KafkaProducer(bootstrap_servers=env.settings.kafka_bootstrap, acks="all")
    for a in (
        _alert("refinery-fuel-gas", "gyproc-fuel-gas"),
        _alert("asnaes-gypsum", "gyproc-gypsum"),
    ):
        value = a.model_dump_json().encode()
        producer.send(env.settings.topics.alerts, key=a.stream.encode(), value=value)
    producer.flush()
    producer.close()
    wait_for(lambda: scalar(env.settings, "SELECT count(*) FROM alerts") >= 2, 30, "alerts stored")


def test_alerts_are_redacted_for_partners_unless_the_supplier_discloses(env: ApiEnv) -> None:
    _store_two_alerts(env)

    partner = {a["need"]: a for a in env.client.get("/v1/alerts", headers=env.auth(PARTNER)).json()}
    hidden = partner["gyproc-fuel-gas"]
    assert hidden["alert_id"].startswith("alp-")  # a pseudonym: it confirms no guessed stream
    assert hidden["redacted"]
    assert hidden["stream"] is None
    assert hidden["supplier_company"] is None
    assert hidden["available"] is None
    assert hidden["distance_km"] is None
    assert hidden["available_band"] == "2000-5000 m^3/h"
    assert hidden["distance_band"] == "< 1 km"
    assert hidden["benefit"]["co2e_t_per_yr"] == 1000.0  # the floor of its 1-2-5 band
    assert "kalundborg-refinery" not in orjson.dumps(hidden).decode()
    shown = partner["gyproc-gypsum"]
    assert shown["supplier_company"] == DISCLOSING
    assert shown["stream"] == "asnaes-gypsum"
    assert shown["available"] is None  # still a band for partners

    supplier = env.client.get("/v1/alerts", headers=env.auth(SUPPLIER)).json()
    assert [a["alert_id"] for a in supplier] == ["refinery-fuel-gas--gyproc-fuel-gas"]
    assert supplier[0]["available"] == 2987.5
    assert not supplier[0]["redacted"]
    assert env.client.get("/v1/alerts", headers=env.auth(OUTSIDER)).json() == []
    assert len(env.client.get("/v1/alerts", headers=env.auth("operator")).json()) == 2


def test_exchanges_are_proposed_by_one_party_and_accepted_by_the_other(env: ApiEnv) -> None:
    x = {"id": "kr-gas-to-gyproc", "stream": "refinery-fuel-gas", "need": "gyproc-fuel-gas",
         "quantity": 1000, "unit": "m^3/h"}  # fmt: skip
    assert (
        env.client.put(f"/v1/exchanges/{x['id']}", json=x, headers=env.auth(OUTSIDER)).status_code
        == 422
    )
    proposed = env.client.put(f"/v1/exchanges/{x['id']}", json=x, headers=env.auth(SUPPLIER))
    assert proposed.status_code == 200, proposed.text
    assert (proposed.json()["status"], proposed.json()["proposed_by"]) == ("proposed", SUPPLIER)
    for who in (SUPPLIER, PARTNER, "operator"):
        ids = {e["id"] for e in env.client.get("/v1/exchanges", headers=env.auth(who)).json()}
        assert x["id"] in ids, who
    assert x["id"] not in {
        e["id"] for e in env.client.get("/v1/exchanges", headers=env.auth(OUTSIDER)).json()
    }
    own = env.client.post(f"/v1/exchanges/{x['id']}/accept", headers=env.auth(SUPPLIER))
    assert own.status_code == 409  # the proposer cannot accept its own proposal
    stranger = env.client.post(f"/v1/exchanges/{x['id']}/accept", headers=env.auth(OUTSIDER))
    assert stranger.status_code == 404
    accepted = env.client.post(f"/v1/exchanges/{x['id']}/accept", json=x, headers=env.auth(PARTNER))
    assert accepted.status_code == 200, accepted.text
    assert (accepted.json()["status"], accepted.json()["accepted_by"]) == ("active", PARTNER)
    again = env.client.put(f"/v1/exchanges/{x['id']}", json=x, headers=env.auth(SUPPLIER))
    assert again.json()["status"] == "active"  # the same terms again change nothing
    unknown = {**x, "id": "kr-gas-to-nowhere", "need": "no-such-need"}
    r = env.client.put("/v1/exchanges/kr-gas-to-nowhere", json=unknown, headers=env.auth(SUPPLIER))
    assert r.status_code == 422
    assert "no-such-need" in r.json()["message"]
    assert (
        env.client.delete(f"/v1/exchanges/{x['id']}", headers=env.auth(OUTSIDER)).status_code == 404
    )
    assert (
        env.client.delete(f"/v1/exchanges/{x['id']}", headers=env.auth(PARTNER)).status_code == 204
    )


def test_the_ledger_shows_only_the_callers_streams(env: ApiEnv) -> None:
    now = datetime.now(UTC)
    producer = KafkaProducer(bootstrap_servers=env.settings.kafka_bootstrap, acks="all")
    for stream, site, kind, unit in (("refinery-fuel-gas", "refinery", "gas", "m^3/h"),
                                     ("asnaes-steam", "asnaes", "steam", "MW")):  # fmt: skip
        entry = LedgerEntry(
            stream=stream, site=site, kind=kind, unit=unit, window_s=10, measured=10,
            committed=0, available=10, steadiness=1, samples=10, updated_at=now,
        )  # fmt: skip
        producer.send(
            env.settings.topics.ledger, key=stream.encode(), value=entry.model_dump_json().encode()
        )
    producer.flush()
    producer.close()
    wait_for(lambda: scalar(env.settings, "SELECT count(*) FROM ledger") >= 2, 30, "ledger stored")
    own = [e["stream"] for e in env.client.get("/v1/ledger", headers=env.auth(SUPPLIER)).json()]
    assert own == ["refinery-fuel-gas"]
    everything = {
        e["stream"] for e in env.client.get("/v1/ledger", headers=env.auth("operator")).json()
    }
    assert {"refinery-fuel-gas", "asnaes-steam"} <= everything


def test_symbiosis_api_serves_the_openapi_document(env: ApiEnv) -> None:
    port = 28080
    child = {**os.environ, **env.settings.child_env(), "SYMBIOSIS_API_PORT": str(port)}
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "symbiosis"), "api"], env=child,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )  # fmt: skip
    try:

        def healthy() -> bool:
            try:
                return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
            except httpx.HTTPError:
                assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
                return False

        wait_for(healthy, 60, "symbiosis api to answer /healthz")
        doc = httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=5).json()
        assert {"/v1/readings", "/v1/sites/{site_id}/omf", "/v1/alerts"} <= set(doc["paths"])
        assert "Push" in doc["components"]["schemas"]
        me = httpx.get(f"http://127.0.0.1:{port}/v1/me", headers=env.auth(PARTNER), timeout=5)
        assert me.json()["company"] == PARTNER
    finally:
        proc.terminate()
        proc.wait(30)


def test_a_push_of_the_largest_allowed_size_is_accepted(env: ApiEnv) -> None:
    # one stream, 10,000 readings (the limit): split into records the broker accepts
    start = datetime.now(UTC) - timedelta(days=3)
    rows = env.readings("refinery-fuel-gas", env.settings.api_max_batch_readings, start=start)
    for i, row in enumerate(rows):
        row["ts"] = (start + timedelta(milliseconds=i)).isoformat()
    r = env.client.post("/v1/readings", json={"readings": rows}, headers=env.auth(SUPPLIER))
    assert r.status_code == 200, r.text
    assert r.json()["accepted"] == env.settings.api_max_batch_readings


def test_bodies_that_are_not_json_are_answered_400_and_rejected(env: ApiEnv) -> None:
    headers = {**env.auth(SUPPLIER), "Content-Type": "application/json"}
    push = env.client.post("/v1/readings", content=b"meter,ts,value\n", headers=headers)
    assert push.status_code == 400
    assert push.json()["error"] == "bad_request"
    put = env.client.put("/v1/needs/n-1", content=b"\xff{", headers=headers)
    assert put.status_code in (400, 422)
    stranger = env.client.post(
        "/v1/readings", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert stranger.status_code == 401
    sources = {r.source for r in _rejections(env, 2)}
    assert {"POST /v1/readings", "PUT /v1/needs/n-1"} <= sources


def test_the_dashboard_follows_the_callers_scope(env: ApiEnv) -> None:
    _store_two_alerts(env)

    partner = env.client.get("/v1/dashboard", headers=env.auth(PARTNER)).json()
    assert {(f["from_site"], f["to_site"]) for f in partner["flows"] if f["status"] == "alert"} == {
        ("asnaes", "gyproc")  # the refinery does not disclose itself: no line from it
    }
    assert "refinery" not in {s["id"] for s in partner["sites"]}
    assert partner["kpis"]["open_alerts"] == 2
    assert partner["kpis"]["potential_co2e_t_per_yr"] == 2 * 1000.0  # banded for partners

    supplier = env.client.get("/v1/dashboard", headers=env.auth(SUPPLIER)).json()
    assert [f for f in supplier["flows"] if f["status"] == "alert"] == []  # gyproc undisclosed
    assert "gyproc" not in {s["id"] for s in supplier["sites"]}
    assert [a["need"] for a in supplier["alerts"]] == ["gyproc-fuel-gas"]

    operator = env.client.get("/v1/dashboard", headers=env.auth("operator")).json()
    assert len([f for f in operator["flows"] if f["status"] == "alert"]) == 2


def test_the_dashboards_potential_counts_each_surplus_once(env: ApiEnv) -> None:
    # one 2,987.5 m3/h surplus that two needs could each take 2,500 m3/h of
    alerts = [_alert("refinery-fuel-gas", n) for n in ("gyproc-fuel-gas", "gyproc-gypsum")]
    producer = KafkaProducer(bootstrap_servers=env.settings.kafka_bootstrap, acks="all")
    for a in alerts:
        producer.send(
            env.settings.topics.alerts, key=a.stream.encode(), value=a.model_dump_json().encode()
        )
    producer.flush()
    producer.close()
    ids = [a.alert_id for a in alerts]

    def dashboard() -> dict[str, Any]:
        found: dict[str, Any] = env.client.get("/v1/dashboard", headers=env.auth("operator")).json()
        return found

    wait_for(lambda: set(ids) <= {a["alert_id"] for a in dashboard()["alerts"]}, 30, "shown")
    operator = dashboard()
    with psycopg.connect(env.settings.database_url) as conn:
        stored = [
            Alert.model_validate(r[0])
            for r in conn.execute(
                "SELECT DISTINCT ON (alert_id) payload FROM alerts ORDER BY alert_id, ts DESC"
            )
        ]
    shown = {a["alert_id"] for a in operator["alerts"]}  # the operator sees real ids
    open_alerts = [a for a in stored if a.alert_id in shown]
    assert all(a.event != AlertEvent.RESOLVED for a in open_alerts)
    needs = env.client.get("/v1/needs", headers=env.auth("operator")).json()
    demand = {n["id"]: n["max_quantity"] for n in needs if n.get("max_quantity") is not None}
    shares = allocate(open_alerts, demand)
    expected = sum(a.benefit.co2e_t_per_yr * shares[a.alert_id] for a in open_alerts)
    assert operator["kpis"]["open_alerts"] == len(open_alerts)
    assert operator["kpis"]["potential_co2e_t_per_yr"] == pytest.approx(expected)
    ours = allocate(alerts)
    assert sum(1234.0 * ours[i] for i in ids) == pytest.approx(1234.0 * (1 + 487.5 / 2500))
