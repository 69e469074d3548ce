"""Alembic migrations run unchanged on SQLite and Postgres, up and down, with data."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy import create_engine, inspect

from nexus.db.migrate import downgrade, upgrade
from nexus.db.schema import Base

REQUIRED = {
    "accounts",
    "allocation_targets",
    "import_mappings",
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


def _table(table_name: str, /, **columns) -> sa.TableClause:
    return sa.table(table_name, *(sa.column(c, t) for c, t in columns.items()))


UUID, TEXT, NUM = sa.Uuid(), sa.String(), sa.Double()
NOW_T = sa.DateTime(timezone=True)


def _seed_0004(engine) -> dict[str, list]:
    """Two users with three portfolios and transactions, written with the 0004 schema."""
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    stamps = {"created_at": now, "updated_at": now}
    users = _table(
        "users", id=UUID, email=TEXT, pw_hash=TEXT, role=TEXT, display_name=TEXT, created_at=NOW_T
    )
    portfolios = _table(
        "portfolios",
        id=UUID,
        owner_id=UUID,
        name=TEXT,
        base_currency=TEXT,
        is_demo=sa.Boolean(),
        created_at=NOW_T,
        updated_at=NOW_T,
    )
    instruments = _table(
        "instruments", symbol=TEXT, name=TEXT, currency=TEXT, asset_class=TEXT, updated_at=NOW_T
    )
    txns = _table(
        "transactions",
        portfolio_id=UUID,
        kind=TEXT,
        trade_date=sa.Date(),
        symbol=TEXT,
        quantity=NUM,
        price=NUM,
        amount=NUM,
        fee=NUM,
        currency=TEXT,
        note=TEXT,
        created_at=NOW_T,
        updated_at=NOW_T,
    )
    pids = [uuid.uuid4(), uuid.uuid4(), uuid.uuid4()]
    with engine.begin() as conn:
        for i, owner in enumerate((uuid.uuid4(), uuid.uuid4())):
            conn.execute(
                users.insert().values(
                    id=owner,
                    email=f"u{i}@example.com",
                    pw_hash="x",
                    role="analyst",
                    display_name="",
                    created_at=now,
                )
            )
            for pid, name in zip(pids[i * 2 : i * 2 + 2], ("A", "B"), strict=False):
                conn.execute(
                    portfolios.insert().values(
                        id=pid,
                        owner_id=owner,
                        name=name,
                        base_currency="USD",
                        is_demo=False,
                        **stamps,
                    )
                )
        conn.execute(
            instruments.insert().values(
                symbol="AAPL", name="Apple", currency="USD", asset_class="equity", updated_at=now
            )
        )
        rows = [
            (pids[0], "deposit", None, 0, 0, 1000),
            (pids[0], "buy", "AAPL", 5, 100, 0),
            (pids[1], "dividend", "AAPL", 0, 0, 3),
            (pids[2], "sell", "AAPL", 1, 110, 0),
        ]
        for pid, kind, symbol, qty, price, amount in rows:
            conn.execute(
                txns.insert().values(
                    portfolio_id=pid,
                    kind=kind,
                    trade_date=date(2024, 1, 2),
                    symbol=symbol,
                    quantity=qty,
                    price=price,
                    amount=amount,
                    fee=0,
                    currency="USD",
                    note=kind,
                    **stamps,
                )
            )
    return {"portfolios": pids, "notes": sorted(r[1] for r in rows)}


def test_0005_upgrades_a_database_with_data_and_downgrades(db_settings):
    downgrade(db_settings, "0004")
    engine = create_engine(db_settings.sqlalchemy_url)
    try:
        seeded = _seed_0004(engine)
        upgrade(db_settings)
        with engine.connect() as conn:
            accounts = conn.execute(
                sa.select(_table("accounts", id=UUID, portfolio_id=UUID, name=TEXT))
            ).all()
            # One "Main" account per existing portfolio (including the one without rows).
            assert sorted(a.portfolio_id for a in accounts) == sorted(seeded["portfolios"])
            assert {a.name for a in accounts} == {"Main"}
            main_of = {a.portfolio_id: a.id for a in accounts}
            rows = conn.execute(
                sa.select(
                    _table(
                        "transactions",
                        portfolio_id=UUID,
                        account_id=UUID,
                        note=TEXT,
                        fx_rate=NUM,
                        transfer_id=UUID,
                    )
                )
            ).all()
            assert sorted(r.note for r in rows) == seeded["notes"]
            for r in rows:  # each transaction sits in its own portfolio's Main account
                assert r.account_id == main_of[r.portfolio_id]
                assert r.fx_rate is None and r.transfer_id is None
            methods = conn.execute(sa.text("SELECT DISTINCT lot_method FROM portfolios")).all()
            assert methods == [("fifo",)]

        # The upgraded data works through the repository: new kinds, accounts, FK.
        from nexus.auth.models import Actor
        from nexus.portfolio.model import InstrumentInfo, TransactionDraft
        from nexus.portfolio.repository import PortfolioRepository

        with engine.connect() as conn:
            portfolios = _table("portfolios", id=UUID, owner_id=UUID)
            owner = conn.execute(
                sa.select(portfolios.c.owner_id).where(portfolios.c.id == seeded["portfolios"][0])
            ).scalar_one()
        actor = Actor(owner, "u0@example.com", "analyst")
        repo = PortfolioRepository(engine)
        pid = seeded["portfolios"][0]
        assert [a.name for a in repo.list_accounts(actor, pid)] == ["Main"]
        repo.add_transaction(
            actor,
            pid,
            TransactionDraft("split", date(2024, 2, 1), "USD", "AAPL", 2.0),
            {"AAPL": InstrumentInfo("AAPL", "Apple", "USD")},
            today=date(2026, 1, 1),
        )
        assert [r.kind for r in repo.list_transactions(actor, pid)] == ["deposit", "buy", "split"]

        # Downgrade refuses while a transaction of a new kind exists, and changes nothing.
        with pytest.raises(RuntimeError, match="1 transaction\\(s\\) use the kinds"):
            downgrade(db_settings, "0004")
        assert "accounts" in _tables(db_settings)
        split = repo.list_transactions(actor, pid)[-1]
        repo.delete_transaction(actor, pid, split.id)
        downgrade(db_settings, "0004")
        tables = _tables(db_settings)
        assert not tables & {"accounts", "allocation_targets", "import_mappings"}
        with engine.connect() as conn:
            notes = conn.execute(sa.text("SELECT note FROM transactions ORDER BY note")).scalars()
            assert list(notes) == seeded["notes"]
            columns = {c["name"] for c in inspect(conn).get_columns("transactions")}
            assert not columns & {"account_id", "fx_rate", "transfer_id"}
        upgrade(db_settings)  # and up again, with the data
        with engine.connect() as conn:
            n = conn.execute(sa.text("SELECT count(*) FROM transactions")).scalar_one()
            assert n == len(seeded["notes"])
    finally:
        engine.dispose()
