"""Data quality page: the latest validation result and the feature snapshot's facts."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from components.contracts import ValidationReport
from dashboard import charts, ui, validation
from dashboard.client import ApiClient, ApiError, ApiNotReadyError, Dataset


def render() -> None:
    st.title("Data quality: what the forecast was built on")
    try:
        api = ui.client()
        dataset = api.dataset()
        quality = api.quality()
    except ApiNotReadyError as err:
        st.info(f"No feature snapshot loaded yet. {err}", icon=":material/hourglass_empty:")
        return
    except (ApiError, ui.SettingsError) as err:
        ui.show_error(err)
        return

    manifest: dict[str, Any] = quality["manifest"]
    report = _validation_section(quality.get("validation"))
    if report is not None:
        _quarantine_section(report, dataset, api)

    st.subheader("Feature snapshot")
    keys = list(dataset.key_names)
    coverage = pd.DataFrame(
        quality.get("coverage") or [], columns=[*keys, "hours", "expected_hours", "newest_observation"]
    )
    series = quality.get("series") if quality.get("series") is not None else len(coverage)
    window_hours = (
        charts.utc(quality["window_end"]) - charts.utc(quality["window_start"])
    ).total_seconds() / 3600
    cols = list(st.columns(4))
    cols[0].metric("Window", f"{window_hours:.0f} h", help="hours of observations in the snapshot")
    cols[1].metric("Rows", f"{int(quality['rows']):,}")
    cols[2].metric("Series", series)
    cols[3].metric(
        "Complete series",
        f"{int((coverage['hours'] >= coverage['expected_hours']).sum())} / {len(coverage)}"
        if not coverage.empty
        else "—",
    )
    st.caption(
        f"Snapshot run {quality['run_id']} · window {charts.fmt_time(quality['window_start'])} → "
        f"{charts.fmt_time(quality['window_end'])} · object `{quality.get('snapshot', '?')}` · "
        f"sha256 `{str(quality.get('sha256', '?'))[:16]}…`"
    )
    if not coverage.empty:
        coverage.insert(
            0, "series", [dataset.series(codes) for codes in coverage[keys].itertuples(index=False)]
        )
        coverage["complete_pct"] = (
            coverage["hours"] / coverage["expected_hours"].where(coverage["expected_hours"] > 0) * 100
        )
        st.markdown("**Share of the served window observed, per series**")
        st.plotly_chart(
            charts.series_heatmap(coverage, dataset, "complete_pct", "observed %", "RdYlGn", (0, 100)),
            width="stretch",
            key="dq_coverage",
        )
        st.markdown("**Hours served per series** (least complete first)")
        st.dataframe(
            coverage.drop(columns=keys),
            hide_index=True,
            width="stretch",
            height=300,
            column_config={
                "complete_pct": st.column_config.ProgressColumn(
                    "complete", format="%.0f%%", min_value=0, max_value=100
                ),
                "newest_observation": st.column_config.DatetimeColumn(
                    "newest observation (UTC)", format="YYYY-MM-DD HH:mm"
                ),
            },
        )
    with st.expander("Manifest, as written by the feature step"):
        st.json(manifest, expanded=False)


def _validation_section(served: Any) -> ValidationReport | None:
    """The data contract's report: verdict, counts, notes and the table of rules."""
    st.subheader("Latest validation")
    try:
        report = validation.parse_report(served)
    except validation.ReportError as err:
        ui.show_error(err)  # the snapshot's facts below are still worth showing
        return None
    stats = report.statistics
    if report.success:
        st.success(
            f"The data contract passed: {stats.successful_rules} of {stats.evaluated_rules} rules met"
            + (f", {stats.warnings} with warnings." if stats.warnings else "."),
            icon=":material/check_circle:",
        )
    else:
        st.warning(
            f"The data contract failed: {stats.unsuccessful_rules} of {stats.evaluated_rules} rules not met "
            f"({', '.join(report.failed_rules)}).",
            icon=":material/report:",
        )
    cols = list(st.columns(4))
    cols[0].metric("Rules run", stats.evaluated_rules)
    cols[1].metric("Passed", stats.successful_rules)
    cols[2].metric("Failed", stats.unsuccessful_rules)
    cols[3].metric("Warnings", stats.warnings)
    for note in report.notes:
        st.info(validation.note_text(note), icon=":material/healing:")
    table = validation.validation_table(report)
    if not table.empty:
        st.dataframe(
            table.sort_values("passed", kind="stable"),
            hide_index=True,
            width="stretch",
            column_config={"passed": st.column_config.CheckboxColumn("passed")},
        )
    return report


def _quarantine_section(report: ValidationReport, dataset: Dataset, api: ApiClient) -> None:
    """The points the contract did not believe, listed and marked on a chosen series, and the long gaps."""
    st.subheader("Quarantined points")
    points = validation.quarantine_table(report, dataset)
    if points.empty and not report.long_gaps:
        st.caption("No point was quarantined and no long gap was left missing.")
        return
    counts = ", ".join(f"{rule}: {n}" for rule, n in report.quarantine_counts().items() if n)
    st.markdown(
        f"**{len(points)} point{'' if len(points) == 1 else 's'} quarantined**"
        + (f" ({counts})" if counts else "")
        + ": each became missing, then was filled like a short gap or, inside a long gap, left missing."
    )
    if not points.empty:
        st.dataframe(
            points.drop(columns=["codes"]),
            hide_index=True,
            width="stretch",
            column_config={
                "hour": st.column_config.DatetimeColumn("hour (UTC)", format="YYYY-MM-DD HH:mm"),
                "value": st.column_config.NumberColumn(
                    f"value ({report.unit})", format="%.2f", help="what the source said; empty: null"
                ),
                "replacement": st.column_config.NumberColumn(
                    f"replacement ({report.unit})", format="%.2f", help="empty: left missing (long gap)"
                ),
            },
        )
        _quarantine_chart(points, dataset, api)
    gaps = validation.long_gap_table(report, dataset)
    if not gaps.empty:
        st.markdown(f"**{len(gaps)} long gaps left missing** ({report.long_gap_hours} h)")
        st.dataframe(
            gaps.drop(columns=["codes"]),
            hide_index=True,
            width="stretch",
            column_config={
                "start": st.column_config.DatetimeColumn(
                    "first missing hour (UTC)", format="YYYY-MM-DD HH:mm"
                )
            },
        )


def _quarantine_chart(points: pd.DataFrame, dataset: Dataset, api: ApiClient) -> None:
    """The chosen series' served observations with its quarantined points marked."""
    names = dict(zip(points["series"], points["codes"], strict=True))
    name = st.selectbox("Series", list(names), key="dq_quarantine_series")
    if name is None:
        return
    try:
        payload = api.series_forecast(names[name])
    except ApiError as err:
        st.info(f"No observations of {name} are served: {err}", icon=":material/info:")
        return
    observed = charts.series_frame(payload, dataset)
    observed = observed[observed["kind"] == "observed"]
    chosen = points[points["series"] == name]
    if not observed.empty:
        first, last = observed["datetime_utc"].min(), observed["datetime_utc"].max()
        inside = chosen["hour"].between(first, last)
        chosen, older = chosen[inside], int((~inside).sum())
    else:
        older = 0
    st.plotly_chart(
        charts.quarantine_figure(observed, chosen, name, dataset.unit), width="stretch", key="dq_quarantined"
    )
    st.caption(
        f"The observations the API serves with the forecast (the last {len(observed)} h); the line shows the "
        "clean values, the crosses what the source said (a null at its replacement)."
        + (f" {older} older quarantined points of this series are in the table only." if older else "")
    )


ui.run_page(render)
