"""HTTP caching of the data routes: weak ETags of the loaded generations, 304s, ``Cache-Control``,
and gzip of large bodies (pre-compressed ones sent as they are).

Gzip is done here rather than by a middleware so that the ASGI fast path and the routes send
exactly the same headers and bytes.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import Response

from serving.view import gzipped

Answer = tuple[int, dict[str, str], bytes]


def etag_matches(header: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak comparison, lists, ``*``)."""
    if not header:
        return False
    ours = etag.removeprefix("W/")
    for candidate in header.split(","):
        candidate = candidate.strip()
        if candidate == "*" or candidate.removeprefix("W/") == ours:
            return True
    return False


def with_suffix(etag: str, suffix: str) -> str:
    """A variant's ETag (e.g. the CSV of a JSON route): the suffix inside the quotes."""
    return etag if not suffix else f'{etag[:-1]}-{suffix}"'


class HttpCache:
    """Builds the answers of the data routes with the app's cache and gzip settings."""

    def __init__(self, max_age_s: int, gzip_min_bytes: int) -> None:
        self.cache_control = f"public, max-age={max_age_s}"
        self.gzip_min_bytes = gzip_min_bytes

    def conditional(
        self,
        etag: str | None,
        body: bytes,
        media_type: str,
        accepts_gzip: bool,
        if_none_match: str | None,
        body_gzip: bytes | None = None,
        etag_suffix: str = "",
        extra: dict[str, str] | None = None,
    ) -> Answer:
        """Status, headers and body of a data answer: 304 on a matching ETag, gzip when accepted."""
        headers = {"Cache-Control": self.cache_control, "Vary": "Accept, Accept-Encoding"}
        if etag is not None:
            headers["ETag"] = tagged = with_suffix(etag, etag_suffix)
            if etag_matches(if_none_match, tagged):
                return 304, headers, b""
        headers["Content-Type"] = media_type
        if extra:
            headers.update(extra)
        if accepts_gzip and len(body) >= self.gzip_min_bytes:
            headers["Content-Encoding"] = "gzip"
            body = body_gzip if body_gzip is not None else gzipped(body)
        return 200, headers, body

    def respond(
        self,
        request: Request,
        etag: str | None,
        body: bytes,
        media_type: str = "application/json",
        body_gzip: bytes | None = None,
        etag_suffix: str = "",
        extra: dict[str, str] | None = None,
    ) -> Response:
        status, headers, content = self.conditional(
            etag,
            body,
            media_type,
            "gzip" in request.headers.get("accept-encoding", ""),
            request.headers.get("if-none-match"),
            body_gzip,
            etag_suffix,
            extra,
        )
        if status == 304:
            return Response(status_code=304, headers=headers)
        return Response(content, headers=headers)
