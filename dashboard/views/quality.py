"""Data quality page: the latest validation result and the feature snapshot's facts."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from dashboard import charts, ui, validation
from dashboard.client import ApiError, ApiNotReadyError


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
    _validation_section(quality.get("validation"))

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


def _validation_section(served: Any) -> None:
    """The data contract's report: verdict, counts, notes and the table of rules."""
    st.subheader("Latest validation")
    try:
        report = validation.parse_report(served)
    except validation.ReportError as err:
        ui.show_error(err)  # the snapshot's facts below are still worth showing
        return
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


ui.run_page(render)
