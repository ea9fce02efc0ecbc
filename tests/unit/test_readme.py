"""The README documents what the code does: its settings table is the generated one, and the two
commands, the offline snapshot and the data credit are on it."""

from __future__ import annotations

from pathlib import Path

from components.settings_doc import markdown

README = Path(__file__).resolve().parents[2] / "README.md"


def test_settings_table_matches_the_code() -> None:
    text = README.read_text()
    start, end = text.index("<!-- settings:start -->"), text.index("<!-- settings:end -->")
    documented = text[start + len("<!-- settings:start -->") : end].strip()
    assert documented == markdown().strip(), "run: python -m components.settings_doc and paste it"


def test_first_screen_has_the_two_commands_and_offline_use() -> None:
    text = README.read_text()
    first_screen = "\n".join(text.splitlines()[:30])
    assert "make demo" in first_screen and "make test" in first_screen
    assert "ENERGY_SNAPSHOT=" in text
    assert "Source: Energinet (www.energidataservice.dk)" in text and "CC BY 4.0" in text
    assert "```mermaid" in text
