"""Forecasts page: the last week of observations and the 24 h forecast of the chosen series."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import charts, ui
from dashboard.client import ApiClient, ApiError, ApiNotFoundError, Labels


def _caption(api: ApiClient, payloads: list[dict[str, Any]]) -> tuple[str, pd.Timestamp | None]:
    """The caption (model version, forecast time) and the forecast's scheduled hour ("now")."""
    first = payloads[0]
    scheduled = charts.run_time(str(first["run_id"]))
    model = f"version {first['model_version']}"
    try:
        forecast_meta = api.meta().get("forecast") or {}
    except ApiError:
        forecast_meta = {}
    if forecast_meta.get("run_id") == first["run_id"]:
        scheduled = (
            charts.utc(forecast_meta["scheduled_time"]) if forecast_meta.get("scheduled_time") else scheduled
        )
        if forecast_meta.get("model_name"):
            model = f"{forecast_meta['model_name']} version {first['model_version']}"
    runs = sorted({str(p["run_id"]) for p in payloads})
    text = (
        f"Model {model} · forecast made for {charts.fmt_time(scheduled)} (run {', '.join(runs)}) · "
        f"generated {charts.fmt_time(first.get('generated_at'))} · "
        f"{'with' if first.get('has_band') else 'without'} uncertainty band"
    )
    return text, scheduled


def _pick(labels: Labels) -> tuple[list[str], list[str], charts.Unit]:
    left, middle, right = st.columns([3, 5, 1])
    areas = left.multiselect(
        "Price areas",
        options=list(labels.areas),
        default=list(labels.areas)[:2],
        format_func=labels.area,
        key="fc_areas",
    )
    types = middle.multiselect(
        "Consumer types (DE35)",
        options=list(labels.consumer_types),
        default=list(labels.consumer_types)[:1],
        format_func=labels.consumer_type,
        key="fc_types",
    )
    unit: charts.Unit = right.radio("Unit", charts.UNITS, horizontal=True, key="fc_unit") or "kWh"
    return areas, types, unit


def render() -> None:
    st.title("Hourly electricity consumption: last week and the next 24 hours")
    try:
        api = ui.client()
        labels = api.labels()
    except (ApiError, ui.SettingsError) as err:
        ui.show_error(err)
        return

    areas, types, unit = _pick(labels)
    if not areas or not types:
        st.info("Pick at least one price area and one consumer type to see their forecast.")
        return
    chosen = [(area, kind) for area in areas for kind in types]
    limit = ui.settings().max_series
    if len(chosen) > limit:
        st.warning(f"{len(chosen)} series selected; showing the first {limit} to keep the chart readable.")
        chosen = chosen[:limit]

    payloads: list[dict[str, Any]] = []
    missing: list[str] = []
    try:
        for area, kind in chosen:
            try:
                payloads.append(api.series_forecast(area, kind))
            except ApiNotFoundError:
                missing.append(labels.series(area, kind))
    except ApiError as err:
        ui.show_error(err)
        return
    if missing:
        st.info(f"No forecast is served for: {'; '.join(missing)}.")
    if not payloads:
        return

    frame = pd.concat([charts.series_frame(p, labels) for p in payloads], ignore_index=True)
    caption, now = _caption(api, payloads)
    st.caption(caption)
    st.plotly_chart(charts.forecast_figure(frame, unit, now), width="stretch", key="fc_chart")

    table = charts.table_frame(frame, unit)
    st.subheader("What the chart shows")
    run_id = str(payloads[0]["run_id"])
    left, right = st.columns(2)
    left.download_button(
        "Download CSV of what is shown",
        data=charts.table_csv(table),
        file_name=f"forecast_{run_id}_{len(payloads)}_series.csv",
        mime="text/csv",
        key="fc_csv",
        icon=":material/download:",
    )
    try:
        every = api.forecasts_csv()
    except ApiError as err:
        right.caption(f"The CSV of every series is not available: {err}")
    else:
        right.download_button(
            "Download every series (CSV from the API)",
            data=every.encode(),
            file_name=f"forecast_{run_id}_all_series.csv",
            mime="text/csv",
            key="fc_csv_all",
            icon=":material/download:",
        )
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        height=360,
        column_config={
            "datetime_utc": st.column_config.DatetimeColumn("hour (UTC)", format="YYYY-MM-DD HH:mm"),
            f"value_{unit}": st.column_config.NumberColumn(f"value ({unit})", format="%.3f"),
            f"lower_{unit}": st.column_config.NumberColumn(f"band low ({unit})", format="%.3f"),
            f"upper_{unit}": st.column_config.NumberColumn(f"band high ({unit})", format="%.3f"),
        },
    )


ui.run_page(render)
