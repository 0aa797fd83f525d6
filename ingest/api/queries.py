"""The API's database reads: latest ledger entries and alert states of given streams and needs."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import psycopg
from psycopg.rows import dict_row

from ingest.api.errors import ApiError
from ingest.api.services import Services
from schemas.alerts import Alert
from schemas.ledger import LedgerEntry


def rows(svc: Services, sql: str, params: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Run one query on the pool.

    Raises:
        ApiError: 503 when the database cannot be reached or fails.
    """
    try:
        with svc.pool.connection() as conn, conn.cursor(row_factory=dict_row) as cur:
            cur.execute(sql.encode(), params)
            return cur.fetchall()
    except psycopg.Error as e:
        raise ApiError(503, f"the database is unavailable: {type(e).__name__}") from e


def latest_ledger(svc: Services, streams: Sequence[str], hours: float) -> list[LedgerEntry]:
    """The newest ledger entry of each of ``streams`` updated in the last ``hours``."""
    found = rows(
        svc,
        "SELECT DISTINCT ON (stream) stream, site, kind, unit, window_s, measured, committed,"
        " available, steadiness, samples, available_since, updated_at FROM ledger"
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
