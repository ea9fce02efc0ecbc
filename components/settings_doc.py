"""``python -m components.settings_doc``: the settings tables of the README, made from the code.

Classes are named by import path, so this module imports no other part of the project; a test
compares the README with this output, so the documented defaults cannot drift.
"""

from __future__ import annotations

import argparse
import importlib

from pydantic_settings import BaseSettings

DEFAULT_CLASSES = (
    "components.settings:StorageSettings",
    "components.settings:SourceSettings",
    "components.settings:TrainingSettings",
    "components.settings:MonitoringSettings",
    "components.settings:ClusterSettings",
    "serving.settings:ApiSettings",
    "dashboard.settings:DashboardSettings",
    "pipelines.remote_settings:KfpSettings",
)


def load_class(path: str) -> type[BaseSettings]:
    module_name, _, class_name = path.partition(":")
    settings_class = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(settings_class, type) and issubclass(settings_class, BaseSettings)):
        raise TypeError(f"{path} is not a pydantic-settings class")
    return settings_class


def env_names(name: str, settings_class: type[BaseSettings]) -> str:
    field = settings_class.model_fields[name]
    choices = getattr(field.validation_alias, "choices", None)
    if choices:
        return " / ".join(f"`{choice}`" for choice in choices if str(choice).isupper())
    prefix = settings_class.model_config.get("env_prefix", "")
    return f"`{prefix}{name.upper()}`"


def markdown_table(settings_class: type[BaseSettings]) -> str:
    """One row per setting declared by the class itself (not by a settings class it extends)."""
    inherited: set[str] = set()
    for base in settings_class.__mro__[1:]:
        if isinstance(base, type) and issubclass(base, BaseSettings) and base is not BaseSettings:
            inherited |= set(base.model_fields)
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in settings_class.model_fields.items():
        if name in inherited:
            continue
        default = field.get_default(call_default_factory=True)
        shown = "(unset)" if default in (None, "", [], {}) else f"`{default}`"
        description = (field.description or "").replace("|", "\\|").replace("\n", " ")
        rows.append(f"| {env_names(name, settings_class)} | {shown} | {description} |")
    return "\n".join(rows)


def markdown(paths: tuple[str, ...] | list[str] = DEFAULT_CLASSES) -> str:
    sections = []
    for path in paths:
        settings_class = load_class(path)
        title = (settings_class.__doc__ or path).strip().splitlines()[0]
        sections.append(f"**{title}** (`{path}`)\n\n{markdown_table(settings_class)}")
    return "\n\n".join(sections)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m components.settings_doc", description="Print settings classes as Markdown tables."
    )
    parser.add_argument(
        "classes",
        nargs="*",
        default=list(DEFAULT_CLASSES),
        help="module:Class paths (default: every surface's settings: storage, source, training, "
        "monitoring, cluster, API, dashboard, KFP connection)",
    )
    args = parser.parse_args(argv)
    print(markdown(args.classes))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
