"""The API's database reads: latest ledger entries, alert states, pages of readings and offers.

The paged queries are built by plain functions (:func:`readings_page`, :func:`offers_page`),
tested without a database; only constant SQL fragments are joined, every value is a parameter.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg
import structlog
from psycopg.rows import dict_row

from ingest.api.errors import ApiError
from ingest.api.paging import Cursor
from ingest.api.services import Services
from schemas.alerts import Alert
from schemas.ledger import LedgerEntry

log = structlog.get_logger(__name__)

Params = Sequence[Any] | Mapping[str, Any]
"""Positional (``%s``) or named (``%(name)s``) query parameters."""


def rows(svc: Services, sql: str, params: Params) -> list[dict[str, Any]]:
    """Run one query on the pool.

    Raises:
        ApiError: 503 when the database cannot be reached or fails.
    """
    try:
        with svc.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql.encode(), params)
            return cur.fetchall()
    except psycopg.Error as e:
        log.warning("api.database_unavailable", error=str(e)[:300])
        raise ApiError(503, "the database is unavailable; retry later") from e


def latest_ledger(svc: Services, streams: Sequence[str], hours: float) -> list[LedgerEntry]:
    """The newest ledger entry of each of ``streams`` updated in the last ``hours``."""
    found = rows(
        svc,
        "SELECT DISTINCT ON (stream) stream, site, kind, unit, window_s, measured, committed,"
        " available, steadiness, samples, available_since, updated_at, stale FROM ledger"
        " WHERE stream = ANY(%s) AND updated_at > now() - %s"
        " ORDER BY stream, updated_at DESC",
        (list(streams), timedelta(hours=hours)),
    )
    return [LedgerEntry.model_validate(r) for r in found]


def latest_alerts(
    svc: Services, streams: Sequence[str], needs: Sequence[str], hours: float, *, open_only: bool
) -> list[Alert]:
    """The latest event of each alert on ``streams`` or ``needs`` in the last ``hours``."""
    found = rows(
        svc,
        "SELECT payload FROM (SELECT DISTINCT ON (alert_id) alert_id, event, payload"
        " FROM alerts WHERE ts > now() - %s AND (stream = ANY(%s) OR need = ANY(%s))"
        " ORDER BY alert_id, ts DESC) latest WHERE NOT %s OR event <> 'resolved'"
        " ORDER BY alert_id",
        (timedelta(hours=hours), list(streams), list(needs), open_only),
    )
    return [Alert.model_validate(r["payload"]) for r in found]


def readings_page(
    meter: str,
    *,
    since: datetime | None,
    until: datetime | None,
    after: Cursor | None,
    limit: int,
) -> tuple[str, dict[str, Any]]:
    """The query for one page of a meter's readings, oldest first: ``(sql, params)``.

    ``since`` is inclusive, ``until`` exclusive; ``after`` is the cursor of the previous page
    (readings are unique by ``(meter, ts)``, so the keyset is ``ts`` alone and the primary key
    index serves it). Asks for ``limit + 1`` rows: one more tells that a next page exists.
    """
    params: dict[str, Any] = {"meter": meter}
    where = ["meter = %(meter)s"]
    for name, value, condition in (
        ("since", since, "ts >= %(since)s"),
        ("until", until, "ts < %(until)s"),
        ("after", after.at if after is not None else None, "ts > %(after)s"),
    ):
        if value is not None:
            params[name] = value
            where.append(condition)
    params["limit"] = limit + 1
    sql = (
        "SELECT meter, stream, ts, value, unit, quality FROM readings"  # noqa: S608 - constant fragments
        f" WHERE {' AND '.join(where)} ORDER BY ts LIMIT %(limit)s"
    )
    return sql, params


def offers_page(
    sites: Sequence[str] | None, *, after: Cursor | None, limit: int
) -> tuple[str, dict[str, Any]]:
    """The query for one page of offers, oldest stored first: ``(sql, params)``.

    ``sites``: the caller's sites (``None``: every offer, for the operator). The keyset is
    ``(stored_at, id)`` (ids are unique). Asks for ``limit + 1`` rows, like
    :func:`readings_page`.
    """
    params: dict[str, Any] = {"limit": limit + 1}
    where = []
    if sites is not None:
        params["sites"] = list(sites)
        where.append("site = ANY(%(sites)s)")
    if after is not None:
        params.update(after_at=after.at, after_id=after.key)
        where.append("(stored_at, id) > (%(after_at)s, %(after_id)s)")
    condition = f" WHERE {' AND '.join(where)}" if where else ""
    sql = (
        f"SELECT payload, stored_at, id FROM offers{condition}"  # noqa: S608 - constant fragments
        " ORDER BY stored_at, id LIMIT %(limit)s"
    )
    return sql, params
