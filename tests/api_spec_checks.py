"""What the API must serve for each dataset spec, as checks on a ``TestClient``: used by the API's
spec tests (fixture data) and by the whole-pipeline test of every dataset (the pipeline's output)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from tests.api_fixtures import BALANCE, DE35, INDUSTRY, INDUSTRY_TITLES
from tests.serving.conftest import V1


@dataclass(frozen=True)
class Expected:
    keys: tuple[str, ...]
    plurals: tuple[str, ...]
    code_routes: tuple[str, ...]
    series: tuple[str, ...]
    """one served series"""
    label: str
    """its readable name"""
    foreign: tuple[str, ...]
    """key names of other datasets, which must not appear"""


EXPECTED = {
    DE35: Expected(
        ("area", "consumer_type"),
        ("areas", "consumer_types"),
        ("/areas", "/consumer-types"),
        ("DK2", "999"),
        "DK2 East Denmark / 999 Unclassified",
        ("industry",),
    ),
    BALANCE: Expected(
        ("area",), ("areas",), ("/areas",), ("DK1",), "DK1 West Denmark", ("consumer_type", "industry")
    ),
    INDUSTRY: Expected(
        ("industry",),
        ("industries",),
        ("/industries",),
        ("PR",),
        "PR Private households",
        ("area", "consumer_type"),
    ),
}


def get(client: TestClient, path: str, **params: Any) -> Any:
    response = client.get(f"{V1}{path}", params=params)
    assert response.status_code == 200, (path, response.text)
    return response.json()


def check_openapi_names_the_keys(name: str, client: TestClient) -> None:
    """The OpenAPI document names the dataset's own keys in paths, parameters and models."""
    expected = EXPECTED[name]
    doc = client.get("/openapi.json").json()
    path = "/".join(f"{{{k}}}" for k in expected.keys)
    series, pairs = f"{V1}/forecasts/{path}", f"{V1}/monitoring/series/{path}"
    assert {series, pairs} <= set(doc["paths"])
    assert [p["name"] for p in doc["paths"][series]["get"]["parameters"] if p["in"] == "path"] == list(
        expected.keys
    )
    filters = {p["name"] for p in doc["paths"][f"{V1}/forecasts"]["get"]["parameters"]}
    assert filters == {*expected.plurals, "format"}
    codes = {p.removeprefix(V1) for p in doc["paths"]} & {"/areas", "/consumer-types", "/industries"}
    assert codes == set(expected.code_routes)
    schemas = doc["components"]["schemas"]
    for model in (
        "SeriesForecastResponse",
        "ForecastRow",
        "SeriesMetric",
        "MonitoringSeriesResponse",
        "SeriesQuality",
    ):
        fields = set(schemas[model]["properties"])
        assert set(expected.keys) <= fields, model
        assert not fields & set(expected.foreign), model
    assert {f"{k}_label" for k in expected.keys} <= set(schemas["SeriesForecastResponse"]["properties"])
    assert name in doc["info"]["summary"]


def check_code_lists_and_description(name: str, client: TestClient) -> None:
    """``/dataset``, the code-list routes and ``/meta`` describe the dataset and its labels."""
    expected = EXPECTED[name]
    described = get(client, "/dataset")
    assert described["name"] == name and described["unit"] == "MWh"
    assert [k["name"] for k in described["keys"]] == list(expected.keys)
    assert described["series_route"] == f"{V1}/forecasts/" + "/".join(f"{{{k}}}" for k in expected.keys)
    for key, route, plural in zip(described["keys"], expected.code_routes, expected.plurals, strict=True):
        listed = get(client, route)[plural.replace("-", "_")]
        assert listed == key["codes"] and key["route"] == f"{V1}{route}"
    labels = {c["code"]: c["label"] for c in described["keys"][0]["codes"]}
    if name == INDUSTRY:  # an open key: the codes of the served data, labels learned from it
        assert described["keys"][0]["closed"] is False
        assert labels == INDUSTRY_TITLES
    else:
        assert labels == {"DK1": "West Denmark", "DK2": "East Denmark"}
    meta = get(client, "/meta")
    assert meta["dataset"] == {"name": name, "keys": list(expected.keys), "unit": "MWh"}
