"""Token authentication: every route but ``/healthz`` and the docs needs a token.

Every route takes ``Authorization: Bearer <token>``. The OMF routes (:data:`OmfCaller`) also
take HTTP Basic with the token as the password, as PI Web API clients send it (PI adapters,
fledge's OMF north, AVEVA's samples ask for a user name and a password); the user name is not
read. The token is checked the same way whichever scheme carries it.
"""

from __future__ import annotations

import base64
import binascii
import math
from typing import Annotated, Final

import psycopg
from fastapi import Depends, Request
from fastapi.openapi.models import HTTPBase
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.base import SecurityBase

from ingest.api.errors import ApiError
from ingest.api.services import Services
from ingest.api.tokens import Principal

_bearer = HTTPBearer(auto_error=False, description="A token from `symbiosis token issue`.")

OMF_CHALLENGE: Final = 'Bearer realm="symbiosis", Basic realm="symbiosis", charset="UTF-8"'
"""``WWW-Authenticate`` of a 401 on the OMF routes: both schemes they take."""


def basic_password(authorization: str | None) -> str | None:
    """The password of an ``Authorization: Basic base64(<user>:<password>)`` header.

    ``None`` for another scheme, no header, or a value that is not base64 of UTF-8 text with a
    colon and a non-empty password (RFC 7617); never raises.
    """
    scheme, _, param = (authorization or "").strip().partition(" ")
    if scheme.lower() != "basic" or not param.strip():
        return None
    try:
        text = base64.b64decode(param.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    _, colon, password = text.partition(":")
    return password if colon and password else None


def request_token(authorization: str | None, *, basic: bool) -> str | None:
    """The token an ``Authorization`` header carries: Bearer, or (``basic``) Basic's password.

    ``None`` when it carries none; never raises.
    """
    scheme, _, param = (authorization or "").strip().partition(" ")
    if scheme.lower() == "bearer":
        return param.strip() or None
    return basic_password(authorization) if basic else None


class _BasicPassword(SecurityBase):
    """HTTP Basic with the token as the password: the password, or ``None``; never raises.

    A security dependency so the OpenAPI document lists Basic for the routes that take it.
    """

    def __init__(self) -> None:
        self.model = HTTPBase(
            scheme="basic",
            description="OMF routes only: any user name, a token from `symbiosis token issue` "
            "as the password (PI Web API clients).",
        )
        self.scheme_name = "HTTPBasic"

    async def __call__(self, request: Request) -> str | None:
        """The password of the request's Basic ``Authorization`` header, if any."""
        return basic_password(request.headers.get("authorization"))


_basic = _BasicPassword()


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
    """FastAPI dependency: the authenticated caller (also kept on ``request.state``).

    Raises:
        ApiError: as :func:`authenticate`; 429 over the company's request rate.
    """
    who = authenticate(svc, credentials.credentials if credentials else None)
    return _admit(request, svc, who)


def omf_principal(
    request: Request,
    svc: Annotated[Services, Depends(services)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    password: Annotated[str | None, Depends(_basic)],
) -> Principal:
    """FastAPI dependency of the OMF routes: :func:`principal`, Bearer or Basic.

    Raises:
        ApiError: 401 (``WWW-Authenticate`` naming Bearer and Basic) without a valid token in
            either; 503 when the token store cannot be reached; 429 over the request rate.
    """
    token = credentials.credentials if credentials else password
    try:
        who = authenticate(svc, token)
    except ApiError as e:
        if e.status != 401:
            raise
        message = (
            "send `Authorization: Bearer <token>`, or Basic with the token as the password"
            if not token
            else str(e)
        )
        raise ApiError(401, message, headers={"WWW-Authenticate": OMF_CHALLENGE}) from e
    return _admit(request, svc, who)


def _admit(request: Request, svc: Services, who: Principal) -> Principal:
    """Keep the caller on ``request.state``; count the request against its company's rate.

    Raises:
        ApiError: 429 with ``Retry-After`` over the company's request rate.
    """
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
OmfCaller = Annotated[Principal, Depends(omf_principal)]
Svc = Annotated[Services, Depends(services)]
