"""A hostile tenant against the real API, real Kafka and the real sink (issue: trust under attack).

Each test replays one finding of the security review as the attacker sent it and checks the
platform now refuses it, says why, and keeps serving everyone else. The webhook redaction and
per-subscription signing run through the real delivery process in
``test_integration_delivery.py``; the sink's isolation of a bad record read straight from the
topic in ``test_integration_sink.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import orjson
import pytest
from kafka import KafkaProducer
from pydantic import SecretStr

from domain.subscriptions import WebhookEvent, gone_state, key_of, signing_key, webhook_event
from runtime.settings import Settings
from schemas.alerts import Alert, AlertEvent, Benefit
from schemas.units import parse_unit
from tests.api_env import DISCLOSING, OUTSIDER, PARTNER, SUPPLIER, ApiEnv, api_env
from tests.helpers import isolated, scalar, wait_for

pytestmark = pytest.mark.integration

MASTER = "master-secret-for-hostile-tests"


@pytest.fixture(scope="module")
def env(stack: Settings) -> Iterator[ApiEnv]:
    settings = isolated(stack, "hostile", webhook_secret=SecretStr(MASTER))
    with api_env(settings) as e:
        yield e


def _exchange(**over: object) -> dict[str, object]:
    x: dict[str, object] = {
        "id": "hostile-x", "stream": "refinery-fuel-gas", "need": "gyproc-fuel-gas",
        "quantity": 1000, "unit": "m^3/h",
    }  # fmt: skip
    return {**x, **over}


# --- high: one party alone cannot commit an exchange on another company's stream ---------------


def test_a_partner_cannot_zero_a_rivals_surplus_alone(env: ApiEnv) -> None:
    # a receiver cannot name an undisclosed supplier's stream: the same answer as for none
    hidden = env.client.put(
        "/v1/exchanges/hostile-zero", json=_exchange(id="hostile-zero", quantity=1e9),
        headers=env.auth(PARTNER),
    )  # fmt: skip
    absent = env.client.put(
        "/v1/exchanges/hostile-zero",
        json=_exchange(id="hostile-zero", stream="no-such-stream", quantity=1e9),
        headers=env.auth(PARTNER),
    )  # fmt: skip
    assert hidden.status_code == absent.status_code == 422
    assert hidden.json()["message"] == absent.json()["message"].replace(
        "no-such-stream", "refinery-fuel-gas"
    )
    # the supplier proposes to the need it sees in its alerts; never more than it can give
    over = env.client.put(
        "/v1/exchanges/hostile-zero", json=_exchange(id="hostile-zero", quantity=1e9),
        headers=env.auth(SUPPLIER),
    )  # fmt: skip
    assert over.status_code == 422
    assert [e["field"] for e in over.json()["errors"]] == ["quantity"]
    proposal = env.client.put(
        "/v1/exchanges/hostile-zero", json=_exchange(id="hostile-zero", quantity=2000),
        headers=env.auth(SUPPLIER),
    )  # fmt: skip
    assert proposal.status_code == 200
    assert proposal.json()["status"] == "proposed"
    with env.client.app.state.services.registry.locked() as d:  # type: ignore[attr-defined]
        assert not d.exchanges["hostile-zero"].committed  # the ledger does not count it
    own = env.client.post("/v1/exchanges/hostile-zero/accept", headers=env.auth(SUPPLIER))
    assert own.status_code == 409  # the proposer cannot accept it
    # the proposal does not give the supplier's site away on the partner's dashboard
    board = env.client.get("/v1/dashboard", headers=env.auth(PARTNER)).json()
    assert "refinery" not in {s["id"] for s in board["sites"]}
    assert "hostile-zero" not in {x["id"] for x in board["exchanges"]}
    # the partner accepts the terms it saw; changed terms meanwhile are refused
    seen = {k: v for k, v in proposal.json().items() if k in _exchange()}
    changed = env.client.put(
        "/v1/exchanges/hostile-zero", json=_exchange(id="hostile-zero", quantity=1500),
        headers=env.auth(SUPPLIER),
    )  # fmt: skip
    assert changed.status_code == 200
    stale = env.client.post(
        "/v1/exchanges/hostile-zero/accept", json=seen, headers=env.auth(PARTNER)
    )
    assert stale.status_code == 409
    fresh = {k: v for k, v in changed.json().items() if k in _exchange()}
    ok = env.client.post("/v1/exchanges/hostile-zero/accept", json=fresh, headers=env.auth(PARTNER))
    assert ok.status_code == 200, ok.text
    assert ok.json()["status"] == "active"
    assert env.client.delete("/v1/exchanges/hostile-zero", headers=env.auth(SUPPLIER)).status_code \
        == 204  # fmt: skip


def test_a_unit_that_does_not_convert_is_refused_before_it_reaches_the_ledger(
    env: ApiEnv,
) -> None:
    r = env.client.put(
        "/v1/exchanges/hostile-unit", json=_exchange(id="hostile-unit", unit="MW"),
        headers=env.auth(SUPPLIER),
    )  # fmt: skip
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["unit"]
    # and a company cannot trade with itself (a need and a stream of one company)
    same = _exchange(id="hostile-self", stream="asnaes-steam", need="asnaes-fuel-gas")
    r = env.client.put("/v1/exchanges/hostile-self", json=same, headers=env.auth(DISCLOSING))
    assert r.status_code == 422


def test_a_stranger_learns_nothing_from_proposing(env: ApiEnv) -> None:
    theirs = _exchange(id="hostile-stranger")  # both ids exist, neither is argo's
    made_up = _exchange(id="hostile-stranger", stream="no-stream", need="no-need")
    answers = [
        env.client.put("/v1/exchanges/hostile-stranger", json=x, headers=env.auth(OUTSIDER))
        for x in (theirs, made_up)
    ]
    assert [a.status_code for a in answers] == [422, 422]
    assert answers[0].json() == answers[1].json()


# --- high: one push cannot stop the sink ----------------------------------------------------


def test_a_timestamp_out_of_range_is_refused_and_storage_goes_on(env: ApiEnv) -> None:
    attack = {"meter": "refinery-fuel-gas", "ts": "0001-01-01T00:00:00+23:59", "value": 5,
              "unit": "m^3/h"}  # fmt: skip
    r = env.client.post("/v1/readings", json={"readings": [attack]}, headers=env.auth(SUPPLIER))
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["readings[0].ts"]
    t0 = datetime.now(UTC) - timedelta(minutes=3)
    good = env.readings("refinery-fuel-gas", 7, start=t0)
    ok = env.client.post("/v1/readings", json={"readings": good}, headers=env.auth(SUPPLIER))
    assert ok.status_code == 200
    q = (
        "SELECT count(*) FROM readings WHERE meter = 'refinery-fuel-gas'"
        f" AND ts >= '{t0.isoformat()}' AND ts < '{(t0 + timedelta(seconds=7)).isoformat()}'"
    )
    wait_for(lambda: scalar(env.settings, q) == 7, 30, "the next push stored")


@pytest.mark.parametrize(
    ("value", "ts", "field"),
    [
        ("5", None, "value"),
        (True, None, "value"),
        (1e308, None, "value"),
        (-5, None, "value"),
        (5, 1_700_000_000, "ts"),
    ],
)
def test_sloppy_types_and_impossible_values_are_refused(
    env: ApiEnv, value: object, ts: object, field: str
) -> None:
    row = env.readings("refinery-fuel-gas", 1)[0]
    row["value"] = value
    if ts is not None:
        row["ts"] = ts
    r = env.client.post("/v1/readings", json={"readings": [row]}, headers=env.auth(SUPPLIER))
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [f"readings[0].{field}"]


# --- medium: registry writes ------------------------------------------------------------------


def test_infinity_in_a_registry_write_is_refused_and_nothing_is_published(env: ApiEnv) -> None:
    body = (
        '{"id": "hostile-inf", "site": "gyproc", "kind": "gas", "unit": "m^3/h",'
        ' "min_quantity": Infinity}'
    )
    r = env.client.put(
        "/v1/needs/hostile-inf", content=body, headers={**env.auth(PARTNER),
                                                         "Content-Type": "application/json"},
    )  # fmt: skip
    assert r.status_code == 422
    with env.client.app.state.services.registry.locked() as d:  # type: ignore[attr-defined]
        assert "hostile-inf" not in d.needs


def test_a_withdrawn_need_id_stays_its_companys(env: ApiEnv) -> None:
    need = {"id": "hostile-gypsum", "site": "gyproc", "kind": "material", "unit": "t/yr",
            "min_quantity": 1000, "accepts_ewc": ["100105"]}  # fmt: skip
    assert env.client.put("/v1/needs/hostile-gypsum", json=need,
                          headers=env.auth(PARTNER)).status_code == 200  # fmt: skip
    assert env.client.delete("/v1/needs/hostile-gypsum", headers=env.auth(PARTNER)).status_code \
        == 204  # fmt: skip
    argo_site = next(s.id for s in env.park.sites if s.company == OUTSIDER)
    taken = {**need, "site": argo_site}
    r = env.client.put("/v1/needs/hostile-gypsum", json=taken, headers=env.auth(OUTSIDER))
    assert r.status_code == 409  # its alerts and webhook events stay saint-gobain's
    again = env.client.put("/v1/needs/hostile-gypsum", json=need, headers=env.auth(PARTNER))
    assert again.status_code == 200


def test_absent_and_not_yours_look_the_same(env: ApiEnv) -> None:
    for path in ("/v1/needs/gyproc-fuel-gas", "/v1/needs/no-such-need"):
        r = env.client.delete(path, headers=env.auth(OUTSIDER))
        assert r.status_code == 404, path
    for path in ("/v1/needs/gyproc-fuel-gas/webhook-secret", "/v1/needs/no-such/webhook-secret"):
        assert env.client.get(path, headers=env.auth(OUTSIDER)).status_code == 404, path


@pytest.mark.parametrize(
    "url",
    [
        "https://127.0.0.1/hook",
        "https://[::1]/hook",
        "https://[::ffff:10.0.0.1]/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://10.1.2.3/hook",
        "https://localhost/hook",
        "https://metadata.internal.example/hook",  # a name that resolves to the metadata address
        "https://unresolvable.invalid/hook",
        "http://gyproc.example/hook",  # plain http outside the local stack
        "https://user:pw@gyproc.example/hook",
    ],
)
def test_webhooks_cannot_point_inside(env: ApiEnv, url: str) -> None:
    need = {"id": "hostile-ssrf", "site": "gyproc", "kind": "gas", "unit": "m^3/h",
            "min_quantity": 10, "subscription": {"webhook": url}}  # fmt: skip
    r = env.client.put("/v1/needs/hostile-ssrf", json=need, headers=env.auth(PARTNER))
    assert r.status_code == 422, (url, r.text)
    assert r.json()["errors"][0]["field"] == "subscription.webhook"


def test_each_subscription_has_its_own_rotatable_secret(env: ApiEnv) -> None:
    need = {"id": "hostile-hooked", "site": "gyproc", "kind": "gas", "unit": "m^3/h",
            "min_quantity": 10, "subscription": {"webhook": "https://gyproc.example/hook",
                                                 "secret_version": 7}}  # fmt: skip
    put = env.client.put("/v1/needs/hostile-hooked", json=need, headers=env.auth(PARTNER))
    assert put.status_code == 200
    assert put.json()["subscription"]["secret_version"] == 1  # the server's to set
    first = env.client.get("/v1/needs/hostile-hooked/webhook-secret", headers=env.auth(PARTNER))
    assert first.status_code == 200
    secret = first.json()["secret"]
    assert secret.startswith("whsec_")
    key_id = put.json()["subscription"]["key_id"]
    assert key_of(secret) == signing_key(MASTER.encode(), PARTNER, "hostile-hooked", 1, key_id)
    assert key_of(secret) != MASTER.encode()
    rotated = env.client.post("/v1/needs/hostile-hooked/webhook-secret", headers=env.auth(PARTNER))
    assert rotated.status_code == 200
    body = rotated.json()
    assert (body["version"], body["previous"]) == (2, secret)
    assert body["secret"] != secret
    assert env.client.post("/v1/needs/hostile-hooked/webhook-secret",
                           headers=env.auth(OUTSIDER)).status_code == 404  # fmt: skip
    # a subscription removed and created again never signs with a key of its earlier life
    assert env.client.delete("/v1/needs/hostile-hooked", headers=env.auth(PARTNER)).status_code \
        == 204  # fmt: skip
    again = env.client.put("/v1/needs/hostile-hooked", json=need, headers=env.auth(PARTNER))
    assert again.json()["subscription"]["key_id"] != key_id
    fresh = env.client.get("/v1/needs/hostile-hooked/webhook-secret", headers=env.auth(PARTNER))
    assert fresh.json()["secret"] not in (secret, body["secret"])


def _gone(env: ApiEnv, need_id: str) -> None:
    """What the delivery process publishes when the need's webhook answers 410 Gone."""
    sub = next(n for n in _needs(env) if n["id"] == need_id)["subscription"]
    event = WebhookEvent(url=sub["webhook"], body=b"", keys=(), need=need_id,
                         key_id=sub["key_id"], secret_version=sub["secret_version"])  # fmt: skip
    state = gone_state(event, 410, datetime.now(UTC))
    producer = KafkaProducer(bootstrap_servers=env.settings.kafka_bootstrap, acks="all")
    producer.send(env.settings.topics.webhook_states, key=need_id.encode(),
                  value=state.model_dump_json().encode())  # fmt: skip
    producer.flush()
    producer.close()


