"""Forecasts page: the last week of observations and the 24 h forecast of the chosen series.

One multiselect per series key of the served dataset (areas and consumer types, or only areas, or
industries…), with the codes and labels the API serves; the chosen series are every combination.
"""

from __future__ import annotations

import itertools
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import charts, ui
from dashboard.client import ApiClient, ApiError, ApiNotFoundError, Dataset

# codes chosen at first of the first key (e.g. both price areas); one of every other key
# (a comment, not a docstring: Streamlit's magic would print a bare string on the page)
DEFAULT_FIRST_KEY = 2


def _caption(api: ApiClient, payloads: list[dict[str, Any]]) -> tuple[str, pd.Timestamp | None]:
    """The caption (model version, forecast time, newest data) and the forecast's scheduled hour."""
    first = payloads[0]
    scheduled = charts.run_time(str(first["run_id"]))
    model = f"version {first['model_version']}"
    try:
        forecast_meta = api.meta().get("forecast") or {}
    except ApiError:
        forecast_meta = {}
    data_end = ""
    if forecast_meta.get("run_id") == first["run_id"]:
        if forecast_meta.get("scheduled_time"):
            scheduled = charts.utc(forecast_meta["scheduled_time"])
        if forecast_meta.get("model_name"):
            model = f"{forecast_meta['model_name']} version {first['model_version']}"
        if forecast_meta.get("data_end"):
            data_end = f" · data up to {charts.fmt_time(forecast_meta['data_end'])}"
    runs = sorted({str(p["run_id"]) for p in payloads})
    text = (
        f"Model {model} · forecast made for {charts.fmt_time(scheduled)} (run {', '.join(runs)}) · "
        f"generated {charts.fmt_time(first.get('generated_at'))}{data_end} · "
        f"{'with' if first.get('has_band') else 'without'} uncertainty band"
    )
    return text, scheduled


def _pick(dataset: Dataset) -> tuple[list[list[str]], str]:
    """The chosen codes of every key, and the unit."""
    columns = st.columns([3] * len(dataset.keys) + [2])
    chosen = []
    for index, (column, key) in enumerate(zip(columns, dataset.keys, strict=False)):
        codes = list(key.codes)
        chosen.append(
            column.multiselect(
                key.title.capitalize(),
                options=codes,
                default=codes[: DEFAULT_FIRST_KEY if index == 0 else 1],
                format_func=key.label,
                key=f"fc_{key.plural}",
            )
        )
    options = charts.units(dataset.unit)
    unit = columns[-1].radio("Unit", options, horizontal=True, key="fc_unit") or options[0]
    return chosen, unit


def render() -> None:
    st.title("Hourly electricity consumption: last week and the next 24 hours")
    try:
        api = ui.client()
        dataset = api.dataset()
    except (ApiError, ui.SettingsError) as err:
        ui.show_error(err)
        return
    st.caption(f"{dataset.title} · Energi Data Service dataset `{dataset.name}` · {dataset.unit}")

    chosen_codes, unit = _pick(dataset)
    if not all(chosen_codes):
        names = " and ".join(f"one {key.title}" for key in dataset.keys)
        st.info(f"Pick at least {names} to see the forecast.")
        return
    chosen = list(itertools.product(*chosen_codes))
    limit = ui.settings().max_series
    if len(chosen) > limit:
        st.warning(f"{len(chosen)} series selected; showing the first {limit} to keep the chart readable.")
        chosen = chosen[:limit]

    payloads: list[dict[str, Any]] = []
    missing: list[str] = []
    try:
        for codes in chosen:
            try:
                payloads.append(api.series_forecast(codes))
            except ApiNotFoundError:
                missing.append(dataset.series(codes))
    except ApiError as err:
        ui.show_error(err)
        return
    if missing:
        st.info(f"No forecast is served for: {'; '.join(missing)}.")
    if not payloads:
        return

    frame = pd.concat([charts.series_frame(p, dataset) for p in payloads], ignore_index=True)
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
