"""Settings of the dashboard, read from environment variables.

The dashboard talks only to the forecasts API, so its settings are the API's address, the HTTP
timeouts, how long an answer is reused before it is revalidated with its ``ETag``, and where
``python -m dashboard`` serves the app. This module imports nothing from ``components`` or
``serving`` (the dashboard image needs neither).

``EF_API_URL`` (or ``EF_DASHBOARD_API_URL``, which wins when both are set) is the API's base URL;
every other value is ``EF_DASHBOARD_<NAME>``, e.g. ``EF_DASHBOARD_CACHE_TTL_S=0``.
"""

from __future__ import annotations

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_API_URL = "http://127.0.0.1:8000"
DATA_CREDIT = "Source: Energinet (www.energidataservice.dk), CC BY 4.0"
DATA_CREDIT_URL = "https://www.energidataservice.dk"


class DashboardSettings(BaseSettings):
    """Where the API is and how the dashboard talks to it."""

    model_config = SettingsConfigDict(
        env_prefix="EF_DASHBOARD_", extra="ignore", frozen=True, populate_by_name=True
    )

    api_url: str = Field(
        DEFAULT_API_URL,
        validation_alias=AliasChoices("EF_DASHBOARD_API_URL", "EF_API_URL", "api_url"),
        description="base URL of the forecasts API (scheme, host, port; no /api/v1)",
    )
    connect_timeout_s: float = Field(3.0, gt=0, le=120, description="seconds to open a connection")
    read_timeout_s: float = Field(20.0, gt=0, le=600, description="seconds to wait for an answer")
    cache_ttl_s: float = Field(
        15.0,
        ge=0,
        le=86_400,
        description="seconds an answer is reused as is; after that it is revalidated with If-None-Match",
    )
    max_stale_s: float = Field(
        3600.0,
        ge=0,
        le=7 * 86_400,
        description="while the API is unreachable, keep showing answers it confirmed this recently",
    )
    auto_refresh_s: float = Field(
        60.0,
        ge=0,
        le=86_400,
        description="how often an open page asks the API whether new data was loaded (0: never)",
    )
    max_series: int = Field(12, ge=1, le=76, description="most series drawn at once on the forecasts page")
    host: str = Field("127.0.0.1", min_length=1, description="interface `python -m dashboard` binds to")
    port: int = Field(8501, ge=1, le=65535, description="port `python -m dashboard` serves on")

    @field_validator("api_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        scheme, sep, rest = value.partition("://")
        if not sep or scheme not in ("http", "https") or not rest or any(c.isspace() for c in rest):
            raise ValueError(f"EF_API_URL must be an http(s) URL like {DEFAULT_API_URL}, got {value!r}")
        if rest.rstrip("/").endswith("/api/v1"):
            raise ValueError(f"EF_API_URL is the API's base URL without /api/v1, got {value!r}")
        return value
