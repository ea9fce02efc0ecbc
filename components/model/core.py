"""The global direct multi-horizon LightGBM model, independent of sktime and MLflow.

One LightGBM regressor predicts ``y[t+h] / level[t]`` for every series and every horizon ``h =
1..H`` from features computed at the origin ``t`` (see :mod:`components.model.design`); the P10/P90
band is calibrated on out-of-sample errors of the training panel's last days
(:mod:`components.model.calibration`; ``band_days=0``: two quantile regressors instead). With
``level_window="24+168"`` there are two regressors, one whose level is the last week's mean and one
whose level is the last day's mean (each with its own seed), and their forecasts are averaged: the
two scalings err differently after a level shift, so the average is steadier than either. The
forecast is ``1 - blend`` times the regressor's plus ``blend`` times a holiday-aware, level-adjusted
seasonal naive (the *prior*, see :func:`~components.model.design.seasonal_prior`): a forecast
combination that keeps the model close to last week's profile where its training data (e.g. mostly
Christmas weeks) says little about the weeks it forecasts. Forecasting all series is one feature
build and one ``predict`` call. This module is what the MLflow pyfunc model pickles, so it imports
neither sktime nor mlflow.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Final

import lightgbm as lgb
import numpy as np
import pandas as pd

from components import schemas
from components.model import calibration, statistical
from components.model.config import validate_config
from components.model.design import (
    BASE_FEATURE_NAMES,
    DAY,
    KEY_FEATURE_PREFIX,
    Calendar,
    Categories,
    FrameError,
    Panel,
    build_design,
    calendar,
    category_codes,
    feature_names,
    learn_categories,
    panel_from_long,
)
from components.model.metrics import scores

log = logging.getLogger(__name__)

MODEL_FORMAT_REVISION = 6
"""Bump when what a fitted model means changes without its base feature names changing
(4: series keys of any dataset, codes learned at fit time; 5: the statistical member; 6: the
conformal band)."""
MODEL_FORMAT: Final = (
    f"{MODEL_FORMAT_REVISION}-{hashlib.sha256(','.join(BASE_FEATURE_NAMES).encode()).hexdigest()[:10]}"
)
"""The format of a fitted :class:`GlobalModel`: a model of another format cannot predict with this code
(other features, other meaning). Registered versions carry it as a run tag, so the training gate
replaces a champion of an older format instead of comparing with it."""


INNER_PROXY: Final[dict[str, Any]] = {
    "level_window": 168,
    "origin_stride": 24,
    "n_estimators": 100,
    "quantiles": [],
}
"""The LightGBM part refitted for the inner backtest that chooses the statistical member's share:
one regressor, every 24th origin, at most 100 trees (about a sixth of a fit)."""
WEIGHT_GRID: Final = np.round(np.linspace(0.0, 1.0, 11), 2)


class IncompatibleModelError(RuntimeError):
    """A fitted model was built by a different version of this code; the message says how to fix it."""


def _lgb_params(config: dict[str, Any], seed: int) -> dict[str, Any]:
    return {
        "objective": {"l2": "regression", "l1": "regression_l1", "huber": "huber"}[config["objective"]],
        "learning_rate": config["learning_rate"],
        "num_leaves": config["num_leaves"],
        "min_data_in_leaf": config["min_child_samples"],
        "feature_fraction": config["feature_fraction"],
        "bagging_fraction": config["bagging_fraction"],
        "bagging_freq": 1 if config["bagging_fraction"] < 1.0 else 0,
        "lambda_l2": config["lambda_l2"],
        "max_bin": config["max_bin"],
        "num_threads": config["n_jobs"],
        "seed": seed,
        "deterministic": True,
        "force_row_wise": True,
        "verbosity": -1,
    }


@dataclass(frozen=True)
class _BoosterJob:
    params: dict[str, Any]
    data: lgb.Dataset
    rounds: int


def _train_concurrently(jobs: list[_BoosterJob], n_jobs: int) -> list[lgb.Booster]:
    """Train independent boosters side by side, splitting ``n_jobs`` threads (0: all cores) among them.

    One LightGBM booster barely gains from a second thread here (l1 leaves are refitted serially),
    while two boosters in two threads (LightGBM releases the GIL) take about the time of one.
    Every job must own its constructed Dataset: nothing is shared between threads.
    """
    cores = n_jobs if n_jobs > 0 else (os.cpu_count() or 1)
    workers = max(1, min(len(jobs), cores))
    threads = max(1, cores // workers)

    def run(job: _BoosterJob) -> lgb.Booster:
        return lgb.train(job.params | {"num_threads": threads}, job.data, num_boost_round=job.rounds)

    if workers == 1:
        return [run(job) for job in jobs]
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="lgb-fit") as pool:
        return list(pool.map(run, jobs))


def level_windows(config: dict[str, Any]) -> tuple[int, ...]:
    """The level window of each regressor: ``level_window`` is 24, 168 or ``"24+168"`` (both)."""
    value = config["level_window"]
    return (168, 24) if value == "24+168" else (int(value),)


class GlobalModel:
    """Fit on a :class:`Panel`, forecast ``horizon`` steps after any origin of any panel."""

    def __init__(self, config: dict[str, Any] | None = None, horizon: int = 24) -> None:
        if horizon < 1:
            raise ValueError(f"horizon must be >= 1, got {horizon}")
        self.config = validate_config(dict(config or {}), where="model config", check_ranges=False)
        self.horizon = int(horizon)
        self.boosters: list[tuple[int, lgb.Booster]] = []
        self.quantile_boosters: dict[float, lgb.Booster] = {}
        self.fit_seconds = float("nan")
        self.n_train_rows = 0
        self.model_format = MODEL_FORMAT
        self.stat_params = statistical.StatParams.from_config(self.config)
        self.stat_weight = float(self.config["stat_weight"])
        """The statistical member's share of the forecast (chosen at fit time, see :meth:`fit`)."""
        self.stat_weight_inner: float | None = None
        """The share that did best in the inner backtest (None: no inner backtest)."""
        self.band: np.ndarray | None = None
        """The conformal band's relative error quantiles per horizon step, ``(2, horizon)`` (None:
        the quantile regressors' band, or no band)."""
        self.stat_log: dict[tuple[str, ...], bool] = {}
        """``stat_transform="auto"``: per series key, whether the member takes logs (chosen at fit)."""
        self.key_names: tuple[str, ...] = ()
        """The series-key columns of the training frame (the forecast frame has the same)."""
        self.categories: Categories = ()
        """Per key column, the sorted codes seen at fit time (their positions are the categorical codes)."""

    def codes(self, panel: Panel) -> np.ndarray:
        """The panel's category codes in the fitted categories (unseen codes: NaN, logged)."""
        if tuple(panel.key_names) != self.key_names:
            raise FrameError(
                f"the model was fitted on series keys {list(self.key_names)}, got {list(panel.key_names)}"
            )
        codes = category_codes(panel, self.categories)
        if np.isnan(codes).any():
            unseen = sorted({panel.keys[i] for i in np.flatnonzero(np.isnan(codes).any(axis=1))})
            log.warning(
                "%d series have key codes not seen in training (%s%s): forecast with a missing category",
                len(unseen),
                ", ".join("/".join(k) for k in unseen[:5]),
                ", ..." if len(unseen) > 5 else "",
            )
        return codes

    # --- training -------------------------------------------------------------------------
    def training_origins(self, panel: Panel) -> np.ndarray:
        """Origins with at least ``min_history`` steps before them and one target after them."""
        first = min(int(self.config["min_history"]), max(panel.n_times - 2, 0))
        last = panel.n_times - 2
        origins = np.arange(last, first - 1, -int(self.config["origin_stride"]))[::-1]
        if origins.size == 0:
            raise FrameError(f"too little history to train: {panel.n_times} time steps")
        return origins

    def fit(self, panel: Panel) -> GlobalModel:
        start = time.perf_counter()
        cfg = self.config
        self.key_names = tuple(panel.key_names)
        self.categories = learn_categories(panel)
        codes = category_codes(panel, self.categories)
        names = feature_names(self.key_names)
        categorical = [i for i, n in enumerate(names) if n.startswith(KEY_FEATURE_PREFIX)]
        origins = self.training_origins(panel)
        cal = calendar(panel.times, self.horizon)
        windows = level_windows(cfg)
        conformal = int(cfg["band_days"]) > 0 and len(cfg["quantiles"]) == 2
        point_jobs: list[_BoosterJob] = []
        band_jobs: list[_BoosterJob] = []
        for member, window in enumerate(windows):
            design = build_design(panel, origins, self.horizon, window, cal, codes)
            target_idx = design.origin + design.horizon
            inside = target_idx < panel.n_times
            y = np.full(design.level.shape, np.nan)
            y[inside] = panel.values[design.series[inside], target_idx[inside]]
            keep = np.isfinite(y)
            if keep.sum() < 2:
                raise FrameError("too little data to train: fewer than 2 observed targets")
            X, ratio, level = design.X[keep], (y[keep] / design.level[keep]), design.level[keep]
            weight = level ** float(cfg["weight_power"])
            weight = weight / weight.mean()
            min_leaf = int(min(cfg["min_child_samples"], max(1, keep.sum() // 4)))
            params = _lgb_params(cfg, int(cfg["seed"]) + member) | {"min_data_in_leaf": min_leaf}
            dataset = lgb.Dataset(
                X,
                ratio,
                weight=weight,
                feature_name=list(names),
                categorical_feature=categorical,
                # built with the training's own leaf size: LightGBM would otherwise rebuild it in train
                params={
                    "max_bin": cfg["max_bin"],
                    "verbosity": -1,
                    "min_data_in_bin": 1,
                    "min_data_in_leaf": min_leaf,
                },
                free_raw_data=False,
            ).construct()
            point_jobs.append(_BoosterJob(params, dataset, int(cfg["n_estimators"])))
            self.n_train_rows = int(keep.sum())
            if member == 0 and not conformal:
                # the band: fitted once, on the first regressor's scaling and every other origin
                # (quantile leaves are refitted by sorting, the slowest part of a fit)
                rows = np.flatnonzero(np.isin(design.origin[keep], origins[::-2]))
                rows = rows if rows.size >= 2 else np.arange(int(keep.sum()))
                for q in cfg["quantiles"]:
                    qparams = params | {"objective": "quantile", "alpha": float(q)}
                    band_data = dataset.subset(rows.tolist()).construct()  # one Dataset per thread
                    band_jobs.append(_BoosterJob(qparams, band_data, int(cfg["quantile_n_estimators"])))
        # the long point fits first, so that they run side by side
        boosters = _train_concurrently(point_jobs + band_jobs, int(cfg["n_jobs"]))
        self.boosters = list(zip(windows, boosters[: len(windows)], strict=True))
        band_quantiles = [] if conformal else cfg["quantiles"]
        self.quantile_boosters = {
            float(q): b for q, b in zip(band_quantiles, boosters[len(windows) :], strict=True)
        }
        if self.stat_params.transform == "auto":
            chosen = statistical.choose_log(panel.values, cal, panel.n_times - 1, self.stat_params)
            self.stat_log = dict(zip(panel.keys, (bool(x) for x in chosen), strict=True))
        self.stat_weight, self.stat_weight_inner = self._choose_stat_weight(panel)
        self.band = self._calibrate_band(panel) if conformal else None
        self.fit_seconds = time.perf_counter() - start
        log.info(
            "fitted %d regressor(s) on %d rows (%d series x %d origins x %d horizons), statistical "
            "share %.2f, in %.1f s",
            len(self.boosters),
            self.n_train_rows,
            panel.n_series,
            origins.size,
            self.horizon,
            self.stat_weight,
            self.fit_seconds,
        )
        return self

    def _stat_forecast(self, panel: Panel, origin: int, cal: Calendar) -> np.ndarray:
        """The statistical member's ``(n_series, horizon)`` forecast after ``origin``."""
        use_log = None
        if self.stat_params.transform == "auto" and all(k in self.stat_log for k in panel.keys):
            use_log = np.array([self.stat_log[k] for k in panel.keys])
        return statistical.forecast(panel.values, cal, origin, self.horizon, self.stat_params, use_log)

    def _choose_stat_weight(self, panel: Panel) -> tuple[float, float | None]:
        """The statistical member's share: ``stat_weight``, moved halfway to the share that did best
        in an inner backtest on the training panel's last ``stat_weight_days`` daily origins.

        The inner backtest refits a cheaper LightGBM part (:data:`INNER_PROXY`) on the panel up to
        the first inner origin only, so its forecasts there are out of sample, like the member's
        (which reads only the past anyway); the best share of :data:`WEIGHT_GRID` minimises the
        mean of MAPE and WAPE. Halfway, because a few days are a noisy judge. Too short a panel,
        ``stat_weight_days=0`` or a share of 0 or 1 keeps ``stat_weight``.
        """
        cfg = self.config
        prior = float(cfg["stat_weight"])
        days = int(cfg["stat_weight_days"])
        inner = panel.n_times - 1 - self.horizon - DAY * np.arange(days)[::-1]
        if days == 0 or prior in (0.0, 1.0) or inner[0] < int(cfg["min_history"]) + 2 * DAY:
            return prior, None
        lgbm, stat, truth = self._inner_forecasts(panel, inner)

        def loss(w: float) -> float:
            s = scores(truth, (1.0 - w) * lgbm + w * stat)
            return 0.5 * (s["mape"] + s["wape"])

        losses = [loss(float(w)) for w in WEIGHT_GRID]
        if not np.isfinite(losses).any():
            return prior, None
        best = float(WEIGHT_GRID[int(np.nanargmin(losses))])
        return 0.5 * (prior + best), best

    def _inner_forecasts(self, panel: Panel, inner: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Out-of-sample forecasts after each ``inner`` origin, each ``(origins, series, horizon)``:
        the LightGBM part (a cheaper refit, :data:`INNER_PROXY`, on the panel up to the first inner
        origin only), the statistical member (it reads only the past), and the truth."""
        cfg = self.config
        cut = int(inner[0])
        proxy_cfg = {
            **cfg,
            **INNER_PROXY,
            "origin_stride": max(INNER_PROXY["origin_stride"], int(cfg["origin_stride"])),
            "n_estimators": min(INNER_PROXY["n_estimators"], int(cfg["n_estimators"])),
            "stat_weight": 0.0,
            "stat_weight_days": 0,
            "band_days": 0,
        }
        known = panel.with_values(panel.values[:, : cut + 1], panel.times[: cut + 1])
        proxy = GlobalModel(proxy_cfg, horizon=self.horizon).fit(known)
        cal = calendar(panel.times, self.horizon)
        parts, stats, truths = [], [], []
        for origin in inner:
            o = int(origin)
            parts.append(proxy.predict_arrays(panel, o, cal)[0])
            # the transform chosen at this inner origin from its own past (not the fitted choice,
            # which read the inner days)
            stats.append(statistical.forecast(panel.values, cal, o, self.horizon, self.stat_params))
            truths.append(panel.values[:, o + 1 : o + 1 + self.horizon])
        return np.stack(parts), np.stack(stats), np.stack(truths)

    def _calibrate_band(self, panel: Panel) -> np.ndarray | None:
        """The conformal band's quantiles (:func:`~components.model.calibration.band_quantiles`, errors
        in units of each series' :func:`~components.model.calibration.recent_scale` at the origin)
        from out-of-sample forecasts (:meth:`_inner_forecasts`, combined with the chosen statistical
        share) after the training panel's last ``band_days`` daily origins (fewer if the panel is
        short: the stand-in needs ``min_history`` + 2 days before the first). None: too little data.
        """
        cfg = self.config
        last = panel.n_times - 1 - self.horizon
        first = int(cfg["min_history"]) + 2 * DAY
        days = min(int(cfg["band_days"]), (last - first) // DAY + 1)
        if days < 2:
            log.warning("too little history to calibrate the band: the forecast has none")
            return None
        inner = last - DAY * np.arange(days)[::-1]
        lgbm, stat, truth = self._inner_forecasts(panel, inner)
        w = self.stat_weight
        point = (1.0 - w) * lgbm + w * np.where(np.isfinite(stat), stat, lgbm) if w > 0 else lgbm
        q_lo, q_hi = sorted(float(q) for q in self.config["quantiles"])
        scale = np.stack([calibration.recent_scale(panel.values, int(o)) for o in inner])
        return calibration.band_quantiles(truth, point, (q_lo, q_hi), scale)

    # --- forecasting ----------------------------------------------------------------------
    def predict_arrays(
        self, panel: Panel, origin: int, cal: Calendar | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Point forecast and band, each shaped ``(n_series, horizon)``, for steps origin+1..origin+H."""
        built = getattr(self, "model_format", "1 (before formats were recorded)")
        if built != MODEL_FORMAT:
            raise IncompatibleModelError(
                f"this model was built in model format {built}, this code predicts with format "
                f"{MODEL_FORMAT}: retrain it (a pipeline run with this image; the new version "
                "replaces a champion of an older format)"
            )
        if not self.boosters:
            raise RuntimeError("GlobalModel.predict called before fit")
        shape = (panel.n_series, self.horizon)
        blend = float(self.config["blend"])
        if cal is None:
            cal = calendar(panel.times, self.horizon)
        codes = self.codes(panel)
        designs = [
            build_design(panel, np.array([origin]), self.horizon, w, cal, codes) for w, _ in self.boosters
        ]
        raws = [np.asarray(b.predict(d.X)) for d, (_, b) in zip(designs, self.boosters, strict=True)]
        point = sum(
            ((1.0 - blend) * raw * d.level + blend * d.prior).reshape(shape)
            for d, raw in zip(designs, raws, strict=True)
        ) / len(designs)
        weight = float(getattr(self, "stat_weight", 0.0))
        if weight > 0.0:
            stat = self._stat_forecast(panel, origin, cal)
            point = (1.0 - weight) * point + weight * np.where(np.isfinite(stat), stat, point)
        lower = np.full(shape, np.nan)
        upper = np.full(shape, np.nan)
        band = getattr(self, "band", None)
        if band is not None:
            lower, upper = calibration.apply_band(point, band, calibration.recent_scale(panel.values, origin))
        elif len(self.quantile_boosters) == 2:
            # the band keeps the quantile regressors' distances from the first regressor's forecast
            q_lo, q_hi = sorted(self.quantile_boosters)
            lo = np.asarray(self.quantile_boosters[q_lo].predict(designs[0].X)) - raws[0]
            hi = np.asarray(self.quantile_boosters[q_hi].predict(designs[0].X)) - raws[0]
            lower = np.minimum(point + (lo * designs[0].level).reshape(shape), point)
            upper = np.maximum(point + (hi * designs[0].level).reshape(shape), point)
        return point, lower, upper

    def forecast_panel(self, panel: Panel, origin: int | None = None) -> pd.DataFrame:
        """Forecast frame ``(*key_names, datetime_utc, horizon, forecast, forecast_lower,
        forecast_upper)`` for the H steps after ``origin``.

        ``origin`` defaults to the last step of the panel. Series whose value at the origin is
        missing are still forecast from whatever history they have (lags are NaN-tolerant).
        """
        origin = panel.n_times - 1 if origin is None else int(origin)
        cal = calendar(panel.times, self.horizon)
        point, lower, upper = self.predict_arrays(panel, origin, cal)
        step = panel.times[1] - panel.times[0] if panel.n_times > 1 else pd.Timedelta(hours=1)
        future = pd.DatetimeIndex(
            [panel.times[origin] + step * h for h in range(1, self.horizon + 1)]
        ).as_unit("ns")
        n_s = panel.n_series
        return pd.DataFrame(
            {
                **{
                    name: np.repeat([k[i] for k in panel.keys], self.horizon)
                    for i, name in enumerate(panel.key_names)
                },
                schemas.DATETIME: np.tile(future, n_s),
                "horizon": np.tile(np.arange(1, self.horizon + 1), n_s),
                "forecast": point.reshape(-1),
                "forecast_lower": lower.reshape(-1),
                "forecast_upper": upper.reshape(-1),
            },
            columns=[*panel.key_names, *schemas.FORECAST_VALUE_COLUMNS],
        )

    def forecast(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The prediction contract: long feature frame in, H hours after each series' last hour out.

        The frame must have the training frame's key columns (other columns are ignored); the
        forecast frame has those key columns first.
        """
        if not self.key_names:
            raise RuntimeError("GlobalModel.forecast called before fit")
        panel = panel_from_long(frame, where="model input", key_names=self.key_names)
        last_obs = np.where(np.isfinite(panel.values), np.arange(panel.n_times)[None, :], -1).max(axis=1)
        if (last_obs == panel.n_times - 1).all():
            return self.forecast_panel(panel)
        # series that end earlier than others: forecast each group of equal last hour
        parts = []
        for o in np.unique(last_obs[last_obs >= 0]):
            rows = np.repeat(last_obs == o, self.horizon)
            parts.append(self.forecast_panel(panel, int(o))[rows])
        return pd.concat(parts, ignore_index=True)
