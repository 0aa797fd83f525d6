"""Per-company API tokens: issued once, stored only as SHA-256 hashes, verified with a cache.

A token is ``sym_`` + 43 URL-safe characters (256 random bits). Its SHA-256 is the row's key
in ``api_tokens``; the token itself is printed once when issued and never stored. Because the
token is random and long, a fast hash does not help an attacker (nothing to guess from a
dictionary), and verification costs one indexed lookup, cached for ``api_token_cache_s``
(a revoked token stops working within that time). While the database does not answer, a token
known before keeps its last answer (:class:`TokenVerifier`), so pushes go on.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from collections import OrderedDict
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Final, Literal

import psycopg
from psycopg_pool import ConnectionPool

from domain.errors import ConfigurationError
from schemas.views import Caller

PREFIX: Final = "sym_"
_TOKEN_SHAPE: Final = re.compile(re.escape(PREFIX) + r"[A-Za-z0-9_-]{43}")
"""What :func:`new_token` issues: the prefix and 32 random bytes in url-safe base64."""
Role = Literal["company", "operator"]
Conn = psycopg.Connection[tuple[object, ...]]


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: a company's token, or the operator's (``company`` is ``None``)."""

    role: Role
    company: str | None
    prefix: str

    @property
    def is_operator(self) -> bool:
        """The operator sees everything and may act for any company."""
        return self.role == "operator"

    @property
    def scope(self) -> str | None:
        """The company whose data this caller sees; ``None`` for the operator (everything)."""
        return None if self.is_operator else self.company

    def view(self) -> Caller:
        """What ``GET /v1/me`` and the dashboard say about the caller."""
        return Caller(role=self.role, company=self.company, token_prefix=self.prefix)

    def owns(self, company: str | None) -> bool:
        """Whether this caller may act for ``company`` (the operator may for all)."""
        return self.is_operator or (company is not None and company == self.company)


def new_token() -> str:
    """A fresh random token."""
    return PREFIX + secrets.token_urlsafe(32)


