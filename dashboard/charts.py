"""Tidy frames from the API's JSON and the Plotly figures of the pages (no Streamlit here).

Energy figures arrive in kWh; a page picks kWh or MWh for the axis and the hover shows both.
Times are UTC throughout and labelled so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, Literal

import pandas as pd
import plotly.graph_objects as go

from dashboard.client import Labels

Unit = Literal["kWh", "MWh"]
UNITS: tuple[Unit, ...] = ("kWh", "MWh")
_FACTOR: dict[str, float] = {"kWh": 1.0, "MWh": 1e-3}
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

SERIES_COLUMNS = (
    "series",
    "area",
    "consumer_type",
    "datetime_utc",
    "kind",
    "horizon",
    "value_kwh",
    "lower_kwh",
    "upper_kwh",
)


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


def series_frame(payload: dict[str, Any], labels: Labels) -> pd.DataFrame:
    """One ``/forecasts/{area}/{consumer_type}`` answer as rows of observations and forecast."""
    area, consumer_type = str(payload["area"]), str(payload["consumer_type"])
    name = labels.series(area, consumer_type)
    rows: list[dict[str, Any]] = [
        {
            "datetime_utc": point["datetime_utc"],
            "kind": "observed",
            "horizon": None,
            "value_kwh": point["energy_consumption"],
            "lower_kwh": None,
            "upper_kwh": None,
        }
        for point in payload["observations"]
    ]
    rows += [
        {
            "datetime_utc": point["datetime_utc"],
            "kind": "forecast",
            "horizon": point.get("horizon"),
            "value_kwh": point["forecast"],
            "lower_kwh": point.get("forecast_lower"),
            "upper_kwh": point.get("forecast_upper"),
        }
        for point in payload["forecast"]
    ]
    frame = pd.DataFrame(rows, columns=list(SERIES_COLUMNS[3:]))
    frame.insert(0, "consumer_type", consumer_type)
    frame.insert(0, "area", area)
    frame.insert(0, "series", name)
    frame["datetime_utc"] = pd.to_datetime(frame["datetime_utc"], utc=True)
    frame["horizon"] = frame["horizon"].astype("Int64")
    for column in ("value_kwh", "lower_kwh", "upper_kwh"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame[list(SERIES_COLUMNS)]


def table_frame(frame: pd.DataFrame, unit: Unit) -> pd.DataFrame:
    """What the forecasts page shows in its table and CSV: values in the chosen unit."""
    factor = _FACTOR[unit]
    out = frame[["series", "area", "consumer_type", "datetime_utc", "kind", "horizon"]].copy()
    out[f"value_{unit}"] = frame["value_kwh"] * factor
    out[f"lower_{unit}"] = frame["lower_kwh"] * factor
    out[f"upper_{unit}"] = frame["upper_kwh"] * factor
    return out.sort_values(["series", "datetime_utc"], kind="stable").reset_index(drop=True)


def table_csv(table: pd.DataFrame) -> bytes:
    """The CSV download of a table: UTC timestamps in ISO form, no index."""
    return table.to_csv(index=False, date_format="%Y-%m-%dT%H:%M:%SZ").encode()


def _rgba(hex_color: str, alpha: float) -> str:
    red, green, blue = (int(hex_color[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _hover(unit: Unit) -> str:
    other: Unit = "MWh" if unit == "kWh" else "kWh"
    digits = ",.1f" if unit == "kWh" else ",.3f"
    other_digits = ",.3f" if unit == "kWh" else ",.1f"
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


def forecast_figure(frame: pd.DataFrame, unit: Unit, now: pd.Timestamp | None) -> go.Figure:
    """Observations (solid), forecast (dashed) and its band (shaded) of every series in ``frame``."""
    factor = _FACTOR[unit]
    other = _FACTOR["MWh" if unit == "kWh" else "kWh"]
    fig = go.Figure()
    for index, (name, group) in enumerate(frame.groupby("series", sort=False)):
        color = _PALETTE[index % len(_PALETTE)]
        observed = group[group["kind"] == "observed"].sort_values("datetime_utc")
        forecast = group[group["kind"] == "forecast"].sort_values("datetime_utc")
        band = forecast.dropna(subset=["lower_kwh", "upper_kwh"])
        if not band.empty:
            fig.add_trace(
                go.Scatter(
                    x=pd.concat([band["datetime_utc"], band["datetime_utc"][::-1]]),
                    y=pd.concat([band["upper_kwh"], band["lower_kwh"][::-1]]) * factor,
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
                y=observed["value_kwh"] * factor,
                customdata=observed["value_kwh"] * other,
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
                y=forecast["value_kwh"] * factor,
                customdata=forecast["value_kwh"] * other,
                mode="lines+markers",
                name=f"{name} — forecast",
                legendgroup=str(name),
                line={"color": color, "width": 2, "dash": "dash"},
                marker={"size": 4},
                hovertemplate=_hover(unit),
            )
        )
    if now is not None:
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


def series_metrics_frame(series: Iterable[dict[str, Any]], labels: Labels) -> pd.DataFrame:
    """Per-series accuracy, worst (highest WAPE) first, with readable names and percentages."""
    frame = pd.DataFrame(list(series), columns=["area", "consumer_type", "n", "mape", "wape"])
    frame["area"] = frame["area"].astype(str)
    frame["consumer_type"] = frame["consumer_type"].astype(str)
    frame.insert(
        0,
        "series",
        [labels.series(a, c) for a, c in zip(frame["area"], frame["consumer_type"], strict=True)],
    )
    frame["mape_pct"] = pd.to_numeric(frame["mape"], errors="coerce") * 100
    frame["wape_pct"] = pd.to_numeric(frame["wape"], errors="coerce") * 100
    frame = frame.drop(columns=["mape", "wape"])
    return frame.sort_values("wape_pct", ascending=False, na_position="last", kind="stable").reset_index(
        drop=True
    )


def series_heatmap(
    frame: pd.DataFrame,
    labels: Labels,
    column: str,
    title: str,
    colorscale: str = "YlOrRd",
    zrange: tuple[float, float] | None = None,
) -> go.Figure:
    """One value per series as a grid: consumer types down, areas across."""
    grid = frame.pivot_table(index="consumer_type", columns="area", values=column, aggfunc="first")
    grid = grid.sort_index()
    fig = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[labels.area(code) for code in grid.columns],
            y=[labels.consumer_type(code) for code in grid.index],
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


def wape_heatmap(metrics: pd.DataFrame, labels: Labels) -> go.Figure:
    """WAPE (%) of every series."""
    return series_heatmap(metrics, labels, "wape_pct", "WAPE %")


def pairs_frame(pairs: Iterable[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(list(pairs), columns=["run_id", "datetime_utc", "horizon", "forecast", "observed"])
    frame["datetime_utc"] = pd.to_datetime(frame["datetime_utc"], utc=True)
    for column in ("forecast", "observed"):
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype("float64")
    return frame.sort_values(["datetime_utc", "horizon"]).reset_index(drop=True)


def pairs_figure(pairs: pd.DataFrame, name: str, unit: Unit) -> go.Figure:
    """Observed consumption (line) against every stored forecast of those hours (markers)."""
    factor = _FACTOR[unit]
    other = _FACTOR["MWh" if unit == "kWh" else "kWh"]
    observed = pairs.drop_duplicates("datetime_utc").sort_values("datetime_utc")
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=observed["datetime_utc"],
            y=observed["observed"] * factor,
            customdata=observed["observed"] * other,
            mode="lines",
            name=f"{name} — observed",
            line={"color": "#222", "width": 2},
            hovertemplate=_hover(unit),
        )
    )
    fig.add_trace(
        go.Scatter(
            x=pairs["datetime_utc"],
            y=pairs["forecast"] * factor,
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
                f"forecast %{{y:,.{1 if unit == 'kWh' else 3}f}} {unit}"
                "<br>%{customdata[0]} h ahead, run %{customdata[1]}<extra></extra>"
            ),
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


# --- data quality ----------------------------------------------------------------------------------
VALIDATION_COLUMNS = ("rule", "check", "column", "passed", "unexpected", "checked", "observed")


def _first(mapping: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = mapping.get(key)
        if value is not None:
            return value
    return None


def _either(value: Any, fallback: Any) -> Any:
    """``value`` unless it is None (0 and "" are values)."""
    return fallback if value is None else value


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None


def _rule_row(item: dict[str, Any], passed_default: bool | None = None) -> dict[str, Any]:
    config = _dict(item.get("expectation_config"))
    kwargs = _dict(_first(item, "kwargs") or config.get("kwargs"))
    result = _dict(item.get("result"))
    check = _either(
        _first(item, "check", "expectation_type", "type"), _first(config, "type", "expectation_type")
    )
    observed = _either(_first(item, "observed"), _first(result, "observed_value"))
    success = item.get("success")
    rule = _either(_first(item, "rule", "name", "expectation"), check)
    return {
        "rule": "?" if rule is None else str(rule),
        "check": None if check is None else str(check),
        "column": _either(_first(item, "column"), kwargs.get("column")),
        "passed": bool(success) if success is not None else passed_default,
        "unexpected": _int(_either(_first(item, "unexpected_count"), _first(result, "unexpected_count"))),
        "checked": _int(_either(_first(item, "element_count"), _first(result, "element_count"))),
        "observed": None if observed is None else str(observed)[:80],
    }


def validation_table(validation: Any) -> tuple[bool | None, dict[str, int | None], pd.DataFrame]:
    """A validation result as (success, counts of rules run/passed/failed, one row per rule).

    Accepts the validate step's full result (``rules`` + ``statistics.evaluated_rules``...), its
    short manifest form (``statistics`` + the ``failed`` rules only), a Great Expectations result
    (``results``/``expectations`` with ``statistics.evaluated_expectations``...) and a bare bool.
    Unknown shapes give no rows and no counts rather than an error.
    """
    if not isinstance(validation, dict):
        validation = {"success": validation} if isinstance(validation, bool) else {}
    items = _first(validation, "rules", "results", "expectations", "checks")
    rows = [_rule_row(item) for item in (items if isinstance(items, list) else []) if isinstance(item, dict)]
    if not rows and isinstance(validation.get("failed"), list):
        rows = [
            _rule_row(item, passed_default=False) for item in validation["failed"] if isinstance(item, dict)
        ]
    table = pd.DataFrame(rows, columns=list(VALIDATION_COLUMNS))

    stats = _dict(validation.get("statistics"))
    evaluated = _int(_first(stats, "evaluated_rules", "evaluated_expectations"))
    passed = _int(_first(stats, "successful_rules", "successful_expectations"))
    failed = _int(_first(stats, "unsuccessful_rules", "unsuccessful_expectations"))
    if items and isinstance(items, list):
        evaluated = evaluated if evaluated is not None else len(table)
        passed = passed if passed is not None else int((table["passed"] == True).sum())  # noqa: E712
    if failed is None and evaluated is not None and passed is not None:
        failed = evaluated - passed
    if passed is None and evaluated is not None and failed is not None:
        passed = evaluated - failed
    success = validation.get("success")
    counts = {"evaluated": evaluated, "passed": passed, "failed": failed}
    return (None if success is None else bool(success)), counts, table
