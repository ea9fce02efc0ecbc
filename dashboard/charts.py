"""Tidy frames from the API's JSON and the Plotly figures of the pages (no Streamlit here).

Energy figures arrive in the API's unit (MWh); a page picks MWh, kWh or GWh for the axis and the
hover shows the value in MWh too. Series are named by the dataset's keys (one key, or two…), with
the labels the API serves. Times are UTC throughout and labelled so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from dashboard.client import Dataset

BASE_UNIT = "MWh"
UNITS: tuple[str, ...] = ("MWh", "kWh", "GWh")
_FACTOR: dict[str, float] = {"MWh": 1.0, "kWh": 1e3, "GWh": 1e-3}
"""value in the unit = value in MWh * factor"""
_DIGITS = {"MWh": ",.2f", "kWh": ",.0f", "GWh": ",.4f"}
_PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
    "#393b79",
    "#ad494a",
)
TIME_FMT = "%Y-%m-%d %H:%M UTC"
POINT_COLUMNS = ("datetime_utc", "kind", "horizon", "value", "lower", "upper")
"""columns of a series frame after ``series`` and the key columns; values in MWh"""


def units(api_unit: str) -> tuple[str, ...]:
    """The units a page offers: MWh and its multiples, or only the API's unit if it is another."""
    return UNITS if api_unit == BASE_UNIT else (api_unit,)


def factor(unit: str) -> float:
    return _FACTOR.get(unit, 1.0)


def utc(value: Any) -> pd.Timestamp:
    """An API timestamp (ISO string) as a UTC pandas Timestamp."""
    stamp = pd.Timestamp(value)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def fmt_time(value: Any) -> str:
    return "—" if value is None else utc(value).strftime(TIME_FMT)


def run_time(run_id: str) -> pd.Timestamp | None:
    """The scheduled hour encoded in a run id (``YYYYMMDDTHHMMZ``), or None if it is not one."""
    try:
        return pd.Timestamp(datetime.strptime(run_id, "%Y%m%dT%H%MZ")).tz_localize("UTC")
    except (TypeError, ValueError):
        return None


