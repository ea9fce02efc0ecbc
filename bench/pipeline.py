"""Wall time of one full local pipeline run (no tuning) on a data snapshot, per step and in total,
and the share spent outside the model's own fit and predict (orchestration, I/O, validation).

    uv run python bench/pipeline.py [--data PATH] [--reference-time ISO]

Runs under kfp.local against a fresh GCS emulator and a fresh MLflow SQLite in a temporary folder.
The model's own time is what the train step logs to MLflow (backtest and final fit) plus the
predict call recorded in the forecast metadata. Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = (
    ROOT.parent / "shared/data/energidataservice/ConsumptionDE35Hour_2022-12-21T16_2023-01-17T23.parquet"
)


def model_seconds(settings: Any, forecast_metadata: dict[str, Any]) -> dict[str, float]:
    import mlflow

    client = mlflow.MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)
    version = client.get_model_version_by_alias(settings.model_name, "champion")
    metrics = client.get_run(version.run_id).data.metrics
    found = {key: float(value) for key, value in metrics.items() if key.endswith("_seconds")}
    found["predict_seconds"] = float(forecast_metadata.get("predict_seconds", 0.0))
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="Parquet/CSV snapshot")
    parser.add_argument("--reference-time", default="2023-01-17T00:00:00+00:00", help="ISO-8601 UTC")
    args = parser.parse_args(argv)
    if not args.data.exists():
        parser.error(f"--data {args.data} does not exist")

    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        os.environ.update(
            {
                "ENERGY_SNAPSHOT": str(args.data.resolve()),
                "EF_DATA_DIR": tmp,
                "EF_BUCKET": "bench-pipeline",
                "EF_MLFLOW_TRACKING_URI": f"sqlite:///{tmp}/mlflow.db",
            }
        )
        os.environ.pop("STORAGE_EMULATOR_HOST", None)
        logging.basicConfig(level=logging.WARNING)
        from components import layout
        from components.settings import Settings
        from components.storage import ObjectStore
        from pipelines.local import local_storage, run_pipeline_locally

        settings = Settings()
        with local_storage(settings):
            result = run_pipeline_locally(
                {"reference_time": args.reference_time, "run_tuning": False}, settings, Path(tmp) / "kfp"
            )
            store = ObjectStore.from_settings(settings)
            pointer = store.read_pointer(layout.FORECAST_LATEST)
            metadata = store.read_json(pointer.body["metadata"]) if pointer else {}
            model = model_seconds(settings, metadata)

    steps = {name: round(seconds, 2) for name, seconds in result.steps.seconds.items()}
    total = round(result.seconds, 2)
    model_total = sum(model.values())
    outside = total - model_total
    print()
    print(f"one local run (no tuning), reference {args.reference_time}, data {args.data.name}")
    print(f"{'step':<10} {'seconds':>8}")
    for name in result.steps.order:
        print(f"{name:<10} {steps[name]:>8.2f}")
    print(f"{'total':<10} {total:>8.2f}   (target < 60 s)")
    print(f"model's own compute: {model_total:.2f} s ({', '.join(f'{k} {v:.2f}' for k, v in model.items())})")
    print(
        f"outside the model (orchestration, imports, I/O, validation): {outside:.2f} s "
        f"= {outside / total:.0%} of the run (target < 33%)"
    )
    print(
        json.dumps(
            {
                "steps_s": steps,
                "total_s": total,
                "model_s": round(model_total, 2),
                "outside_model_s": round(outside, 2),
                "outside_share": round(outside / total, 3),
                "model_breakdown_s": {k: round(v, 3) for k, v in model.items()},
            }
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
