"""KFP component ``validate``: cleaning + the data contract (Great Expectations); a gate that raises."""

from kfp.dsl import Artifact, Dataset, Input, Markdown, Output

from components.steps import component


@component()
def validate(
    raw: Input[Dataset],
    window_start: str,
    window_end: str,
    clean: Output[Dataset],
    report: Output[Artifact],
    contract: Output[Markdown],
) -> None:
    """Clean the raw records and check the contract. The validation report (JSON, a
    ``components.contracts.ValidationReport``) goes to
    ``report`` and the same result as a readable Markdown page (every rule, its counts, the failed
    rules' samples, the quarantined points and long gaps) to ``contract`` first; both artifacts'
    metadata carry the outcome and the number of quarantined points; then the step raises
    ``DataContractError`` if the contract is broken, else it writes the clean frame (Parquet) to
    ``clean``."""
    import logging

    import pandas as pd

    from components.extract import Window
    from components.reports.contract import contract_markdown
    from components.steps.artifacts import configure_logging, write_text
    from components.steps.context import step_context
    from components.validation import DataContractError, check_contract

    configure_logging()
    window = Window.parse(window_start, window_end)
    try:
        frame = pd.read_parquet(raw.path)
    except Exception as err:
        raise RuntimeError(f"raw records at {raw.path} are not readable Parquet: {err}") from err
    source = str(raw.metadata.get("source", "unknown"))
    outcome = check_contract(frame, window, step_context().settings.spec, source=source)
    result = outcome.report
    write_text(report.path, result.model_dump_json(indent=2))
    write_text(contract.path, contract_markdown(result))
    summary = {
        "success": result.success,
        "failed_rules": ", ".join(result.failed_rules),
        "warnings": ", ".join(result.warnings),
        "quarantined_points": len(result.quarantined),
        "long_gap_hours": result.long_gap_hours,
        "window_start": window.start.isoformat(),
        "window_end": window.end.isoformat(),
    }
    report.metadata.update(summary)
    contract.metadata.update({**summary, "rules": len(result.rules)})
    logging.getLogger(__name__).info("contract report written to %s", contract.path)
    if not outcome.success:
        raise DataContractError(result)
    outcome.clean.to_parquet(clean.path, index=False)
    clean.metadata.update(
        {
            "rows": result.rows,
            "series": result.series,
            "window_start": window.start.isoformat(),
            "window_end": window.end.isoformat(),
            "hours": window.hours,
        }
    )
