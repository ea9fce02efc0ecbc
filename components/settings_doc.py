"""``python -m components.settings_doc``: the settings table of the README, made from the code.

A test compares the README with this output, so the documented defaults cannot drift.
"""

from __future__ import annotations

import argparse

from pydantic_settings import BaseSettings

from components.settings import ENV_PREFIX, Settings


def env_names(name: str, settings_class: type[BaseSettings]) -> str:
    field = settings_class.model_fields[name]
    alias = field.validation_alias
    choices = getattr(alias, "choices", None)
    if choices:
        return " / ".join(f"`{choice}`" for choice in choices)
    prefix = settings_class.model_config.get("env_prefix", ENV_PREFIX)
    return f"`{prefix}{name.upper()}`"


def markdown_table(settings_class: type[BaseSettings] = Settings) -> str:
    """One row per setting: variable, default, description."""
    rows = ["| variable | default | meaning |", "|---|---|---|"]
    for name, field in settings_class.model_fields.items():
        default = field.get_default(call_default_factory=True)
        shown = "(unset)" if default in (None, "") else f"`{default}`"
        description = (field.description or "").replace("|", "\\|")
        rows.append(f"| {env_names(name, settings_class)} | {shown} | {description} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.settings_doc",
                                     description="Print the settings of every part as Markdown tables.")
    parser.parse_args(argv)
    print(markdown_table())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
