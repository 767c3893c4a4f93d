"""A bad KINDMAP_* setting is bad input for every command: exit 2 naming the variable, never its value."""

import pytest
from typer.testing import CliRunner

from kindmap.cli import app
from kindmap.config import get_settings


@pytest.mark.parametrize("command", [["near", "LE15 6HP"], ["db", "check"], ["export", "geojson", "--out", "x.geojson"],
                                     ["gaps", "--region", "rutland"]])
def test_bad_settings_exit_2_with_the_variable_and_without_the_value(command, tmp_path):
    env = {"KINDMAP_STATE_DIR": str(tmp_path), "KINDMAP_MAX_LIMIT": "-3",
           "KINDMAP_DATABASE_URL": "postgresql+psycopg://kindmap:s3cret-pass@db.invalid/kindmap",
           "KINDMAP_LOG_FORMAT": "xml"}
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(app, command, env=env)
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2, result.output
    message = " ".join(result.output.split())
    assert "KINDMAP_MAX_LIMIT: Input should be greater than 0" in message
    assert "KINDMAP_LOG_FORMAT: should be one of text, json" in message
    assert "s3cret-pass" not in result.output and "Traceback" not in result.output
