"""The forecasts API against the real GCS emulator: every route, its errors, caching and refresh."""

from __future__ import annotations

import csv
import io
import re
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from components import layout
from components.contracts import MonitoringSummary
from components.datasets import get_spec
from components.reports.names import MONITOR_METRICS
from components.settings import Settings
from components.storage import ObjectStore
from serving.main import create_app
from serving.models import MetaResponse, ReadyResponse, build_models
from serving.settings import ApiSettings
from tests.api_fixtures import (
    DE35,
    REFERENCE,
    SMALL_SERIES,
    Written,
    forecast_frame,
    write_all,
    write_forecast,
)
from tests.serving.conftest import V1, api_settings, wait_for

SPEC = get_spec(DE35)
MODELS = build_models(SPEC)
AREAS = SPEC.key("area").codes
CONSUMER_TYPES = SPEC.key("consumer_type").codes
SeriesForecastResponse = MODELS.series_forecast
ForecastsResponse = MODELS.forecasts
MonitoringMetricsResponse = MODELS.monitoring_metrics
MonitoringSeriesResponse = MODELS.monitoring_series
QualityResponse = MODELS.quality


# --- service routes --------------------------------------------------------------------------------
def test_health_ready_and_code_lists(client: TestClient, written: Written) -> None:
    assert client.get(f"{V1}/health").json()["status"] == "ok"
    ready = ReadyResponse.model_validate(client.get(f"{V1}/ready").json())
    assert ready.ready and ready.storage_reachable and not ready.stale
    assert ready.forecast_run_id == written.forecast.run_id
    assert ready.age_hours is not None and ready.age_hours < 1

    areas = client.get(f"{V1}/areas").json()["areas"]
    assert {a["code"]: a["label"] for a in areas} == AREAS
    ctypes = client.get(f"{V1}/consumer-types").json()["consumer_types"]
    assert len(ctypes) == 38 and {"code": "111", "label": CONSUMER_TYPES["111"]} in ctypes


def test_ready_flags_an_old_forecast_stale(store: ObjectStore, settings: Settings) -> None:
    write_forecast(store, settings, generated_at=REFERENCE)  # generated years ago
    with TestClient(create_app(api_settings(settings, api_stale_after_hours=2))) as client:
        ready = client.get(f"{V1}/ready")
        assert ready.status_code == 200
        assert ready.json()["stale"] is True and ready.json()["age_hours"] > 2


def test_unknown_query_parameter_is_422_naming_the_valid_ones(client: TestClient) -> None:
    typo = client.get(f"{V1}/forecasts", params={"area": "DK1"})  # `areas` is meant
    assert typo.status_code == 422
    [error] = typo.json()["detail"]
    assert error["loc"] == ["query", "area"] and error["type"] == "extra_forbidden"
    assert all(name in error["msg"] for name in ("areas", "consumer_types", "format"))
    window = client.get(f"{V1}/forecasts/DK1/111", params={"from": "2023-01-17T00:00:00Z"})
    assert window.status_code == 422 and "end, start" in window.json()["detail"][0]["msg"]
    assert client.get(f"{V1}/monitoring/series/DK1/111?areas=DK1").status_code == 422
    bare = client.get(f"{V1}/health?verbose=1")
    assert bare.status_code == 422 and "parameters: none" in bare.json()["detail"][0]["msg"]
    assert client.get(f"{V1}/forecasts", params={"areas": "DK1", "consumer_types": "111"}).status_code == 200


def test_meta_names_the_dataset_and_the_forecast_origin(client: TestClient, written: Written) -> None:
    meta = MetaResponse.model_validate(client.get(f"{V1}/meta").json())
    assert (meta.dataset.name, meta.dataset.keys, meta.dataset.unit) == (
        DE35,
        ["area", "consumer_type"],
        "MWh",
    )
    assert meta.forecast is not None and meta.forecast.scheduled_time == REFERENCE
    assert meta.forecast.data_end == REFERENCE and meta.forecast.forecast_start == REFERENCE + timedelta(
        hours=1
    )
    assert meta.forecast.generated_at == written.forecast.generated_at and meta.forecast.unit == "MWh"
    dataset = client.get(f"{V1}/dataset").json()
    assert dataset["series_route"] == "/api/v1/forecasts/{area}/{consumer_type}"
    assert [k["plural"] for k in dataset["keys"]] == ["areas", "consumer_types"]
    assert len(dataset["keys"][1]["codes"]) == 38 and dataset["keys"][0]["route"] == "/api/v1/areas"


