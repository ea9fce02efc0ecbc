"""The statistical member and the model on any dataset's keys: no future leakage, what the member
recovers, the share chosen at fit time, codes learned at fit, and the MLflow round-trip of the whole
model for a one-key (ElectricityBalanceNonv) and a two-key (ConsumptionDE35Hour) frame."""

from __future__ import annotations

import logging
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest

from components import schemas
from components.model import statistical
from components.model.backtest import backtest, truncate
from components.model.core import GlobalModel
from components.model.design import WEEK, FrameError, Panel, calendar, panel_from_long
from components.model.registry import ForecasterPyfunc, pip_requirements, signature
from components.model.statistical import StatParams
from components.model.training import train_and_register
from components.settings import Settings
from tests.conftest import EBN_2019 as EB_2019
from tests.de35_schema import short_frame

SMALL = {"n_estimators": 30, "origin_stride": 6, "quantile_n_estimators": 10}


def eb_frame(end: str = "2019-06-20", days: int = 36) -> pd.DataFrame:
    """The real 2019 export (UTF-8 with BOM, newest first) as a clean one-key frame, a window of it."""
    if not EB_2019.exists():
        pytest.fail(f"the 2019 export is missing at {EB_2019}")
    raw = pd.read_csv(EB_2019, encoding="utf-8-sig", usecols=["HourUTC", "PriceArea", "TotalLoad"])
    frame = pd.DataFrame(
        {
            schemas.DATETIME: pd.to_datetime(raw["HourUTC"], utc=True),
            "area": raw["PriceArea"].astype("string"),
            schemas.TARGET: pd.to_numeric(raw["TotalLoad"]).astype("float64"),
        }
    ).dropna()
    stop = pd.Timestamp(end, tz="UTC")
    keep = (frame[schemas.DATETIME] < stop) & (frame[schemas.DATETIME] >= stop - pd.Timedelta(days=days))
    return frame[keep].sort_values(["area", schemas.DATETIME], ignore_index=True)


@pytest.mark.parametrize("transform", ["auto", "log", "none"])
def test_member_has_no_future_leakage(transform: str) -> None:
    """Perturbing every value after the origin leaves the member's forecast unchanged."""
    panel = panel_from_long(eb_frame())
    origin = panel.n_times - 1 - 50
    cal = calendar(panel.times, 24)
    rng = np.random.default_rng(0)
    future = panel.values.copy()
    future[:, origin + 1 :] *= rng.uniform(0.2, 5.0, size=future[:, origin + 1 :].shape)
    params = StatParams(transform=transform)
    a = statistical.forecast(panel.values, cal, origin, 24, params)
    b = statistical.forecast(future, cal, origin, 24, params)
    np.testing.assert_array_equal(a, b)
    assert np.isfinite(a).all()
    # the May 2019 gaps (14 h and 19 h of NaN history) are read as missing, not as zeros
    gap = panel.times.get_loc(pd.Timestamp("2019-05-30 16:00", tz="UTC"))
    assert np.isnan(panel.values[:, gap - 1]).all()
    near = statistical.forecast(panel.values, cal, gap + 6, 24, params)
    assert np.isfinite(near).all() and (near > 0.5 * np.nanmean(panel.values)).all()


def test_member_recovers_a_seasonal_series_with_a_level() -> None:
    """A level plus a fixed hour-of-week profile is forecast (almost) exactly, in either version."""
    times = pd.date_range("2023-02-06", periods=5 * WEEK, freq="h", tz="UTC")
    cal = calendar(times, 24)
    how = (cal.dayofweek * 24 + cal.hour).astype(int)
    profile = np.random.default_rng(3).uniform(-20, 20, WEEK)
    values = np.stack([100.0 + profile[how], 500.0 + 3 * profile[how]])
    origin = len(times) - 1 - 24
    for transform in ("none", "auto"):
        out = statistical.forecast(values, cal, origin, 24, StatParams(transform=transform))
        np.testing.assert_allclose(out, values[:, origin + 1 : origin + 25], rtol=2e-3)


def test_share_is_fixed_or_moved_halfway_to_the_inner_backtest() -> None:
    panel = panel_from_long(eb_frame())
    origin = panel.n_times - 1
    cal = calendar(panel.times, 24)
    stat = statistical.forecast(panel.values, cal, origin, 24, StatParams())
    lgbm = GlobalModel({**SMALL, "stat_weight": 0.0}).fit(panel).predict_arrays(panel, origin)[0]
    fixed = GlobalModel({**SMALL, "stat_weight": 0.4, "stat_weight_days": 0}).fit(panel)
    assert fixed.stat_weight == 0.4 and fixed.stat_weight_inner is None
    np.testing.assert_allclose(fixed.predict_arrays(panel, origin)[0], 0.6 * lgbm + 0.4 * stat, rtol=1e-9)

    chosen = GlobalModel({**SMALL, "stat_weight": 0.5, "stat_weight_days": 3}).fit(panel)
    assert chosen.stat_weight_inner is not None and 0.0 <= chosen.stat_weight_inner <= 1.0
    assert chosen.stat_weight == pytest.approx(0.5 * (0.5 + chosen.stat_weight_inner))
    # the inner backtest reads only the fitted panel: refitting on more data may change it, but a
    # panel perturbed after its end cannot (the model is fitted on the truncated panel)
    cut = panel.n_times - 1 - 24
    future = panel.values.copy()
    future[:, cut + 1 :] *= 3.0
    a = GlobalModel(SMALL).fit(truncate(panel, cut))
    b = GlobalModel(SMALL).fit(truncate(panel.with_values(future), cut))
    assert a.stat_weight == b.stat_weight
    np.testing.assert_array_equal(
        a.predict_arrays(panel, cut)[0], b.predict_arrays(panel.with_values(future), cut)[0]
    )


