"""The token cache: random tokens cannot flush valid callers' entries or reach the database."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from ingest.api.tokens import TokenVerifier, new_token, token_sha256


class FakePool:
    """Answers token look-ups (``token_sha256 = ANY(digests)``) from a dict and counts them."""

    def __init__(self, valid: dict[str, str]) -> None:
        self.valid = {token_sha256(t): company for t, company in valid.items()}
        self.lookups = 0
        self.asked: list[int] = []
        """Tokens asked for in each query."""

    @contextmanager
    def connection(self) -> Iterator[Any]:
        pool = self

        class Conn:
            def execute(self, sql: str, params: tuple[list[str]]) -> Any:
                pool.lookups += 1
                pool.asked.append(len(params[0]))
                rows = [(d, "company", pool.valid[d], "sym_abcdef")
                        for d in params[0] if d in pool.valid]  # fmt: skip

                class Cur:
                    def fetchall(self) -> Any:
                        return rows

                return Cur()

        yield Conn()


def test_random_tokens_do_not_evict_valid_ones() -> None:
    good = new_token()
    pool = FakePool({good: "orsted"})
    verifier = TokenVerifier(pool, ttl_s=60, max_entries=100)  # type: ignore[arg-type]
    who = verifier.verify(good)
    assert who is not None
    assert who.company == "orsted"
    for _ in range(1000):
        assert verifier.verify(new_token()) is None
    before = pool.lookups
    assert verifier.verify(good) == who
    assert pool.lookups == before  # still cached: no database round trip


def test_tokens_not_of_the_issued_shape_never_reach_the_database() -> None:
    pool = FakePool({})
    verifier = TokenVerifier(pool, ttl_s=60)  # type: ignore[arg-type]
    for junk in ("", "sym_", "sym_short", "x" * 47, "sym_" + "a" * 44, "sym_" + "a" * 42 + "!"):
        assert verifier.verify(junk) is None
    assert pool.lookups == 0


class FrozenPool(FakePool):
    """A database that stops answering (a frozen server) until :attr:`thaw` is set."""

    def __init__(self, valid: dict[str, str]) -> None:
        super().__init__(valid)
        self.frozen = False
        self.thaw = threading.Event()

    @contextmanager
    def connection(self) -> Iterator[Any]:
        if self.frozen:
            self.thaw.wait(10)
        with super().connection() as conn:
            yield conn


def test_a_frozen_database_does_not_hold_a_known_caller() -> None:
    good, fresh = new_token(), new_token()
    pool = FrozenPool({good: "orsted", fresh: "novo"})
    verifier = TokenVerifier(pool, ttl_s=0.05, stale_wait_s=0.1, lookup_wait_s=0.3)  # type: ignore[arg-type]
    who = verifier.verify(good)
    assert who is not None
    time.sleep(0.1)  # the cached answer is older than ttl_s
    pool.frozen = True
    started = time.monotonic()
    assert verifier.verify(good) == who  # the earlier answer, after stale_wait_s
    assert verifier.verify(good) == who
    assert time.monotonic() - started < 1.0
    with pytest.raises(psycopg.OperationalError, match="did not answer"):
        verifier.verify(fresh)  # never seen: nothing to fall back on, so 503
    pool.thaw.set()  # the lookups waiting for the database finish and fill the cache
    deadline = time.monotonic() + 5
    while pool.lookups < 2:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    pool.frozen = False
    assert verifier.verify(fresh) is not None


def test_a_revoked_token_stops_working_once_its_answer_expires() -> None:
    good = new_token()
    pool = FakePool({good: "orsted"})
    verifier = TokenVerifier(pool, ttl_s=0.05)  # type: ignore[arg-type]
    assert verifier.verify(good) is not None
    pool.valid.clear()  # revoked
    time.sleep(0.1)
    assert verifier.verify(good) is None  # a healthy database answers: the revocation holds


def test_lookups_are_bounded_while_the_database_is_frozen() -> None:
    pool = FrozenPool({})
    pool.frozen = True
    verifier = TokenVerifier(pool, ttl_s=60, lookup_wait_s=0.05, max_lookups=2, max_waiting=3)  # type: ignore[arg-type]
    for _ in range(3):
        with pytest.raises(psycopg.OperationalError, match="did not answer"):
            verifier.verify(new_token())
    with pytest.raises(psycopg.OperationalError, match="busy"):
        verifier.verify(new_token())  # a fourth token does not wait: memory stays bounded
    assert verifier._lookups == 2  # threads (and connections) stay bounded
    pool.thaw.set()


class SlowPool(FakePool):
    """A healthy database that takes a few milliseconds per query."""

    @contextmanager
    def connection(self) -> Iterator[Any]:
        time.sleep(0.005)
        with super().connection() as conn:
            yield conn


def test_many_new_callers_at_once_are_answered_in_a_few_queries() -> None:
    """A park's historians starting together (TEDA: 1,000 companies, each with its own token)
    all get their answer, from a few queries for many tokens each, never a 503."""
    tokens = {new_token(): f"company-{i}" for i in range(300)}
    revoked = [new_token() for _ in range(20)]
    pool = SlowPool(tokens)
    verifier = TokenVerifier(pool, ttl_s=60, max_lookups=2)  # type: ignore[arg-type]
    asks = [*tokens, *revoked] * 2
    with ThreadPoolExecutor(64) as callers:
        answers = list(callers.map(verifier.verify, asks))
    assert [a.company if a else None for a in answers] == [
        tokens.get(t) for t in asks
    ]  # every caller, each its own company; unknown tokens refused
    assert sum(pool.asked) == len(tokens) + len(revoked)  # each token asked for once
    assert pool.lookups < len(tokens) / 5  # many tokens per query


class BrokenPool(FakePool):
    """A database that refuses connections until :attr:`healthy` is set."""

    def __init__(self, valid: dict[str, str]) -> None:
        super().__init__(valid)
        self.healthy = False

    @contextmanager
    def connection(self) -> Iterator[Any]:
        if not self.healthy:
            raise psycopg.OperationalError("connection refused")
        with super().connection() as conn:
            yield conn


def test_a_refusing_database_answers_every_waiting_caller_and_leaves_nothing_behind() -> None:
    good, fresh = new_token(), new_token()
    pool = BrokenPool({good: "orsted", fresh: "novo"})
    pool.healthy = True
    verifier = TokenVerifier(pool, ttl_s=0.01, max_lookups=1)  # type: ignore[arg-type]
    who = verifier.verify(good)
    time.sleep(0.02)  # its answer is older than ttl_s
    pool.healthy = False
    with ThreadPoolExecutor(16) as callers:
        fresh_answers = [callers.submit(verifier.verify, fresh) for _ in range(8)]
        good_answers = [callers.submit(verifier.verify, good) for _ in range(8)]
        for f in fresh_answers:
            with pytest.raises(psycopg.OperationalError, match="refused"):
                f.result(timeout=5)  # never seen: 503
        assert [f.result(timeout=5) for f in good_answers] == [who] * 8  # its earlier answer
    assert (verifier._lookups, verifier._waiting, verifier._queued) == (0, {}, [])
    pool.healthy = True
    assert verifier.verify(fresh) is not None  # the next lookup starts afresh


def test_a_lookup_that_cannot_start_is_a_503_not_a_leak(monkeypatch: pytest.MonkeyPatch) -> None:
    token = new_token()
    verifier = TokenVerifier(FakePool({token: "orsted"}), ttl_s=60, max_lookups=1)  # type: ignore[arg-type]

    def no_thread(self: threading.Thread) -> None:
        raise RuntimeError("can't start new thread")

    with monkeypatch.context() as m:
        m.setattr(threading.Thread, "start", no_thread)
        with pytest.raises(psycopg.OperationalError, match="no token lookup could start"):
            verifier.verify(token)
    assert (verifier._lookups, verifier._waiting, verifier._queued) == (0, {}, [])
    assert verifier.verify(token) is not None  # threads are back: so are lookups
