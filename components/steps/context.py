"""The one way a step gets its settings and its store.

A step's settings are ``Settings()`` from its environment (on the cluster: the settings ConfigMap,
see ``pipelines.pipeline``), with the values the step takes as pipeline parameters passed here
explicitly and validated like any other setting. Steps that read the feature snapshot take its
feature group version from the snapshot artifact, so they read exactly what the features step wrote.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from components.settings import Settings
    from components.storage import ObjectStore


@dataclass(frozen=True)
class StepContext:
    settings: Settings

    @cached_property
    def store(self) -> ObjectStore:
        """The bucket and prefix of the settings (made on first use: extract and validate need none)."""
        from components.storage import ObjectStore

        return ObjectStore.from_settings(self.settings)


def step_context(**overrides: Any) -> StepContext:
    """The step's settings from the environment, ``overrides`` (field name → value) applied on top.

    A field read from a variable of its own name (``snapshot`` from ``ENERGY_SNAPSHOT``,
    ``emulator_host`` from ``STORAGE_EMULATOR_HOST``) cannot be overridden by field name, so it is
    refused here rather than silently ignored. A value that breaks a setting's rule is
    :class:`components.inputs.InvalidSettings`: one line naming the variable (or parameter).
    """
    from components.inputs import read_settings
    from components.settings import Settings

    unknown = sorted(set(overrides) - set(Settings.model_fields))
    if unknown:
        raise ValueError(f"no such settings: {unknown}")
    aliased = sorted(n for n in overrides if Settings.model_fields[n].validation_alias is not None)
    if aliased:
        raise ValueError(f"settings {aliased} are read from their own variables; a step cannot override them")
    return StepContext(read_settings(Settings, {name: name for name in overrides}, **overrides))


def snapshot_context(metadata: dict[str, Any]) -> tuple[Settings, ObjectStore, str]:
    """The settings (with the snapshot's feature group version), the store and the snapshot run of
    a step whose input is the feature snapshot ``Dataset`` (``metadata``: that artifact's)."""
    from components.steps.artifacts import snapshot_ref

    run, version = snapshot_ref(metadata)
    context = step_context(feature_group_version=version)
    return context.settings, context.store, run
