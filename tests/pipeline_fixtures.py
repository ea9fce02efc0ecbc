"""Real pipeline output, made once per test session (fixtures only, no tests here).

``real_pipeline`` runs the whole DAG under KFP's own local runner (``devtools.local_run``) twice, on a
short window of the shared snapshot with cheap settings, into its own bucket of the session's GCS
emulator and its own MLflow SQLite:

* ``FIRST`` (2023-01-16 00:00 UTC) with tuning: extract, validate, features, tune, train, predict,
  monitor (nothing to evaluate yet);
* ``SECOND`` (2023-01-17 00:00 UTC) without tuning: the same steps, and monitoring now evaluates the
  first run's forecast against what was observed (monitoring history, WAPE per series).

``tests/pipeline/test_pipeline_local.py`` checks these runs and the dashboard's browser test shows them, so
the real output costs one pair of runs per session whichever of them runs first. Nobody writes into
this bucket except the pipeline: a test that wants to publish more takes a copy
(:meth:`RealPipeline.copy_bucket`).

The pipeline's settings are ``EF_*`` variables read by ``Settings()`` inside the kfp.local
subprocesses, so they are set in ``os.environ`` only while the pipeline runs
(:meth:`RealPipeline.environment`) and undone right after: other tests never see them.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from components.feature_store import SnapshotWrite
from components.prediction import PredictionResult
from components.settings import Settings
from components.storage import ObjectStore
from devtools.emulator import GcsEmulator
from devtools.local_run import RunResult, run_pipeline_locally
from serving.settings import ApiSettings

FIRST = datetime(2023, 1, 16, tzinfo=UTC)
SECOND = datetime(2023, 1, 17, tzinfo=UTC)
BUCKET = "real-pipeline"
STEPS = {"extract", "validate", "features", "resolve-model", "predict", "monitor"}
"""The tasks of a run without tuning (``train`` runs inside a condition branch)."""

CHEAP = {
    "EF_DAYS_EXPORT": "14",
    "EF_TRAIN_BACKTEST_ORIGINS": "1",
    "EF_TRAIN_N_ESTIMATORS": "40",
    "EF_TUNE_ORIGINS": "1",
    "EF_TUNE_FIXED": '{"n_estimators": 30, "n_jobs": 1}',
}
"""Short, cheap runs: two weeks of data, one backtest origin, small forests."""


@dataclass
class RealPipeline:
    """Where the session's real pipeline output lives, and how to run the pipeline there again."""

    root: Path
    env: dict[str, str]
    runs: dict[datetime, RunResult] = field(default_factory=dict)

    @contextmanager
    def environment(self, **overrides: str) -> Iterator[None]:
        """The pipeline's ``EF_*`` variables in ``os.environ`` for the duration of the block only."""
        patcher = pytest.MonkeyPatch()
        try:
            for key, value in {**self.env, **overrides}.items():
                patcher.setenv(key, value)
            yield
        finally:
            patcher.undo()

    def settings(self, bucket: str | None = None) -> Settings:
        """The pipeline's settings (for another bucket: the same MLflow, snapshot and windows)."""
        with self.environment(**({"EF_BUCKET": bucket} if bucket else {})):
            return Settings()

    def api_settings(self, bucket: str | None = None) -> ApiSettings:
        """Settings of an API serving the bucket; it looks for new pointers every 0.2 s."""
        with self.environment(**({"EF_BUCKET": bucket} if bucket else {})):
            return ApiSettings(
                data_dir=self.root / "api", api_refresh_interval_s=0.2, api_log_level="warning"
            )

    @property
    def store(self) -> ObjectStore:
        return ObjectStore.from_settings(self.settings())

    @property
    def first(self) -> RunResult:
        return self.runs[FIRST]

    @property
    def second(self) -> RunResult:
        return self.runs[SECOND]

    def run(self, reference: datetime, tuning: bool) -> RunResult:
        """One run of the whole DAG under kfp.local for the scheduled hour ``reference``."""
        params = {"reference_time": reference.isoformat(), "run_tuning": tuning, "n_trials": 2}
        return self.run_pipeline(params, self.root / "kfp")

    def run_pipeline(self, params: dict[str, Any], pipeline_root: Path, **options: Any) -> RunResult:
        """``run_pipeline_locally`` with the pipeline's settings, ``STORAGE_EMULATOR_HOST`` out of
        ``os.environ`` meanwhile: the steps find the emulator through their task environment only."""
        with self.environment():
            settings = Settings()
            with pytest.MonkeyPatch.context() as bare:
                bare.delenv("STORAGE_EMULATOR_HOST", raising=False)
                return run_pipeline_locally(params, settings, pipeline_root, **options)

    def publish_hour(self, store: ObjectStore, scheduled: datetime) -> PredictionResult:
        """What the pipeline's data and prediction steps do for ``scheduled``, in this process, into
        ``store``'s bucket: extract the window from the snapshot, validate it, store the feature
        snapshot, then forecast with the registered champion and move ``forecasts/latest.json``.

        Training and monitoring are left out (they are what makes a run cost a minute): the forecast
        is the real champion's, made on the real features of the new window.
        """
        from components.prediction import predict_and_publish

        settings = self.settings(store.bucket_name)
        snapshot = run_feature_stages(settings, scheduled, store)
        return predict_and_publish(store, settings, snapshot.run_id, scheduled)

    def copy_bucket(self, tag: str) -> ObjectStore:
        """A byte-for-byte copy of the output in a new bucket (server-side copies in the emulator),
        for a test that publishes more without changing what the other tests check."""
        source = self.store
        target = ObjectStore(f"{tag}-{uuid.uuid4().hex[:10]}", source.prefix, client=source.client)
        target.ensure_bucket()
        for blob in source.client.list_blobs(source.bucket_name):
            source.bucket.copy_blob(blob, target.bucket, blob.name)
        return target


def run_feature_stages(
    settings: Settings, reference: datetime | str, store: ObjectStore | None = None
) -> SnapshotWrite:
    """extract → validate → features in this process (what the first three steps do); raises
    ``DataContractError`` when the contract is broken, before anything is written."""
    from components.extract import extract
    from components.feature_store import write_snapshot
    from components.validation import check_contract, enforce

    raw = extract(settings, reference, settings.days_delay, settings.days_export)
    outcome = check_contract(raw.frame, raw.window, settings.spec, source=raw.source)
    clean = enforce(outcome)
    target = store or ObjectStore.from_settings(settings)
    target.ensure_bucket()
    return write_snapshot(target, settings, clean, raw.window, outcome.report, source=raw.source)


@pytest.fixture(scope="session")
def real_pipeline(
    gcs_emulator: GcsEmulator, snapshot_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> RealPipeline:
    """The session's real pipeline output: ``FIRST`` with tuning, then ``SECOND`` without."""
    root = tmp_path_factory.mktemp("real-pipeline")
    env = {
        "EF_BUCKET": BUCKET,
        "EF_DATA_DIR": str(root / "data"),
        "EF_MLFLOW_TRACKING_URI": f"sqlite:///{root / 'mlflow.db'}",
        "ENERGY_SNAPSHOT": str(snapshot_path),
        **CHEAP,
    }
    pipeline = RealPipeline(root, env)
    pipeline.runs[FIRST] = pipeline.run(FIRST, tuning=True)
    pipeline.runs[SECOND] = pipeline.run(SECOND, tuning=False)
    return pipeline
