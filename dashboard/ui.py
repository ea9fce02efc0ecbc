"""Streamlit helpers shared by the pages: the API client, error display, the footer."""

from __future__ import annotations

import logging
from collections.abc import Callable

import streamlit as st
from pydantic import ValidationError

from dashboard.client import ApiClient, ApiError, ApiNotReadyError, ApiUnavailableError
from dashboard.settings import DATA_CREDIT, DATA_CREDIT_URL, DashboardSettings

log = logging.getLogger(__name__)


class SettingsError(RuntimeError):
    """The dashboard's environment variables are invalid."""


def settings() -> DashboardSettings:
    """The settings, read from the environment on every run (cheap; lets tests switch API)."""
    try:
        return DashboardSettings()
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in err.errors()
        )
        raise SettingsError(f"Invalid dashboard settings (EF_API_URL / EF_DASHBOARD_*): {problems}") from err


@st.cache_resource(show_spinner=False)
def _client(api_url: str, connect_s: float, read_s: float, ttl_s: float) -> ApiClient:
    log.info("dashboard talks to the API at %s", api_url)
    return ApiClient(api_url, connect_timeout_s=connect_s, read_timeout_s=read_s, cache_ttl_s=ttl_s)


def client() -> ApiClient:
    """One client (and one ETag cache) per API URL for the whole server process."""
    s = settings()
    return _client(s.api_url, s.connect_timeout_s, s.read_timeout_s, s.cache_ttl_s)


def show_error(err: Exception) -> None:
    """A friendly box instead of a traceback."""
    if isinstance(err, ApiUnavailableError):
        st.error(f"**The forecasts API is not reachable.** {err}", icon=":material/cloud_off:")
    elif isinstance(err, ApiNotReadyError):
        st.info(str(err), icon=":material/hourglass_empty:")
    elif isinstance(err, ApiError | SettingsError):
        st.error(str(err), icon=":material/error:")
    else:  # a bug, or an answer this dashboard version does not understand: keep the app alive
        log.error("could not draw the page", exc_info=err)
        st.error(
            f"This page could not be drawn from the API's answer ({type(err).__name__}: {err}). "
            "The dashboard and the API versions may not match; the dashboard's log has the details.",
            icon=":material/error:",
        )


def run_page(render: Callable[[], None]) -> None:
    """Draw a page; any failure becomes a friendly box (Streamlit's own stop/rerun pass through)."""
    try:
        render()
    except Exception as err:
        show_error(err)


def sidebar_status() -> None:
    """Which API the dashboard talks to, whether it answers, and a button to revalidate now."""
    with st.sidebar:
        try:
            s = settings()
        except SettingsError as err:
            show_error(err)
            return
        st.caption(f"API: `{s.api_url}`")
        try:
            health = client().health()
        except ApiError:
            st.caption("API status: :red[not reachable]")
        else:
            st.caption(f"API status: :green[up] · version {health.get('version', '?')}")
        if st.button("Check for new data", help="Ask the API now instead of waiting for the cache"):
            client().expire()


def footer() -> None:
    st.divider()
    st.caption(f"[{DATA_CREDIT}]({DATA_CREDIT_URL}) · forecasts by the energy-forecasting project")
