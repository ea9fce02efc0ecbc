"""Monitoring page: accuracy over time, the P10-P90 band's coverage, per series, observed vs forecast,
freshness and the alert."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import charts, ui
from dashboard.client import ApiClient, ApiError, ApiNotReadyError, Dataset


def _pct(value: Any) -> str:
    return "—" if value is None else f"{float(value):.1%}"


def _banner(metrics: dict[str, Any]) -> None:
    threshold = metrics.get("wape_threshold")
    if metrics.get("needs_attention"):
        st.warning(
            f"**Needs attention** — {metrics.get('reason') or 'the monitoring step raised the alert flag'} "
            f"(WAPE alert threshold {_pct(threshold)})",
            icon=":material/notification_important:",
        )
    else:
        detail = metrics.get("reason") or (
            f"rolling WAPE {_pct(metrics.get('rolling_wape'))} vs the alert threshold {_pct(threshold)}"
        )
        st.success(
            f"**No alert**: forecast accuracy is within the alert threshold — {detail}.",
            icon=":material/check_circle:",
        )


def _headline(api: ApiClient, metrics: dict[str, Any]) -> None:
    freshness = metrics.get("freshness") or {}
    cols = st.columns(5)
    cols[0].metric("Overall WAPE", _pct(metrics.get("overall_wape")))
    cols[1].metric("Overall MAPE", _pct(metrics.get("overall_mape")))
    rolling, threshold = metrics.get("rolling_wape"), metrics.get("wape_threshold")
    runs = [r.get("wape") for r in metrics.get("by_forecast_run") or []]
    cols[2].metric(
        "Rolling WAPE",
        _pct(rolling),
        delta=None
        if rolling is None or threshold is None
        else f"{(rolling - threshold) * 100:+.1f} pp vs alert",
        delta_color="inverse",
        chart_data=[float(w) * 100 for w in runs if w is not None] or None,
        help="WAPE of the most recent forecast runs; the line is WAPE per run",
    )
    cols[3].metric(
        "Evaluated",
        f"{metrics.get('evaluated_forecast_runs', 0)} runs",
        delta=f"{metrics.get('evaluated_pairs', 0):,} pairs",
        delta_color="off",
        delta_arrow="off",
    )
    age = freshness.get("age_hours")
    newest = freshness.get("newest_observation")
    cols[4].metric(
        "Data age",
        "—" if age is None else f"{float(age):.1f} h",
        delta=None if newest is None else f"newest {charts.utc(newest):%m-%d %H:%M} UTC",
        delta_color="off",
        delta_arrow="off",
        help=f"newest observation: {charts.fmt_time(newest)}",
    )
    _band(metrics)
    notes = [
        f"Monitoring run {metrics.get('run_id')} generated {charts.fmt_time(metrics.get('generated_at'))}"
    ]
    try:
        ready = api.ready()
    except ApiError:
        ready = {}
    if ready.get("forecast_run_id"):
        stale = " — **stale**" if ready.get("stale") else ""
        age_h = float(ready.get("age_hours") or 0)
        notes.append(f"served forecast {ready['forecast_run_id']} is {age_h:.1f} h old{stale}")
    drift = metrics.get("drift")
    if isinstance(drift, dict) and drift.get("psi") is not None:
        notes.append(f"drift PSI {float(drift['psi']):.3f} (last week vs training window)")
    st.caption(" · ".join(notes))


def _band(metrics: dict[str, Any]) -> None:
    """Does the P10-P90 band tell the truth: its realised coverage against the alert range."""
    rolling = metrics.get("rolling_coverage_80")
    span = metrics.get("coverage_range") or [None, None]
    low, high = span[0], span[1]
    runs = [r.get("coverage_80") for r in metrics.get("by_forecast_run") or []]
    inside = None if rolling is None or low is None or high is None else low <= rolling <= high
    cols = st.columns(5)
    cols[0].metric(
        "P10-P90 coverage (rolling)",
        _pct(rolling),
        delta=None if inside is None else ("within" if inside else "outside") + f" {_pct(low)}-{_pct(high)}",
        delta_color="normal" if inside else "inverse",
        delta_arrow="off",
        chart_data=[float(c) * 100 for c in runs if c is not None] or None,
        help="share of observations inside the forecast's P10-P90 band over the most recent runs "
        "(80 % when the band is right); the line is coverage per run",
    )
    cols[1].metric("P10-P90 coverage (all)", _pct(metrics.get("overall_coverage_80")))
    cols[2].metric(
        "Pinball loss (rolling)",
        _pct(metrics.get("rolling_pinball")),
        help="mean pinball loss of P10, forecast and P90, divided by the mean observation (reads like WAPE)",
    )
    cols[3].metric("Pinball loss (all)", _pct(metrics.get("overall_pinball")))


def _series_section(api: ApiClient, dataset: Dataset, table: pd.DataFrame) -> None:
    st.subheader("Observed vs forecast for one series")
    options = [tuple(codes) for codes in table[list(dataset.key_names)].itertuples(index=False)]
    if not options:
        st.info("No series has been evaluated yet.")
        return
    left, right = st.columns([5, 1])
    choice = left.selectbox(
        "Series (worst first)",
        options=options,
        index=0,
        format_func=dataset.series,
        key="mon_series",
    )
    units = charts.units(dataset.unit)
    unit = right.radio("Unit", units, horizontal=True, key="mon_unit") or units[0]
    codes = choice if choice is not None else options[0]
    try:
        answer = api.monitoring_series(codes)
    except ApiError as err:
        ui.show_error(err)
        return
    pairs = charts.pairs_frame(answer["pairs"])
    name = dataset.series(codes)
    metrics = answer.get("metrics") or {}
    st.caption(
        f"{name}: {metrics.get('n', len(pairs))} forecast/observation pairs · "
        f"MAPE {_pct(metrics.get('mape'))} · WAPE {_pct(metrics.get('wape'))}"
    )
    if pairs.empty:
        st.info(f"No forecast of {name} has been compared with observations yet.")
        return
    st.plotly_chart(charts.pairs_figure(pairs, name, unit), width="stretch", key="mon_pairs")


def render() -> None:
    st.title("Monitoring: is the forecast still good?")
    try:
        api = ui.client()
        dataset = api.dataset()
        metrics = api.monitoring_metrics()
    except ApiNotReadyError as err:
        st.info(f"No monitoring result yet. {err}", icon=":material/hourglass_empty:")
        return
    except (ApiError, ui.SettingsError) as err:
        ui.show_error(err)
        return

    _banner(metrics)
    _headline(api, metrics)

    st.subheader("Accuracy over time (per forecast run)")
    runs = charts.runs_frame(metrics["by_forecast_run"])
    if runs.empty:
        st.info("No forecast run has been evaluated yet.")
    else:
        st.plotly_chart(
            charts.accuracy_figure(runs, metrics.get("wape_threshold")), width="stretch", key="mon_runs"
        )
    if metrics["by_horizon"]:
        with st.expander("WAPE by hours ahead"):
            st.plotly_chart(charts.horizon_figure(metrics["by_horizon"]), width="stretch", key="mon_h")

    st.subheader("Accuracy per series")
    table = charts.series_metrics_frame(metrics["by_series"], dataset)
    tab_table, tab_map = st.tabs(["Table (worst first)", "Heat map"])
    with tab_table:
        st.dataframe(
            table,
            hide_index=True,
            width="stretch",
            height=320,
            column_config={
                "mape_pct": st.column_config.NumberColumn("MAPE (%)", format="%.2f"),
                "wape_pct": st.column_config.NumberColumn("WAPE (%)", format="%.2f"),
                "n": st.column_config.NumberColumn("pairs"),
            },
        )
    with tab_map:
        if not table.empty:
            st.plotly_chart(charts.wape_heatmap(table, dataset), width="stretch", key="mon_heat")

    _series_section(api, dataset, table)


ui.run_page(render)
