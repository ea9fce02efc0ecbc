"""``/docs`` and ``/redoc`` work without network: every script, style sheet and icon they load is
one of the API's own URLs, and each of those answers with the file."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from serving.docs import ASSETS

REFERENCE = re.compile(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""")
KINDS = {".js": "javascript", ".css": "text/css", ".png": "image/png", ".json": "application/json"}


@pytest.mark.parametrize(
    ("page", "script"), [("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")]
)
def test_the_docs_pages_load_only_local_assets(client: TestClient, page: str, script: str) -> None:
    response = client.get(page)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "http://" not in response.text and "https://" not in response.text
    references = REFERENCE.findall(response.text)
    assert f"{ASSETS}/{script}" in references and "/openapi.json" in references
    for url in references:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        kind = KINDS[url[url.rindex(".") :]]
        assert kind in asset.headers["content-type"], (url, asset.headers["content-type"])
        assert len(asset.content) > 1000, url


def test_the_assets_are_not_in_the_openapi_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith((ASSETS, "/docs", "/redoc"))]