def series_frame(payload: dict[str, Any], dataset: Dataset) -> pd.DataFrame:
    """One series answer (``/forecasts/{key…}``) as rows of observations and forecast."""
    codes = dataset.codes_of(payload)
    rows: list[tuple[Any, ...]] = [
        (point["datetime_utc"], "observed", None, point["energy_consumption"], None, None)
        for point in payload["observations"]
    ]
    rows += [
        (
            point["datetime_utc"],
            "forecast",
            point.get("horizon"),
            point["forecast"],
            point.get("forecast_lower"),
            point.get("forecast_upper"),
        )
        for point in payload["forecast"]
    ]
    frame = pd.DataFrame(rows, columns=list(POINT_COLUMNS))
    for name, code in reversed(list(zip(dataset.key_names, codes, strict=True))):
        frame.insert(0, name, code)
    frame.insert(0, "series", dataset.series(codes))
    frame["datetime_utc"] = pd.to_datetime(frame["datetime_utc"], utc=True)
    frame["horizon"] = frame["horizon"].astype("Int64")
    for column in ("value", "lower", "upper"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame


def table_frame(frame: pd.DataFrame, unit: str) -> pd.DataFrame:
    """What the forecasts page shows in its table and CSV: values in the chosen unit."""
    out = frame.drop(columns=["value", "lower", "upper"])
    for column in ("value", "lower", "upper"):
        out[f"{column}_{unit}"] = frame[column] * factor(unit)
    return out.sort_values(["series", "datetime_utc"], kind="stable").reset_index(drop=True)


def table_csv(table: pd.DataFrame) -> bytes:
    """The CSV download of a table: UTC timestamps in ISO form, no index."""
    return table.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ").encode()


def _rgba(hex_color: str, alpha: float) -> str:
    red, green, blue = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _other(unit: str) -> str:
    """The unit the hover shows next to the chosen one."""
    return "kWh" if unit == BASE_UNIT else BASE_UNIT


def _hover(unit: str) -> str:
    other = _other(unit)
    digits, other_digits = _DIGITS.get(unit, ",.2f"), _DIGITS.get(other, ",.2f")
    return (
        "<b>%{fullData.name}</b><br>%{x|%Y-%m-%d %H:%M} UTC<br>"
        f"%{{y:{digits}}} {unit} (%{{customdata:{other_digits}}} {other})<extra></extra>"
    )


def _now_marker(fig: go.Figure, now: pd.Timestamp, text: str) -> None:
    fig.add_shape(
        type="line",
        x0=now,
        x1=now,
        y0=0,
        y1=1,
        yref="paper",
        line={"color": "#444", "width": 1.5, "dash": "dot"},
    )
    fig.add_annotation(x=now, y=1, yref="paper", text=text, showarrow=False, xanchor="left", yanchor="bottom")


def forecast_figure(frame: pd.DataFrame, unit: str, now: pd.Timestamp | None) -> go.Figure:
    """Observations (solid), forecast (dashed) and its band (shaded) of every series in ``frame``.

    ``now`` (when the forecast was made) is marked only inside the plotted hours: for a dataset
    published with weeks of lag it lies far after the forecast, and the axis would be mostly empty."""
    scale, other = factor(unit), factor(_other(unit))
    fig = go.Figure()
    for index, (name, group) in enumerate(frame.groupby("series", sort=False)):
        color = _PALETTE[index % len(_PALETTE)]
        observed = group[group["kind"] == "observed"].sort_values("datetime_utc")
        forecast = group[group["kind"] == "forecast"].sort_values("datetime_utc")
        band = forecast.dropna(subset=["lower", "upper"])
        if not band.empty:
            fig.add_trace(
                go.Scatter(
                    x=pd.concat([band["datetime_utc"], band["datetime_utc"][::-1]]),
                    y=pd.concat([band["upper"], band["lower"][::-1]]) * scale,
                    fill="toself",
                    fillcolor=_rgba(color, 0.18),
                    line={"width": 0},
                    name=f"{name} — band",
                    legendgroup=str(name),
                    showlegend=False,
                    hoverinfo="skip",
                )
            )
        fig.add_trace(
            go.Scatter(
                x=observed["datetime_utc"],
                y=observed["value"] * scale,
                customdata=observed["value"] * other,
                mode="lines",
                name=str(name),
                legendgroup=str(name),
                line={"color": color, "width": 1.8},
                hovertemplate=_hover(unit),
            )
        )
        fig.add_trace(
            go.Scatter(
                x=forecast["datetime_utc"],
                y=forecast["value"] * scale,
                customdata=forecast["value"] * other,
                mode="lines+markers",
                name=f"{name} — forecast",
                legendgroup=str(name),
                line={"color": color, "width": 2, "dash": "dash"},
                marker={"size": 4},
                hovertemplate=_hover(unit),
            )
        )
    if now is not None and not frame.empty and now <= frame["datetime_utc"].max():
        _now_marker(fig, now, "now (forecast made)")
    fig.update_layout(
        height=560,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        hovermode="closest",
        legend={"orientation": "h", "yanchor": "top", "y": -0.16, "x": 0},
        xaxis_title="hour (UTC)",
        yaxis_title=f"consumption ({unit})",
    )
    return fig


def runs_frame(runs: Iterable[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(runs), columns=["run_id", "scheduled_time", "n", "mape", "wape"])
    frame["scheduled_time"] = pd.to_datetime(frame["scheduled_time"], utc=True)
    for column in ("mape", "wape"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame.sort_values("scheduled_time").reset_index(drop=True)


def accuracy_figure(runs: pd.DataFrame, wape_threshold: float | None) -> go.Figure:
    """MAPE and WAPE of every evaluated forecast run, in percent, with the alert threshold."""
    fig = go.Figure()
    for column, color in (("mape", "#1f77b4"), ("wape", "#d62728")):
        fig.add_trace(
            go.Scatter(
                x=runs["scheduled_time"],
                y=runs[column] * 100,
                customdata=runs[["run_id", "n"]].to_numpy(),
                mode="lines+markers",
                name=column.upper(),
                line={"color": color},
                hovertemplate=(
                    f"<b>{column.upper()}</b> %{{y:.2f}} %<br>run %{{customdata[0]}}"
                    "<br>%{customdata[1]} pairs<extra></extra>"
                ),
            )
        )
    if wape_threshold is not None:
        fig.add_hline(
            y=wape_threshold * 100,
            line={"color": "#d62728", "dash": "dot", "width": 1},
            annotation_text=f"WAPE alert threshold {wape_threshold:.0%}",
            annotation_position="top left",
        )
    fig.update_layout(
        height=360,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title="forecast run (scheduled hour, UTC)",
        yaxis_title="error (%)",
        yaxis_rangemode="tozero",
        legend={"orientation": "h", "y": 1.12, "x": 0},
    )
    times = runs["scheduled_time"].dropna()
    if not times.empty and times.max() - times.min() < pd.Timedelta(hours=24):
        # one run (or runs within a day): Plotly would zoom to a millisecond around it
        middle = times.min() + (times.max() - times.min()) / 2
        span = [middle - pd.Timedelta(hours=12), middle + pd.Timedelta(hours=12)]
        fig.update_xaxes(range=[moment.tz_convert("UTC").tz_localize(None).isoformat() for moment in span])
    return fig


def horizon_figure(horizons: Sequence[dict[str, Any]]) -> go.Figure:
    frame = pd.DataFrame(list(horizons), columns=["horizon", "n", "mape", "wape"])
    fig = go.Figure(
        go.Bar(
            x=frame["horizon"],
            y=pd.to_numeric(frame["wape"], errors="coerce") * 100,
            marker_color="#d62728",
            name="WAPE",
            hovertemplate="horizon %{x} h<br>WAPE %{y:.2f} %<extra></extra>",
        )
    )
    fig.update_layout(
        height=260,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis_title="hours ahead",
        yaxis_title="WAPE (%)",
    )
    return fig


def series_metrics_frame(series: Iterable[dict[str, Any]], dataset: Dataset) -> pd.DataFrame:
    """Per-series accuracy, worst (highest WAPE) first, with readable names and percentages."""
    keys = list(dataset.key_names)
    frame = pd.DataFrame(list(series), columns=[*keys, "n", "mape", "wape"])
    for name in keys:
        frame[name] = frame[name].astype(str)
    frame.insert(0, "series", [dataset.series(codes) for codes in frame[keys].itertuples(index=False)])
    frame["mape_pct"] = pd.to_numeric(frame["mape"], errors="coerce") * 100
    frame["wape_pct"] = pd.to_numeric(frame["wape"], errors="coerce") * 100
    frame = frame.drop(columns=["mape", "wape"])
    return frame.sort_values("wape_pct", ascending=False, na_position="last", kind="stable").reset_index(
        drop=True
    )


def series_heatmap(
    frame: pd.DataFrame,
    dataset: Dataset,
    column: str,
    title: str,
    colorscale: str = "YlOrRd",
    zrange: tuple[float, float] | None = None,
) -> go.Figure:
    """One value per series as a grid: the first key across and the others down (e.g. areas across,
    consumer types down); with one key, its codes down in a single column."""
    first, *rest = dataset.keys
    work = frame.copy()
    if rest:
        work["_row"] = [
            " / ".join(k.label(str(c)) for k, c in zip(rest, codes, strict=True))
            for codes in work[[k.name for k in rest]].itertuples(index=False)
        ]
        work["_column"] = [first.label(str(c)) for c in work[first.name]]
    else:
        work["_row"] = [first.label(str(c)) for c in work[first.name]]
        work["_column"] = title
    order = {label: i for i, label in enumerate(sorted(set(work["_row"])))}
    grid = work.pivot_table(index="_row", columns="_column", values=column, aggfunc="first")
    grid = grid.loc[sorted(grid.index, key=order.__getitem__)]
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=list(grid.columns),
            y=list(grid.index),
            colorscale=colorscale,
            zmin=None if zrange is None else zrange[0],
            zmax=None if zrange is None else zrange[1],
            colorbar={"title": title},
            hovertemplate=f"%{{y}}<br>%{{x}}<br>{title} %{{z:.2f}}<extra></extra>",
        )
    )
    fig.update_layout(
        height=max(320, 22 * len(grid) + 80),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis={"autorange": "reversed"},
    )
    return fig


def wape_heatmap(metrics: pd.DataFrame, dataset: Dataset) -> go.Figure:
    """WAPE (%) of every series."""
    return series_heatmap(metrics, dataset, "wape_pct", "WAPE %")


def pairs_frame(pairs: Iterable[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(pairs), columns=["run_id", "datetime_utc", "horizon", "forecast", "observed"])
    frame["datetime_utc"] = pd.to_datetime(frame["datetime_utc"], utc=True)
    for column in ("forecast", "observed"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame.sort_values(["datetime_utc", "horizon"]).reset_index(drop=True)


def _observed_figure(times: pd.Series, values: pd.Series, name: str, unit: str) -> go.Figure:
    """A figure with a series' observed values (MWh) as a line, laid out for one series' detail."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=times,
            y=values * factor(unit),
            customdata=values * factor(_other(unit)),
            mode="lines",
            name=f"{name} — observed",
            line={"color": "#222", "width": 2},
            hovertemplate=_hover(unit),
        )
    )
    fig.update_layout(
        height=420,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title="hour (UTC)",
        yaxis_title=f"consumption ({unit})",
        legend={"orientation": "h", "y": 1.1, "x": 0},
    )
    return fig


def pairs_figure(pairs: pd.DataFrame, name: str, unit: str) -> go.Figure:
    """Observed consumption (line) against every stored forecast of those hours (markers)."""
    scale = factor(unit)
    observed = pairs.drop_duplicates("datetime_utc").sort_values("datetime_utc")
    fig = _observed_figure(observed["datetime_utc"], observed["observed"], name, unit)
    fig.add_trace(
        go.Scatter(
            x=pairs["datetime_utc"],
            y=pairs["forecast"] * scale,
            customdata=pairs[["horizon", "run_id"]].to_numpy(),
            mode="markers",
            name=f"{name} — forecast",
            marker={
                "size": 6,
                "color": pairs["horizon"],
                "colorscale": "Viridis",
                "colorbar": {"title": "hours ahead"},
                "opacity": 0.75,
            },
            hovertemplate=(
                "%{x|%Y-%m-%d %H:%M} UTC<br>"
                f"forecast %{{y:{_DIGITS.get(unit, ',.2f')}}} {unit}"
                "<br>%{customdata[0]} h ahead, run %{customdata[1]}<extra></extra>"
            ),
        )
    )
    return fig


def _fate(value: float, replacement: float) -> str:
    said = "the source said null" if pd.isna(value) else f"the source said {value:,.2f} {BASE_UNIT}"
    became = "left missing" if pd.isna(replacement) else f"replaced by {replacement:,.2f} {BASE_UNIT}"
    return f"{said}; {became}"


def quarantine_figure(observed: pd.DataFrame, points: pd.DataFrame, name: str, unit: str) -> go.Figure:
    """A series' served observations (line: the clean values, quarantined hours already replaced)
    with its quarantined points marked where the source put them (a null at its replacement), the
    hover naming the rule. ``observed`` is a ``series_frame``'s observed rows, ``points`` rows of
    ``validation.quarantine_table``; values in MWh."""
    scale = factor(unit)
    digits = _DIGITS.get(unit, ",.2f")
    marked = points.assign(shown=points["value"].fillna(points["replacement"])).dropna(subset=["shown"])
    fates = [_fate(v, r) for v, r in zip(marked["value"], marked["replacement"], strict=True)]
    fig = _observed_figure(observed["datetime_utc"], observed["value"], name, unit)
    fig.add_trace(
        go.Scatter(
            x=marked["hour"],
            y=marked["shown"] * scale,
            customdata=list(zip(marked["rule"], fates, strict=True)),
            mode="markers",
            name="quarantined",
            marker={"symbol": "x", "size": 11, "color": "#d62728", "line": {"width": 1}},
            hovertemplate=(
                "<b>quarantined: %{customdata[0]}</b><br>%{x|%Y-%m-%d %H:%M} UTC<br>"
                f"%{{y:{digits}}} {unit}<br>%{{customdata[1]}}<extra></extra>"
            ),
        )
    )
    return fig
