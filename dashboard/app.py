"""The dashboard's entry point: one multipage Streamlit app (``streamlit run dashboard/app.py``).

Pages: Forecasts, Monitoring, Data quality. Every page talks only to the forecasts API.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import ui

PAGES_DIR = Path(__file__).resolve().parent / "pages"

st.set_page_config(page_title="Energy forecasts — Denmark", page_icon="⚡", layout="wide")

navigation = st.navigation(
    [
        st.Page(PAGES_DIR / "forecasts.py", title="Forecasts", icon="📈", url_path="forecasts", default=True),
        st.Page(PAGES_DIR / "monitoring.py", title="Monitoring", icon="🩺", url_path="monitoring"),
        st.Page(PAGES_DIR / "quality.py", title="Data quality", icon="✅", url_path="quality"),
    ]
)
ui.sidebar_status()
navigation.run()
ui.footer()