def _needs(env: ApiEnv) -> list[dict[str, object]]:
    return env.client.get("/v1/needs", headers=env.auth(PARTNER)).json()  # type: ignore[no-any-return]


def _disabled(env: ApiEnv, need_id: str) -> object:
    need = next(n for n in _needs(env) if n["id"] == need_id)
    return need["subscription"]["disabled"]  # type: ignore[index]


def test_a_gone_subscription_shows_disabled_until_registered_again_or_rotated(
    env: ApiEnv,
) -> None:
    forged = {"reason": "gone", "status": 410, "at": "2026-01-01T00:00:00Z"}
    need = {"id": "hostile-gone", "site": "gyproc", "kind": "gas", "unit": "m^3/h",
            "min_quantity": 10, "subscription": {"webhook": "https://gyproc.example/gone",
                                                 "disabled": forged}}  # fmt: skip
    put = env.client.put("/v1/needs/hostile-gone", json=need, headers=env.auth(PARTNER))
    assert put.status_code == 200, put.text
    sub = put.json()["subscription"]
    assert (sub["format"], sub["disabled"]) == ("standard", None)  # the server's to set
    _gone(env, "hostile-gone")
    wait_for(lambda: _disabled(env, "hostile-gone") is not None, 30, "shown disabled")
    assert _disabled(env, "hostile-gone")["reason"] == "gone"  # type: ignore[index]
    # registering it again (unchanged) enables it
    again = env.client.put("/v1/needs/hostile-gone", json=need, headers=env.auth(PARTNER))
    assert again.status_code == 200
    assert again.json()["subscription"]["disabled"] is None
    assert _disabled(env, "hostile-gone") is None
    # so does rotating its secret
    _gone(env, "hostile-gone")
    wait_for(lambda: _disabled(env, "hostile-gone") is not None, 30, "shown disabled again")
    rotated = env.client.post("/v1/needs/hostile-gone/webhook-secret", headers=env.auth(PARTNER))
    assert rotated.status_code == 200
    assert _disabled(env, "hostile-gone") is None
    # an explicit format is kept; a later write without one keeps it too
    ce = {**need, "subscription": {"webhook": "https://gyproc.example/gone",
                                   "format": "cloudevents"}}  # fmt: skip
    assert env.client.put("/v1/needs/hostile-gone", json=ce, headers=env.auth(PARTNER)).json()[
        "subscription"]["format"] == "cloudevents"  # fmt: skip
    plain = {**need, "subscription": {"webhook": "https://gyproc.example/gone"}}
    assert env.client.put("/v1/needs/hostile-gone", json=plain, headers=env.auth(PARTNER)).json()[
        "subscription"]["format"] == "cloudevents"  # fmt: skip


