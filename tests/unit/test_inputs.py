"""``components.inputs``: a settings class that refuses its values is one line naming each variable
(or the option it was given as), its value and what is allowed; a secret's value is never shown."""

from __future__ import annotations

import argparse

import pytest

from components.inputs import InvalidSettings, Parser, read_settings
from components.settings import Settings
from dashboard.settings import DashboardSettings
from pipelines.remote_settings import KfpSettings


def _line(model: type, options: dict[str, str] | None = None, **values: object) -> str:
    with pytest.raises(InvalidSettings) as err:
        read_settings(model, options, **values)
    text = str(err.value)
    assert "\n" not in text
    return text


def test_each_bad_variable_is_named_with_its_value_and_what_is_allowed(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("EF_HORIZON", "0")
    monkeypatch.setenv("EF_KATIB_ALGORITHM", "grid")
    assert _line(Settings) == (
        "invalid setting EF_HORIZON='0': Input should be greater than or equal to 1; "
        "EF_KATIB_ALGORITHM='grid': Input should be 'tpe' or 'random'"
    )


def test_an_option_is_named_as_given_and_only_when_given(monkeypatch: pytest.MonkeyPatch) -> None:
    options = {"days_export": "--days-export"}
    assert _line(Settings, options, days_export=1) == (
        "invalid setting --days-export=1: days_export must be 0 (the dataset's default) or at least 2"
    )
    monkeypatch.setenv("EF_DAYS_EXPORT", "-3")
    assert _line(Settings, options).startswith("invalid setting EF_DAYS_EXPORT='-3': ")


def test_a_variable_of_its_own_name_is_named_as_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EF_API_URL", "localhost:8000")
    assert _line(DashboardSettings).startswith(
        "invalid setting EF_API_URL='localhost:8000': EF_API_URL must be"
    )


def test_json_that_does_not_parse_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EF_TUNE_FIXED", "{n_estimators: 100}")
    assert _line(Settings).startswith("invalid setting EF_TUNE_FIXED='{n_estimators: 100}': not valid JSON (")


def test_a_secret_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EF_KFP_EXISTING_TOKEN", "s3cr3t-token")
    monkeypatch.setenv("EF_KFP_CLIENT_ID", "client")
    line = _line(KfpSettings)
    assert line.startswith("invalid setting EF_KFP_*: ") and "s3cr3t" not in line


def test_the_parser_reports_an_argument_error_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    parser = Parser(prog="python -m tool")
    parser.add_argument("--count", type=int)
    with pytest.raises(SystemExit) as done:
        parser.parse_args(["--count", "many"])
    assert done.value.code == 2
    assert capsys.readouterr().err.splitlines() == [
        "python -m tool: error: argument --count: invalid int value: 'many' (see python -m tool --help)"
    ]
    assert isinstance(parser, argparse.ArgumentParser)
