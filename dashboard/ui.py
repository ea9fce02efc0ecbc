"""Streamlit helpers shared by the pages: the API client, error display, the footer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

import streamlit as st
from pydantic import ValidationError

from components.contracts import problems
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
        raise SettingsError(
            f"Invalid dashboard settings (EF_API_URL / EF_DASHBOARD_*): {problems(err)}"
        ) from err


@st.cache_resource(show_spinner=False)
def _client(settings: DashboardSettings) -> ApiClient:
    log.info("dashboard talks to the API at %s", settings.api_url)
    return ApiClient.from_settings(settings)


def client() -> ApiClient:
    """One client (and one ETag cache) per settings (so per API URL) for the whole server process."""
    return _client(settings())


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
    """Draw a page; any failure becomes a friendly box (Streamlit's own stop/rerun pass through).

    A notice at the top says so when what the page shows was kept from before the API went away.
    """
    notice = st.empty()
    try:
        render()
    except Exception as err:
        show_error(err)
    try:
        api = client()
    except SettingsError:
        return
    if api.stale_since is not None:
        confirmed = datetime.fromtimestamp(api.stale_since, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        notice.warning(
            f"The API at {api.base_url} is not reachable right now: this page shows its last answers "
            f"(confirmed {confirmed}). It updates again once the API is back.",
            icon=":material/cloud_off:",
        )


def sidebar_status() -> None:
    """Which API the dashboard talks to, whether it answers, and a button to revalidate now."""
    with st.sidebar:
        try:
            s = settings()
        except SettingsError as err:
            show_error(err)
            return
        st.caption(f"API: `{s.api_url}`")
        api = client()
        try:
            health = api.health()
        except ApiError:
            st.caption("API status: :red[not reachable]")
        else:
            st.caption(f"API status: :green[up] · version {health.get('version', '?')}")
            if (name := dataset_name()) is not None:
                st.caption(f"Dataset: `{name}`")
        if st.button("Check for new data", help="Ask the API now instead of waiting for the cache"):
            api.expire()
        if s.auto_refresh_s > 0:
            st.fragment(_watch_for_new_data, run_every=s.auto_refresh_s)()


def _watch_for_new_data() -> None:
    """Every ``auto_refresh_s``: redraw the page when the API has loaded new data (its ETag moved)."""
    try:
        etag = client().meta().get("etag")
    except ApiError:
        return
    seen = st.session_state.get("_api_etag")
    st.session_state["_api_etag"] = etag
    if seen is not None and etag != seen:
        client().expire()
        st.rerun(scope="app")


def dataset_name() -> str | None:
    """The served dataset's name, or None when the API (or its dataset route) does not answer."""
    try:
        return client().dataset().name
    except (ApiError, SettingsError):
        return None


def footer() -> None:
    st.divider()
    name = dataset_name()
    dataset = f" · dataset `{name}`" if name else ""
    st.caption(f"[{DATA_CREDIT}]({DATA_CREDIT_URL}){dataset} · forecasts by the energy-forecasting project")
