"""The whole DAG: extract → validate → features → [tune] → train → predict → monitor.

Thin wiring only: every step is a component from ``components.steps``. Cluster-side settings
(ConfigMap env, node selector, retries, resources) are applied here so the components stay generic.
"""

from typing import Any

from kfp import dsl, kubernetes

from components.settings import Settings
from components.steps.extract import extract
from components.steps.features import features
from components.steps.monitor import monitor
from components.steps.predict import predict
from components.steps.train import train
from components.steps.tune import tune
from components.steps.validate import validate

PIPELINE_NAME = "energy-forecasting"
SCHEDULE_TIME_PLACEHOLDER = "{{$.pipeline_job_schedule_time_utc}}"

RESOURCES: dict[str, tuple[str, str, str, str]] = {
    # step: (cpu request, cpu limit, memory request, memory limit)
    "extract": ("250m", "1", "512M", "1G"),
    "validate": ("500m", "1", "1G", "2G"),
    "features": ("250m", "1", "512M", "1G"),
    "tune": ("2", "4", "4G", "8G"),
    "train": ("2", "4", "4G", "8G"),
    "predict": ("1", "2", "2G", "4G"),
    "monitor": ("500m", "1", "1G", "2G"),
}
IO_STEPS = ("extract", "features", "predict", "monitor")
"""Steps that talk to the outside world and are retried on failure."""


def _configure(task: dsl.PipelineTask, step: str, settings: Settings) -> dsl.PipelineTask:
    cpu, cpu_limit, memory, memory_limit = RESOURCES[step]
    task.set_display_name(step)
    task.set_caching_options(enable_caching=False)  # every step depends on the time or on storage
    task.set_cpu_request(cpu).set_cpu_limit(cpu_limit)
    task.set_memory_request(memory).set_memory_limit(memory_limit)
    if step in IO_STEPS:
        task.set_retry(num_retries=3, backoff_duration="30s", backoff_factor=2.0, backoff_max_duration="600s")
    env = {name: name for name in settings_env_names()}
    kubernetes.use_config_map_as_env(task, settings.k8s_settings_configmap, env, optional=True)
    if step in ("train", "tune") and settings.train_node_selector:
        key, value = settings.train_node_selector.split("=", 1)
        kubernetes.add_node_selector(task, key, value)
    return task


def settings_env_names() -> list[str]:
    """The environment variables a step reads its settings from (the ConfigMap's keys)."""
    names = [f"EF_{name.upper()}" for name in Settings.model_fields if name != "snapshot"]
    return sorted([*names, "ENERGY_SNAPSHOT", "STORAGE_EMULATOR_HOST"])


def build_pipeline(settings: Settings | None = None) -> Any:
    """The pipeline function; cluster settings are read when it is built (compile time)."""
    cfg = settings or Settings()

    @dsl.pipeline(
        name=PIPELINE_NAME,
        description="Hourly electricity consumption in Denmark: features, training with optional "
        "tuning, a 24 h forecast for every area and consumer type, and monitoring.",
    )
    def energy_forecasting(
        reference_time: str = "",
        days_delay: int = cfg.days_delay,
        days_export: int = cfg.days_export,
        feature_group_version: int = cfg.feature_group_version,
        run_tuning: bool = False,
        tuning_backend: str = "optuna",
        n_trials: int = 20,
    ) -> None:
        raw = _configure(
            extract(reference_time=reference_time, days_delay=days_delay, days_export=days_export),
            "extract",
            cfg,
        )
        checked = _configure(
            validate(
                raw=raw.outputs["raw"],
                window_start=raw.outputs["window_start"],
                window_end=raw.outputs["window_end"],
            ),
            "validate",
            cfg,
        )
        snapshot = _configure(
            features(
                clean=checked.outputs["clean"],
                report=checked.outputs["report"],
                window_start=raw.outputs["window_start"],
                window_end=raw.outputs["window_end"],
                feature_group_version=feature_group_version,
            ),
            "features",
            cfg,
        )
        snapshot_run = snapshot.outputs["snapshot_run"]
        with dsl.If(run_tuning == True, name="tuning"):  # noqa: E712 - a KFP condition, not a bool test
            searched = _configure(
                tune(
                    snapshot_run=snapshot_run,
                    feature_group_version=feature_group_version,
                    backend=tuning_backend,
                    n_trials=n_trials,
                ),
                "tune",
                cfg,
            )
            trained_tuned = _configure(
                train(
                    snapshot_run=snapshot_run,
                    feature_group_version=feature_group_version,
                    config_json=searched.outputs["config_json"],
                ),
                "train",
                cfg,
            )
        with dsl.Else(name="best-known-config"):
            trained_default = _configure(
                train(snapshot_run=snapshot_run, feature_group_version=feature_group_version, config_json=""),
                "train",
                cfg,
            )
        forecast = _configure(
            predict(
                snapshot_run=snapshot_run,
                feature_group_version=feature_group_version,
                scheduled_time=reference_time,
                model_version=dsl.OneOf(
                    trained_tuned.outputs["model_version"], trained_default.outputs["model_version"]
                ),
            ),
            "predict",
            cfg,
        )
        _configure(
            monitor(
                snapshot_run=snapshot_run,
                feature_group_version=feature_group_version,
                scheduled_time=reference_time,
                forecast_run_id=forecast.outputs["run_id"],
            ),
            "monitor",
            cfg,
        )

    return energy_forecasting
