"""Documentation stays true: every setting is in the README's configuration table."""

from __future__ import annotations

import re

from nexus.settings import Settings
from tests.conftest import ROOT


def _config_table() -> set[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    return set(re.findall(r"^\| `([A-Z0-9_]+)` \|", section, flags=re.MULTILINE))


def test_every_setting_is_documented_in_the_readme():
    fields = {f.alias for f in Settings.model_fields.values()}
    documented = _config_table()
    assert fields - documented == set(), "add these to the README configuration table"
    assert documented - fields == set(), "the README documents settings that do not exist"


def test_readme_shows_the_two_commands_and_the_screenshot_exists():
    text = (ROOT / "README.md").read_text()
    assert "make run" in text and "make test" in text
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", text):
        assert (ROOT / image).is_file(), image


def test_the_readme_notebook_example_runs(published_market, monkeypatch):
    """The notebook example works as printed, against the published demo data."""
    from nexus.settings import get_settings

    text = (ROOT / "README.md").read_text()
    section = text.split("### From a notebook", 1)[1]
    code = section.split("```python", 1)[1].split("```", 1)[0]
    monkeypatch.setenv("NEXUS_DATA_DIR", str(published_market.parent.parent))
    get_settings.cache_clear()
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    result = scope["perf"].window_returns(scope["daily"], scope["window"])
    assert result.end_value > 0
    sharpe = scope["metrics"].sharpe_ratio(scope["returns"])
    assert set(sharpe.columns) == {"GRNB", "AURW", "NXUS"} and sharpe.height == 1
