"""How well the validate step's point-fault detector works on real series (``components.validation.faults``).

Two figures, on the real exports the repository carries (the DE35 weeks, the 2019 and 2024
``ElectricityBalanceNonv`` exports, 79 series, 66,059 hourly points):

* **false quarantine**: the share of the untouched real points that the detector flags, apart from
  nulls (a null is a fault by definition) and the documented glitches (:data:`KNOWN_GLITCHES`);
  every flagged real point is listed;
* **recall**: faults are injected into the real series at random places, seeded — spikes x3 to x20,
  zeros (1-3 h), stuck values (the previous value repeated for 6-24 h), negative values, blocks of
  nulls (1-6 h) — and the share of injected points the detector quarantines is counted per kind.

Usage: ``python bench/faults.py [--seed N] [--faults-per-series N]``; the last line is JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from components.datasets import DATETIME, TARGET, get_spec, sample_path  # noqa: E402
from components.source.files import read_snapshot_file  # noqa: E402
from components.validation import clean_frame  # noqa: E402
from components.validation.faults import RULES, find_faults  # noqa: E402

EXPORTS = REPO / "tests" / "data" / "energidataservice"
REAL = {
    "ConsumptionDE35Hour": sample_path(get_spec("ConsumptionDE35Hour")),
    "ElectricityBalanceNonv 2019": EXPORTS / "ElectricityBalanceNonv_DK1DK2_2019-01-01T00_2019-10-31T23.csv",
    "ElectricityBalanceNonv 2024": EXPORTS / "ElectricityBalanceNonv_DK2_2024-08-28T22_2024-11-06T22.csv",
}
KNOWN_GLITCHES = {
    ("DK1", "2019-08-16T08:00:00+00:00"),  # 41,653.78 MWh (data README)
    ("DK1", "2019-05-01T15:00:00+00:00"),  # 0 MWh
    ("DK1", "2019-05-01T16:00:00+00:00"),  # 0 MWh
    ("DK2", "2024-10-15T13:00:00+00:00"),  # 4,204.78 MWh between 1,925 and 1,955: DK2 never loads that
    ("DK2", "2024-10-22T14:00:00+00:00"),  # 5,968.37 MWh between 1,712 and 1,819
}
"""Real points that are glitches (a price area cannot jump to 2-18 times its load for one hour)."""
KINDS = ("spike", "zero", "stuck", "negative", "nulls")


@dataclass(frozen=True)
class RealPanel:
    name: str
    keys: list[tuple[str, ...]]
    times: pd.DatetimeIndex
    values: np.ndarray
    present: np.ndarray
    value_max: float


def load_real(name: str) -> RealPanel:
    spec = get_spec(name.split()[0])
    clean, _ = clean_frame(read_snapshot_file(REAL[name], spec), spec)
    keys = list(spec.key_names)
    wide = clean.pivot(index=keys, columns=DATETIME, values=TARGET).sort_index(axis=1)
    times = pd.date_range(wide.columns.min(), wide.columns.max(), freq="h")
    present = (
        clean.assign(_p=True).pivot(index=keys, columns=DATETIME, values="_p").reindex(columns=times).notna()
    )
    wide = wide.reindex(columns=times)
    index = [k if isinstance(k, tuple) else (k,) for k in wide.index]
    return RealPanel(
        name,
        [tuple(str(c) for c in k) for k in index],
        times,
        wide.to_numpy(dtype="float64"),
        present.to_numpy(),
        spec.value_max,
    )


def flagged_real_points(panel: RealPanel) -> list[dict[str, Any]]:
    """Every point of the untouched series the detector flags."""
    spec = get_spec(panel.name.split()[0])
    codes = find_faults(panel.values, panel.present, panel.value_max, spec.faults)
    return [
        {
            "dataset": panel.name,
            "series": "/".join(panel.keys[i]),
            "hour": panel.times[t].isoformat(),
            "value": None if np.isnan(panel.values[i, t]) else round(float(panel.values[i, t]), 3),
            "rule": RULES[codes[i, t] - 1],
        }
        for i, t in zip(*np.nonzero(codes), strict=True)
    ]


def inject(
    panel: RealPanel, rng: np.random.Generator, per_series: int
) -> tuple[RealPanel, dict[str, np.ndarray]]:
    """The panel with ``per_series`` faults per series at random, well-separated good places; the
    mask of injected points per kind."""
    values, present = panel.values.copy(), panel.present.copy()
    masks = {kind: np.zeros(values.shape, dtype=bool) for kind in KINDS}
    n_times = values.shape[1]
    for i in range(values.shape[0]):
        slots = rng.permutation(np.arange(26, n_times - 26, 48))[:per_series]
        for t in slots:
            if not np.isfinite(values[i, t - 1 : t + 25]).all():
                continue
            kind = KINDS[int(rng.integers(len(KINDS)))]
            if kind == "spike":
                span = slice(t, t + 1)
                values[i, span] *= rng.uniform(3.0, 20.0)
            elif kind == "zero":
                span = slice(t, t + int(rng.integers(1, 4)))
                values[i, span] = 0.0
            elif kind == "stuck":
                span = slice(t, t + int(rng.integers(6, 25)))
                values[i, span] = values[i, t - 1]
            elif kind == "negative":
                span = slice(t, t + 1)
                values[i, span] = -values[i, span]
            else:
                span = slice(t, t + int(rng.integers(1, 7)))
                values[i, span] = np.nan
            masks[kind][i, span] = True
    return RealPanel(panel.name, panel.keys, panel.times, values, present, panel.value_max), masks


def measure(seed: int = 0, per_series: int = 6) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    flagged: list[dict[str, Any]] = []
    real_points = 0
    caught = dict.fromkeys(KINDS, 0)
    injected = dict.fromkeys(KINDS, 0)
    for name in REAL:
        panel = load_real(name)
        real_points += int(panel.present.sum())
        flagged += flagged_real_points(panel)
        spec = get_spec(name.split()[0])
        faulty, masks = inject(panel, rng, per_series)
        codes = find_faults(faulty.values, faulty.present, faulty.value_max, spec.faults)
        for kind, mask in masks.items():
            injected[kind] += int(mask.sum())
            caught[kind] += int((mask & (codes > 0)).sum())
    false = [
        p for p in flagged if p["rule"] != "null_value" and (p["series"], p["hour"]) not in KNOWN_GLITCHES
    ]
    return {
        "real_points": real_points,
        "flagged_real": flagged,
        "false_quarantine_rate": len(false) / real_points,
        "known_glitches_found": sorted({(p["series"], p["hour"]) for p in flagged} & KNOWN_GLITCHES),
        "injected": injected,
        "recall_by_kind": {k: caught[k] / injected[k] if injected[k] else None for k in KINDS},
        "recall": sum(caught.values()) / max(1, sum(injected.values())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--faults-per-series", type=int, default=6)
    args = parser.parse_args(argv)
    if args.faults_per_series < 1:
        parser.error("--faults-per-series must be at least 1")
    result = measure(args.seed, args.faults_per_series)
    print(f"real points: {result['real_points']}; flagged on the untouched real data:")
    for point in result["flagged_real"]:
        print(
            f"  {point['dataset']:28s} {point['series']:8s} {point['hour']}"
            f"  {point['value']}  {point['rule']}"
        )
    print(
        "false quarantine (flags other than nulls and the known glitches): "
        f"{result['false_quarantine_rate']:.4%}"
    )
    print(f"known glitches found: {len(result['known_glitches_found'])} of {len(KNOWN_GLITCHES)}")
    for kind in KINDS:
        share = result["recall_by_kind"][kind]
        print(f"recall {kind:9s} {result['injected'][kind]:5d} injected points, {share:.2%} quarantined")
    print(f"recall overall: {result['recall']:.2%}")
    print(
        json.dumps(
            {k: v for k, v in result.items() if k != "flagged_real"}
            | {"flagged_real": len(result["flagged_real"])}
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