def test_a_body_not_declared_json_is_refused(env: ApiEnv) -> None:
    row = env.readings("refinery-fuel-gas", 1)
    body = orjson.dumps({"readings": row})
    headers = {**env.auth(SUPPLIER), "Content-Type": "text/plain"}
    r = env.client.post("/v1/readings", content=body, headers=headers)
    assert r.status_code == 415
    empty = env.client.post("/v1/readings", json={"readings": []}, headers=env.auth(SUPPLIER))
    assert empty.status_code == 422


# --- medium: quotas and rates bound what one tenant can do ------------------------------------


@pytest.fixture(scope="module")
def tight(stack: Settings) -> Iterator[ApiEnv]:
    settings = isolated(
        stack, "tight", api_rate_per_s=2.0, api_rate_burst=20, api_registry_writes_per_min=6,
        api_max_needs_per_company=3,
    )  # fmt: skip
    with api_env(settings, sink=False) as e:
        yield e


def test_a_company_has_a_quota_of_needs_and_a_rate_of_writes(tight: ApiEnv) -> None:
    def need(i: int) -> dict[str, object]:
        return {"id": f"probe-{i}", "site": "gyproc", "kind": "gas", "unit": "m^3/h",
                "min_quantity": 100 + i}  # fmt: skip

    # gyproc has 2 needs in the demo park: one more fits, the next is over the quota
    assert tight.client.put("/v1/needs/probe-1", json=need(1),
                            headers=tight.auth(PARTNER)).status_code == 200  # fmt: skip
    over = tight.client.put("/v1/needs/probe-2", json=need(2), headers=tight.auth(PARTNER))
    assert over.status_code == 409
    assert over.json()["error"] == "quota_exceeded"
    statuses = [
        tight.client.put(
            "/v1/needs/probe-1",
            json={**need(1), "min_quantity": 100 + i},
            headers=tight.auth(PARTNER),
        )
        for i in range(10)
    ]  # changing one need's threshold again and again: probing a band
    limited = [r for r in statuses if r.status_code == 429]
    assert limited, [r.status_code for r in statuses]
    assert int(limited[0].headers["Retry-After"]) >= 1
    # another company is not slowed down by it
    assert tight.client.get("/v1/needs", headers=tight.auth(SUPPLIER)).status_code == 200


