"""The P10-P90 band: its figures (coverage, scaled pinball loss) by hand, the conformal calibration,
and no future leakage (its trip through MLflow: ``test_model_statistical``'s round trip)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from components import schemas
from components.accuracy import band_scores, pinball_loss
from components.model.calibration import apply_band, band_quantiles, recent_scale
from components.model.core import GlobalModel
from components.model.design import panel_from_long
from tests.conftest import EBN_2019

SMALL = {"n_estimators": 30, "origin_stride": 6, "band_days": 14}


def eb_frame(days: int = 40, end: str = "2019-06-20") -> pd.DataFrame:
    from components.datasets import get_spec
    from components.source.files import read_snapshot_file
    from components.validation.cleaning import clean_frame

    spec = get_spec("ElectricityBalanceNonv")
    clean, _ = clean_frame(read_snapshot_file(EBN_2019, spec), spec)
    frame = clean[list(spec.feature_columns)].dropna()
    stop = pd.Timestamp(end, tz="UTC")
    keep = (frame[schemas.DATETIME] < stop) & (frame[schemas.DATETIME] >= stop - pd.Timedelta(days=days))
    return frame[keep].sort_values(["area", schemas.DATETIME], ignore_index=True)


def test_coverage_and_pinball_by_hand() -> None:
    y = np.array([10.0, 20.0, 30.0, 40.0])
    f = np.array([12.0, 20.0, 25.0, 40.0])
    lo = np.array([9.0, 21.0, 20.0, 35.0])
    hi = np.array([11.0, 25.0, 35.0, 45.0])
    found = band_scores(y, f, lo, hi)
    # inside: 10 in [9, 11], 20 not in [21, 25], 30 in [20, 35], 40 in [35, 45]
    assert found.n == 4 and found.coverage == pytest.approx(0.75)
    # q=0.1 on lo: y-lo = 1, -1, 10, 5 -> 0.1, 0.9, 1.0, 0.5 -> mean 0.625
    # q=0.5 on f: y-f = -2, 0, 5, 0 -> 1, 0, 2.5, 0 -> mean 0.875
    # q=0.9 on hi: y-hi = -1, -5, -5, -5 -> 0.1, 0.5, 0.5, 0.5 -> mean 0.4
    # (0.625 + 0.875 + 0.4) / 3 / mean(y)=25
    assert found.pinball == pytest.approx((0.625 + 0.875 + 0.4) / 3 / 25)
    np.testing.assert_allclose(pinball_loss(np.array([1.0, 0.0]), np.array([0.0, 1.0]), 0.9), [0.9, 0.1])


def test_band_figures_skip_pairs_without_a_band_and_undefined_ones() -> None:
    found = band_scores([10.0, 20.0], [10.0, 20.0], [9.0, np.nan], [11.0, np.nan])
    assert found.n == 1 and found.coverage == 1.0
    assert band_scores([1.0], [1.0], [np.nan], [np.nan]) == (band_scores([], [], [], []))
    assert band_scores([0.0], [0.0], [0.0], [0.0]).pinball is None


def test_band_quantiles_per_step_and_applied() -> None:
    """Errors of +-10 % at every step: the band is the forecast -10 %..+10 % (with unit scale)."""
    rng = np.random.default_rng(0)
    forecast = np.full((50, 2, 3), 100.0)
    truth = forecast * (1 + rng.choice([-0.1, 0.1], size=forecast.shape))
    truth[:, :, 0] = 100.0  # step 1 is always right: its band (pooled with step 2) is narrower
    q = band_quantiles(truth, forecast, (0.1, 0.9), spread=0)
    assert q is not None
    np.testing.assert_allclose(q[:, 1:], [[-0.1, -0.1], [0.1, 0.1]])
    np.testing.assert_allclose(q[:, 0], [0.0, 0.0])
    lower, upper = apply_band(np.array([[200.0, 200.0, 200.0]]), q, np.array([0.5]))
    np.testing.assert_allclose(lower, [[200.0, 190.0, 190.0]])
    np.testing.assert_allclose(upper, [[200.0, 210.0, 210.0]])
    assert band_quantiles(truth[:1], forecast[:1], (0.1, 0.9), spread=0) is None  # too few errors


def test_recent_scale_reads_the_past_only() -> None:
    values = np.tile([100.0, 110.0], 200)[None, :].astype(float)
    origin = 300
    changed = values.copy()
    changed[:, origin + 1 :] = 1e6
    np.testing.assert_array_equal(recent_scale(values, origin), recent_scale(changed, origin))
    assert recent_scale(values, origin)[0] == pytest.approx(0.0, abs=1e-12) or np.isnan(
        recent_scale(values, origin)[0]
    )


@pytest.fixture(scope="module")
def fitted() -> tuple[GlobalModel, pd.DataFrame]:
    frame = eb_frame()
    return GlobalModel(SMALL).fit(panel_from_long(frame)), frame


def test_band_has_no_future_leakage(fitted: tuple[GlobalModel, pd.DataFrame]) -> None:
    """The band at an origin is the same whatever happens after it."""
    model, frame = fitted
    assert model.band is not None and model.band.shape == (2, 24)
    assert (model.band[0] <= 0).all() and (model.band[1] >= 0).all()
    panel = panel_from_long(frame)
    origin = panel.n_times - 1 - 48
    future = panel.values.copy()
    future[:, origin + 1 :] *= np.random.default_rng(1).uniform(0.2, 5.0, size=future[:, origin + 1 :].shape)
    a = model.predict_arrays(panel, origin)
    b = model.predict_arrays(panel.with_values(future, panel.times), origin)
    np.testing.assert_array_equal(a[0], b[0])
    for x, y in zip(a[1:], b[1:], strict=True):
        np.testing.assert_allclose(x, y, rtol=1e-12)  # the same sums, maybe in another SIMD order
    point, lower, upper = a
    assert np.isfinite(lower).all() and (lower <= point).all() and (point <= upper).all()


def test_calibration_forecasts_are_out_of_sample(fitted: tuple[GlobalModel, pd.DataFrame]) -> None:
    """The calibration's forecast after an inner origin (stand-in fitted up to it, statistical member)
    is the same whatever happens after that origin: only the truth it is scored against changes."""
    model, frame = fitted
    panel = panel_from_long(frame)
    inner = np.array([panel.n_times - 1 - 24 - 5 * 24])
    future = panel.values.copy()
    future[:, inner[0] + 1 :] *= 1.5
    lgbm, stat, truth = model._inner_forecasts(panel, inner)
    lgbm2, stat2, truth2 = model._inner_forecasts(panel.with_values(future, panel.times), inner)
    np.testing.assert_array_equal(lgbm, lgbm2)
    np.testing.assert_array_equal(stat, stat2)
    np.testing.assert_allclose(truth2, 1.5 * truth)