def test_codes_are_learned_at_fit_and_unseen_codes_still_forecast(caplog: pytest.LogCaptureFixture) -> None:
    frame = eb_frame()
    model = GlobalModel({**SMALL, "quantiles": []}).fit(panel_from_long(frame))
    assert model.key_names == ("area",) and model.categories == (("DK1", "DK2"),)
    # a code the model never saw: a missing category for LightGBM, logged, still forecast
    renamed = frame.assign(area=frame["area"].replace({"DK2": "DK9"}))
    with caplog.at_level(logging.WARNING, logger="components.model.core"):
        out = model.forecast(renamed)
    assert "not seen in training" in caplog.text and "DK9" in caplog.text
    assert set(out["area"]) == {"DK1", "DK9"} and np.isfinite(out["forecast"]).all()
    # the frame must carry the model's key columns
    with pytest.raises(FrameError, match="missing columns"):
        model.forecast(frame.rename(columns={"area": "industry"}))
    panel = panel_from_long(frame.rename(columns={"area": "industry"}))
    with pytest.raises(FrameError, match="fitted on series keys"):
        model.predict_arrays(panel, panel.n_times - 1)


def test_backtest_tables_per_series_of_one_key() -> None:
    result = backtest(eb_frame(), {**SMALL, "quantiles": []}, origins=2)
    per_series = result.tables["model"]["per_series"]
    assert list(per_series.columns[:1]) == ["area"] and len(per_series) == 2
    assert 0 < result.wape("model") < 0.1  # two days, 30 trees: sane, not a benchmark


@pytest.mark.parametrize("keys", [1, 2])
def test_mlflow_roundtrip_of_the_whole_model(keys: int, snapshot_path: Path, tmp_path: Path) -> None:
    """Log the fitted model (LightGBM part, band and statistical member) with a signature built from
    the frame's keys, load it back through pyfunc: the same forecast frame."""
    frame = eb_frame() if keys == 1 else short_frame(snapshot_path, days=12)
    model = GlobalModel(SMALL).fit(panel_from_long(frame))
    assert model.stat_weight > 0
    key_names = ("area",) if keys == 1 else ("area", "consumer_type")
    assert model.key_names == key_names
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_experiment("roundtrip")
    with mlflow.start_run():
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=ForecasterPyfunc(model),
            signature=signature(model.key_names),
            pip_requirements=pip_requirements(),
        )
    loaded = mlflow.pyfunc.load_model(info.model_uri)
    naive = frame.assign(**{schemas.DATETIME: frame[schemas.DATETIME].dt.tz_localize(None)})
    served = loaded.predict(naive)
    expected = model.forecast(frame)
    assert list(served.columns) == [*key_names, *schemas.FORECAST_VALUE_COLUMNS]
    pd.testing.assert_frame_equal(served.reset_index(drop=True), expected.reset_index(drop=True))
    inputs = [c["name"] for c in loaded.metadata.get_input_schema().to_dict()]
    assert inputs == [schemas.DATETIME, *key_names, schemas.TARGET]


@pytest.mark.slow
def test_train_and_register_a_one_key_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The train step's logic on ElectricityBalanceNonv: backtest, log, register, gate, load back."""
    monkeypatch.setenv("EF_DATASET", "ElectricityBalanceNonv")
    monkeypatch.setenv("EF_MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("EF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EF_TRAIN_BACKTEST_ORIGINS", "2")
    monkeypatch.setenv("EF_TRAIN_N_ESTIMATORS", "30")
    settings = Settings()
    frame = eb_frame()
    outcome = train_and_register(
        frame, settings, {"origin_stride": 6}, "gs://b/features/total_load/v1/x.parquet"
    )
    assert outcome.promoted and outcome.model is not None and 0 < outcome.wape < 0.1
    loaded = mlflow.pyfunc.load_model(f"models:/{settings.model_name}@champion")
    naive = frame.assign(**{schemas.DATETIME: frame[schemas.DATETIME].dt.tz_localize(None)})
    pd.testing.assert_frame_equal(
        loaded.predict(naive).reset_index(drop=True), outcome.model.forecast(frame).reset_index(drop=True)
    )
    client = mlflow.MlflowClient(settings.tracking_uri)
    run = client.get_run(outcome.run_id)
    assert "backtest/model_per_series.csv" in {
        a.path for a in client.list_artifacts(outcome.run_id, "backtest")
    }
    assert run.data.params["stat_transform"] == "auto"


def test_panel_keys_of_any_length() -> None:
    times = pd.date_range("2023-01-01", periods=3, freq="h", tz="UTC")
    panel = Panel((("a", "x", "1"), ("b", "y", "2")), times, np.ones((2, 3)))
    assert panel.key_names == ("key_0", "key_1", "key_2")
    with pytest.raises(FrameError):
        Panel((("a",), ("b", "c")), times, np.ones((2, 3)))
    with pytest.raises(FrameError, match="no series-key column"):
        panel_from_long(pd.DataFrame({schemas.DATETIME: times, schemas.TARGET: [1.0, 2.0, 3.0]}))
