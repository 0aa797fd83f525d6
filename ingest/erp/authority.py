"""Who may publish offers for a company: the company's own API token, or the operator's.

``symbiosis import --company ID`` publishes only with a token (``--token`` or the variable
``SYMBIOSIS_TOKEN``) that is the company's own or an operator's, checked in the database like
every API request; a dry run publishes nothing and needs none. The rows' sites are then checked
against the company's registered sites (:mod:`ingest.erp.sites`).
"""

from __future__ import annotations

import psycopg

from domain.errors import ErpImportError, UnavailableError
from ingest.api import tokens
from ingest.api.tokens import Principal

TOKEN_VARIABLE = "SYMBIOSIS_TOKEN"  # noqa: S105 - the variable's name, not a token


def authority_problem(principal: Principal | None, company: str) -> str | None:
    """Why the token's holder may not publish offers for ``company``; None: it may.

    Args:
        principal: the token's holder, or None for an unknown or revoked token.
        company: the company named by ``--company``.
    """
    if principal is None:
        return "the token is not valid (unknown or revoked): issue one with `symbiosis token issue`"
    if principal.is_operator or principal.company == company:
        return None
    return (
        f"the token is {principal.company!r}'s, not {company!r}'s: a company imports only its "
        "own stock (use its token, or an operator's)"
    )


def check_authority(database_url: str, token: str | None, company: str) -> Principal:
    """The token's holder, once it is known to act for ``company``.

    Raises:
        ErpImportError: no token given, or one that may not publish for ``company``.
        UnavailableError: the database cannot be reached (the token cannot be checked).
    """
    if not token:
        raise ErpImportError(
            f"publishing offers needs {company!r}'s API token: pass --token or set "
            f"{TOKEN_VARIABLE} (a --dry-run needs none)"
        )
    try:
        with psycopg.connect(database_url, connect_timeout=5) as conn:
            principal = tokens.lookup(conn, token.strip())
    except psycopg.Error as e:
        raise UnavailableError(
            f"cannot check the token: the database is not reachable ({str(e).strip()[:120]}); "
            "is SYMBIOSIS_DATABASE_URL its address?"
        ) from e
    problem = authority_problem(principal, company)
    if problem is not None:
        raise ErpImportError(problem)
    assert principal is not None  # authority_problem said so
    return principal
