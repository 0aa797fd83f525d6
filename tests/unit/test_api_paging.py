"""Cursor (keyset) pagination of the time-ordered reads (issue 17, point 3)."""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from ingest.api import paging, queries
from ingest.api.errors import ApiError
from schemas.offers import Offer
from tests.api_fakes import COMPANY, Api, running_api

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def api() -> Iterator[Api]:
    with running_api() as a:
        yield a


def stored(n: int, meter: str = "gas-1") -> list[dict[str, Any]]:
    """``n`` readings of ``meter``, one a minute from T0, in ascending time order."""
    return [
        {"meter": meter, "stream": "fuel-gas", "ts": T0 + timedelta(minutes=i), "value": i,
         "unit": "m^3/h", "quality": "good"}
        for i in range(n)
    ]  # fmt: skip


def answer_like_the_database(rows: list[dict[str, Any]]) -> Any:
    """Answers :func:`queries.readings_page`'s query as PostgreSQL would, from ``rows``."""

    def answer(sql: str, args: dict[str, Any]) -> list[dict[str, Any]]:
        assert "OFFSET" not in sql.upper()
        out = [r for r in rows if r["meter"] == args["meter"]]
        out = [r for r in out if "since" not in args or r["ts"] >= args["since"]]
        out = [r for r in out if "until" not in args or r["ts"] < args["until"]]
        out = [r for r in out if "after" not in args or r["ts"] > args["after"]]
        return sorted(out, key=lambda r: r["ts"])[: args["limit"]]

    return answer


def next_link(r: Any) -> str | None:
    header = r.headers.get("link")
    if header is None:
        return None
    m = re.fullmatch(r'<([^>]+)>; rel="next"', header)
    assert m, header
    return m.group(1)


def test_readings_come_oldest_first_a_page_at_a_time(api: Api) -> None:
    api.pool.answer = answer_like_the_database(stored(7) + stored(3, "gas-2"))
    seen: list[str] = []
    url: str | None = "/v1/readings?meter=gas-1&limit=3"
    pages = 0
    while url is not None:
        r = api.client.get(url, headers=COMPANY)
        assert r.status_code == 200, r.text
        seen += [x["ts"] for x in r.json()]
        url = next_link(r)
        pages += 1
    assert pages == 3  # 3 + 3 + 1: the last page has no next link
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 7
    sqls = [sql for sql, _ in api.pool.queries]
    assert all("ORDER BY ts" in s and "DESC" not in s for s in sqls)


def test_since_and_until_bound_the_pages_and_the_link_keeps_them(api: Api) -> None:
    api.pool.answer = answer_like_the_database(stored(10))
    params = {"meter": "gas-1", "limit": 2, "since": (T0 + timedelta(minutes=2)).isoformat(),
              "until": (T0 + timedelta(minutes=6)).isoformat()}  # fmt: skip
    first = api.client.get("/v1/readings", params=params, headers=COMPANY)
    link = next_link(first)
    assert link is not None
    assert "since=" in link
    assert "until=" in link
    assert "meter=gas-1" in link
    second = api.client.get(link, headers=COMPANY)
    assert [x["value"] for x in first.json() + second.json()] == [2, 3, 4, 5]
    assert next_link(second) is None


@pytest.mark.parametrize("field", ["since", "until"])
def test_a_time_without_a_zone_is_refused_naming_the_field(api: Api, field: str) -> None:
    r = api.client.get("/v1/readings", params={"meter": "gas-1", field: "2026-01-01T00:00:00"},
                       headers=COMPANY)  # fmt: skip
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == [field]
    assert api.pool.queries == []


@pytest.mark.parametrize(
    "cursor",
    ["garbage", "!!!", base64.urlsafe_b64encode(b'["readings", "yesterday", "gas-1"]').decode(),
     base64.urlsafe_b64encode(b'{"a": 1}').decode(), "", "A" * 5000],
)  # fmt: skip
def test_a_cursor_not_given_by_the_api_is_a_422_naming_cursor(api: Api, cursor: str) -> None:
    r = api.client.get("/v1/readings", params={"meter": "gas-1", "cursor": cursor},
                       headers=COMPANY)  # fmt: skip
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == ["cursor"]
    assert api.pool.queries == []


def test_a_cursor_is_opaque_and_bound_to_its_list_and_meter() -> None:
    cursor = paging.encode("readings", T0, "gas-1")
    assert "gas-1" not in cursor
    assert "2026" not in cursor
    assert paging.decode("readings", cursor, key="gas-1") == paging.Cursor(T0, "gas-1")
    for wrong in (lambda: paging.decode("offers", cursor),
                  lambda: paging.decode("readings", cursor, key="gas-2")):  # fmt: skip
        with pytest.raises(ApiError) as e:
            wrong()
        assert e.value.status == 422
        assert [x.field for x in e.value.body.errors] == ["cursor"]


def test_the_readings_query_is_keyset_not_offset() -> None:
    after = paging.Cursor(T0, "gas-1")
    sql, params = queries.readings_page("gas-1", since=T0, until=None, after=after, limit=100)
    assert "OFFSET" not in sql.upper()
    assert "ts > %(after)s" in sql
    assert "ORDER BY ts" in sql
    assert sql.rstrip().endswith("LIMIT %(limit)s")
    assert "until" not in sql
    # one more than the page: is there a next one?
    assert params == {"meter": "gas-1", "since": T0, "after": T0, "limit": 101}


def test_offers_are_paged_the_same_way(api: Api) -> None:
    offers = [
        {"payload": Offer(id=f"o-{i}", site="refinery", description="gypsum", quantity=1,
                          unit="t", source=f"stock.xlsx:{i}").model_dump(mode="json"),
         "stored_at": T0 + timedelta(seconds=i), "id": f"o-{i}"}
        for i in range(3)
    ]  # fmt: skip

    def answer(sql: str, args: dict[str, Any]) -> list[dict[str, Any]]:
        assert "ORDER BY stored_at, id" in sql
        assert "OFFSET" not in sql.upper()
        after = args.get("after_at")
        out = [o for o in offers if after is None or (o["stored_at"], o["id"]) >
               (after, args["after_id"])]  # fmt: skip
        return out[: args["limit"]]

    api.pool.answer = answer
    ids: list[str] = []
    url: str | None = "/v1/offers?limit=2"
    while url is not None:
        r = api.client.get(url, headers=COMPANY)
        assert r.status_code == 200, r.text
        ids += [o["id"] for o in r.json()]
        url = next_link(r)
    assert ids == ["o-0", "o-1", "o-2"]
    assert len(api.pool.queries) == 2
