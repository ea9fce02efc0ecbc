"""Settings of every stage, read from ``EF_*`` environment variables (one prefix), by surface.

``StorageSettings`` (bucket, dataset, feature group) is what every surface shares. The pipeline's
surfaces extend it: ``SourceSettings`` (the Energi Data Service API and the run window),
``TrainingSettings`` (MLflow, the model, tuning with Optuna or Katib), ``MonitoringSettings``; and
``ClusterSettings`` (the image and the Kubernetes objects the compiled pipeline names). ``Settings``
is all of them: what a pipeline step reads. The API (``serving.settings.ApiSettings``) extends
``StorageSettings`` only. The same code runs on a laptop and on GKE; only these values differ.
Imports no ML library.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from components.datasets import DEFAULT_DATASET, SPECS, DatasetSpec, get_spec
from components.version import __version__

ENV_PREFIX = "EF_"


class StorageSettings(BaseSettings):
    """Where the data lives: the bucket, the dataset and its feature group (every surface's)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    # storage
    bucket: str = Field(
        "energy-forecasting",
        description="GCS bucket holding features, forecasts and monitoring.",
        min_length=3,
        max_length=63,
        pattern=r"^[a-z0-9][a-z0-9._-]+[a-z0-9]$",
    )
    prefix: str = Field("", description="Object-name prefix inside the bucket, without slashes at the ends.")
    gcp_project: str = Field("local-project", description="GCP project of the storage client.")
    data_dir: Path = Field(Path(".data"), description="Local working folder (emulator files, MLflow SQLite).")
    emulator_host: str | None = Field(
        None,
        validation_alias=AliasChoices("STORAGE_EMULATOR_HOST", "EF_STORAGE_EMULATOR_HOST"),
        description="GCS emulator URL (local runs and tests); unset on GCP.",
    )

    # the dataset: its objects live under <prefix>/<dataset>/ of the bucket
    dataset: str = Field(
        DEFAULT_DATASET,
        description="Energi Data Service dataset to forecast: " + ", ".join(sorted(SPECS)) + ".",
    )
    feature_group: str = Field(
        "", pattern=r"^([a-z0-9_]+)?$", description="Feature group name in the store; default: the dataset's."
    )
    feature_group_version: int = Field(1, ge=1, description="Feature group version (v<N> in object names).")

    @field_validator("prefix")
    @classmethod
    def _strip_prefix(cls, value: str) -> str:
        return value.strip("/")

    @field_validator("dataset")
    @classmethod
    def _known_dataset(cls, value: str) -> str:
        get_spec(value)
        return value

    @property
    def spec(self) -> DatasetSpec:
        """The dataset's spec: its series keys, columns, contract rules and defaults."""
        return get_spec(self.dataset)

    @model_validator(mode="after")
    def _feature_group_default(self) -> StorageSettings:
        if not self.feature_group:
            object.__setattr__(self, "feature_group", self.spec.feature_group)  # frozen: set once, here
        return self


class SourceSettings(StorageSettings):
    """Where the records come from: the Energi Data Service API (``EF_SOURCE_*``) or an export file,
    and the window of one run."""

    source_url: str = Field(
        "https://api.energidataservice.dk/dataset",
        pattern=r"^https?://",
        description="Energi Data Service REST API base; the dataset name is appended.",
    )
    source_page_size: int = Field(
        100_000, ge=1, le=1_000_000, description="Most records asked for in one source request (limit)."
    )
    source_timeout_s: float = Field(30.0, gt=0, description="Timeout of one source request, seconds.")
    source_max_retries: int = Field(
        4,
        ge=0,
        le=20,
        description="Retries of one source request on rate limits, 5xx and dropped connections.",
    )
    source_backoff_s: float = Field(1.0, ge=0, description="Base of the exponential retry backoff, seconds.")
    source_max_wait_s: float = Field(
        90.0, ge=0, description="Cap on one wait the source asks for (Retry-After, 'Try again in N seconds')."
    )
    source_max_requests: int = Field(
        20, ge=1, le=1000, description="Budget of source requests in one extract; over it the run fails."
    )
    snapshot: Path | None = Field(
        None,
        validation_alias=AliasChoices("ENERGY_SNAPSHOT", "EF_SNAPSHOT"),
        description="Read this Parquet/CSV export of the dataset instead of the API (offline machines).",
    )

    # window of one run: [end - days_export, end), end = min(reference - days_delay, newest complete hour + 1)
    days_delay: int = Field(0, ge=0, le=365, description="Window end = reference time minus this many days.")
    days_export: int = Field(
        0, ge=0, le=730, description="Window length in days (at least 2); 0: the dataset's own default."
    )

    @field_validator("days_export")
    @classmethod
    def _window_days(cls, value: int) -> int:
        if value == 1:
            raise ValueError("days_export must be 0 (the dataset's default) or at least 2")
        return value

    @model_validator(mode="after")
    def _window_default(self) -> SourceSettings:
        if not self.days_export:
            object.__setattr__(self, "days_export", self.spec.default_days_export)  # frozen: set once
        return self


class TrainingSettings(StorageSettings):
    """Training and its hyper-parameter search: MLflow, the model, Optuna locally, Katib on the cluster."""

    # model
    mlflow_tracking_uri: str = Field("", description="Defaults to SQLite in data_dir.")
    mlflow_experiment: str = Field(
        "", description="MLflow experiment of training runs; default: energy-forecasting-<dataset>."
    )
    model_name: str = Field(
        "",
        description="Registered model (aliases champion/challenger); default: energy-forecaster-<dataset>.",
    )
    horizon: int = Field(24, ge=1, le=168, description="Hours forecast ahead.")
    train_backtest_origins: int = Field(
        5, ge=1, le=60, description="Daily origins of the expanding-window backtest of a training run."
    )
    train_n_estimators: int = Field(
        0, ge=0, description="When > 0, overrides the config's n_estimators in training (short demos/tests)."
    )

    # hyper-parameter search (Optuna locally, Katib on the cluster)
    tune_origins: int = Field(3, ge=1, le=60, description="Daily backtest origins scored per tuning trial.")
    tune_timeout_s: float = Field(1800.0, gt=0, description="Time budget of a local Optuna study.")
    tune_seed: int = Field(0, ge=0, description="Seed of the Optuna sampler.")
    tune_fixed: dict[str, int | float | str | bool] = Field(
        default_factory=dict,
        description="Config values pinned while tuning, JSON (names of the search space are then not "
        'searched), e.g. {"n_estimators": 100, "n_jobs": 1} for a quick demo.',
    )
    katib_namespace: str = Field(
        "kubeflow",
        description="Namespace of Katib Experiments.",
        pattern=r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$",
        max_length=63,
    )
    katib_service_account: str = Field("", description="SA of Katib trial pods; empty = k8s_service_account.")
    katib_algorithm: Literal["tpe", "random"] = Field("tpe", description="Katib search algorithm.")
    katib_parallel_trials: int = Field(2, ge=1, le=50, description="Katib trials run at once.")
    katib_max_failed_trials: int = Field(3, ge=1, description="Katib stops after this many failed trials.")
    katib_timeout_s: float = Field(4 * 3600.0, gt=0, description="Watch timeout of a Katib Experiment.")
    katib_poll_s: float = Field(15.0, gt=0, description="Poll interval while watching the Experiment.")
    katib_trial_cpu: str = Field(
        "2", description="CPU of one Katib trial pod.", pattern=r"^[0-9]+(\.[0-9]+|m)?$"
    )
    katib_trial_memory: str = Field(
        "4Gi", description="Memory of one Katib trial pod.", pattern=r"^[0-9]+(Ki|Mi|Gi|Ti|K|M|G|T)?$"
    )

    @model_validator(mode="after")
    def _names_follow_the_dataset(self) -> TrainingSettings:
        """Unset names follow the dataset, so two datasets share an MLflow server without mixing
        (frozen model: set once, here)."""
        slug = _slug(self.dataset)
        defaults = {
            "model_name": self.model_name or f"energy-forecaster-{slug}",
            "mlflow_experiment": self.mlflow_experiment or f"energy-forecasting-{slug}",
        }
        for name, value in defaults.items():
            object.__setattr__(self, name, value)
        return self

    @property
    def tracking_uri(self) -> str:
        return self.mlflow_tracking_uri or f"sqlite:///{self.data_dir.resolve() / 'mlflow.db'}"


class MonitoringSettings(StorageSettings):
    """How the monitor step judges the served forecasts and the data."""

    monitoring_wape_threshold: float = Field(
        0.15, gt=0, description="Rolling WAPE above this raises needs_attention."
    )
    monitoring_rolling_runs: int = Field(
        24, ge=1, le=10_000, description="Rolling WAPE is computed over this many most recent forecast runs."
    )
    monitoring_max_age_hours: float = Field(
        0.0,
        ge=0,
        description="Data older than this (newest observation vs scheduled time) is stale; "
        "0: twice the dataset's publication lag.",
    )

    @property
    def monitoring_age_limit_hours(self) -> float:
        """Data older than this many hours is stale: the setting, or twice the publication lag."""
        return self.monitoring_max_age_hours or 2 * self.spec.publication_lag.total_seconds() / 3600


class ClusterSettings(BaseSettings):
    """The cluster side of the pipeline, read when it is compiled or scheduled: the image and the
    Kubernetes objects its steps use."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    k8s_settings_configmap: str = Field(
        "energy-forecasting-settings", description="ConfigMap whose EF_* keys every step gets as env."
    )
    k8s_service_account: str = Field(
        "energy-forecasting-pipelines", description="Kubernetes SA of pipeline pods (Workload Identity)."
    )
    train_node_selector: str = Field(
        "",
        pattern=r"^([A-Za-z0-9./_-]+=[A-Za-z0-9._-]+)?$",
        description="Optional `label=value` node selector for the train and tune steps.",
    )

    # the one image
    image: str = Field(
        "europe-west1-docker.pkg.dev/my-project/energy-forecasting/energy-forecasting",
        description="Project image (no tag) every component, the API and the dashboard run from.",
    )
    image_tag: str = Field(__version__, description="Image tag; defaults to the package version.")

    @property
    def image_uri(self) -> str:
        return f"{self.image}:{self.image_tag}"


class Settings(SourceSettings, TrainingSettings, MonitoringSettings, ClusterSettings):
    """The pipeline's settings: every surface above, which is what a step reads."""


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings (read once)."""
    return Settings()
