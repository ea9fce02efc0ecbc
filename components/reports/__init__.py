"""Self-contained reports the pipeline steps output as KFP ``HTML`` and ``Markdown`` artifacts.

- :mod:`~components.reports.contract` — the data contract result as Markdown (``validate``);
- :mod:`~components.reports.backtest` — the training backtest as HTML (``train``);
- :mod:`~components.reports.monitoring` — the monitoring summary as HTML (``monitor``);
- :mod:`~components.reports.names` — the metric names shared by MLflow, KFP ``Metrics`` and the API.

Every page renders offline: inline CSS and inline SVG plots (:mod:`~components.reports.svg`), no
script, font or stylesheet from anywhere else, since the Kubeflow Pipelines UI shows an HTML
artifact in a sandboxed frame and a cluster may have no internet. The builders take frames and
dicts and name no dataset column: series keys are whatever columns are not values.
"""
