"""bench/accuracy.py: its loader on the three export formats, and short smoke runs of the new methods.

The smoke runs are the real command (a subprocess, the peers in their own environment from
``make setup``) on short windows of the shared DE35 Parquet and ElectricityBalanceNonv 2019 CSV.
"""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
from types import ModuleType
from typing import Any

import pytest

from components.datasets import TARGET, get_spec
from tests.conftest import EBN_2019, EBN_2024, REPO_ROOT, SNAPSHOT_PATH

pytestmark = pytest.mark.slow

BENCH = REPO_ROOT / "bench" / "accuracy.py"
BALANCE_2019 = EBN_2019
BALANCE_2024 = EBN_2024
NEW_METHODS = ("naive_24", "mstl", "mlforecast")
FIELDS = ("mape", "wape", "fit_seconds", "predict_seconds")


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_accuracy", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_loader_de35_parquet_in_mwh(bench: ModuleType) -> None:
    spec = get_spec("ConsumptionDE35Hour")
    frame = bench.load_frame(SNAPSHOT_PATH, spec)
    assert list(frame.columns) == [*spec.feature_columns, bench.FILLED]
    assert len(frame) == 49_856 and frame.groupby(list(spec.key_names)).ngroups == 76
    assert not frame[bench.FILLED].any() and frame[TARGET].notna().all()
    first = frame.iloc[0]
    assert (first["area"], first["consumer_type"], str(first["datetime_utc"])) == (
        "DK1",
        "111",
        "2022-12-21 16:00:00+00:00",
    )
    assert first[TARGET] == pytest.approx(132.199)  # 132199 kWh


def test_loader_balance_api_csv_fills_short_gaps_only(bench: ModuleType) -> None:
    spec = get_spec("ElectricityBalanceNonv")
    frame = bench.load_frame(BALANCE_2019, spec)
    assert len(frame) == 2 * 7_296  # the complete grid 2019-01-01T00 .. 2019-10-31T23
    filled = frame[frame[bench.FILLED]]
    # two 2-hour runs (a missing and a null hour) per area, interpolated
    assert sorted({str(t) for t in filled["datetime_utc"]}) == [
        "2019-09-29 07:00:00+00:00",
        "2019-09-29 08:00:00+00:00",
        "2019-10-26 23:00:00+00:00",
        "2019-10-27 00:00:00+00:00",
    ]
    assert len(filled) == 8 and filled[TARGET].notna().all()
    # the 14 h and 19 h gaps of 2019-05-29/30 stay missing
    missing = frame[frame[TARGET].isna()]
    assert len(missing) == 2 * 33
    assert missing["datetime_utc"].min().isoformat() == "2019-05-29T06:00:00+00:00"
    assert missing["datetime_utc"].max().isoformat() == "2019-05-30T15:00:00+00:00"


def test_loader_balance_web_download_decimal_commas(bench: ModuleType) -> None:
    frame = bench.load_frame(BALANCE_2024, get_spec("ElectricityBalanceNonv"))
    assert len(frame) == 1_681 and set(frame["area"]) == {"DK2"}
    last = frame.iloc[-1]
    assert str(last["datetime_utc"]) == "2024-11-06 22:00:00+00:00"
    assert last[TARGET] == pytest.approx(1445.449951)
    # non-validated data: besides the normal 1000-2300 MWh, three real spikes (SCADA faults)
    assert frame[TARGET].between(1000, 2300).sum() == 1_678
    assert frame.loc[frame["datetime_utc"].astype(str) == "2024-10-22 14:00:00+00:00", TARGET].iloc[0] == (
        pytest.approx(5968.370117)
    )


def run_bench(*args: str) -> tuple[str, dict[str, dict[str, Any]]]:
    proc = subprocess.run(
        [sys.executable, str(BENCH), "--methods", ",".join(NEW_METHODS), "--origins", "1", *args],
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
        cwd=REPO_ROOT,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stdout.strip().splitlines()
    return proc.stdout, json.loads(lines[-1])


def check_run(stdout: str, results: dict[str, dict[str, Any]]) -> None:
    assert "mean over origins" in stdout
    table = stdout.split("mean over origins", 1)[1]
    assert set(results) == set(NEW_METHODS)
    for method in NEW_METHODS:
        assert f"\n{method} " in table, method
        res = results[method]
        assert all(isinstance(res[f], float) and math.isfinite(res[f]) for f in FIELDS), res
        assert 0 < res["mape"] < 0.5 and 0 < res["wape"] < 0.5, (method, res)
        assert 0 <= res["fit_seconds"] < 120 and 0 < res["predict_seconds"] < 60, (method, res)
    for peer in ("mstl", "mlforecast"):
        assert results[peer]["versions"]["pandas"].startswith("2."), results[peer]["versions"]


def test_smoke_de35() -> None:
    stdout, results = run_bench("--train-start", "2023-01-02T00:00")
    assert "ConsumptionDE35Hour" in stdout and "76 series" in stdout
    check_run(stdout, results)


def test_smoke_balance_2019_csv() -> None:
    stdout, results = run_bench(
        "--dataset",
        "ElectricityBalanceNonv",
        "--data",
        str(BALANCE_2019),
        "--train-start",
        "2019-09-20T00:00",
        "--train-end",
        "2019-10-26T00:00",
    )
    assert "2 series" in stdout
    check_run(stdout, results)
