"""The three feature-pipeline components run by KFP's own local runner (subprocesses, real artifacts)
against the GCS emulator and the shared snapshot (ENERGY_SNAPSHOT)."""

import json
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from kfp import dsl, local

from components import layout
from components.settings import Settings
from components.steps.extract import extract
from components.steps.features import features
from components.steps.validate import validate
from components.storage import ObjectStore
from components.validation import DataContractError

pytestmark = pytest.mark.filterwarnings("ignore:You may be attemping to run a task:RuntimeWarning")

START, END = "2023-01-15T00:00:00+00:00", "2023-01-18T00:00:00+00:00"


@pytest.fixture(scope="module")
def pipeline_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = tmp_path_factory.mktemp("kfp-root")
    local.init(runner=local.SubprocessRunner(use_venv=False), pipeline_root=str(root))
    yield root


@pytest.fixture()
def env(settings: Settings, snapshot_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("ENERGY_SNAPSHOT", str(snapshot_path))
    monkeypatch.setenv("GX_ANALYTICS_ENABLED", "False")
    return settings


@dsl.pipeline(name="feature-steps")
def feature_steps(reference_time: str, days_delay: int, days_export: int, feature_group_version: int) -> None:
    """The three steps wired as the project pipeline wires them (artifacts flow between them)."""
    extracted = extract(reference_time=reference_time, days_delay=days_delay, days_export=days_export)
    validated = validate(
        raw=extracted.outputs["raw"],
        window_start=extracted.outputs["window_start"],
        window_end=extracted.outputs["window_end"],
    )
    features(
        clean=validated.outputs["clean"],
        report=validated.outputs["report"],
        window_start=extracted.outputs["window_start"],
        window_end=extracted.outputs["window_end"],
        feature_group_version=feature_group_version,
    )


def run_dirs(root: Path) -> set[Path]:
    return {p for p in root.iterdir() if p.is_dir()}


@pytest.mark.slow
def test_extract_validate_features_under_kfp_local(
    pipeline_root: Path, env: Settings, store: ObjectStore, snapshot_path: Path
) -> None:
    known = run_dirs(pipeline_root)
    feature_steps(reference_time="now", days_delay=0, days_export=3, feature_group_version=1)
    (run_dir,) = run_dirs(pipeline_root) - known
    group = env.feature_group
    run = "20230118T0000Z"  # "now" is clamped to the snapshot's end
    manifest = store.read_json(layout.feature_manifest(group, 1, run))

    # the snapshot Dataset is the stored object: gs:// uri, the manifest's facts as metadata
    outputs = json.loads((run_dir / "features" / "executor_output.json").read_text())
    assert outputs.get("parameterValues", {}) == {}
    (snapshot,) = outputs["artifacts"]["snapshot"]["artifacts"]
    assert snapshot["uri"] == store.uri(layout.feature_snapshot(group, 1, run))
    meta = snapshot["metadata"]
    assert meta["run_id"] == run and meta["feature_group_version"] == 1 and meta["feature_group"] == group
    assert meta["window_start"] == START and meta["window_end"] == END and meta["hours"] == 72
    assert meta["rows"] == 5472 and meta["series"] == 76 and meta["created"] is True
    assert meta["sha256"] == manifest["sha256"]
    assert meta["contract"]["success"] is True and meta["contract"]["failed_rules"] == []
    assert meta["contract"]["quarantined_points"] == 0 and meta["contract"]["long_gap_hours"] == 0
    assert meta["manifest"] == store.uri(layout.feature_manifest(group, 1, run))
    assert not (run_dir / "features" / "snapshot").exists(), "nothing is written at the snapshot's path"

    raw_meta = json.loads((run_dir / "extract" / "executor_output.json").read_text())
    raw = raw_meta["artifacts"]["raw"]["artifacts"][0]["metadata"]
    assert raw["rows"] == 5472 and raw["source"] == f"snapshot:{snapshot_path.name}"
    assert raw["window_start"] == START and raw["window_end"] == END
    clean = pd.read_parquet(run_dir / "validate" / "clean")
    assert list(clean.columns) == ["datetime_utc", "area", "consumer_type", "energy_consumption"]
    assert len(clean) == 5472
    result = json.loads((run_dir / "validate" / "report").read_text())
    assert result["success"] is True and result["source"] == f"snapshot:{snapshot_path.name}"
    # the Markdown contract report: every rule in its table
    contract = (run_dir / "validate" / "contract").read_text()
    assert contract.startswith("# Data contract holds")
    for rule in result["rules"]:
        assert f"| {rule['rule']} |" in contract

    assert manifest["rows"] == 5472 and manifest["validation_result"]["success"] is True
    assert manifest["source"] == result["source"]
    pointer = store.read_pointer(layout.feature_latest(group, 1))
    assert pointer is not None and pointer.body["run_id"] == run


def test_validate_component_raises_after_saving_the_report(
    env: Settings, store: ObjectStore, snapshot_path: Path, tmp_path: Path
) -> None:
    """The component body itself (``python_func``, in-process: a second ``kfp.local`` run would
    only repeat the ~15-40 s Great Expectations import in a fresh subprocess)."""
    bad = pd.read_parquet(snapshot_path)
    bad = bad[(bad["HourUTC"] >= "2023-01-15") & (bad["HourUTC"] < "2023-01-18")].copy()
    bad.loc[bad.index[3], "PriceArea"] = "DK9"
    bad.loc[bad.index[7], "TotalCon"] = -1.0  # a point fault: quarantined, counted, not the failure
    bad.to_parquet(tmp_path / "raw", index=False)
    raw = dsl.Dataset(name="raw", uri=str(tmp_path / "raw"), metadata={"source": "snapshot:bad"})
    clean = dsl.Dataset(name="clean", uri=str(tmp_path / "clean"))
    report = dsl.Artifact(name="report", uri=str(tmp_path / "report"))
    contract = dsl.Markdown(name="contract", uri=str(tmp_path / "contract"))

    with pytest.raises(DataContractError, match=r"rule area_in_set on column 'area'"):
        validate.python_func(
            raw=raw, window_start=START, window_end=END, clean=clean, report=report, contract=contract
        )
    result = json.loads((tmp_path / "report").read_text())
    markdown = (tmp_path / "contract").read_text()
    assert markdown.startswith("# Data contract BROKEN") and "### area_in_set on `area`" in markdown
    assert contract.metadata["success"] is False
    assert result["success"] is False and result["failed_rules"] == ["area_in_set"]
    assert result["source"] == "snapshot:bad"
    assert report.metadata["failed_rules"] == "area_in_set"
    assert contract.metadata["quarantined_points"] == report.metadata["quarantined_points"] == 1
    assert [p["rule"] for p in result["quarantined"]] == ["value_range"]
    assert "## Quarantined points (1)" in markdown
    assert not (tmp_path / "clean").exists()  # nothing for the features step
    assert store.list("features/") == []
