"""A first pass through the API with the shared fixtures."""
from __future__ import annotations


def test_openapi_and_health(client):
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.get("/healthz").json["db"] == "ok"
