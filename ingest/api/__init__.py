"""The HTTP API: historians push readings, tenants manage their registry and read their data."""
