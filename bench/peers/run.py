"""One benchmark peer, run by ``bench/accuracy.py`` in the peers' own environment (``bench/peers/.venv``).

The peers need ``pandas<3`` (statsforecast 2.1.1, mlforecast 1.1.0) and the project locks pandas 3,
so they run here, in a subprocess that imports nothing of the project. The protocol is files in one
directory ``DIR``:

- in ``DIR/history.parquet``: ``unique_id`` (string), ``ds`` (hour start, naive UTC), ``y`` (float),
  every series gap-free on a regular hourly grid up to the last scored hour (``bench/accuracy.py``
  fills the gaps longer than the dataset's limit causally, as for every method that takes no NaN);
- in ``DIR/request.json``: ``{"train_end": ISO, "starts": [ISO, ...], "horizon": 24, "seed": 0}``:
  fit once on ``ds < train_end``, then for every ``start`` forecast ``start .. start + horizon - 1``
  from the true history ``ds < start`` without refitting;
- out ``DIR/<method>.forecast.parquet``: ``unique_id``, ``start``, ``ds``, ``yhat`` and the 80 %
  prediction interval ``lo``, ``hi`` (the method's own ``level=[80]``);
- out ``DIR/<method>.timing.json``: ``import_seconds`` (importing the libraries), ``warmup_seconds``
  (one fit + forecast of a tiny synthetic series first, so one-off costs are not counted),
  ``fit_seconds``, ``predict_seconds`` (one per start) and the libraries' versions. statsforecast
  2.1.1 no longer depends on numba (no JIT compile; see ``uv.lock``): the warm-up is what remains of
  one-off costs (first calls into statsmodels' STL, coreforecast and LightGBM).

The methods:

- ``mstl``: ``StatsForecast(models=[MSTL(season_length=[24, 168], trend_forecaster=AutoETS(model="ZZN"))],
  freq="h")``; ``fit`` on the training data, then per start each fitted model's ``forward(y, h)`` on the
  history (the fitted trend model applied to the new series, what ``cross_validation(refit=False)``
  does; the decomposition is recomputed on the new history, the ETS parameters are kept), with
  ``level=[80]``: the trend model's interval around the seasonal forecast.
- ``mlforecast``: ``MLForecast(models=LGBMRegressor(random_state=seed, verbosity=-1), freq="h",
  lags=[1, 2, 3, 24, 48, 168], lag_transforms={1: [RollingMean(24), RollingStd(24)],
  24: [RollingMean(168)]}, date_features=["hour", "dayofweek"], target_transforms=[LocalStandardScaler()])``;
  ``fit(prediction_intervals=PredictionIntervals(n_windows=3, h=horizon))`` on the training data
  (conformal: the errors of 3 refits on the last 3 x 24 h of it), then per start ``update`` with the
  hours since the last one and ``predict(h, level=[80])`` (recursive, 24 steps). Not
  ``predict(new_df=history)``: with ``level`` that recalibrates on the last windows of ``history``,
  which the frozen model was trained on (in-sample errors, an interval far too narrow); ``update``
  keeps the fitted scaler's statistics, as sktime's ``update(update_params=False)`` does.

    bench/peers/.venv/bin/python bench/peers/run.py --method mstl --dir DIR
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

METHODS = ("mstl", "mlforecast")
WEEK, DAY = 168, 24
LEVEL = 80
CONFORMAL_WINDOWS = 3


def synthetic(hours: int) -> Any:
    """A tiny two-series hourly panel with daily and weekly shape (for the warm-up only)."""
    import numpy as np
    import pandas as pd

    t = np.arange(hours)
    ds = pd.date_range("2020-01-01", periods=hours, freq="h")
    rows = []
    for i, uid in enumerate(("a", "b")):
        y = 100 + 10 * i + 5 * np.sin(2 * np.pi * t / DAY) + 3 * np.sin(2 * np.pi * t / WEEK)
        rows.append(
            pd.DataFrame({"unique_id": uid, "ds": ds, "y": y + np.random.default_rng(i).normal(0, 1, hours)})
        )
    return pd.concat(rows, ignore_index=True)


class Mstl:
    def __init__(self, seed: int) -> None:
        from statsforecast import StatsForecast
        from statsforecast.models import MSTL, AutoETS

        self.sf = StatsForecast(
            models=[MSTL(season_length=[DAY, WEEK], trend_forecaster=AutoETS(model="ZZN"))],
            freq="h",
            n_jobs=1,
        )

    def fit(self, train: Any, horizon: int) -> None:
        self.sf.fit(train)

    def predict(self, history: Any, h: int) -> Any:
        import pandas as pd

        out = []
        groups = dict(tuple(history.groupby("unique_id", sort=True)))
        for uid, model in zip(self.sf.uids, self.sf.fitted_[:, 0], strict=True):
            part = groups[uid]
            found = model.forward(y=part["y"].to_numpy(dtype="float64"), h=h, level=[LEVEL])
            ds = pd.date_range(part["ds"].iloc[-1] + pd.Timedelta(hours=1), periods=h, freq="h")
            out.append(
                pd.DataFrame(
                    {
                        "unique_id": uid,
                        "ds": ds,
                        "yhat": found["mean"],
                        "lo": found[f"lo-{LEVEL}"],
                        "hi": found[f"hi-{LEVEL}"],
                    }
                )
            )
        return pd.concat(out, ignore_index=True)


class MlForecastLgbm:
    def __init__(self, seed: int) -> None:
        from lightgbm import LGBMRegressor
        from mlforecast import MLForecast
        from mlforecast.lag_transforms import RollingMean, RollingStd
        from mlforecast.target_transforms import LocalStandardScaler

        self.mlf = MLForecast(
            models={"lgbm": LGBMRegressor(random_state=seed, verbosity=-1)},
            freq="h",
            lags=[1, 2, 3, 24, 48, 168],
            lag_transforms={
                1: [RollingMean(window_size=24), RollingStd(window_size=24)],
                24: [RollingMean(window_size=168)],
            },
            date_features=["hour", "dayofweek"],
            target_transforms=[LocalStandardScaler()],
        )

    def fit(self, train: Any, horizon: int) -> None:
        from mlforecast.utils import PredictionIntervals

        self.mlf.fit(train, prediction_intervals=PredictionIntervals(n_windows=CONFORMAL_WINDOWS, h=horizon))
        self.seen = train["ds"].max()

    def predict(self, history: Any, h: int) -> Any:
        new = history[history["ds"] > self.seen]
        if len(new):
            self.mlf.update(new)
            self.seen = new["ds"].max()
        pred = self.mlf.predict(h=h, level=[LEVEL])
        names = {"lgbm": "yhat", f"lgbm-lo-{LEVEL}": "lo", f"lgbm-hi-{LEVEL}": "hi"}
        return pred.rename(columns=names)[["unique_id", "ds", "yhat", "lo", "hi"]]


def versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("statsforecast", "mlforecast", "lightgbm", "pandas", "numpy", "statsmodels", "coreforecast")
    return {name: version(name) for name in names}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--method", required=True, choices=METHODS)
    parser.add_argument("--dir", required=True, type=Path)
    args = parser.parse_args(argv)
    request = json.loads((args.dir / "request.json").read_text())
    horizon = int(request["horizon"])
    seed = int(request.get("seed", 0))

    t0 = time.perf_counter()
    import pandas as pd

    cls = Mstl if args.method == "mstl" else MlForecastLgbm
    cls(seed)  # imports the library
    import_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    warm = cls(seed)
    tiny = synthetic(3 * WEEK)
    warm.fit(tiny, horizon)
    warm.predict(tiny, horizon)
    warmup_s = time.perf_counter() - t0

    history = pd.read_parquet(args.dir / "history.parquet")
    history["ds"] = pd.to_datetime(history["ds"])
    history = history.sort_values(["unique_id", "ds"]).reset_index(drop=True)
    if history["y"].isna().any():
        raise SystemExit("history.parquet: y has missing values; the peers need gap-free series")
    train_end = pd.Timestamp(request["train_end"])
    method = cls(seed)
    t0 = time.perf_counter()
    method.fit(history[history["ds"] < train_end].reset_index(drop=True), horizon)
    fit_s = time.perf_counter() - t0

    forecasts, predict_s = [], []
    for text in request["starts"]:
        start = pd.Timestamp(text)
        past = history[history["ds"] < start].reset_index(drop=True)
        t0 = time.perf_counter()
        pred = method.predict(past, horizon)
        predict_s.append(time.perf_counter() - t0)
        forecasts.append(pred.assign(start=start))
    out = pd.concat(forecasts, ignore_index=True)[["unique_id", "start", "ds", "yhat", "lo", "hi"]]
    out.to_parquet(args.dir / f"{args.method}.forecast.parquet", index=False)
    timing = {
        "import_seconds": import_s,
        "warmup_seconds": warmup_s,
        "fit_seconds": fit_s,
        "predict_seconds": predict_s,
        "versions": versions(),
    }
    (args.dir / f"{args.method}.timing.json").write_text(json.dumps(timing))
    print(
        f"{args.method}: fit {fit_s:.2f} s, predict {sum(predict_s) / len(predict_s):.3f} s per origin",
        file=sys.stderr,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
