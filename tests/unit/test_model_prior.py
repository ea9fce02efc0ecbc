"""How the model combines forecasts: the seasonal prior it blends with (holiday-aware, past-only),
the blend's two ends, and the average of its two scalings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components.model.core import GlobalModel
from components.model.design import (
    WEEK,
    Panel,
    build_design,
    calendar,
    prior_weeks,
)

# the LightGBM part alone (the statistical member's share is tested in tests/unit/test_model_statistical.py)
SMALL = {
    "n_estimators": 30,
    "origin_stride": 6,
    "quantile_n_estimators": 10,
    "min_history": 48,
    "stat_weight": 0.0,
}


def synthetic_panel(start: str = "2022-12-01", days: int = 40, n_series: int = 3) -> Panel:
    times = pd.date_range(start, periods=days * 24, freq="h", tz="UTC")
    rng = np.random.default_rng(1)
    hours = np.arange(len(times))
    shape = 1.0 + 0.3 * np.sin(2 * np.pi * hours / 24) + 0.1 * np.sin(2 * np.pi * hours / WEEK)
    values = np.stack([(10.0 + 5 * i) * shape * rng.uniform(0.95, 1.05, len(times)) for i in range(n_series)])
    keys = tuple(("DK1", str(100 + i)) for i in range(n_series))
    return Panel(keys, times, values, ("area", "consumer_type"))


def test_prior_skips_weeks_of_another_holiday_level() -> None:
    times = pd.date_range("2022-12-01", "2023-01-20", freq="h", tz="UTC")
    cal = calendar(times, 24)
    at = {t: i for i, t in enumerate(times)}
    # 2023-01-05 12:00 local (normal): a week earlier is in the Christmas season, two weeks is normal
    normal = at[pd.Timestamp("2023-01-05 11:00", tz="UTC")]
    # 2022-12-29 12:00 local (season): a week earlier (22 Dec) is normal, so no match -> 1 week back
    season = at[pd.Timestamp("2022-12-29 11:00", tz="UTC")]
    # 2023-01-18 12:00 local (normal): a week earlier is normal too
    later = at[pd.Timestamp("2023-01-18 11:00", tz="UTC")]
    target = np.array([[normal], [season], [later]])
    weeks = prior_weeks(cal, target, np.array([1]))
    assert weeks[:, 0].tolist() == [2, 1, 1]


def test_prior_is_past_only_and_equals_last_week_without_level_change() -> None:
    panel = synthetic_panel()
    origin = panel.n_times - 1 - 48
    future = panel.values.copy()
    future[:, origin + 1 :] *= 3.0
    d1 = build_design(panel, np.array([origin]), 24, 168)
    d2 = build_design(panel.with_values(future), np.array([origin]), 24, 168)
    np.testing.assert_array_equal(d1.prior, d2.prior)

    flat = Panel(
        panel.keys,
        panel.times,
        np.tile(panel.values[:, :WEEK], (1, panel.n_times // WEEK + 1))[:, : panel.n_times],
    )
    design = build_design(flat, np.array([origin]), 24, 168)
    week_ago = flat.values[:, origin + 1 - WEEK : origin + 25 - WEEK]
    np.testing.assert_allclose(design.prior.reshape(flat.n_series, 24), week_ago, rtol=1e-9)


def test_blend_ends() -> None:
    panel = synthetic_panel()
    origin = panel.n_times - 1
    prior = build_design(panel, np.array([origin]), 24, 168).prior.reshape(panel.n_series, 24)
    only_prior = GlobalModel({**SMALL, "blend": 1.0}).fit(panel)
    point, lower, upper = only_prior.predict_arrays(panel, origin)
    np.testing.assert_allclose(point, prior)
    assert (lower <= point).all() and (point <= upper).all()

    pure = GlobalModel({**SMALL, "blend": 0.0}).fit(panel)
    half = GlobalModel({**SMALL, "blend": 0.5}).fit(panel)
    np.testing.assert_allclose(
        half.predict_arrays(panel, origin)[0], 0.5 * pure.predict_arrays(panel, origin)[0] + 0.5 * prior
    )


def test_both_scalings_average_a_weekly_and_a_daily_level_model() -> None:
    panel = synthetic_panel()
    origin = panel.n_times - 1
    quantile_band = {**SMALL, "band_days": 0}  # the quantile regressors' band, not the conformal one
    both = GlobalModel({**quantile_band, "level_window": "24+168", "seed": 7}).fit(panel)
    assert [window for window, _ in both.boosters] == [168, 24]
    weekly = GlobalModel({**quantile_band, "level_window": 168, "seed": 7}).fit(panel)
    daily = GlobalModel({**quantile_band, "level_window": 24, "seed": 8}).fit(panel)
    point, lower, upper = both.predict_arrays(panel, origin)
    w_point, w_lower, w_upper = weekly.predict_arrays(panel, origin)
    d_point = daily.predict_arrays(panel, origin)[0]
    assert not np.allclose(w_point, d_point)
    np.testing.assert_allclose(point, 0.5 * (w_point + d_point))
    # the band comes from the weekly member's quantile regressors, moved to the averaged point
    np.testing.assert_allclose(upper - point, np.maximum(w_upper - w_point, 0.0), atol=1e-9)
    np.testing.assert_allclose(point - lower, np.maximum(w_point - w_lower, 0.0), atol=1e-9)


def test_regressors_fitted_side_by_side_equal_those_fitted_one_by_one(
    capfd: pytest.CaptureFixture[str],
) -> None:
    panel = synthetic_panel()
    origin = panel.n_times - 1
    # a leaf size below LightGBM's default: its datasets must be built for it, not rebuilt in train
    # (a rebuild while another thread trains on a subset of the same data would be a race)
    config = {**SMALL, "level_window": "24+168", "quantiles": [0.1, 0.9], "min_child_samples": 5}
    one_by_one = GlobalModel({**config, "n_jobs": 1}).fit(panel).predict_arrays(panel, origin)
    side_by_side = GlobalModel({**config, "n_jobs": 4}).fit(panel).predict_arrays(panel, origin)
    for a, b in zip(one_by_one, side_by_side, strict=True):
        np.testing.assert_array_equal(a, b)
    assert "[LightGBM] [Fatal]" not in capfd.readouterr().err
