"""Interactive API docs served from this process: Swagger UI at ``/docs``, ReDoc at ``/redoc``.

FastAPI's default pages load Swagger UI and ReDoc from a CDN (and ReDoc Google's fonts): on a
plant network without internet they stay blank. These pages name only same-origin URLs: the
JavaScript and CSS come from the ``fastapi-offline`` package (MIT; it ships Swagger UI's
``swagger-ui-bundle.js`` and ``swagger-ui.css``, ReDoc's ``redoc.standalone.js`` and a
favicon) and are served under :data:`ASSETS`. Swagger UI's online validator badge is off
(``validatorUrl: null``: it would fetch an image from swagger.io). The pages and assets are
public, like ``/openapi.json``.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Final

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS: Final = "/docs-assets"
"""Where the Swagger UI and ReDoc files are served."""


def asset_directory() -> Path:
    """The folder of ``fastapi-offline``'s copies of the Swagger UI and ReDoc files.

    Raises:
        ModuleNotFoundError: ``fastapi-offline`` is not installed.
    """
    return Path(str(resources.files("fastapi_offline") / "static"))


def add_docs(app: FastAPI) -> None:
    """Serve ``/docs`` and ``/redoc`` for ``app`` (built with ``docs_url=None, redoc_url=None``).

    Raises:
        ModuleNotFoundError: ``fastapi-offline`` is not installed.
    """
    app.mount(ASSETS, StaticFiles(directory=asset_directory()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            swagger_ui_parameters={"validatorUrl": None},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return get_redoc_html(
            openapi_url=root + openapi_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
