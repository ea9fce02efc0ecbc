"""The whole DAG: extract → validate → features → [tune] → train → resolve_model → predict → monitor.

Thin wiring only: every step is a component from ``components.steps``. Cluster-side settings
(the image, ConfigMap env, node selector, resources) are applied here, from the settings the
pipeline is built with, so the components stay generic.

No task is retried by KFP (no ``set_retry``): KFP cannot tell a transient fault from one
that every retry repeats (a missing snapshot, a bad setting, a broken data contract), and retrying
those only adds minutes and cost. Transient faults are retried where they are recognised: the source
client (rate limits, 5xx, dropped connections; ``EF_SOURCE_MAX_RETRIES``) and the storage client
(``google.cloud.storage``'s default retry of 429, 5xx and connection errors).

What travels between the steps is what each step really uses: the feature snapshot ``Dataset``
(``uri`` = its ``gs://`` object) from ``features`` to ``tune``, ``train``, ``predict`` and ``monitor``; the
``Model`` that ``resolve_model`` names (``models:/<name>/<version>``) to ``predict``. ``resolve_model``
follows the tuning branch through ``dsl.OneOf`` over the trained version (a parameter: kfp.local
2.17 cannot select an artifact with ``dsl.OneOf``); ``monitor`` runs after ``predict`` but reads the
stored forecasts, not this run's (which has no observations yet), so no artifact joins them.
"""

from collections.abc import Mapping
from typing import Any

from kfp import dsl, kubernetes

from components.settings import Settings
from components.steps.extract import extract
from components.steps.features import features
from components.steps.monitor import monitor
from components.steps.predict import predict
from components.steps.train import resolve_model, train
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
    "resolve_model": ("100m", "500m", "256M", "1G"),
    "predict": ("1", "2", "2G", "4G"),
    "monitor": ("500m", "1", "1G", "2G"),
}


def _configure(
    task: dsl.PipelineTask, step: str, settings: Settings, env: Mapping[str, str] | None = None
) -> dsl.PipelineTask:
    cpu, cpu_limit, memory, memory_limit = RESOURCES[step]
    task.set_container_image(settings.image_uri)
    task.set_display_name(step)
    task.set_caching_options(enable_caching=False)  # every step depends on the time or on storage
    task.set_cpu_request(cpu).set_cpu_limit(cpu_limit)
    task.set_memory_request(memory).set_memory_limit(memory_limit)
    configmap_keys = {name: name for name in settings_env_names()}
    kubernetes.use_config_map_as_env(task, settings.k8s_settings_configmap, configmap_keys, optional=True)
    for name, value in sorted((env or {}).items()):
        task.set_env_variable(name, value)
    if step in ("train", "tune") and settings.train_node_selector:
        key, value = settings.train_node_selector.split("=", 1)
        kubernetes.add_node_selector(task, key, value)
    return task


def settings_env_names() -> list[str]:
    """The environment variables a step reads its settings from (the ConfigMap's keys): ``EF_<NAME>``,
    or the first name a setting with its own names answers to (``ENERGY_SNAPSHOT``,
    ``STORAGE_EMULATOR_HOST``)."""
    names = []
    for name, field in Settings.model_fields.items():
        choices = getattr(field.validation_alias, "choices", None)
        names.append(str(choices[0]) if choices else f"EF_{name.upper()}")
    return sorted(names)


def pipeline_root(settings: Settings) -> str:
    """Where KFP keeps the run's own artifacts on the cluster: the bucket (and prefix) of the data.

    The snapshot and forecast ``Dataset`` artifacts are the stored objects themselves (their ``uri``
    is set by the step), and the KFP launcher only accepts a ``gs://`` output URI under the pipeline
    root (``KeyFromURI`` of the root's bucket and prefix; the task fails otherwise). So the root is
    the prefix every stored object shares; KFP's files go to ``<root>/<pipeline>/<run>/…`` beside the
    datasets' folders. ``kfp.local`` uses its own root (``local.init``).
    """
    return f"gs://{settings.bucket}/{settings.prefix}".rstrip("/")


def build_pipeline(settings: Settings | None = None, env: Mapping[str, str] | None = None) -> Any:
    """The pipeline function, built from ``settings`` (read when it is built, i.e. at compile time):
    every task runs ``settings.image_uri`` and gets ``settings.k8s_settings_configmap`` as env.

    ``env``: more environment variables set on every task (``task.set_env_variable``), which
    kfp.local's subprocess runner passes to the step's process: a local run's emulator URL and
    MLflow URI (``devtools/local_run.py``). None for the cluster: the compiled pipeline has none.
    """
    cfg = settings or Settings()

    def configure(task: dsl.PipelineTask, step: str) -> dsl.PipelineTask:
        return _configure(task, step, cfg, env)

    @dsl.pipeline(
        name=PIPELINE_NAME,
        pipeline_root=pipeline_root(cfg),
        description="Hourly electricity consumption in Denmark: features, training with optional "
        "tuning, a 24 h forecast for every series, and monitoring.",
    )
    def energy_forecasting(
        reference_time: str = "",
        days_delay: int = cfg.days_delay,
        days_export: int = 0,
        feature_group_version: int = cfg.feature_group_version,
        run_tuning: bool = False,
        tuning_backend: str = "optuna",
        n_trials: int = 20,
    ) -> None:
        raw = configure(
            extract(reference_time=reference_time, days_delay=days_delay, days_export=days_export), "extract"
        )
        checked = configure(
            validate(
                raw=raw.outputs["raw"],
                window_start=raw.outputs["window_start"],
                window_end=raw.outputs["window_end"],
            ),
            "validate",
        )
        stored = configure(
            features(
                clean=checked.outputs["clean"],
                report=checked.outputs["report"],
                window_start=raw.outputs["window_start"],
                window_end=raw.outputs["window_end"],
                feature_group_version=feature_group_version,
            ),
            "features",
        )
        snapshot = stored.outputs["snapshot"]
        with dsl.If(run_tuning == True, name="tuning"):  # noqa: E712 - a KFP condition, not a bool test
            searched = configure(tune(snapshot=snapshot, backend=tuning_backend, n_trials=n_trials), "tune")
            trained_tuned = configure(
                train(snapshot=snapshot, config_json=searched.outputs["config_json"]), "train"
            )
        with dsl.Else(name="best-known-config"):
            trained_default = configure(train(snapshot=snapshot, config_json=""), "train")
        champion = configure(
            resolve_model(
                trained_version=dsl.OneOf(
                    trained_tuned.outputs["model_version"], trained_default.outputs["model_version"]
                )
            ),
            "resolve_model",
        )
        forecast = configure(
            predict(snapshot=snapshot, model=champion.outputs["model"], scheduled_time=reference_time),
            "predict",
        )
        configure(monitor(snapshot=snapshot, scheduled_time=reference_time), "monitor").after(forecast)

    return energy_forecasting