def test_a_company_over_its_request_rate_gets_429_with_retry_after(tight: ApiEnv) -> None:
    answers = [
        tight.client.get("/v1/alerts", headers=tight.auth(OUTSIDER)).status_code for _ in range(40)
    ]
    assert 429 in answers
    assert answers[:20] == [200] * 20  # the burst
    assert tight.client.get("/v1/alerts", headers=tight.auth("operator")).status_code == 200


# --- every output to a partner goes through the disclosure policy ----------------------------

UNDISCLOSED = Alert(
    alert_id="al-0123456789abcdef", idempotency_key="al-0123456789abcdef:1",
    event=AlertEvent.OPENED, stream="refinery-fuel-gas", need="gyproc-fuel-gas", kind="gas",
    available=2987.123, unit="m^3/h", quantity=2345.678, need_unit="m^3/h", distance_km=0.8765,
    benefit=Benefit(co2e_t_per_yr=1234.567), ts=datetime.now(UTC),
)  # fmt: skip
"""What a worker emits when the refinery (which does not disclose itself) can serve Gyproc."""

SECRETS_OF_THE_SUPPLIER = (
    "refinery-fuel-gas", '"refinery"', "al-0123456789abcdef", "kalundborg-refinery",
    "Kalundborg Refinery", "2987.123", "2345.678", "0.8765", "1234.567", "55.664", "11.095",
)  # fmt: skip
"""Its stream, site, company and name, exact quantities, distance, benefit and position."""


