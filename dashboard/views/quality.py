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

    raw_manifest = quality.get("manifest")
    manifest: dict[str, Any] = raw_manifest if isinstance(raw_manifest, dict) else {}
    # the manifest's full result lists every rule; the served `validation` may be its short form
    candidates = (
        manifest.get("validation_result"),
        quality.get("validation"),
        manifest.get("validation_summary"),
    )
    report = next((c for c in candidates if c is not None), None)
    success, counts, table = validation.validation_table(report)
    st.subheader("Latest validation")
    if success is True:
        st.success(
            f"The data contract passed: {counts['passed'] if counts['passed'] is not None else 'all'} of "
            f"{counts['evaluated'] if counts['evaluated'] is not None else '?'} expectations met.",
            icon=":material/check_circle:",
        )
    elif success is False:
        st.warning(
            f"The data contract failed: {counts['failed'] if counts['failed'] is not None else 'some'} "
            f"of {counts['evaluated'] if counts['evaluated'] is not None else '?'} expectations not met.",
            icon=":material/report:",
        )
    else:
        st.info("The snapshot's manifest records no validation result.")
    cols = list(st.columns(3))
    cols[0].metric("Expectations run", "—" if counts["evaluated"] is None else counts["evaluated"])
    cols[1].metric("Passed", "—" if counts["passed"] is None else counts["passed"])
    cols[2].metric("Failed", "—" if counts["failed"] is None else counts["failed"])
    for _, note in validation.notes(table).iterrows():
        st.info(validation.note_text(note), icon=":material/healing:")
    if not table.empty:
        st.dataframe(
            table.sort_values("passed", kind="stable"),
            hide_index=True,
            width="stretch",
            column_config={"passed": st.column_config.CheckboxColumn("passed")},
        )

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


ui.run_page(render)
