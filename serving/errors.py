"""The API's error answers: 404/503 as :class:`ErrorResponse` bodies, 422 in FastAPI's own shape."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response

from serving.models import ErrorResponse

Responses = dict[int | str, dict[str, Any]]

NOT_FOUND: Responses = {404: {"model": ErrorResponse, "description": "unknown code; `valid` lists the codes"}}
UNAVAILABLE: Responses = {
    503: {
        "model": ErrorResponse,
        "description": "the data is not loaded (storage unreachable or not written yet); see Retry-After",
        "headers": {"Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}},
    }
}
NOT_MODIFIED: Responses = {304: {"description": "the client's copy (If-None-Match) is current"}}


class ApiError(Exception):
    """An answer other than 200: raised by routes and dependencies, rendered by :func:`handle`."""

    def __init__(
        self, status: int, detail: str, valid: list[str] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.valid = valid
        self.headers = headers

    @classmethod
    def unavailable(cls, detail: str, retry_after_s: int) -> ApiError:
        return cls(503, detail, headers={"Retry-After": str(retry_after_s), "Cache-Control": "no-store"})


async def handle(_request: Request, err: Exception) -> Response:
    assert isinstance(err, ApiError)
    body = ErrorResponse(detail=err.detail, valid=err.valid).model_dump_json()
    return Response(body, status_code=err.status, media_type="application/json", headers=err.headers)


def bad_query(name: str, message: str, value: Any, kind: str = "value_error") -> RequestValidationError:
    """A 422 about one query parameter, in FastAPI's validation-error shape."""
    return RequestValidationError([{"type": kind, "loc": ("query", name), "msg": message, "input": value}])
