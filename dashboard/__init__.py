"""dashboard: the Streamlit app for forecasts, monitoring and data quality.

It talks only to the forecasts API over HTTP (never to GCS). Start it with::

    python -m dashboard --api-url http://127.0.0.1:8000 --port 8501

which runs ``streamlit run dashboard/app.py --server.address 127.0.0.1 --server.port 8501 ...``
(``python -m dashboard --print-command`` prints the exact command). Settings: ``EF_API_URL``
(or ``EF_DASHBOARD_API_URL``) and ``EF_DASHBOARD_*``, see ``dashboard.settings``.
"""
