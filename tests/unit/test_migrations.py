"""Alembic migrations run unchanged on SQLite and Postgres, up and down."""

from __future__ import annotations

from sqlalchemy import create_engine, inspect

from nexus.db.migrate import downgrade, upgrade
from nexus.db.schema import Base

REQUIRED = {
    "users",
    "sessions",
    "portfolios",
    "instruments",
    "transactions",
    "user_preferences",
    "audit_log",
}


def _tables(settings) -> set[str]:
    engine = create_engine(settings.sqlalchemy_url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_upgrade_creates_every_table_and_matches_the_models(db_settings):
    tables = _tables(db_settings)
    assert tables >= REQUIRED | {"alembic_version"}
    assert tables - {"alembic_version"} == set(Base.metadata.tables)


def test_downgrade_to_base_and_upgrade_again(db_settings):
    downgrade(db_settings, "base")
    assert _tables(db_settings) <= {"alembic_version"}
    upgrade(db_settings)
    assert _tables(db_settings) >= REQUIRED


def test_models_and_migrations_do_not_drift(db_settings):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    engine = create_engine(db_settings.sqlalchemy_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []
