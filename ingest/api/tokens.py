"""Per-company API tokens: issued once, stored only as SHA-256 hashes, verified with a cache.

A token is ``sym_`` + 43 URL-safe characters (256 random bits). Its SHA-256 is the row's key
in ``api_tokens``; the token itself is printed once when issued and never stored. Because the
token is random and long, a fast hash does not help an attacker (nothing to guess from a
dictionary), and verification costs one indexed lookup, cached for ``api_token_cache_s``
(a revoked token stops working within that time).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Final, Literal

import psycopg
from psycopg_pool import ConnectionPool

from schemas.views import Caller
from symbiosis.errors import ConfigurationError

PREFIX: Final = "sym_"
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


class TokenVerifier:
    """Looks tokens up in the database, caching answers (also misses) for ``ttl_s``."""

    def __init__(self, pool: ConnectionPool[Conn], ttl_s: float) -> None:
        self.pool = pool
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def verify(self, token: str) -> Principal | None:
        """The caller behind ``token``, or ``None`` for an unknown or revoked token.

        Raises:
            psycopg.Error: the database cannot be reached (the API answers 503).
        """
        if not token.startswith(PREFIX) or len(token) > 200:
            return None
        digest = token_sha256(token)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and now - hit[0] < self.ttl_s:
            return hit[1]
        with self.pool.connection() as conn:
            row = conn.execute(
                "SELECT role, company, prefix FROM api_tokens"
                " WHERE token_sha256 = %s AND revoked_at IS NULL",
                (digest,),
            ).fetchone()
        principal = None
        if row is not None:
            role, company, prefix = row
            principal = Principal(
                "operator" if role == "operator" else "company",
                str(company) if company is not None else None,
                str(prefix),
            )
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now, principal)
        return principal