def _partner_outputs(env: ApiEnv) -> dict[str, str]:
    """Every body the API can give the partner: each GET route of the OpenAPI document (path
    ids filled with the supplier's), the dashboard's first server-sent event, the webhook."""
    out: dict[str, str] = {}
    doc = env.client.get("/openapi.json").json()
    for path, ops in doc["paths"].items():
        if "get" not in ops or path.endswith("/events"):
            continue
        url = path.replace("{need_id}", "gyproc-fuel-gas").replace("{site_id}", "refinery")
        r = env.client.get(url, headers=env.auth(PARTNER), params={"meter": "refinery-fuel-gas"})
        out[f"GET {path}"] = r.text
    with env.client.stream(
        "GET", "/v1/dashboard/events", headers=env.auth(PARTNER)
    ) as stream:  # fmt: skip
        for line in stream.iter_lines():
            if line.startswith("data:"):
                out["SSE /v1/dashboard/events"] = line
                break
    need = next(n for n in env.park.needs if n.id == "gyproc-fuel-gas").model_dump(mode="json")
    hooked = {**need, "subscription": {"webhook": "https://gyproc.example/alerts"}}
    put = env.client.put("/v1/needs/gyproc-fuel-gas", json=hooked, headers=env.auth(PARTNER))
    assert put.status_code == 200, put.text
    with env.client.app.state.services.registry.locked() as d:  # type: ignore[attr-defined]
        event = webhook_event(
            UNDISCLOSED, d, MASTER.encode(), datetime.now(UTC),
            disclosure_key=env.settings.disclosure_key_bytes(),
        )  # fmt: skip
    assert event is not None
    out["webhook"] = event.body.decode()
    return out


