"""MLflow: the pyfunc model, one tracked run per training, the registry and the promotion gate,
and the best config stored by tuning.

- :class:`ForecasterPyfunc` — ``predict(long feature frame) -> forecast frame`` (the contract of
  the prediction step: the training frame's key columns, then ``schemas.FORECAST_VALUE_COLUMNS``).
- :func:`log_and_register` — params, metrics, backtest tables and plots, the feature snapshot as
  the run's input dataset, the model with a signature and explicit ``pip_requirements``, registered
  as ``TrainingSettings.model_name``.
- :func:`gate` — alias ``champion`` moves only if the new backtest WAPE is not worse than the
  current champion's re-scored on the same snapshot; otherwise alias ``challenger``.
- :func:`save_best_config` / :func:`load_best_config` — runs tagged ``kind=tuning``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.data.dataset_source_registry import resolve_dataset_source
from mlflow.data.meta_dataset import MetaDataset
from mlflow.exceptions import MlflowException
from mlflow.models import ModelSignature
from mlflow.pyfunc import PythonModel
from mlflow.types import ColSpec, Schema

from components import schemas
from components.model.config import DEFAULT_CONFIG, validate_config
from components.model.core import GlobalModel

if TYPE_CHECKING:
    from components.model.backtest import BacktestResult
    from components.settings import TrainingSettings

log = logging.getLogger(__name__)

CHAMPION = "champion"
CHALLENGER = "challenger"
KIND_TRAINING = "training"
KIND_TUNING = "tuning"
CONFIG_TAG = "config_json"
FORMAT_TAG = "model_format"
_REQUIREMENTS = ("lightgbm", "numpy", "pandas", "holidays", "pyarrow", "cloudpickle", "mlflow")


def pip_requirements() -> list[str]:
    """Pinned requirements of the pyfunc model (explicit: MLflow would spend ~5 s inferring them).

    The ``components`` package itself comes with the project image that loads the model.
    """
    return [f"{name}=={dist_version(name)}" for name in _REQUIREMENTS]


def input_schema(key_names: tuple[str, ...]) -> Schema:
    """The feature frame of a dataset with these series keys: ``(datetime_utc, *keys, value)``."""
    return Schema(
        [
            ColSpec("datetime", schemas.DATETIME),
            *(ColSpec("string", name) for name in key_names),
            ColSpec("double", schemas.TARGET),
        ]
    )


def signature(key_names: tuple[str, ...]) -> ModelSignature:
    """The pyfunc signature of a model fitted on a frame with these series-key columns."""
    if not key_names:
        raise ValueError("a model signature needs the series-key columns of the training frame")
    outputs = Schema(
        [
            *(ColSpec("string", name) for name in key_names),
            ColSpec("datetime", schemas.DATETIME),
            ColSpec("long", "horizon"),
            ColSpec("double", "forecast"),
            ColSpec("double", "forecast_lower"),
            ColSpec("double", "forecast_upper"),
        ]
    )
    return ModelSignature(inputs=input_schema(key_names), outputs=outputs)


class ForecasterPyfunc(PythonModel):
    """The registered model: a fitted :class:`GlobalModel` behind MLflow's pyfunc interface.

    Input: the long feature frame. Through ``mlflow.pyfunc`` the ``datetime_utc`` column must be
    naive UTC (MLflow's schema enforcement rejects timezone-aware datetimes); naive times are read
    as UTC. Output: the model's key columns and ``schemas.FORECAST_VALUE_COLUMNS``, with
    timezone-aware UTC ``datetime_utc``.
    """

    def __init__(self, model: GlobalModel) -> None:
        self.model = model

    def predict(
        self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None
    ) -> pd.DataFrame:
        frame = model_input
        if schemas.DATETIME in frame.columns:
            times = pd.to_datetime(frame[schemas.DATETIME])
            if getattr(times.dt, "tz", None) is None:  # MLflow's schema enforcement may drop the tz
                frame = frame.assign(**{schemas.DATETIME: times.dt.tz_localize("UTC")})
        return self.model.forecast(frame)


def configure(settings: TrainingSettings) -> MlflowClient:
    """Point MLflow at the settings' tracking/registry URI and experiment."""
    mlflow.set_tracking_uri(settings.tracking_uri)
    mlflow.set_registry_uri(settings.tracking_uri)
    mlflow.set_experiment(settings.mlflow_experiment)
    return MlflowClient(tracking_uri=settings.tracking_uri, registry_uri=settings.tracking_uri)


def champion_uri(settings: TrainingSettings) -> str:
    return f"models:/{settings.model_name}@{CHAMPION}"


@dataclass(frozen=True)
class ChampionInfo:
    version: str
    run_id: str
    config: dict[str, Any]
    model_format: str | None = None
    """The champion's :data:`~components.model.core.MODEL_FORMAT` (None: registered before formats)."""


def champion_info(settings: TrainingSettings) -> ChampionInfo | None:
    """The current champion's version, run and training config, or None when there is none."""
    client = configure(settings)
    try:
        mv = client.get_model_version_by_alias(settings.model_name, CHAMPION)
    except MlflowException:
        return None
    run = client.get_run(mv.run_id) if mv.run_id else None
    raw = run.data.tags.get(CONFIG_TAG) if run else None
    config = (
        validate_config(json.loads(raw), where=f"config of champion v{mv.version}", check_ranges=False)
        if raw
        else dict(DEFAULT_CONFIG)
    )
    model_format = run.data.tags.get(FORMAT_TAG) if run else None
    return ChampionInfo(str(mv.version), str(mv.run_id), config, model_format)


def load_champion(settings: TrainingSettings) -> tuple[Any, str]:
    """``(pyfunc model, version)`` of ``models:/<model_name>@champion``; LookupError when absent."""
    client = configure(settings)
    try:
        mv = client.get_model_version_by_alias(settings.model_name, CHAMPION)
    except MlflowException as err:
        raise LookupError(
            f"no champion model: {champion_uri(settings)} not found at {settings.tracking_uri}"
        ) from err
    return load_version(settings, str(mv.version)), str(mv.version)


def load_version(settings: TrainingSettings, version: str) -> Any:
    """The pyfunc model of exactly ``models:/<model_name>/<version>``."""
    configure(settings)
    with tempfile.TemporaryDirectory(prefix="model-") as tmp:
        # MLflow's own requirement check scans every installed distribution (~1.2 s per load);
        # the model pins exact versions, so comparing those pins is the same check, only faster.
        model = mlflow.pyfunc.load_model(
            f"models:/{settings.model_name}/{version}", suppress_warnings=True, dst_path=tmp
        )
        requirements = Path(tmp) / "requirements.txt"
        pins = requirements.read_text(encoding="utf-8").splitlines() if requirements.exists() else []
    for problem in requirement_mismatches(pins):
        log.warning("model v%s: %s", version, problem)
    return model


def requirement_mismatches(pins: list[str]) -> list[str]:
    """Each ``name==version`` pin of a logged model that this environment does not satisfy."""
    problems = []
    for line in pins:
        name, sep, wanted = line.strip().partition("==")
        if not sep:
            continue
        try:
            installed = dist_version(name)
        except PackageNotFoundError:
            problems.append(f"{name}=={wanted} is required but not installed")
            continue
        if installed != wanted:
            problems.append(f"{name}=={wanted} is required but {installed} is installed")
    return problems


# --- the best config written by tuning -----------------------------------------------------------
def save_best_config(settings: TrainingSettings, config: dict[str, Any], wape: float, source: str) -> str:
    """Store a tuned config as a run tagged ``kind=tuning``; returns the run id."""
    checked = validate_config(config, where=f"best config from {source}", check_ranges=False)
    configure(settings)
    with mlflow.start_run(run_name=f"best-config {source}"[:250]) as run:
        mlflow.set_tags(
            {"kind": KIND_TUNING, "source": source, CONFIG_TAG: json.dumps(checked, sort_keys=True)}
        )
        mlflow.log_params({k: json.dumps(v) if isinstance(v, list) else v for k, v in checked.items()})
        mlflow.log_metric("wape", float(wape))
        mlflow.log_dict(checked, "best_config.json")
    log.info("stored best config from %s (WAPE %.5f) in run %s", source, wape, run.info.run_id)
    return str(run.info.run_id)


def load_best_config(settings: TrainingSettings) -> dict[str, Any]:
    """The latest config stored by tuning, else :data:`DEFAULT_CONFIG` (validated, full)."""
    configure(settings)
    experiment = mlflow.get_experiment_by_name(settings.mlflow_experiment)
    if experiment is None:
        return validate_config(dict(DEFAULT_CONFIG))
    runs = MlflowClient(settings.tracking_uri).search_runs(
        [experiment.experiment_id],
        filter_string=f"tags.kind = '{KIND_TUNING}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs or CONFIG_TAG not in runs[0].data.tags:
        log.info("no tuned config in MLflow yet: using the default config")
        return validate_config(dict(DEFAULT_CONFIG))
    run = runs[0]
    log.info("best config from tuning run %s (%s)", run.info.run_id, run.data.tags.get("source"))
    return validate_config(
        json.loads(run.data.tags[CONFIG_TAG]),
        where=f"best config in run {run.info.run_id}",
        check_ranges=False,
    )


# --- one training run ----------------------------------------------------------------------------
def _plots(result: BacktestResult, folder: Path) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    fig, axes = plt.subplots(1, 2, figsize=(12, 4))
    for method, tables in result.tables.items():
        h = tables["per_horizon"]
        axes[0].plot(h["horizon"], h["wape"], marker=".", label=method)
        o = tables["per_origin"]
        axes[1].plot(pd.to_datetime(o["origin"]), o["wape"], marker="o", label=method)
    axes[0].set(xlabel="horizon (hours)", ylabel="WAPE", title="Backtest WAPE per horizon hour")
    axes[1].set(xlabel="origin", ylabel="WAPE", title="Backtest WAPE per origin")
    for ax in axes:
        ax.legend()
        ax.grid(alpha=0.3)
    fig.autofmt_xdate()
    fig.tight_layout()
    paths.append(folder / "wape_per_horizon_and_origin.png")
    fig.savefig(paths[-1], dpi=90)
    plt.close(fig)

    model = result.predictions[result.predictions["method"] == "model"]
    totals = model.groupby(schemas.DATETIME, sort=True)[
        ["actual", "forecast", "forecast_lower", "forecast_upper"]
    ].sum(min_count=1)
    fig, ax = plt.subplots(figsize=(12, 4))
    ax.plot(totals.index, totals["actual"] / 1e3, label="actual", color="black")
    ax.plot(totals.index, totals["forecast"] / 1e3, label="forecast")
    if totals["forecast_lower"].notna().any():
        ax.fill_between(
            totals.index,
            totals["forecast_lower"] / 1e3,
            totals["forecast_upper"] / 1e3,
            alpha=0.25,
            label="sum of P10..P90",
        )
    ax.set(ylabel="GWh", title="Backtest: total of all series")
    ax.legend()
    fig.autofmt_xdate()
    fig.tight_layout()
    paths.append(folder / "backtest_total.png")
    fig.savefig(paths[-1], dpi=90)
    plt.close(fig)
    return paths


class SnapshotDataset(MetaDataset):
    """A feature snapshot by reference: source URI, digest, schema and a row-count profile."""

    def __init__(self, source: Any, name: str, digest: str, schema: Schema, num_rows: int) -> None:
        self._num_rows = num_rows
        super().__init__(source=source, name=name, digest=digest, schema=schema)

    @property
    def profile(self) -> dict[str, int]:
        return {"num_rows": self._num_rows}

    def to_dict(self) -> dict[str, str]:
        return {**super().to_dict(), "profile": json.dumps(self.profile)}


def training_dataset(frame: pd.DataFrame, snapshot_uri: str) -> SnapshotDataset:
    """The feature snapshot as the run's input dataset: its URI, a content digest and the schema.

    ``mlflow.data.from_pandas`` would infer the schema value by value (~1.3 s on 76 series x 3
    weeks); the feature frame's schema follows from its key columns, and the digest here hashes all
    rows, vectorised.
    """
    keys = schemas.key_columns(frame.columns)
    hashed = pd.util.hash_pandas_object(frame[[schemas.DATETIME, *keys, schemas.TARGET]], index=False)
    digest = hashlib.sha256(hashed.to_numpy().tobytes()).hexdigest()[:16]
    return SnapshotDataset(
        source=resolve_dataset_source(snapshot_uri),
        name=snapshot_uri,
        digest=digest,
        schema=input_schema(keys),
        num_rows=len(frame),
    )


def log_and_register(
    settings: TrainingSettings,
    model: GlobalModel,
    config: dict[str, Any],
    result: BacktestResult,
    frame: pd.DataFrame,
    snapshot_uri: str,
    extra_params: dict[str, Any] | None = None,
) -> tuple[str, str]:
    """One MLflow run for a training; returns ``(run_id, registered version)``."""
    configure(settings)
    with mlflow.start_run(run_name=f"train {snapshot_uri.rsplit('/', 1)[-1]}") as run:
        mlflow.set_tags(
            {
                "kind": KIND_TRAINING,
                "snapshot": snapshot_uri,
                CONFIG_TAG: json.dumps(config, sort_keys=True),
                FORMAT_TAG: model.model_format,
            }
        )
        params = {k: json.dumps(v) if isinstance(v, list) else v for k, v in config.items()}
        params.update(extra_params or {})
        params["horizon"] = model.horizon
        mlflow.log_params(params)
        metrics: dict[str, float] = {}
        for method, tables in result.tables.items():
            for name, value in tables["overall"].iloc[0].items():
                if name != "n" and pd.notna(value):  # undefined (e.g. a naive's band): left out
                    metrics[f"{name}_{method}" if method != "model" else str(name)] = float(value)
        metrics["fit_seconds"] = float(model.fit_seconds)
        metrics["train_rows"] = float(model.n_train_rows)
        metrics["snapshot_rows"] = float(len(frame))
        mlflow.log_metrics(metrics)
        mlflow.log_input(training_dataset(frame, snapshot_uri), context="training")
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            for method, tables in result.tables.items():
                for view, table in tables.items():
                    table.to_csv(folder / f"{method}_{view}.csv", index=False)
            result.predictions.to_parquet(folder / "backtest_predictions.parquet", index=False)
            mlflow.log_artifacts(str(folder), artifact_path="backtest")
            plots = Path(tmp) / "plots"
            plots.mkdir()
            for path in _plots(result, plots):
                mlflow.log_artifact(str(path), artifact_path="plots")
        mlflow.log_dict(config, "config.json")
        info = mlflow.pyfunc.log_model(
            name="model",
            python_model=ForecasterPyfunc(model),
            signature=signature(model.key_names),
            pip_requirements=pip_requirements(),
            registered_model_name=settings.model_name,
        )
        version = str(info.registered_model_version)
    log.info("run %s logged, registered %s v%s", run.info.run_id, settings.model_name, version)
    return str(run.info.run_id), version


@dataclass(frozen=True)
class GateDecision:
    promoted: bool
    alias: str
    reason: str


def gate(
    settings: TrainingSettings,
    version: str,
    wape: float,
    champion_wape: float | None,
    champion_version: str | None,
    champion_unusable: str | None = None,
) -> GateDecision:
    """Move ``champion`` to ``version`` unless it is worse than the current champion on this snapshot
    (a champion that cannot serve with this code, ``champion_unusable`` says why, is replaced)."""
    client = configure(settings)
    if champion_version is not None and champion_unusable:
        decision = GateDecision(
            True,
            CHAMPION,
            f"v{version} (backtest WAPE {wape:.5f}) replaces champion v{champion_version}, "
            f"which cannot serve: {champion_unusable}",
        )
    elif champion_version is None or champion_wape is None:
        decision = GateDecision(True, CHAMPION, f"v{version} is the first model (backtest WAPE {wape:.5f})")
    elif wape <= champion_wape:
        decision = GateDecision(
            True,
            CHAMPION,
            f"v{version} backtest WAPE {wape:.5f} <= champion v{champion_version} re-scored on the same "
            f"snapshot {champion_wape:.5f}",
        )
    else:
        decision = GateDecision(
            False,
            CHALLENGER,
            f"v{version} backtest WAPE {wape:.5f} is worse than champion v{champion_version} re-scored on "
            f"the same snapshot {champion_wape:.5f}; champion stays",
        )
    client.set_registered_model_alias(settings.model_name, decision.alias, version)
    client.set_model_version_tag(settings.model_name, version, "gate", decision.reason)
    client.set_model_version_tag(settings.model_name, version, "backtest_wape", f"{wape:.6f}")
    if decision.promoted:
        log.info("promoted: %s", decision.reason)
    else:
        log.warning("not promoted (alias %s): %s", CHALLENGER, decision.reason)
    return decision
