"""The ``katib`` backend of the ``tune`` stage: the Experiment of a search from the settings, created
in the cluster (in-cluster service account, else the local kubeconfig) and watched until it ends."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from kubeflow_katib_api.models import V1beta1Experiment

from components.tuning.backend import SearchResult
from components.tuning.katib.experiment import build_experiment
from components.tuning.katib.runner import KatibRunner, kube_api_client
from components.tuning.plan import SearchPlan, plan_from_settings

if TYPE_CHECKING:
    from kubernetes import client as k8s

    from components.settings import Settings

log = logging.getLogger(__name__)


def trial_env(settings: Settings) -> dict[str, str]:
    """The ``EF_*`` values a trial needs to find and score the snapshot (beside the settings ConfigMap).

    ``EF_TUNE_FIXED`` goes as set: the trial computes the same plan from it
    (:func:`components.tuning.plan.plan_from_settings`).
    """
    return {
        "EF_BUCKET": settings.bucket,
        "EF_PREFIX": settings.prefix,
        "EF_GCP_PROJECT": settings.gcp_project,
        "EF_FEATURE_GROUP": settings.feature_group,
        "EF_HORIZON": str(settings.horizon),
        "EF_TUNE_FIXED": json.dumps(settings.tune_fixed, sort_keys=True),
    }


def experiment_from_settings(
    settings: Settings,
    snapshot_run: str,
    max_trials: int,
    plan: SearchPlan | None = None,
    name: str = "",
) -> V1beta1Experiment:
    """The Experiment the ``tune`` step creates: the plan's searched space (default: the plan of
    ``settings``), everything else (namespace, image, service account, trial resources, trial
    environment) from ``settings``."""
    plan = plan if plan is not None else plan_from_settings(settings)
    return build_experiment(
        plan.require_search(),
        name,
        settings.katib_namespace,
        settings.image_uri,
        snapshot_run,
        max_trials=max_trials,
        parallel=min(settings.katib_parallel_trials, max_trials),
        feature_group_version=settings.feature_group_version,
        origins=settings.tune_origins,
        seed=settings.tune_seed,
        algorithm=settings.katib_algorithm,
        max_failed_trials=settings.katib_max_failed_trials,
        service_account=settings.katib_service_account or settings.k8s_service_account,
        env=trial_env(settings),
        env_from_configmap=settings.k8s_settings_configmap,
        cpu=settings.katib_trial_cpu,
        memory=settings.katib_trial_memory,
    )


class KatibBackend:
    """Create (or adopt) the Experiment of the search, wait for it, read back its best trial."""

    def __init__(self, settings: Settings, *, api_client: k8s.ApiClient | None = None) -> None:
        self.settings = settings
        self.api_client = api_client

    def search(self, snapshot_run: str, plan: SearchPlan, n_trials: int) -> SearchResult:
        experiment = experiment_from_settings(self.settings, snapshot_run, n_trials, plan)
        runner = KatibRunner(self.api_client or kube_api_client(), poll_s=self.settings.katib_poll_s)
        found = runner.run(experiment, plan.searched, self.settings.katib_timeout_s)
        return SearchResult(
            config=plan.config(found.params),
            params=found.params,
            wape=found.wape,
            source=f"katib:{found.namespace}/{found.experiment}",
            summary={
                "backend": "katib",
                "namespace": found.namespace,
                "experiment": found.experiment,
                "best_trial": found.best_trial,
                **found.trials,
            },
        )
