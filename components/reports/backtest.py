"""The training backtest as an HTML page: accuracy overall, per origin and per hour ahead, the worst
series, and forecast vs observed plots (inline SVG).

Input is what training logs to its MLflow run under ``backtest/`` (``<method>_<view>.csv`` for the
views ``overall``, ``per_origin``, ``per_series``, ``per_horizon``, and ``backtest_predictions.parquet``),
read with :func:`read_backtest_folder`. Series keys are the columns that are not values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from components.reports import page
from components.reports.names import BACKTEST_METHODS
from components.reports.svg import OBSERVED, PALETTE, Band, Line, line_chart
from components.schemas import DATETIME

if TYPE_CHECKING:
    import pandas as pd

VIEWS = ("overall", "per_origin", "per_series", "per_horizon")
SCORE_COLUMNS = frozenset({"mape", "wape", "rmse", "n"})
PREDICTION_VALUES = frozenset(
    {"method", "origin", DATETIME, "horizon", "actual", "forecast", "forecast_lower", "forecast_upper"}
)
WORST_SERIES = 10
METHOD_STYLE = {
    "model": (PALETTE[0], None),
    "naive_24": (PALETTE[4], "5 3"),
    "naive_168": (PALETTE[2], "2 3"),
}


@dataclass
class Backtest:
    """The backtest of one training run: metric tables per method and view, and the predictions."""

    tables: dict[str, dict[str, pd.DataFrame]] = field(default_factory=dict)
    predictions: pd.DataFrame | None = None

    def table(self, method: str, view: str) -> pd.DataFrame | None:
        return self.tables.get(method, {}).get(view)

    @property
    def methods(self) -> list[str]:
        known = [m for m in BACKTEST_METHODS if m in self.tables]
        return known + sorted(m for m in self.tables if m not in known)


def read_backtest_folder(folder: Path) -> Backtest:
    """The tables and predictions training logged under ``backtest/`` in its MLflow run."""
    import pandas as pd

    result = Backtest()
    for path in sorted(folder.glob("*.csv")):
        stem = path.stem
        view = next((v for v in VIEWS if stem.endswith(f"_{v}")), None)
        if view is None:
            continue
        method = stem[: -len(view) - 1]
        # as text first: series codes keep their exact spelling (leading zeros), values become numbers
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in frame.columns:
            if column in SCORE_COLUMNS or column == "horizon":
                frame[column] = pd.to_numeric(frame[column].replace("", None), errors="coerce")
        if "horizon" in frame:
            frame["horizon"] = frame["horizon"].astype("int64")
        if "origin" in frame:
            frame["origin"] = pd.to_datetime(frame["origin"], utc=True)
        result.tables.setdefault(method, {})[view] = frame
    predictions = folder / "backtest_predictions.parquet"
    if predictions.exists():
        result.predictions = pd.read_parquet(predictions)
    return result


def series_keys(columns: Sequence[str], values: frozenset[str] = SCORE_COLUMNS) -> list[str]:
    return [c for c in columns if c not in values]


def _series_label(row: Mapping[Any, Any], keys: Sequence[str]) -> str:
    return " / ".join(str(row[k]) for k in keys)


def _overall_rows(backtest: Backtest) -> list[dict[Any, Any]]:
    rows = []
    for method in backtest.methods:
        overall = backtest.table(method, "overall")
        if overall is not None and not overall.empty:
            rows.append({"method": method, **overall.iloc[0].to_dict()})
    return rows


def _by(backtest: Backtest, view: str, key: str, measure: str) -> dict[str, dict[Any, float]]:
    """``method -> key value -> measure`` of one view."""
    out: dict[str, dict[Any, float]] = {}
    for method in backtest.methods:
        frame = backtest.table(method, view)
        if frame is not None and key in frame and measure in frame:
            out[method] = dict(zip(frame[key], frame[measure], strict=True))
    return out


def _total_chart(predictions: pd.DataFrame, methods: Sequence[str], keys: Sequence[str], title: str) -> str:
    """Observed and forecast summed over the series in ``predictions``, one segment per origin."""
    import pandas as pd

    lines: list[Line] = []
    bands: list[Band] = []
    frame = predictions.assign(**{DATETIME: pd.to_datetime(predictions[DATETIME], utc=True)})
    sums = frame.groupby(["method", "origin", DATETIME], sort=True)[
        ["actual", "forecast", "forecast_lower", "forecast_upper"]
    ].sum(min_count=1)

    def segments(method: str, column: str) -> tuple[list[Any], list[float | None]]:
        xs: list[Any] = []
        ys: list[float | None] = []
        part = sums.loc[method]
        for origin in part.index.get_level_values("origin").unique():
            block = part.loc[origin]
            xs += [t.to_pydatetime() for t in block.index]
            ys += [None if pd.isna(v) else float(v) for v in block[column]]
            if xs:  # a gap between origins
                xs.append(xs[-1])
                ys.append(None)
        return xs, ys

    present = [m for m in methods if m in set(sums.index.get_level_values("method"))]
    if not present:
        return line_chart([], title=title)
    xs, ys = segments(present[0], "actual")
    lines.append(Line("observed", xs, ys, OBSERVED, width=2.0))
    for index, method in enumerate(present):
        color, dash = METHOD_STYLE.get(method, (PALETTE[(index + 3) % len(PALETTE)], None))
        xs, ys = segments(method, "forecast")
        lines.append(Line(method if method != "model" else "model forecast", xs, ys, color, dash))
        if method == "model":
            lo_x, lower = segments(method, "forecast_lower")
            _, upper = segments(method, "forecast_upper")
            if any(v is not None for v in lower):
                bands.append(Band("model P10..P90 (summed)", lo_x, lower, upper, color))
    unit = " over " + " x ".join(keys) if keys else ""
    return line_chart(lines, bands=bands, title=title, y_label=f"total{unit}", time_axis=True)


def backtest_html(backtest: Backtest, info: Mapping[str, Any]) -> str:
    """The page. ``info`` may hold ``model_name``, ``version``, ``run_id``, ``snapshot``, ``alias``,
    ``promoted``, ``reason``, ``champion_wape``, ``champion_version``, ``origins``, ``horizon``,
    ``tracking_uri`` (all optional)."""
    import pandas as pd

    name, version = info.get("model_name", "model"), info.get("version", "?")
    subtitle = [
        f"MLflow run {info.get('run_id', '?')} at {info.get('tracking_uri', '?')}",
        f"feature snapshot {info.get('snapshot', '?')}",
    ]
    body: list[str] = []
    promoted = info.get("promoted")
    if promoted is not None:
        css = "ok" if promoted else "warn"
        verdict = (
            "promoted to champion" if promoted else f"not promoted (alias {info.get('alias', 'challenger')})"
        )
        reason = escape(str(info.get("reason", "")))
        body.append(f'<div class="status {css}"><b>v{version} {verdict}</b>: {reason}</div>')

    overall = _overall_rows(backtest)
    by_method = {row["method"]: row for row in overall}
    naive = [by_method[m]["wape"] for m in by_method if m != "model" and pd.notna(by_method[m].get("wape"))]
    body.append(
        page.cards(
            [
                ("backtest WAPE", by_method.get("model", {}).get("wape"), True),
                ("backtest MAPE", by_method.get("model", {}).get("mape"), True),
                ("best seasonal naive WAPE", min(naive) if naive else None, True),
                (
                    f"champion v{info['champion_version']} WAPE"
                    if info.get("champion_version")
                    else "champion WAPE",
                    info.get("champion_wape"),
                    True,
                ),
            ]
        )
    )
    body.append("<h2>Accuracy over the whole backtest</h2>")
    body.append(
        page.table(
            overall,
            ["method", "wape", "mape", "rmse", "n"],
            headers={"wape": "WAPE", "mape": "MAPE", "rmse": "RMSE", "n": "pairs"},
            percent=("wape", "mape"),
            text=("method",),
        )
    )
    per_origin_table = backtest.table("model", "per_origin")
    origins = info.get("origins") or (len(per_origin_table) if per_origin_table is not None else "?")
    body.append(
        f'<p class="meta">Expanding-window backtest: {origins} daily origin(s), '
        f"{info.get('horizon', '?')} hours ahead each; WAPE = sum|error| / sum|observed|, "
        "MAPE = mean |error|/|observed| over non-zero observations. The champion is re-scored "
        "with its own config on the same snapshot and origins.</p>"
    )

    predictions = backtest.predictions
    keys: list[str] = []
    if predictions is not None and not predictions.empty:
        keys = series_keys(list(predictions.columns), PREDICTION_VALUES)
        body.append("<h2>Forecast vs observed</h2>")
        body.append(
            page.figure(
                _total_chart(predictions, backtest.methods, keys, "Backtest: all series summed"),
                "Each origin's 24 hours ahead (a gap between origins); observed in black.",
            )
        )

    per_horizon = _by(backtest, "per_horizon", "horizon", "wape")
    if per_horizon:
        lines = []
        for index, (method, values) in enumerate(per_horizon.items()):
            color, dash = METHOD_STYLE.get(method, (PALETTE[(index + 3) % len(PALETTE)], None))
            hours = sorted(values)
            lines.append(Line(method, hours, [values[h] for h in hours], color, dash))
        body.append("<h2>Accuracy per hour ahead</h2>")
        body.append(
            page.figure(
                line_chart(
                    lines, title="Backtest WAPE per hour ahead", y_label="WAPE", percent=True, zero=True
                ),
                "Hours after the origin (1 = the first forecast hour).",
            )
        )
        hours = sorted({h for values in per_horizon.values() for h in values})
        rows = [{"horizon": int(h), **{m: per_horizon[m].get(h) for m in per_horizon}} for h in hours]
        body.append(page.table(rows, ["horizon", *per_horizon], percent=list(per_horizon)))

    per_origin = _by(backtest, "per_origin", "origin", "wape")
    if per_origin:
        origin_values = sorted({o for values in per_origin.values() for o in values})
        body.append("<h2>Accuracy per origin</h2>")
        rows = [{"origin": o, **{m: per_origin[m].get(o) for m in per_origin}} for o in origin_values]
        body.append(
            page.table(
                rows,
                ["origin", *per_origin],
                headers={m: f"WAPE {m}" for m in per_origin},
                percent=list(per_origin),
                text=("origin",),
            )
        )

    series = backtest.table("model", "per_series")
    if series is not None and not series.empty and "wape" in series:
        series_cols = series_keys(list(series.columns))
        worst = series.sort_values("wape", ascending=False).head(WORST_SERIES)
        naive24 = backtest.table("naive_24", "per_series")
        naive_wape: dict[str, float] = {}
        if naive24 is not None and "wape" in naive24:
            naive_wape = {_series_label(r, series_cols): r["wape"] for r in naive24.to_dict("records")}
        worst_rows: list[dict[Any, Any]] = []
        for record in worst.to_dict("records"):
            label = _series_label(record, series_cols)
            worst_rows.append({**record, "naive_24": naive_wape.get(label)})
        body.append(f"<h2>Worst series (highest model WAPE, {len(worst_rows)} of {len(series)})</h2>")
        body.append(
            page.table(
                worst_rows,
                [*series_cols, "wape", "naive_24", "mape", "n"],
                headers={
                    "wape": "WAPE model",
                    "naive_24": "WAPE naive_24",
                    "mape": "MAPE model",
                    "n": "pairs",
                },
                percent=("wape", "naive_24", "mape"),
                text=series_cols,
            )
        )
        if (
            predictions is not None
            and not predictions.empty
            and worst_rows
            and all(k in predictions for k in series_cols)
        ):
            first = worst.iloc[0]
            mask = pd.Series(True, index=predictions.index)
            for key in series_cols:
                mask &= predictions[key].astype("string") == str(first[key])
            one = predictions[mask]
            if not one.empty:
                label = _series_label(first.to_dict(), series_cols)
                body.append(
                    page.figure(
                        _total_chart(
                            one, backtest.methods, [], f"Worst series {label}: forecast vs observed"
                        ),
                        "The series with the highest backtest WAPE of the model.",
                    )
                )
    if not backtest.tables:
        body.append("<p>No backtest tables were found in the MLflow run.</p>")
    return page.page(f"Backtest of {name} v{version}", body, subtitle)