# --- one series ------------------------------------------------------------------------------------
def test_series_has_last_168h_of_observations_and_24h_forecast(client: TestClient, written: Written) -> None:
    response = client.get(f"{V1}/forecasts/DK1/111")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    body = SeriesForecastResponse.model_validate(response.json())
    assert (body.area, body.consumer_type, body.consumer_type_label) == ("DK1", "111", "Agriculture")
    assert body.run_id == written.forecast.run_id and body.has_band
    assert len(body.observations) == 168
    assert body.observations[-1].datetime_utc == REFERENCE
    assert body.observations[0].datetime_utc == REFERENCE - timedelta(hours=167)
    assert [p.horizon for p in body.forecast] == list(range(1, 25))
    assert body.forecast[0].datetime_utc == REFERENCE + timedelta(hours=1)
    first = body.forecast[0]
    assert first.forecast_lower is not None and first.forecast_upper is not None
    assert first.forecast_lower < first.forecast < first.forecast_upper
    # plain ISO-8601 UTC on the wire, not epoch numbers
    assert response.json()["forecast"][0]["datetime_utc"] == "2023-01-18T00:00:00Z"


def test_series_start_end_window(client: TestClient) -> None:
    response = client.get(
        f"{V1}/forecasts/DK2/999",
        params={"start": "2023-01-17T20:00:00Z", "end": "2023-01-18T02:00:00+00:00"},
    )
    body = SeriesForecastResponse.model_validate(response.json())
    assert [p.datetime_utc.hour for p in body.observations] == [20, 21, 22, 23]
    assert [p.horizon for p in body.forecast] == [1, 2, 3]
    late = client.get(f"{V1}/forecasts/DK2/999", params={"start": "2023-01-19T00:00:00+01:00"}).json()
    assert late["observations"] == [] and [p["horizon"] for p in late["forecast"]] == [24]


MALFORMED_WINDOWS: list[tuple[dict[str, str], str]] = [
    ({"start": "yesterday"}, "start"),
    ({"start": "1674000000"}, "start"),  # epoch numbers are not accepted
    ({"start": "2023-01-18T00:00:00"}, "start"),  # no offset
    ({"end": "2023-01-18"}, "end"),
    ({"end": "2023-13-45T00:00:00Z"}, "end"),
    ({"start": "2023-01-18T00:00:00Z", "end": "2023-01-17T00:00:00Z"}, "start"),
]


def test_series_malformed_window_is_422(client: TestClient) -> None:
    for params, where in MALFORMED_WINDOWS:
        response = client.get(f"{V1}/forecasts/DK1/111", params=params)
        assert response.status_code == 422, params
        assert response.json()["detail"][0]["loc"] == ["query", where], params


def test_unknown_area_or_type_is_404_listing_valid_ones(client: TestClient) -> None:
    area = client.get(f"{V1}/forecasts/DK3/111")
    assert area.status_code == 404
    assert area.json() == {"detail": "unknown price area 'DK3'", "valid": ["DK1", "DK2"]}
    ctype = client.get(f"{V1}/forecasts/DK1/000")
    assert ctype.status_code == 404 and ctype.json()["valid"] == sorted(CONSUMER_TYPES)
    not_served = client.get(f"{V1}/forecasts/DK1/112")  # valid code, not in this forecast
    assert not_served.status_code == 404
    assert not_served.json()["valid"] == sorted(c for a, c in SMALL_SERIES if a == "DK1")
    for path in ("forecasts/DK1/1%2F1", "forecasts/D..K/111", "monitoring/series/DK1/" + "9" * 17):
        assert client.get(f"{V1}/{path}").status_code in (404, 422), path
    assert client.get(f"{V1}/forecasts/DK%2B1/111").status_code == 422  # not a code at all
    assert client.get(f"{V1}/forecasts/DK-1/111").status_code == 404  # could be a code, is not one


