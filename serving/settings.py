"""Settings of the API, read from ``EF_*`` variables (same prefix as the pipeline's settings).

``ApiSettings`` extends the storage settings every surface shares (bucket, prefix, dataset,
feature group) with the server's own values, e.g. ``EF_API_PORT=8000``,
``EF_API_CORS_ORIGINS=http://localhost:8501``; none of the pipeline's (source, training, tuning).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Annotated

from pydantic import Field, field_validator
from pydantic_settings import NoDecode

from components.settings import StorageSettings


class ApiSettings(StorageSettings):
    """The storage settings plus those of the forecasts API."""

    api_host: str = Field("127.0.0.1", min_length=1, description="interface uvicorn binds to")
    api_port: int = Field(8000, ge=1, le=65535, description="port uvicorn listens on")
    api_refresh_interval_s: float = Field(
        30.0, gt=0, le=86_400, description="seconds between generation checks of the latest pointers"
    )
    api_stale_after_hours: float = Field(
        3.0, gt=0, description="/ready flags the forecast stale when it is older than this"
    )
    api_observation_hours: int = Field(168, ge=1, le=24 * 90, description="hours of observations served")
    api_cors_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="allowed CORS origins, comma-separated; none by default"
    )
    api_cache_max_age_s: int = Field(60, ge=0, description="Cache-Control max-age of data routes")
    api_retry_after_s: int = Field(30, ge=1, description="Retry-After of 503 answers")
    api_gzip_min_bytes: int = Field(1024, ge=0, description="responses at least this large are gzipped")
    api_storage_timeout_s: float = Field(10.0, gt=0, description="timeout of one storage call")
    api_fast_path: bool = Field(
        True, description="answer the unfiltered series route from the pre-serialised body at the ASGI level"
    )
    api_log_level: str = Field(
        "info", description="uvicorn log level", pattern=r"^(critical|error|warning|info|debug)$"
    )

    @field_validator("api_cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [item.strip() for item in value.split(",") if item.strip()]
        return value

    @field_validator("api_cors_origins")
    @classmethod
    def _no_wildcard(cls, origins: list[str]) -> list[str]:
        for origin in origins:
            if "*" in origin:
                raise ValueError("EF_API_CORS_ORIGINS: a wildcard is not allowed; list the origins")
            if not origin.startswith(("http://", "https://")):
                raise ValueError(f"EF_API_CORS_ORIGINS: {origin!r} is not an http(s) origin")
        return origins


@lru_cache(maxsize=1)
def get_api_settings() -> ApiSettings:
    """The process-wide API settings (read once)."""
    return ApiSettings()
