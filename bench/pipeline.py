"""Wall time of one full local pipeline run (no tuning) on a data snapshot, per step and in total,
and the share spent outside the model's own fit and predict (orchestration, I/O, validation).

    uv run python bench/pipeline.py [--data PATH] [--reference-time ISO] [--mode both|warm|cold]

Runs under kfp.local against a fresh GCS emulator and a fresh MLflow SQLite in a temporary folder,
by default twice in the same process: cold (every step a fresh interpreter, the baseline) and warm
(steps fork an interpreter that has the libraries imported, what `python -m devtools run` does).
The model's own time is what the train step logs to MLflow (backtest and final fit) plus the
predict call recorded in the forecast metadata. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from components.datasets import get_spec, sample_path  # noqa: E402

DEFAULT_DATA = sample_path(get_spec("ConsumptionDE35Hour"))
"""The real DE35 weeks: the sample the package ships."""


def model_seconds(settings: Any, forecast_metadata: dict[str, Any]) -> dict[str, float]:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    version = client.get_model_version_by_alias(settings.model_name, "champion")
    metrics = client.get_run(version.run_id).data.metrics
    found = {key: float(value) for key, value in metrics.items() if key.endswith("_seconds")}
    found["predict_seconds"] = float(forecast_metadata.get("predict_seconds", 0.0))
    return found


def one_run(data: Path, reference: str, warm: bool) -> dict[str, Any]:
    """One local run on a fresh emulator bucket and MLflow; the figures of the last JSON line."""
    from components import layout
    from components.settings import Settings
    from components.storage import ObjectStore
    from devtools.local_run import local_storage, run_pipeline_locally

    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        # the steps read their settings from their environment: these on top of this process's
        bucket, data_dir = "bench-pipeline", Path(tmp)
        steps_env = {"ENERGY_SNAPSHOT": str(data.resolve()), "EF_DATA_DIR": tmp, "EF_BUCKET": bucket}
        ours = Settings(bucket=bucket, data_dir=data_dir, mlflow_tracking_uri=f"sqlite:///{tmp}/mlflow.db")
        # a fresh emulator under tmp even when STORAGE_EMULATOR_HOST names one (the steps get its URL)
        with local_storage(ours.model_copy(update={"emulator_host": None})) as settings:
            result = run_pipeline_locally(
                {"reference_time": reference, "run_tuning": False},
                settings,
                Path(tmp) / "kfp",
                warm=warm,
                env=steps_env,
            )
            store = ObjectStore.from_settings(settings)
            pointer = store.read_pointer(layout.FORECAST_LATEST)
            metadata = store.read_json(pointer.body["metadata"]) if pointer else {}
            model = model_seconds(settings, metadata)
    total = round(result.seconds, 2)
    model_total = sum(model.values())
    outside = total - model_total
    return {
        "steps_s": {name: round(result.steps.seconds[name], 2) for name in result.steps.order},
        "total_s": total,
        "model_s": round(model_total, 2),
        "outside_model_s": round(outside, 2),
        "outside_share": round(outside / total, 3),
        "model_breakdown_s": {k: round(v, 3) for k, v in model.items()},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Parquet/CSV snapshot")
    parser.add_argument("--reference-time", default="2023-01-17T00:00:00+00:00", help="ISO-8601 UTC")
    parser.add_argument(
        "--mode",
        choices=("both", "warm", "cold"),
        default="both",
        help="warm: steps fork a pre-imported interpreter (the default of `python -m devtools run`); "
        "cold: every step starts a fresh interpreter, as a pod does; both (default): cold first, as "
        "the baseline, then warm",
    )
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"--data {args.data} does not exist")
    logging.basicConfig(level=logging.WARNING)

    modes = ("cold", "warm") if args.mode == "both" else (args.mode,)
    runs = {mode: one_run(args.data, args.reference_time, warm=mode == "warm") for mode in modes}

    print()
    print(f"one local run (no tuning), reference {args.reference_time}, data {args.data.name}")
    print(f"{'step':<10}" + "".join(f"{mode + ' s':>12}" for mode in modes))
    for name in runs[modes[0]]["steps_s"]:
        print(
            f"{name:<10}"
            + "".join(f"{runs[mode]['steps_s'].get(name, float('nan')):>12.2f}" for mode in modes)
        )
    print(
        f"{'total':<10}" + "".join(f"{runs[mode]['total_s']:>12.2f}" for mode in modes) + "   (target < 60 s)"
    )
    for mode in modes:
        run = runs[mode]
        parts = ", ".join(f"{k} {v:.2f}" for k, v in run["model_breakdown_s"].items())
        print(
            f"{mode}: model's own compute {run['model_s']:.2f} s ({parts}); outside the model "
            f"(orchestration, imports, I/O, validation) {run['outside_model_s']:.2f} s "
            f"= {run['outside_share']:.0%} of the run (target < 33%)"
        )
    main_mode = "warm" if "warm" in runs else modes[0]
    figures = {"mode": main_mode, **runs[main_mode]}
    if main_mode == "warm" and "cold" in runs:
        figures["cold"] = runs["cold"]
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