def test_fast_path_answers_exactly_like_the_routed_handler(written: Written, settings: Settings) -> None:
    variants: list[dict[str, str]] = [
        {},
        {"Accept-Encoding": "gzip"},
        {"Accept-Encoding": "identity"},
        {"If-None-Match": "*"},
    ]
    answers: dict[bool, list[tuple[int, dict[str, str], bytes]]] = {}
    for fast in (True, False):
        with TestClient(create_app(api_settings(settings, api_fast_path=fast))) as client:
            answers[fast] = []
            for headers in variants:
                response = client.get(f"{V1}/forecasts/DK2/111", headers=headers)
                answers[fast].append((response.status_code, dict(response.headers), response.content))
            metrics = client.get(f"{V1}/metrics").text
            assert 'route="/api/v1/forecasts/{area}/{consumer_type}",status="200"' in metrics
            assert 'route="/api/v1/forecasts/{area}/{consumer_type}",status="304"' in metrics
    assert [a[0] for a in answers[True]] == [200, 200, 200, 304]
    assert answers[True] == answers[False]


# --- all series ------------------------------------------------------------------------------------
def test_all_forecasts_json_and_filters(client: TestClient, written: Written) -> None:
    body = ForecastsResponse.model_validate(client.get(f"{V1}/forecasts").json())
    assert body.run_id == written.forecast.run_id and body.series == len(SMALL_SERIES)
    assert len(body.rows) == 24 * len(SMALL_SERIES)
    dk2 = ForecastsResponse.model_validate(client.get(f"{V1}/forecasts", params={"areas": "DK2"}).json())
    assert {r.area for r in dk2.rows} == {"DK2"} and dk2.series == 2
    both = client.get(f"{V1}/forecasts", params=[("consumer_types", "111"), ("consumer_types", "441")]).json()
    assert {(r["area"], r["consumer_type"]) for r in both["rows"]} == {
        ("DK1", "111"),
        ("DK2", "111"),
        ("DK1", "441"),
    }
    listed = client.get(f"{V1}/forecasts", params={"consumer_types": "111,441"}).json()
    assert listed["rows"] == both["rows"]  # comma-separated or repeated: the same
    assert client.get(f"{V1}/forecasts?areas=").status_code == 422  # an empty code is not "everything"
    assert client.get(f"{V1}/forecasts?areas=DK1,").status_code == 422
    none = ForecastsResponse.model_validate(
        client.get(f"{V1}/forecasts", params={"areas": "DK2", "consumer_types": "441"}).json()
    )
    assert none.series == 0 and none.rows == []
    unknown = client.get(f"{V1}/forecasts", params={"areas": "XX"})
    assert unknown.status_code == 404 and unknown.json()["valid"] == ["DK1", "DK2"]
    assert client.get(f"{V1}/forecasts", params={"format": "xml"}).status_code == 422


def test_all_forecasts_csv_by_format_or_accept(client: TestClient) -> None:
    by_format = client.get(f"{V1}/forecasts", params={"format": "csv", "areas": "DK1"})
    by_accept = client.get(f"{V1}/forecasts", params={"areas": "DK1"}, headers={"Accept": "text/csv"})
    for response in (by_format, by_accept):
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/csv")
        assert "attachment" in response.headers["content-disposition"]
    assert by_format.text == by_accept.text
    rows = list(csv.DictReader(io.StringIO(by_format.text)))
    assert len(rows) == 48 and {r["area"] for r in rows} == {"DK1"}
    assert rows[0]["datetime_utc"] == "2023-01-18T00:00:00Z" and float(rows[0]["forecast_lower"]) > 0
    whole = list(csv.DictReader(io.StringIO(client.get(f"{V1}/forecasts?format=csv").text)))
    assert len(whole) == 24 * len(SMALL_SERIES)
    assert by_format.headers["etag"] != client.get(f"{V1}/forecasts").headers["etag"]


def test_forecast_without_band_has_nulls(store: ObjectStore, settings: Settings) -> None:
    write_forecast(store, settings, band=False)
    with TestClient(create_app(api_settings(settings))) as client:
        body = client.get(f"{V1}/forecasts/DK1/111").json()
        assert body["has_band"] is False and body["observations"] == []
        assert all(p["forecast_lower"] is None and p["forecast_upper"] is None for p in body["forecast"])
        rows = list(csv.DictReader(io.StringIO(client.get(f"{V1}/forecasts?format=csv").text)))
        assert rows[0]["forecast_lower"] == "" and rows[0]["forecast"] != ""


