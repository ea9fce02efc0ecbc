"""The dashboard's entry point: one multipage Streamlit app (``streamlit run dashboard/app.py``).

Pages: Forecasts, Monitoring, Data quality. Every page talks only to the forecasts API.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import ui

PAGES_DIR = Path(__file__).resolve().parent / "views"

st.set_page_config(page_title="Energy forecasts — Denmark", page_icon=":material/bolt:", layout="wide")

navigation = st.navigation(
    [
        st.Page(
            PAGES_DIR / "forecasts.py",
            title="Forecasts",
            icon=":material/show_chart:",
            url_path="forecasts",
            default=True,
        ),
        st.Page(
            PAGES_DIR / "monitoring.py",
            title="Monitoring",
            icon=":material/monitor_heart:",
            url_path="monitoring",
        ),
        st.Page(
            PAGES_DIR / "quality.py", title="Data quality", icon=":material/fact_check:", url_path="quality"
        ),
    ]
)
ui.sidebar_status()
navigation.run()
ui.footer()