def test_no_output_to_a_partner_gives_an_undisclosed_supplier_away(env: ApiEnv) -> None:
    producer = KafkaProducer(bootstrap_servers=env.settings.kafka_bootstrap, acks="all")
    producer.send(env.settings.topics.alerts, key=b"refinery-fuel-gas",
                  value=UNDISCLOSED.model_dump_json().encode())  # fmt: skip
    producer.flush()
    producer.close()
    stored = "SELECT count(*) FROM alerts WHERE idempotency_key = 'al-0123456789abcdef:1'"
    wait_for(lambda: scalar(env.settings, stored) == 1, 30, "the alert stored")
    # the supplier itself sees everything: the check below can fail
    own = env.client.get("/v1/alerts", headers=env.auth(SUPPLIER)).text
    assert "2987.123" in own
    assert "refinery-fuel-gas" in own

    outputs = _partner_outputs(env)
    assert {"GET /v1/alerts", "GET /v1/dashboard", "SSE /v1/dashboard/events", "webhook"} <= set(
        outputs
    )
    assert "gyproc-fuel-gas" in outputs["GET /v1/alerts"]  # the partner does see its alert
    leaks = [
        (where, fact)
        for where, body in outputs.items()
        for fact in SECRETS_OF_THE_SUPPLIER
        if fact in body
    ]
    assert leaks == [], leaks


def test_a_retired_id_survives_a_restart_with_compacted_topics(
    env: ApiEnv, stack: Settings
) -> None:
    need = {"id": "hostile-durable", "site": "gyproc", "kind": "material", "unit": "t/yr",
            "min_quantity": 1000, "accepts_ewc": ["100105"]}  # fmt: skip
    assert env.client.put("/v1/needs/hostile-durable", json=need,
                          headers=env.auth(PARTNER)).status_code == 200  # fmt: skip
    assert env.client.delete("/v1/needs/hostile-durable",
                             headers=env.auth(PARTNER)).status_code == 204  # fmt: skip
    # a new API on topics that no longer hold the need nor its tombstone (as after compaction)
    with api_env(isolated(stack, "fresh"), sink=False) as fresh:
        argo_site = next(s.id for s in fresh.park.sites if s.company == OUTSIDER)
        taken = {**need, "site": argo_site}
        r = fresh.client.put("/v1/needs/hostile-durable", json=taken, headers=fresh.auth(OUTSIDER))
        assert r.status_code == 409, r.text


def test_a_huge_unit_string_is_refused_before_pint_parses_it(env: ApiEnv) -> None:
    need = {"id": "hostile-unit-dos", "site": "gyproc", "kind": "gas", "unit": "M" * 8000,
            "min_quantity": 10}  # fmt: skip
    misses = parse_unit.cache_info().misses
    r = env.client.put("/v1/needs/hostile-unit-dos", json=need, headers=env.auth(PARTNER))
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "unit"
    assert parse_unit.cache_info().misses == misses  # pint (~0.9 s on it) never saw it


def test_metrics_are_not_served_on_the_public_api_port(env: ApiEnv) -> None:
    for path in ("/metrics", "/metrics/"):
        assert env.client.get(path).status_code == 404
