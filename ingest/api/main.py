"""ASGI entry point: ``uvicorn ingest.api.main:app`` (what ``symbiosis api`` runs)."""

from __future__ import annotations

from ingest.api.app import create_app
from runtime.settings import get_settings

app = create_app(get_settings())
