"""Settings: precedence, validation messages, generated secret key."""

from __future__ import annotations

import pytest

from nexus.settings import Settings, SettingsError, load_settings


def test_defaults_are_the_embedded_setup(tmp_path):
    s = load_settings({}, secrets_path=tmp_path / "none.toml")
    assert s.data_dir.as_posix() == "data"
    assert s.sqlalchemy_url.startswith("sqlite:///") and s.sqlalchemy_url.endswith("data/nexus.db")
    assert s.history_path.as_posix() == "data/markets/history.duckdb"
    assert (s.auth_backend, s.market_provider) == ("local", "demo")


def test_environment_beats_secrets_toml_beats_defaults(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        'NEXUS_SESSION_IDLE_MINUTES = 30\nNEXUS_BASE_CURRENCY = "EUR"\n[connections]\nx = 1\n'
    )
    s = load_settings({"NEXUS_SESSION_IDLE_MINUTES": "45"}, secrets_path=secrets)
    assert s.session_idle_minutes == 45
    assert s.base_currency == "EUR"
    assert load_settings({}, secrets_path=secrets).session_idle_minutes == 30


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"NEXUS_AUTH_BACKEND": "ldap"}, "NEXUS_AUTH_BACKEND='ldap' is not accepted; use one of"),
        ({"NEXUS_BASE_CURRENCY": "BTC"}, "NEXUS_BASE_CURRENCY='BTC' is not accepted"),
        ({"NEXUS_SESSION_IDLE_MINUTES": "soon"}, "NEXUS_SESSION_IDLE_MINUTES='soon'"),
        ({"NEXUS_SESSION_IDLE_MINUTES": "1"}, "greater than or equal to 5"),
        ({"NEXUS_PRICES_CRON": "every day"}, "NEXUS_PRICES_CRON='every day'"),
        ({"NEXUS_DATABASE_URL": "mysql://x"}, "must start with sqlite:// or postgresql://"),
    ],
)
def test_bad_values_name_the_setting_and_accepted_values(tmp_path, env, expected):
    with pytest.raises(SettingsError, match="Invalid configuration") as err:
        load_settings(env, secrets_path=tmp_path / "none.toml")
    assert expected in str(err.value)


def test_bad_value_stops_the_command_line_with_the_message(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "nexus", "migrate"],
        env={"NEXUS_DATA_DIR": str(tmp_path), "NEXUS_AUTH_BACKEND": "ldap", "PATH": "/usr/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "NEXUS_AUTH_BACKEND='ldap' is not accepted" in result.stderr


def test_secret_key_is_generated_once_and_private(tmp_path):
    s = load_settings({"NEXUS_DATA_DIR": str(tmp_path)}, secrets_path=tmp_path / "none.toml")
    key = s.signing_key()
    assert len(key) >= 48 and s.signing_key() == key
    assert oct((tmp_path / "secret_key").stat().st_mode & 0o777) == "0o600"
    explicit = load_settings({"NEXUS_SECRET_KEY": "k" * 40}, secrets_path=tmp_path / "n.toml")
    assert explicit.signing_key() == b"k" * 40
    assert "k" * 40 not in repr(explicit)


def test_postgres_url_gets_the_psycopg_driver():
    s = Settings(NEXUS_DATABASE_URL="postgresql://u@h:5432/db")
    assert s.sqlalchemy_url == "postgresql+psycopg://u@h:5432/db"
    assert not s.is_sqlite
