"""Response models of the forecasts API: the contract the dashboard codes against.

``common`` holds the models every dataset shares; ``keyed`` builds, from a dataset spec, the models
whose fields are the dataset's series keys (:func:`build_models`).
"""

from serving.models.common import (
    API_PREFIX,
    Accuracy,
    CodeLabel,
    DatasetMeta,
    DatasetResponse,
    DriftInfo,
    ErrorResponse,
    ForecastMeta,
    ForecastPoint,
    FreshnessInfo,
    HealthResponse,
    HorizonMetric,
    KeyInfo,
    LoadErrorInfo,
    MetaResponse,
    Model,
    MonitoringMeta,
    ObservationPoint,
    ObservationsMeta,
    PairPoint,
    ReadyResponse,
    RunMetric,
)
from serving.models.keyed import ApiModels, ForecastsHead, build_models, code_field

__all__ = [
    "API_PREFIX",
    "Accuracy",
    "ApiModels",
    "CodeLabel",
    "DatasetMeta",
    "DatasetResponse",
    "DriftInfo",
    "ErrorResponse",
    "ForecastMeta",
    "ForecastPoint",
    "ForecastsHead",
    "FreshnessInfo",
    "HealthResponse",
    "HorizonMetric",
    "KeyInfo",
    "LoadErrorInfo",
    "MetaResponse",
    "Model",
    "MonitoringMeta",
    "ObservationPoint",
    "ObservationsMeta",
    "PairPoint",
    "ReadyResponse",
    "RunMetric",
    "build_models",
    "code_field",
]
