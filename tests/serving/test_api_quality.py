"""The quarantined points and long gaps of the served snapshot: in ``/quality`` (whole, and counted
per rule), in its OpenAPI schema with their types, and in the Prometheus gauges of ``/metrics``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from components.settings import Settings
from components.storage import ObjectStore
from serving.main import create_app
from tests.api_fixtures import REFERENCE, SMALL_SERIES, write_forecast, write_observations
from tests.serving.conftest import V1, api_settings

DK1 = list(SMALL_SERIES[0])
QUARANTINED = [
    {"series": DK1, "hour": REFERENCE - timedelta(hours=30), "value": 41_653.78, "rule": "value_range",
     "replacement": 12.5},
    {"series": DK1, "hour": REFERENCE - timedelta(hours=20), "value": 0.0, "rule": "impossible_zero",
     "replacement": 11.0},
    {"series": DK1, "hour": REFERENCE - timedelta(hours=10), "value": None, "rule": "null_value",
     "replacement": None},
    {"series": list(SMALL_SERIES[1]), "hour": REFERENCE - timedelta(hours=9), "value": None,
     "rule": "null_value", "replacement": 3.25},
]  # fmt: skip
LONG_GAPS = [{"series": DK1, "start": REFERENCE - timedelta(hours=12), "hours": 5}]


@pytest.fixture()
def client(store: ObjectStore, settings: Settings) -> Iterator[TestClient]:
    write_forecast(store, settings, scheduled=REFERENCE)
    write_observations(store, settings, report_facts={"quarantined": QUARANTINED, "long_gaps": LONG_GAPS})
    with TestClient(create_app(api_settings(settings))) as test_client:
        yield test_client


def test_quality_serves_every_quarantined_point_and_counts_them(client: TestClient) -> None:
    response = client.get(f"{V1}/quality")
    assert response.status_code == 200
    body = response.json()
    served = body["validation"]["quarantined"]
    assert [(p["series"], p["value"], p["rule"], p["replacement"]) for p in served] == [
        (p["series"], p["value"], p["rule"], p["replacement"]) for p in QUARANTINED
    ]
    assert served[0]["hour"] == (REFERENCE - timedelta(hours=30)).isoformat().replace("+00:00", "Z")
    assert body["validation"]["long_gaps"] == [
        {"series": DK1, "start": LONG_GAPS[0]["start"].isoformat().replace("+00:00", "Z"), "hours": 5}
    ]
    assert body["quarantined_by_rule"] == {
        "null_value": 2, "value_range": 1, "impossible_zero": 1, "stuck_value": 0, "spike": 0
    }  # fmt: skip
    assert body["long_gap_hours"] == 5
    again = client.get(f"{V1}/quality", headers={"If-None-Match": response.headers["etag"]})
    assert again.status_code == 304


def test_quality_schema_types_the_quarantined_points(client: TestClient) -> None:
    schemas: dict[str, Any] = client.get("/openapi.json").json()["components"]["schemas"]
    quality = schemas["QualityResponse"]
    assert {"quarantined_by_rule", "long_gap_hours"} <= set(quality["required"])
    by_rule = quality["properties"]["quarantined_by_rule"]
    assert by_rule["additionalProperties"] == {"type": "integer"}
    assert set(by_rule["propertyNames"]["enum"]) == {
        "null_value", "value_range", "impossible_zero", "stuck_value", "spike"
    }  # fmt: skip
    report = schemas["ValidationReport"]["properties"]
    assert report["quarantined"]["items"] == {"$ref": "#/components/schemas/QuarantinedPoint"}
    assert report["long_gaps"]["items"] == {"$ref": "#/components/schemas/FilledGap"}
    point = schemas["QuarantinedPoint"]
    assert set(point["required"]) == {"series", "hour", "value", "rule"}
    props = point["properties"]
    assert props["hour"]["format"] == "date-time" and props["series"]["items"] == {"type": "string"}
    assert {"type": "number"} in props["value"]["anyOf"] and {"type": "null"} in props["value"]["anyOf"]
    assert set(props["rule"]["enum"]) == set(by_rule["propertyNames"]["enum"])


def test_metrics_count_the_quarantined_points_per_rule(client: TestClient) -> None:
    text = client.get(f"{V1}/metrics").text
    gauges = {
        m[1]: float(m[2])
        for m in re.finditer(r'^ef_validation_quarantined_points\{rule="(\w+)"\} (\S+)$', text, re.M)
    }
    assert gauges == {"null_value": 2, "value_range": 1, "impossible_zero": 1, "stuck_value": 0, "spike": 0}
    assert re.search(r"^ef_validation_long_gap_hours 5\.0$", text, re.M)
