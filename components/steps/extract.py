"""KFP component ``extract``: the raw records of the run's window (API or ``ENERGY_SNAPSHOT``)."""

from typing import NamedTuple

from kfp.dsl import Dataset, Output

from components.steps import component


@component()
def extract(
    reference_time: str,
    days_delay: int,
    days_export: int,
    raw: Output[Dataset],
) -> NamedTuple("Outputs", [("window_start", str), ("window_end", str)]):  # type: ignore[valid-type]
    """Window ``[start, end)`` from ``reference_time`` ("" or "now" = now, UTC), ``days_delay`` and
    ``days_export`` (0: the step's ``EF_DAYS_EXPORT``, else the dataset's default, so one compiled
    pipeline serves whichever ``EF_DATASET`` the settings ConfigMap names); writes the raw records
    (raw API column names) as Parquet to ``raw``."""
    from collections import namedtuple

    from components.extract import extract as run_extract
    from components.steps.artifacts import configure_logging
    from components.steps.context import step_context

    configure_logging()
    result = run_extract(step_context().settings, reference_time, days_delay, days_export)
    result.frame.to_parquet(raw.path, index=False)
    raw.metadata.update(result.metadata)
    Outputs = namedtuple("Outputs", ["window_start", "window_end"])
    return Outputs(result.window.start.isoformat(), result.window.end.isoformat())