# --- caching ---------------------------------------------------------------------------------------
def test_etag_is_the_generations_and_if_none_match_gives_304(client: TestClient, written: Written) -> None:
    meta = MetaResponse.model_validate(client.get(f"{V1}/meta").json())
    assert meta.forecast is not None and meta.observations is not None and meta.monitoring is not None
    first = client.get(f"{V1}/forecasts/DK1/111")
    etag = first.headers["etag"]
    assert etag == meta.etag
    for generation in (meta.forecast.generation, meta.observations.generation, meta.monitoring.generation):
        assert str(generation) in etag
    assert "max-age=" in first.headers["cache-control"]
    again = client.get(f"{V1}/forecasts/DK1/111", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b"" and again.headers["etag"] == etag
    assert client.get(f"{V1}/forecasts", headers={"If-None-Match": f'"x", {etag}'}).status_code == 304
    assert client.get(f"{V1}/monitoring/metrics", headers={"If-None-Match": etag}).status_code == 304
    assert client.get(f"{V1}/forecasts/DK1/111", headers={"If-None-Match": '"other"'}).status_code == 200


def test_large_bodies_are_gzipped(client: TestClient) -> None:
    raw = client.get(f"{V1}/forecasts/DK1/111", headers={"Accept-Encoding": "gzip"})
    assert raw.headers["content-encoding"] == "gzip"
    assert len(raw.json()["observations"]) == 168  # httpx decoded it
    plain = client.get(f"{V1}/forecasts/DK1/111", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.json() == raw.json()
    csv_gz = client.get(f"{V1}/forecasts?format=csv", headers={"Accept-Encoding": "gzip"})
    assert csv_gz.headers["content-encoding"] == "gzip"
    small = client.get(f"{V1}/health", headers={"Accept-Encoding": "gzip"})
    assert "content-encoding" not in small.headers


# --- monitoring, meta, quality, metrics ------------------------------------------------------------
def test_monitoring_metrics_and_series(client: TestClient, written: Written) -> None:
    metrics = MonitoringMetricsResponse.model_validate(client.get(f"{V1}/monitoring/metrics").json())
    assert written.monitoring is not None and metrics.run_id == written.monitoring.run_id
    assert len(metrics.by_forecast_run) == 3 and len(metrics.by_horizon) == 24
    assert [m.scheduled_time for m in metrics.by_forecast_run] == sorted(
        m.scheduled_time for m in metrics.by_forecast_run
    )
    assert metrics.overall_wape is not None and 0.04 < metrics.overall_wape < 0.06
    wapes = [m.wape or 0 for m in metrics.by_series]
    assert wapes == sorted(wapes, reverse=True)

    series = MonitoringSeriesResponse.model_validate(client.get(f"{V1}/monitoring/series/DK2/999").json())
    assert series.metrics is not None and series.metrics.n == 72 and len(series.pairs) == 72
    assert all(abs(p.forecast - 1.05 * p.observed) < 1e-6 for p in series.pairs)
    empty = MonitoringSeriesResponse.model_validate(client.get(f"{V1}/monitoring/series/DK1/112").json())
    assert empty.metrics is None and empty.pairs == []
    unknown = client.get(f"{V1}/monitoring/series/DK9/111")
    assert unknown.status_code == 404 and unknown.json()["valid"] == ["DK1", "DK2"]


def test_monitoring_absent_is_503_with_a_clear_message(store: ObjectStore, settings: Settings) -> None:
    write_all(store, settings, monitoring=False)
    with TestClient(create_app(api_settings(settings))) as client:
        for path in ("monitoring/metrics", "monitoring/series/DK1/111"):
            response = client.get(f"{V1}/{path}")
            assert response.status_code == 503
            assert "monitoring has not run yet" in response.json()["detail"]
            assert int(response.headers["retry-after"]) > 0
        assert client.get(f"{V1}/forecasts/DK1/111").status_code == 200
        assert client.get(f"{V1}/meta").json()["monitoring"] is None


def test_meta_and_quality(client: TestClient, written: Written, settings: Settings) -> None:
    meta = MetaResponse.model_validate(client.get(f"{V1}/meta").json())
    assert meta.storage_reachable and meta.errors == []
    assert meta.forecast is not None and meta.forecast.model_version == written.forecast.model_version
    assert meta.forecast.generated_at == written.forecast.generated_at
    assert meta.forecast.feature_snapshot.startswith(f"features/{settings.feature_group}/")
    assert meta.forecast.series == len(SMALL_SERIES) and meta.forecast.generation > 0
    assert meta.observations is not None and meta.observations.snapshot == written.observations.snapshot

    quality = QualityResponse.model_validate(client.get(f"{V1}/quality").json())
    assert quality.snapshot == written.observations.snapshot and quality.series == len(SMALL_SERIES)
    assert quality.validation.success and quality.manifest["rows"] == quality.rows
    assert [(q.hours, q.expected_hours) for q in quality.coverage] == [(168, 168)] * len(SMALL_SERIES)


def test_prometheus_metrics(client: TestClient, written: Written, store: ObjectStore) -> None:
    client.get(f"{V1}/forecasts/DK1/111")
    client.get(f"{V1}/forecasts/DK3/111")
    text = client.get(f"{V1}/metrics").text
    assert (
        'ef_api_requests_total{method="GET",route="/api/v1/forecasts/{area}/{consumer_type}",status="200"}'
        in text
    )
    assert 'status="404"' in text
    assert "ef_api_ready 1.0" in text and "ef_api_storage_reachable 1.0" in text
    assert 'ef_api_load_failing{source="forecast"} 0.0' in text
    assert 'ef_api_loads_total{ok="true",source="forecast"} 1.0' in text
    # the monitoring figures under the names of the monitor step's KFP Metrics (and MLflow's)
    served = {match[1]: float(match[2]) for match in re.finditer(r"^ef_monitoring_(\w+) (\S+)$", text, re.M)}
    assert written.monitoring is not None
    summary = MonitoringSummary.model_validate(store.read_json(written.monitoring.summary))
    assert served == pytest.approx(summary.metrics()) and set(served) <= set(MONITOR_METRICS)
    assert {"rolling_wape", "needs_attention", "data_age_hours"} <= set(served)


def test_unchanged_generations_are_checked_but_not_reloaded(client: TestClient) -> None:
    def checks() -> float:
        text = client.get(f"{V1}/metrics").text
        match = re.search(r'^ef_api_storage_checks_total\{ok="true"\} ([\d.]+)$', text, re.M)
        return float(match.group(1)) if match else 0.0

    wait_for(lambda: checks() >= 4, "several generation checks")
    text = client.get(f"{V1}/metrics").text
    for source in ("forecast", "observations", "monitoring"):
        assert f'ef_api_loads_total{{ok="true",source="{source}"}} 1.0' in text
    assert (
        client.get(f"{V1}/meta").json()["last_change_at"] < client.get(f"{V1}/meta").json()["last_check_at"]
    )


# --- refresh and faults ----------------------------------------------------------------------------
def test_refresh_picks_up_a_new_forecast_generation(
    client: TestClient, store: ObjectStore, settings: Settings
) -> None:
    before = client.get(f"{V1}/forecasts/DK1/111")
    old_etag = before.headers["etag"]
    newer = REFERENCE + timedelta(hours=1)
    pointer = write_forecast(store, settings, scheduled=newer, offset=1000.0, model_version="2")
    wait_for(
        lambda: client.get(f"{V1}/meta").json()["forecast"]["run_id"] == pointer.run_id, "the new forecast"
    )
    after = client.get(f"{V1}/forecasts/DK1/111", headers={"If-None-Match": old_etag})
    assert after.status_code == 200 and after.headers["etag"] != old_etag
    body = SeriesForecastResponse.model_validate(after.json())
    assert body.model_version == "2" and body.forecast[0].datetime_utc == newer + timedelta(hours=1)
    assert body.forecast[0].forecast - before.json()["forecast"][1]["forecast"] == pytest.approx(1000.0)
    assert client.get(f"{V1}/meta").json()["forecast"]["generation"] == store.generation(
        layout.FORECAST_LATEST
    )


def _unreadable(store: ObjectStore, settings: Settings) -> None:
    write_forecast(
        store, settings, scheduled=REFERENCE + timedelta(hours=1), parquet=b"PAR1 not parquet at all"
    )


def _missing_column(store: ObjectStore, settings: Settings) -> None:
    frame = forecast_frame(SPEC, REFERENCE + timedelta(hours=1)).drop(columns=["horizon"])
    write_forecast(store, settings, scheduled=REFERENCE + timedelta(hours=1), frame=frame)


def _unknown_codes(store: ObjectStore, settings: Settings) -> None:
    frame = forecast_frame(SPEC, REFERENCE + timedelta(hours=1))
    frame["area"] = "DK9"
    write_forecast(store, settings, scheduled=REFERENCE + timedelta(hours=1), frame=frame)


def _other_dataset(store: ObjectStore, settings: Settings) -> None:
    later = REFERENCE + timedelta(hours=1)
    write_forecast(store, settings, scheduled=later, metadata={"dataset": "ElectricityBalanceNonv"})


def _bad_pointer(store: ObjectStore, settings: Settings) -> None:
    from tests.api_fixtures import move

    move(store, layout.FORECAST_LATEST, {"run_id": "20230118T0000Z", "forecast": 3})


@pytest.mark.parametrize(
    "breakage", [_unreadable, _missing_column, _unknown_codes, _other_dataset, _bad_pointer]
)
def test_a_broken_new_forecast_keeps_the_old_one_in_service(
    client: TestClient,
    written: Written,
    store: ObjectStore,
    settings: Settings,
    breakage: Callable[..., None],
) -> None:
    before = client.get(f"{V1}/forecasts/DK1/111").json()
    breakage(store, settings)
    bad_generation = store.generation(layout.FORECAST_LATEST)
    wait_for(lambda: bool(client.get(f"{V1}/meta").json()["errors"]), "the load error in /meta")
    meta = MetaResponse.model_validate(client.get(f"{V1}/meta").json())
    assert meta.forecast is not None and meta.forecast.run_id == written.forecast.run_id
    (error,) = meta.errors
    assert error.source == "forecast" and error.generation == bad_generation and error.message
    assert client.get(f"{V1}/forecasts/DK1/111").json() == before
    assert client.get(f"{V1}/ready").json()["ready"] is True
    assert 'ef_api_load_failing{source="forecast"} 1.0' in client.get(f"{V1}/metrics").text
    # a good forecast afterwards clears the error
    good = write_forecast(store, settings, scheduled=REFERENCE + timedelta(hours=2))
    wait_for(
        lambda: client.get(f"{V1}/meta").json()["forecast"]["run_id"] == good.run_id, "the good forecast"
    )
    assert client.get(f"{V1}/meta").json()["errors"] == []


def test_empty_bucket_not_ready_and_data_routes_503(store: ObjectStore, settings: Settings) -> None:
    with TestClient(create_app(api_settings(settings))) as client:
        assert client.get(f"{V1}/health").status_code == 200
        ready = client.get(f"{V1}/ready")
        assert ready.status_code == 503 and ready.json()["ready"] is False
        assert "forecasts/latest.json not found" in ready.json()["reason"]
        for path in ("forecasts/DK1/111", "forecasts", "monitoring/metrics", "quality"):
            response = client.get(f"{V1}/{path}")
            assert response.status_code == 503, path
            assert response.headers["retry-after"] == "30" and response.json()["detail"]
        assert client.get(f"{V1}/forecasts/DK3/111").status_code == 404  # input checks come first
        # the pipeline writes its first objects: picked up without a restart
        write_all(store, settings)
        wait_for(lambda: client.get(f"{V1}/ready").status_code == 200, "readiness")
        assert client.get(f"{V1}/forecasts/DK1/111").status_code == 200


def test_cors_only_for_configured_origins(written: Written, settings: Settings) -> None:
    with TestClient(create_app(api_settings(settings))) as client:
        response = client.get(f"{V1}/areas", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in response.headers
    app = create_app(api_settings(settings, api_cors_origins="http://localhost:8501, http://dash.example"))
    with TestClient(app) as client:
        allowed = client.get(f"{V1}/areas", headers={"Origin": "http://dash.example"})
        assert allowed.headers["access-control-allow-origin"] == "http://dash.example"
        other = client.get(f"{V1}/areas", headers={"Origin": "http://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_cors_wildcard_is_refused() -> None:
    with pytest.raises(ValueError, match="wildcard"):
        ApiSettings(api_cors_origins="*")


def test_python_m_serving_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "serving", "--help"], capture_output=True, text=True, timeout=60, check=True
    )
    assert "EF_API_PORT" in result.stdout and "--port" in result.stdout