def token_sha256(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def issue(conn: Conn, company: str | None, *, label: str = "") -> str:
    """Store a new token for ``company`` (``None``: an operator token) and return it.

    The token is returned once; only its hash is stored.

    Raises:
        ConfigurationError: the ``api_tokens`` table does not exist (migrations not applied).
    """
    token = new_token()
    role: Role = "operator" if company is None else "company"
    try:
        conn.execute(
            "INSERT INTO api_tokens (token_sha256, prefix, company, role, label)"
            " VALUES (%s, %s, %s, %s, %s)",
            (token_sha256(token), token[:10], company, role, label),
        )
    except psycopg.errors.UndefinedTable as e:
        raise ConfigurationError("api_tokens is missing: run `symbiosis db migrate`") from e
    return token


def revoke(conn: Conn, prefix: str) -> int:
    """Revoke every live token whose prefix starts with ``prefix``; returns how many."""
    if len(prefix) < 8:
        raise ConfigurationError("prefix: give at least 8 characters of the token")
    cur = conn.execute(
        "UPDATE api_tokens SET revoked_at = now() WHERE revoked_at IS NULL AND prefix LIKE %s",
        (prefix[:10].replace("%", "").replace("_", r"\_") + "%",),
    )
    return int(cur.rowcount)


def lookup(conn: Conn, token: str) -> Principal | None:
    """The caller behind ``token`` (one query, no cache), or ``None``: unknown or revoked.

    For a command that acts for a company once (``symbiosis import``); the API uses
    :class:`TokenVerifier`.

    Raises:
        psycopg.Error: the database cannot be reached or has no ``api_tokens`` table.
    """
    if not _TOKEN_SHAPE.fullmatch(token):
        return None
    return _principal(conn, token_sha256(token))


def _principal(conn: Conn, digest: str) -> Principal | None:
    return _principals(conn, [digest]).get(digest)


def _principals(conn: Conn, digests: list[str]) -> dict[str, Principal]:
    """The live tokens among ``digests`` (one query): digest -> its principal."""
    rows = conn.execute(
        "SELECT token_sha256, role, company, prefix FROM api_tokens"
        " WHERE token_sha256 = ANY(%s) AND revoked_at IS NULL",
        (digests,),
    ).fetchall()
    return {
        str(digest): Principal(
            "operator" if role == "operator" else "company",
            str(company) if company is not None else None,
            str(prefix),
        )
        for digest, role, company, prefix in rows
    }


class TokenVerifier:
    """Looks tokens up in the database, caching answers for ``ttl_s``.

    Known tokens and unknown ones are cached apart, each bounded (least recently used out
    first), so a flood of random tokens only ever evicts other unknown tokens: valid callers
    keep their cache entries. A token not of the issued shape is refused without a lookup.

    A slow or frozen database never holds a request for long: lookups run in threads of their
    own (at most ``max_lookups``), each asking for every token waiting at that moment in one
    query (up to ``batch`` of them), so a thousand historians starting together cost a few
    round trips, not a thousand. A caller waits for its token's answer at most
    ``stale_wait_s`` when the token was known before (it then gets that earlier answer, up to
    ``max_stale_s`` old: the database that would record a revocation cannot be read either),
    else at most ``lookup_wait_s`` (then 503). At most ``max_waiting`` tokens wait for an
    answer; more get 503 at once. A lookup goes on and fills the cache when the database
    answers. With a healthy database a revoked token stops working within ``ttl_s``.
    """

    def __init__(
        self, pool: ConnectionPool[Conn], ttl_s: float, max_entries: int = 10_000, *,
        stale_wait_s: float = 1.0, lookup_wait_s: float = 10.0, max_stale_s: float = 3600.0,
        max_lookups: int = 4, batch: int = 500, max_waiting: int = 10_000,
    ) -> None:  # fmt: skip
        self.pool = pool
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.stale_wait_s = stale_wait_s
        self.lookup_wait_s = lookup_wait_s
        self.max_stale_s = max_stale_s
        self.max_lookups = max_lookups
        self.batch = batch
        self.max_waiting = max_waiting
        self._known: OrderedDict[str, tuple[float, Principal]] = OrderedDict()
        self._unknown: OrderedDict[str, float] = OrderedDict()
        self._waiting: dict[str, Future[Principal | None]] = {}
        """Every token asked for and not answered yet (queued or being looked up)."""
        self._queued: list[str] = []
        """Those no lookup has taken yet, oldest first."""
        self._lookups = 0
        self._lock = threading.Lock()

    def verify(self, token: str) -> Principal | None:
        """The caller behind ``token``, or ``None`` for an unknown or revoked token.

        Raises:
            psycopg.Error: the database cannot be reached or did not answer in time, and the
                token was not known before (the API answers 503).
        """
        if not _TOKEN_SHAPE.fullmatch(token):
            return None
        digest = token_sha256(token)
        now = time.monotonic()
        with self._lock:
            known = self._known.get(digest)
            if known is not None and now - known[0] < self.ttl_s:
                self._known.move_to_end(digest)
                return known[1]
            missed = self._unknown.get(digest)
            if missed is not None and now - missed < self.ttl_s:
                return None
            stale = known[1] if known is not None and now - known[0] < self.max_stale_s else None
            lookup = self._ask(digest)
        if lookup is None:  # too many tokens wait for the database already
            if stale is not None:
                return stale
            raise psycopg.OperationalError("the token store is busy: too many lookups waiting")
        try:
            return lookup.result(self.stale_wait_s if stale is not None else self.lookup_wait_s)
        except (TimeoutError, psycopg.Error) as e:
            if stale is not None:
                return stale
            if isinstance(e, TimeoutError):
                raise psycopg.OperationalError("the token store did not answer in time") from e
            raise

    def _ask(self, digest: str) -> Future[Principal | None] | None:
        """The future answer for ``digest``: queued, with a lookup thread to take it (lock held).

        ``None`` when ``max_waiting`` tokens wait already.
        """
        waiting = self._waiting.get(digest)
        if waiting is not None:
            return waiting
        if len(self._waiting) >= self.max_waiting:
            return None
        future: Future[Principal | None] = Future()
        if self._lookups >= self.max_lookups:  # a running lookup takes it
            self._waiting[digest] = future
            self._queued.append(digest)
            return future
        try:
            threading.Thread(target=self._run_lookups, daemon=True, name="token-lookup").start()
        except RuntimeError as e:  # no thread to be had: the caller answers 503, nothing leaks
            future.set_exception(psycopg.OperationalError(f"no token lookup could start: {e}"))
            return future
        self._lookups += 1  # the thread's first step takes the lock, held here: it sees this
        self._waiting[digest] = future
        self._queued.append(digest)
        return future

    def _run_lookups(self) -> None:
        """Answer queued tokens, ``batch`` per query, until none is queued; then end.

        The count of running lookups goes down in the same step that finds the queue empty,
        so a token queued meanwhile is never left without a lookup. Should anything escape
        (a bug), the callers of the tokens in hand get it, and if no other lookup runs, the
        queued ones get a 503 rather than waiting.
        """
        digests: list[str] = []
        try:
            while True:
                with self._lock:
                    digests, self._queued = self._queued[: self.batch], self._queued[self.batch :]
                    if not digests:
                        self._lookups -= 1
                        return
                self._look_up(digests)
                digests = []
        except BaseException as e:
            with self._lock:
                self._lookups -= 1
                orphans, self._queued = (
                    (self._queued, []) if not self._lookups else ([], self._queued)
                )
            self._fail(digests, e)
            self._fail(orphans, psycopg.OperationalError("the token lookup stopped"))
            raise

    def _fail(self, digests: list[str], error: BaseException) -> None:
        """Hand ``error`` to the callers waiting for ``digests`` (those still waiting)."""
        with self._lock:
            futures = [f for f in (self._waiting.pop(d, None) for d in digests) if f is not None]
        for future in futures:
            future.set_exception(error)

    def _look_up(self, digests: list[str]) -> None:
        """One query for ``digests``; their answers cached and handed to their callers."""
        try:
            with self.pool.connection() as conn:
                found = _principals(conn, digests)
        except Exception as e:  # noqa: BLE001 - handed to the waiting callers (psycopg: 503)
            self._fail(digests, e)
            return
        now = time.monotonic()
        with self._lock:
            futures = [self._waiting.pop(d, None) for d in digests]
            for digest in digests:
                self._known.pop(digest, None)
                self._unknown.pop(digest, None)
                principal = found.get(digest)
                if principal is None:
                    self._unknown[digest] = now
                else:
                    self._known[digest] = (now, principal)
            _bound(self._unknown, self.max_entries)
            _bound(self._known, self.max_entries)
        for digest, future in zip(digests, futures, strict=True):
            if future is not None:
                future.set_result(found.get(digest))


def _bound(cache: OrderedDict[str, Any], size: int) -> None:
    while len(cache) > size:
        cache.popitem(last=False)
