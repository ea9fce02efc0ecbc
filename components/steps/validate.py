"""KFP component ``validate``: cleaning + the data contract (Great Expectations); a gate that raises."""

from kfp.dsl import Artifact, Dataset, Input, Output

from components.steps import component


@component()
def validate(
    raw: Input[Dataset],
    window_start: str,
    window_end: str,
    clean: Output[Dataset],
    report: Output[Artifact],
) -> None:
    """Clean the raw records and check the contract. The full validation result (JSON) goes to
    ``report`` first; then the step raises ``DataContractError`` if the contract is broken, else it
    writes the clean frame (Parquet) to ``clean``."""
    import json
    import logging

    import pandas as pd

    from components.extract import Window
    from components.settings import Settings
    from components.validation import DataContractError, check_contract

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    window = Window.parse(window_start, window_end)
    try:
        frame = pd.read_parquet(raw.path)
    except Exception as err:
        raise RuntimeError(f"raw records at {raw.path} are not readable Parquet: {err}") from err
    outcome = check_contract(frame, window, Settings().spec)
    result = dict(outcome.result)
    result["source"] = str(raw.metadata.get("source", "unknown"))
    with open(report.path, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=2, sort_keys=True)
    report.metadata.update(
        {
            "success": bool(result["success"]),
            "failed_rules": ", ".join(result["failed_rules"]),
            "window_start": window.start.isoformat(),
            "window_end": window.end.isoformat(),
        }
    )
    if not outcome.success:
        raise DataContractError(result)
    outcome.clean.to_parquet(clean.path, index=False)
    clean.metadata.update(
        {
            "rows": int(result["rows"]),
            "series": int(result["series"]),
            "window_start": window.start.isoformat(),
            "window_end": window.end.isoformat(),
            "hours": window.hours,
        }
    )
