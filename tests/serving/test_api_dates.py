"""Times at the edges of ``datetime`` in a series' window: never a 500, and a time that has no UTC
``datetime`` (``0001-01-01T00:00:00+01:00`` is in year 0) is a 422 naming the valid range."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from serving.deps import TIME_RANGE
from tests.serving.conftest import V1

SERIES = f"{V1}/forecasts/DK1/111"
OFFSETS = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
EDGE_TIMES = st.one_of(
    st.datetimes(max_value=datetime(1, 1, 2), timezones=OFFSETS),
    st.datetimes(min_value=datetime(9999, 12, 30), timezones=OFFSETS),
    st.datetimes(timezones=OFFSETS),
)


def _has_utc(moment: datetime) -> bool:
    try:
        moment.astimezone(UTC)
    except OverflowError:
        return False
    return True


@pytest.mark.parametrize(
    ("name", "value"), [("start", "0001-01-01T00:00:00+01:00"), ("end", "9999-12-31T23:59:59-01:00")]
)
def test_a_time_without_a_utc_datetime_is_422_naming_the_range(
    client: TestClient, name: str, value: str
) -> None:
    response = client.get(SERIES, params={name: value})
    assert response.status_code == 422
    assert response.json()["detail"] == [
        {
            "type": "value_error",
            "loc": ["query", name],
            "msg": f"{name} is out of range: in UTC it must be within {TIME_RANGE}",
            "input": value,
        }
    ]
    assert TIME_RANGE == "0001-01-01T00:00:00+00:00 to 9999-12-31T23:59:59.999999+00:00"


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(moment=EDGE_TIMES, name=st.sampled_from(["start", "end"]))
def test_no_time_in_a_window_is_a_500(client: TestClient, moment: datetime, name: str) -> None:
    response = client.get(SERIES, params={name: moment.isoformat()})
    if _has_utc(moment):
        assert response.status_code == 200, response.text
    else:
        assert response.status_code == 422, response.text
        assert TIME_RANGE in response.json()["detail"][0]["msg"]
