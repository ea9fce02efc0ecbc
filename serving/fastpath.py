"""The ASGI fast path of the hot route: one series' forecast, answered from its pre-serialised body.

``GET /api/v1/forecasts/{key…}`` without a query string, for a series in the served view, is sent
straight from :class:`~serving.view.SeriesEntry` bytes through :class:`~serving.http_cache.HttpCache`,
so the answer is byte for byte what the routed handler sends. Everything else (unknown codes, a
``start``/``end`` window, nothing loaded) falls through to FastAPI. ``EF_API_FAST_PATH=false`` turns
it off.
"""

from __future__ import annotations

from types import SimpleNamespace

from starlette.types import ASGIApp, Receive, Scope, Send

from serving.http_cache import HttpCache
from serving.refresher import ServingState


class SeriesFastPath:
    def __init__(
        self, app: ASGIApp, state: ServingState, cache: HttpCache, prefix: str, template: str, keys: int
    ) -> None:
        self.app = app
        self.state = state
        self.cache = cache
        self.prefix = prefix
        self.keys = keys
        self.route = SimpleNamespace(path=template)
        """what the metrics middleware reads as the route template"""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] == "GET"
            and not scope["query_string"]
            and scope["path"].startswith(self.prefix)
        ):
            key = tuple(scope["path"][len(self.prefix) :].split("/"))
            view = self.state.view
            entry = view.series.get(key) if len(key) == self.keys else None
            if entry is not None:
                scope["route"] = self.route
                inm, gzip_ok = None, False
                for name, value in scope["headers"]:
                    if name == b"if-none-match":
                        inm = value.decode("latin-1")
                    elif name == b"accept-encoding":
                        gzip_ok = b"gzip" in value
                status, headers, body = self.cache.conditional(
                    view.etag, entry.body, "application/json", gzip_ok, inm, entry.body_gzip
                )
                raw = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
                if status != 304:
                    raw.append((b"content-length", str(len(body)).encode()))
                await send({"type": "http.response.start", "status": status, "headers": raw})
                await send({"type": "http.response.body", "body": body})
                return
        await self.app(scope, receive, send)
