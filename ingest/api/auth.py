"""Bearer-token authentication: every route but ``/healthz`` and the docs needs a token."""

from __future__ import annotations

import math
from typing import Annotated

import psycopg
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ingest.api.errors import ApiError
from ingest.api.services import Services
from ingest.api.tokens import Principal

_bearer = HTTPBearer(auto_error=False, description="A token from `symbiosis token issue`.")


def services(request: Request) -> Services:
    """The running process's services."""
    svc: Services = request.app.state.services
    return svc


def authenticate(svc: Services, token: str | None) -> Principal:
    """The caller behind a bearer token.

    Raises:
        ApiError: 401 without a valid token; 503 when the token store cannot be reached.
    """
    if not token:
        raise ApiError(401, "send `Authorization: Bearer <token>`")
    try:
        principal = svc.tokens.verify(token)
    except psycopg.Error as e:
        raise ApiError(503, "the token store is unavailable; retry") from e
    if principal is None:
        raise ApiError(401, "unknown or revoked token")
    return principal


def principal(
    request: Request,
    svc: Annotated[Services, Depends(services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """FastAPI dependency: the authenticated caller (also kept on ``request.state``)."""
    who = authenticate(svc, credentials.credentials if credentials else None)
    request.state.principal = who
    if not who.is_operator:
        wait = svc.request_rate.take(who.company or "")
        if wait is not None:
            raise ApiError(
                429,
                f"over the company's request rate ({svc.settings.api_rate_per_s:g}/s); retry later",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
    return who


def take_registry_write(svc: Services, who: Principal) -> None:
    """Count one registry write against the company's rate (the operator is not limited).

    Raises:
        ApiError: 429 with ``Retry-After`` when the company is over its rate.
    """
    if who.is_operator:
        return
    wait = svc.registry_write_rate.take(who.company or "")
    if wait is not None:
        raise ApiError(
            429,
            "over the company's rate of registry writes "
            f"({svc.settings.api_registry_writes_per_min:g}/min); retry later",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )


Caller = Annotated[Principal, Depends(principal)]
Svc = Annotated[Services, Depends(services)]
