"""Accuracy and speed benchmark: seasonal naive 24 h / 168 h, the course's model, and ours.

Every method is trained on the data before ``--train-end`` and then forecasts 24 h from each
daily origin after it (origin = the hour before ``train-end + k days``), updated with the true
history up to that origin (``update(..., update_params=False)``: no refit). All methods run in
this one process, one after another, through sktime's fit/update/predict API:

- ``naive_24`` / ``naive_168``: ``NaiveForecaster(strategy="last", sp=24 / 168)``;
- ``course``: the course's model exactly: ``make_reduction(LGBMRegressor(n_estimators=2500,
  learning_rate=0.1, max_depth=-1, reg_lambda=0.015), strategy="recursive", pooling="global")``
  with a ``WindowSummarizer`` of lags 1..72 and 24/48/72-hour means and standard deviations,
  behind ``DateTimeFeatures(manual_selection=["day_of_week", "hour_of_day"],
  keep_original_columns=True)`` on exogenous area and consumer type as numbers;
- ``ours``: ``GlobalLGBMForecaster`` with ``DEFAULT_CONFIG`` (or ``--config``), for each seed,
  with ``n_jobs=0`` (LightGBM's OpenMP default: all cores), as the course's ``LGBMRegressor``
  uses by default; the forecasts do not depend on the thread count (``deterministic=True``).

Prints a table per origin (MAPE, WAPE, fit s, predict s), the targets of issue 3, and as the
last line one JSON object keyed by method. ``OMP_WAIT_POLICY=PASSIVE`` is set for the process
(both LightGBM models) because OpenMP spin-waiting on a shared 2-core machine distorts timings.

    .tools/bin/uv run --frozen python bench/accuracy.py --origins 6
"""

from __future__ import annotations

import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import argparse
import json
import logging
import statistics
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from components import schemas  # noqa: E402

log = logging.getLogger("bench.accuracy")
SHARED = Path(os.environ.get("EF_SHARED_DATA", REPO.parent / "shared" / "data"))
DEFAULT_DATA = SHARED / "energidataservice" / "ConsumptionDE35Hour_2022-12-21T16_2023-01-17T23.parquet"
HORIZON = 24


def load_frame(path: Path) -> pd.DataFrame:
    """A feature frame from an API export (HourUTC, PriceArea, ...) or an already clean feature frame."""
    if not path.exists():
        raise SystemExit(f"--data {path}: no such file")
    raw = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str)
    if set(schemas.FEATURE_COLUMNS) <= set(raw.columns):
        frame = raw[list(schemas.FEATURE_COLUMNS)].copy()
        frame[schemas.DATETIME] = pd.to_datetime(frame[schemas.DATETIME], utc=True)
    elif {"HourUTC", "PriceArea", "ConsumerType_DE35", "TotalCon"} <= set(raw.columns):
        frame = pd.DataFrame(
            {
                schemas.DATETIME: pd.to_datetime(raw["HourUTC"]).dt.tz_localize("UTC"),
                schemas.AREA: raw["PriceArea"].astype(str),
                schemas.CONSUMER_TYPE: raw["ConsumerType_DE35"].astype(str),
                schemas.TARGET: pd.to_numeric(raw["TotalCon"]).astype("float64"),
            }
        )
    else:
        raise SystemExit(f"--data {path}: neither a feature frame nor a ConsumptionDE35Hour export")
    return frame.sort_values([schemas.AREA, schemas.CONSUMER_TYPE, schemas.DATETIME]).reset_index(drop=True)


