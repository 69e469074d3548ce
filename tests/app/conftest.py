"""AppTest fixtures: a published demo market (built once) and a fresh database per test."""

from __future__ import annotations

import contextlib
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from nexus.auth.local import LocalBackend
from nexus.db.engine import get_engine
from nexus.db.migrate import upgrade
from nexus.settings import get_settings, load_settings

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"


@pytest.fixture(scope="session")
def published_market(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the full demo history published once for the whole session."""
    from ingest.jobs import run_prices

    data_dir = tmp_path_factory.mktemp("market")
    run_prices(load_settings({"NEXUS_DATA_DIR": str(data_dir)}), progress=False)
    return data_dir / "markets" / "history.duckdb"


@pytest.fixture
def app_settings(tmp_path, monkeypatch, published_market):
    data_dir = tmp_path / "data"
    (data_dir / "markets").mkdir(parents=True)
    shutil.copy(published_market, data_dir / "markets" / "history.duckdb")
    monkeypatch.setenv("NEXUS_DATA_DIR", str(data_dir))
    monkeypatch.delenv("NEXUS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    settings = get_settings()
    upgrade(settings)
    _clear_streamlit_caches()
    yield settings
    _clear_streamlit_caches()
    get_settings.cache_clear()


def _clear_streamlit_caches() -> None:
    import streamlit as st

    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture
def backend(app_settings) -> LocalBackend:
    return LocalBackend(get_engine(app_settings), app_settings)


def page(path: str) -> AppTest:
    return AppTest.from_file(str(ROOT / path), default_timeout=60)


@pytest.fixture
def signed_in(backend):
    """Factory: an AppTest for ``path`` with a signed-in user (created on first use)."""

    def make(path: str, email: str = "ann@example.com") -> tuple[AppTest, object]:
        with contextlib.suppress(Exception):
            backend.sign_up(email, PASSWORD)
        result = backend.sign_in_with_password(email, PASSWORD)
        at = page(path)
        at.session_state["nexus_session_id"] = str(result.session_id)
        return at, result

    return make
