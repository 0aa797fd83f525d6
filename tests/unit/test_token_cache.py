"""The token cache: random tokens cannot flush valid callers' entries or reach the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ingest.api.tokens import TokenVerifier, new_token, token_sha256


class FakePool:
    """Answers token look-ups from a dict and counts them."""

    def __init__(self, valid: dict[str, str]) -> None:
        self.valid = {token_sha256(t): company for t, company in valid.items()}
        self.lookups = 0

    @contextmanager
    def connection(self) -> Iterator[Any]:
        pool = self

        class Conn:
            def execute(self, sql: str, params: tuple[str]) -> Any:
                pool.lookups += 1
                company = pool.valid.get(params[0])

                class Cur:
                    def fetchone(self) -> Any:
                        return None if company is None else ("company", company, "sym_abcdef")

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