def to_sktime(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``y`` (hierarchical, hourly PeriodIndex) and the course's ``X`` (area, consumer type as numbers)."""
    period = frame[schemas.DATETIME].dt.tz_convert(None).dt.to_period("h")
    index = pd.MultiIndex.from_arrays(
        [frame[schemas.AREA], frame[schemas.CONSUMER_TYPE], period],
        names=["area", "consumer_type", "datetime"],
    )
    y = pd.DataFrame({schemas.TARGET: frame[schemas.TARGET].to_numpy()}, index=index).sort_index()
    areas = {a: i for i, a in enumerate(sorted(frame[schemas.AREA].unique()))}
    X = pd.DataFrame(
        {
            "area": y.index.get_level_values(0).map(areas).astype("int64"),
            "consumer_type": y.index.get_level_values(1).astype("int64"),
        },
        index=y.index,
    )
    return y, X


def course_model() -> Any:
    from lightgbm import LGBMRegressor
    from sktime.forecasting.compose import ForecastingPipeline, make_reduction
    from sktime.transformations.series.date import DateTimeFeatures
    from sktime.transformations.series.summarize import WindowSummarizer

    summarizer = WindowSummarizer(
        lag_feature={
            "lag": list(range(1, 73)),
            "mean": [[1, 24], [1, 48], [1, 72]],
            "std": [[1, 24], [1, 48], [1, 72]],
        },
        n_jobs=1,
    )
    regressor = LGBMRegressor(
        n_estimators=2500, learning_rate=0.1, max_depth=-1, reg_lambda=0.015, verbose=-1
    )
    forecaster = make_reduction(
        regressor, transformers=[summarizer], strategy="recursive", pooling="global", window_length=None
    )
    return ForecastingPipeline(
        steps=[
            (
                "daily_season",
                DateTimeFeatures(manual_selection=["day_of_week", "hour_of_day"], keep_original_columns=True),
            ),
            ("forecaster", forecaster),
        ]
    )


def make_method(name: str, seed: int, config: dict[str, Any]) -> tuple[Any, bool]:
    """The forecaster and whether it takes the exogenous X."""
    if name.startswith("naive_"):
        from sktime.forecasting.naive import NaiveForecaster

        return NaiveForecaster(strategy="last", sp=int(name.split("_")[1])), False
    if name == "course":
        return course_model(), True
    from components.model.forecaster import GlobalLGBMForecaster

    return GlobalLGBMForecaster(horizon=HORIZON, config={**config, "seed": seed}), False


def time_slice(frame: pd.DataFrame, start: pd.Period | None, end: pd.Period) -> pd.DataFrame:
    times = frame.index.get_level_values(-1)
    keep = times < end if start is None else (times >= start) & (times < end)
    return frame[keep]


def score(actual: pd.Series, forecast: pd.Series) -> tuple[float, float]:
    a = actual.to_numpy(dtype="float64")
    f = forecast.reindex(actual.index).to_numpy(dtype="float64")
    if np.isnan(f).any():
        raise RuntimeError(f"{int(np.isnan(f).sum())} forecasts missing")
    err = np.abs(a - f)
    return float(np.mean(err / np.abs(a))), float(err.sum() / np.abs(a).sum())


def run_method(
    name: str,
    seed: int,
    config: dict[str, Any],
    y: pd.DataFrame,
    X: pd.DataFrame,
    train_end: pd.Period,
    origins: int,
) -> dict[str, Any]:
    forecaster, uses_x = make_method(name, seed, config)
    fh = np.arange(1, HORIZON + 1)
    y_train = time_slice(y, None, train_end)
    t0 = time.perf_counter()
    forecaster.fit(y_train, X=time_slice(X, None, train_end) if uses_x else None, fh=fh)
    fit_s = time.perf_counter() - t0
    rows: list[dict[str, Any]] = []
    seen = train_end
    for k in range(origins):
        start = train_end + k * HORIZON  # first forecast hour; the origin is the hour before it
        t0 = time.perf_counter()
        if start > seen:
            forecaster.update(
                time_slice(y, seen, start),
                X=time_slice(X, seen, start) if uses_x else None,
                update_params=False,
            )
            seen = start
        pred = forecaster.predict(fh=fh, X=time_slice(X, start, start + HORIZON) if uses_x else None)
        predict_s = time.perf_counter() - t0
        actual = time_slice(y, start, start + HORIZON).iloc[:, 0]
        mape, wape = score(actual, pred.iloc[:, 0])
        rows.append(
            {
                "origin": str(start - 1),
                "mape": mape,
                "wape": wape,
                "fit_s": fit_s if k == 0 else 0.0,
                "predict_s": predict_s,
            }
        )
        log.info(
            "%s seed %d origin %s: MAPE %.4f WAPE %.4f predict %.2f s",
            name,
            seed,
            start - 1,
            mape,
            wape,
            predict_s,
        )
    return {
        "mape": statistics.fmean(r["mape"] for r in rows),
        "wape": statistics.fmean(r["wape"] for r in rows),
        "fit_seconds": fit_s,
        "predict_seconds": statistics.fmean(r["predict_s"] for r in rows),
        "per_origin": rows,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Parquet/CSV export or feature frame")
    parser.add_argument(
        "--train-end", default=None, help="ISO UTC hour; default: --origins days before the end"
    )
    parser.add_argument("--origins", type=int, default=6, help="daily origins after --train-end (default 6)")
    parser.add_argument("--seeds", default="0,1,2", help="seeds of our model (comma-separated)")
    parser.add_argument("--methods", default="naive_24,naive_168,course,ours", help="comma-separated subset")
    parser.add_argument("--config", default="{}", help="JSON overrides of our DEFAULT_CONFIG")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)

    if args.origins < 1:
        parser.error("--origins must be >= 1")
    frame = load_frame(args.data)
    y, X = to_sktime(frame)
    last = y.index.get_level_values(-1).max()
    if args.train_end:
        stamp = pd.Timestamp(args.train_end)
        stamp = stamp.tz_convert("UTC").tz_localize(None) if stamp.tzinfo else stamp
        train_end = pd.Period(stamp, freq="h")
    else:
        train_end = last + 1 - args.origins * HORIZON
    if train_end + args.origins * HORIZON - 1 > last:
        parser.error(f"--train-end {train_end} + {args.origins} days runs past the data's last hour {last}")
    config = {"n_jobs": 0, **json.loads(args.config)}
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    print(
        f"data {args.data.name}: {len(frame)} rows, train < {train_end}, {args.origins} daily origins",
        flush=True,
    )

    results: dict[str, Any] = {}
    for name in methods:
        if name == "ours":
            runs = {seed: run_method(name, seed, config, y, X, train_end, args.origins) for seed in seeds}
            best = runs[seeds[0]]
            results["ours"] = {
                **best,
                "seeds": {
                    str(s): {"mape": r["mape"], "wape": r["wape"], "fit_seconds": r["fit_seconds"]}
                    for s, r in runs.items()
                },
            }
        else:
            results[name] = run_method(name, 0, config, y, X, train_end, args.origins)

    print(f"\n{'method':<10} {'origin':<18} {'MAPE':>7} {'WAPE':>7} {'fit s':>8} {'predict s':>10}")
    for name, res in results.items():
        for row in res["per_origin"]:
            print(
                f"{name:<10} {row['origin']:<18} {row['mape']:7.4f} {row['wape']:7.4f} {row['fit_s']:8.2f} "
                f"{row['predict_s']:10.3f}"
            )
        print(
            f"{name:<10} {'mean':<18} {res['mape']:7.4f} {res['wape']:7.4f} {res['fit_seconds']:8.2f} "
            f"{res['predict_seconds']:10.3f}"
        )
    if "ours" in results:
        seeds_res = results["ours"]["seeds"]
        wapes = [v["wape"] for v in seeds_res.values()]
        mapes = [v["mape"] for v in seeds_res.values()]
        print(
            f"ours across seeds {list(seeds_res)}: WAPE {min(wapes):.4f}..{max(wapes):.4f}, "
            f"MAPE {min(mapes):.4f}..{max(mapes):.4f}"
        )
    if {"ours", "course", "naive_24", "naive_168"} <= set(results):
        ours, course = results["ours"], results["course"]
        best_wape = min(results[m]["wape"] for m in ("naive_24", "naive_168", "course"))
        checks = {
            "mape <= 0.70 x course": ours["mape"] <= 0.70 * course["mape"],
            "wape <= 0.80 x best(naive_24, naive_168, course)": ours["wape"] <= 0.80 * best_wape,
            "predict <= course / 50": ours["predict_seconds"] <= course["predict_seconds"] / 50,
            "fit <= course fit": ours["fit_seconds"] <= course["fit_seconds"],
        }
        print(
            f"ours MAPE / course MAPE = {ours['mape'] / course['mape']:.3f}; ours WAPE / best other WAPE = "
            f"{ours['wape'] / best_wape:.3f}; course predict / ours predict = "
            f"{course['predict_seconds'] / ours['predict_seconds']:.0f}x; ours fit / course fit = "
            f"{ours['fit_seconds'] / course['fit_seconds']:.2f}"
        )
        for text, ok in checks.items():
            print(f"target {text}: {'MET' if ok else 'NOT MET'}")
    print(json.dumps(results, sort_keys=True))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
