"""Shared fixtures: isolated data dirs, migrated databases on SQLite and a real Postgres."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from nexus.settings import Settings, get_settings, load_settings

# Fixture modules shared by several test folders (registered once for the whole run).
pytest_plugins = ["tests.fixtures.app", "tests.fixtures.browser"]

ROOT = Path(__file__).resolve().parents[1]
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
POSTGRES_URL = os.environ.get(
    "NEXUS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)


def missing_part(reason: str) -> None:
    """Skip for a part this machine lacks; under CI=true that is a failure instead."""
    if IN_CI:
        pytest.fail(f"CI=true and a required part is missing: {reason}")
    pytest.skip(reason)


@pytest.fixture
def settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """Settings on a fresh data dir; the process-wide settings point there too."""
    monkeypatch.setenv("NEXUS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("NEXUS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    yield get_settings()
    get_settings.cache_clear()


def _postgres_available() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL.replace("postgresql://", "postgresql+psycopg://"))
        with engine.connect() as conn:
            conn.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL not reachable at {POSTGRES_URL}: {type(exc).__name__}"
    return None


@pytest.fixture(scope="session")
def postgres_url() -> str:
    problem = _postgres_available()
    if problem:
        missing_part(problem)
    return POSTGRES_URL


@pytest.fixture
def postgres_schema_url(postgres_url: str) -> Iterator[str]:
    """A URL whose search_path is a brand-new schema, dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in postgres_url else "?"
    yield f"{postgres_url}{sep}options=-csearch_path%3D{schema}"
    from nexus.db.engine import engine_for

    engine_for.cache_clear()
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def db_settings(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Settings]:
    """Migrated database settings, once on SQLite and once on a real Postgres."""
    from nexus.db.migrate import upgrade

    env = {"NEXUS_DATA_DIR": str(tmp_path / "data")}
    if request.param == "postgres":
        env["NEXUS_DATABASE_URL"] = request.getfixturevalue("postgres_schema_url")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    s = load_settings(env)
    upgrade(s)
    yield s
    get_settings.cache_clear()
