"""The API's documentation pages without network: ``/docs`` (Swagger UI) and ``/redoc`` (ReDoc).

FastAPI's own pages load their JavaScript, CSS, favicon (and ReDoc its fonts) from CDNs, so they are
blank on a machine or cluster without egress. Here the same pages (``get_swagger_ui_html``,
``get_redoc_html``) load them from :data:`ASSETS`, served from the files the ``fastapi-offline``
package ships (Swagger UI's bundle and CSS, ReDoc's standalone bundle), as FastAPI documents for
self-hosting. Create the app with ``docs_url=None, redoc_url=None`` and call :func:`add_docs`.
"""

from __future__ import annotations

from importlib import resources

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs-assets"
DOCS = "/docs"
REDOC = "/redoc"


def assets_folder() -> str:
    """Where the installed ``fastapi_offline`` package keeps the pages' files."""
    return str(resources.files("fastapi_offline") / "static")


def add_docs(app: FastAPI) -> None:
    """Serve :data:`DOCS` and :data:`REDOC` with every asset from :data:`ASSETS` of this app."""
    app.mount(ASSETS, StaticFiles(directory=assets_folder()), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"
    redirect_url = app.swagger_ui_oauth2_redirect_url

    @app.get(DOCS, include_in_schema=False)
    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_swagger_ui_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=f"{root}{redirect_url}" if redirect_url else None,
            swagger_js_url=f"{root}{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS}/favicon.png",
            # no badge from the public validator service either
            swagger_ui_parameters={"validatorUrl": None, **(app.swagger_ui_parameters or {})},
        )

    if redirect_url:

        @app.get(redirect_url, include_in_schema=False)
        async def swagger_ui_redirect() -> HTMLResponse:
            return get_swagger_ui_oauth2_redirect_html()

    @app.get(REDOC, include_in_schema=False)
    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(
            openapi_url=f"{root}{openapi_url}",
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS}/favicon.png",
            with_google_fonts=False,
        )
