"""Settings by surface: each field has one home, and the pipeline's ``Settings`` is their union."""

from __future__ import annotations

import pytest

from components.inputs import InvalidSettings
from components.settings import (
    ClusterSettings,
    MonitoringSettings,
    Settings,
    SourceSettings,
    StorageSettings,
    TrainingSettings,
)
from components.steps.context import step_context

SURFACES = (SourceSettings, TrainingSettings, MonitoringSettings, ClusterSettings)


def own_fields(cls: type) -> set[str]:
    return set(cls.model_fields) - set(StorageSettings.model_fields)  # type: ignore[attr-defined]


def test_every_pipeline_setting_has_exactly_one_surface() -> None:
    owners: dict[str, list[str]] = {}
    for surface in SURFACES:
        for name in own_fields(surface):
            owners.setdefault(name, []).append(surface.__name__)
    assert {n: o for n, o in owners.items() if len(o) > 1} == {}
    assert set(owners) == own_fields(Settings)
    assert {"source_url", "snapshot", "days_export"} <= own_fields(SourceSettings)
    assert {"model_name", "tune_fixed", "katib_namespace"} <= own_fields(TrainingSettings)
    cluster = {"image", "image_tag", "k8s_settings_configmap", "k8s_service_account", "train_node_selector"}
    assert own_fields(ClusterSettings) == cluster


def test_dataset_defaults_follow_in_each_surface(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EF_DATASET", "ElectricityBalanceNonv")
    assert SourceSettings().days_export == Settings().days_export == 182
    assert (
        TrainingSettings().model_name == Settings().model_name == "energy-forecaster-electricitybalancenonv"
    )


def test_a_step_override_is_validated_like_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EF_FEATURE_GROUP_VERSION", "3")
    assert step_context().settings.feature_group_version == 3
    assert step_context(feature_group_version=7).settings.feature_group_version == 7
    with pytest.raises(InvalidSettings, match=r"^invalid setting feature_group_version=0: .* greater than"):
        step_context(feature_group_version=0)


def test_a_step_cannot_override_a_setting_read_from_its_own_variable() -> None:
    with pytest.raises(
        ValueError, match=r"\['emulator_host', 'snapshot'\] are read from their own variables"
    ):
        step_context(snapshot="x.parquet", emulator_host="http://x")
