"""Row-level security on Postgres: the database itself keeps users apart.

Queries here deliberately have NO owner filters: whatever they return is what the policies
of migrations 0003-0005 let through for the claims set by ``nexus.db.rls``. Portfolios (and
their accounts, transactions and allocation targets) and import mappings are private even
from admins; the admin claim only widens ``users`` and ``audit_log`` reads.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy import Engine, create_engine, event, insert, text
from sqlalchemy.exc import DBAPIError

from nexus.auth.models import Actor
from nexus.db.migrate import downgrade, upgrade
from nexus.db.rls import user_connection, user_transaction
from nexus.db.schema import (
    Account,
    AllocationTarget,
    AuditEvent,
    AuthThrottle,
    ImportMapping,
    Instrument,
    MfaFactor,
    MfaRecoveryCode,
    PasswordResetToken,
    Portfolio,
    Session,
    Transaction,
    User,
    UserPreferences,
)
from nexus.portfolio.model import InstrumentInfo, TransactionDraft
from nexus.portfolio.repository import PortfolioRepository
from nexus.settings import load_settings


def postgres_only(test):
    """Run ``test`` with the Postgres variant of ``db_settings`` only."""
    test = pytest.mark.parametrize("db_settings", ["postgres"], indirect=True)(test)
    return pytest.mark.postgres(test)


ALICE = Actor(uuid.uuid4(), "alice@example.com", "analyst")
BOB = Actor(uuid.uuid4(), "bob@example.com", "analyst")
ADMIN = Actor(uuid.uuid4(), "admin@example.com", "admin")
USER_TABLES = (
    UserPreferences,
    Session,
    MfaFactor,
    MfaRecoveryCode,
    PasswordResetToken,
    ImportMapping,
)
PORTFOLIO_TABLES = (Account, Transaction, AllocationTarget)


def _seed(engine: Engine) -> dict[uuid.UUID, uuid.UUID]:
    """Three users, one portfolio each with one account, one transaction and one target,
    one row per per-user table."""
    now = datetime.now(UTC)
    portfolios = {}
    with engine.begin() as conn:  # as the owner role: RLS does not apply
        conn.execute(insert(Instrument).values(symbol="AAPL", name="Apple", currency="USD"))
        for actor in (ALICE, BOB, ADMIN):
            uid = actor.user_id
            conn.execute(
                insert(User).values(
                    id=uid, email=actor.email, pw_hash="x", role=actor.role, display_name=""
                )
            )
            pid = portfolios[uid] = uuid.uuid4()
            conn.execute(
                insert(Portfolio).values(
                    id=pid, owner_id=uid, name="Main", base_currency="USD", is_demo=False
                )
            )
            aid = uuid.uuid4()
            conn.execute(insert(Account).values(id=aid, portfolio_id=pid, name="Main"))
            conn.execute(
                insert(AllocationTarget).values(
                    portfolio_id=pid, dimension="symbol", bucket="AAPL", target_weight=1.0
                )
            )
            conn.execute(
                insert(Transaction).values(
                    portfolio_id=pid,
                    account_id=aid,
                    kind="buy",
                    trade_date=date(2024, 1, 2),
                    symbol="AAPL",
                    quantity=1,
                    price=100,
                    currency="USD",
                    note="",
                )
            )
            conn.execute(insert(UserPreferences).values(user_id=uid, base_currency="USD"))
            conn.execute(insert(Session).values(user_id=uid, expires_at=now + timedelta(days=1)))
            conn.execute(insert(MfaFactor).values(user_id=uid, secret_enc="enc"))
            conn.execute(insert(MfaRecoveryCode).values(user_id=uid, code_hash=uuid.uuid4().hex))
            conn.execute(
                insert(PasswordResetToken).values(
                    user_id=uid, token_hash=uuid.uuid4().hex, expires_at=now
                )
            )
            conn.execute(insert(AuditEvent).values(user_id=uid, event="sign_in", detail={}))
            conn.execute(
                insert(ImportMapping).values(
                    id=uuid.uuid4(), user_id=uid, name="Broker", source_kind="csv", mapping={}
                )
            )
        conn.execute(insert(AuthThrottle).values(key="user:alice@example.com", failures=1))
    return portfolios


@pytest.fixture
def pg(db_settings) -> Iterator[tuple[Engine, dict[uuid.UUID, uuid.UUID]]]:
    # One pooled connection, so tests can look at the very connection a transaction used.
    engine = create_engine(db_settings.sqlalchemy_url, pool_size=1, max_overflow=0)
    try:
        yield engine, _seed(engine)
    finally:
        engine.dispose()


def _col(conn, sql: str, **params) -> list:
    return list(conn.execute(text(sql), params).scalars())


@postgres_only
def test_unfiltered_selects_return_only_own_rows(pg):
    engine, portfolios = pg
    with user_transaction(engine, ALICE) as conn:
        assert _col(conn, "SELECT current_user") == ["authenticated"]
        assert _col(conn, "SELECT auth.uid()") == [ALICE.user_id]
        assert _col(conn, "SELECT owner_id FROM portfolios") == [ALICE.user_id]
        for model in PORTFOLIO_TABLES:
            table = model.__tablename__
            assert _col(conn, f"SELECT portfolio_id FROM {table}") == [portfolios[ALICE.user_id]], (
                table
            )
        assert _col(conn, "SELECT id FROM users") == [ALICE.user_id]
        for model in USER_TABLES:
            table = model.__tablename__
            assert _col(conn, f"SELECT user_id FROM {table}") == [ALICE.user_id], table
        assert _col(conn, "SELECT count(*) FROM audit_log") == [0]  # admins only
    with engine.connect() as conn:  # the owner still sees everything
        assert _col(conn, "SELECT count(*) FROM portfolios") == [3]


@postgres_only
def test_changes_to_other_users_rows_affect_nothing(pg):
    engine, portfolios = pg
    bob_pid = portfolios[BOB.user_id]
    statements = [
        ("UPDATE portfolios SET name = 'pwned' WHERE id = :pid", {"pid": bob_pid}),
        ("UPDATE portfolios SET name = 'pwned'", {}),
        ("UPDATE transactions SET quantity = 999 WHERE portfolio_id = :pid", {"pid": bob_pid}),
        ("DELETE FROM transactions WHERE portfolio_id = :pid", {"pid": bob_pid}),
        ("DELETE FROM portfolios WHERE id = :pid", {"pid": bob_pid}),
        ("UPDATE accounts SET name = 'pwned' WHERE portfolio_id = :pid", {"pid": bob_pid}),
        ("DELETE FROM accounts WHERE portfolio_id = :pid", {"pid": bob_pid}),
        (
            "UPDATE allocation_targets SET target_weight = 0 WHERE portfolio_id = :pid",
            {"pid": bob_pid},
        ),
        ("DELETE FROM allocation_targets WHERE portfolio_id = :pid", {"pid": bob_pid}),
        ("UPDATE import_mappings SET name = 'pwned' WHERE user_id = :uid", {"uid": BOB.user_id}),
        ("DELETE FROM import_mappings WHERE user_id = :uid", {"uid": BOB.user_id}),
        ("DELETE FROM sessions WHERE user_id = :uid", {"uid": BOB.user_id}),
        ("DELETE FROM mfa_factors WHERE user_id = :uid", {"uid": BOB.user_id}),
        ("UPDATE users SET display_name = 'x' WHERE id = :uid", {"uid": BOB.user_id}),
    ]
    with user_transaction(engine, ALICE) as conn:
        for sql, params in statements:
            # An unfiltered UPDATE touches Alice's own portfolio only.
            expected = 1 if sql == "UPDATE portfolios SET name = 'pwned'" else 0
            assert conn.execute(text(sql), params).rowcount == expected, sql
    with engine.connect() as conn:
        assert _col(conn, "SELECT name FROM portfolios WHERE id = :p", p=bob_pid) == ["Main"]
        assert _col(conn, "SELECT quantity FROM transactions WHERE portfolio_id = :p", p=bob_pid)
        assert _col(conn, "SELECT count(*) FROM sessions") == [3]
        assert _col(conn, "SELECT name FROM accounts WHERE portfolio_id = :p", p=bob_pid) == [
            "Main"
        ]
        assert _col(conn, "SELECT count(*) FROM allocation_targets") == [3]
        assert _col(conn, "SELECT count(*) FROM import_mappings WHERE name = 'Broker'") == [3]


@postgres_only
def test_inserting_rows_for_another_user_is_refused(pg):
    engine, portfolios = pg
    attempts = [
        (
            "INSERT INTO portfolios (id, owner_id, name, base_currency, is_demo, created_at,"
            " updated_at) VALUES (:id, :owner, 'Sneaky', 'USD', false, now(), now())",
            {"id": uuid.uuid4(), "owner": BOB.user_id},
        ),
        (
            "INSERT INTO transactions (portfolio_id, kind, trade_date, quantity, price, amount,"
            " fee, currency, note, created_at, updated_at) VALUES (:pid, 'deposit',"
            " '2024-01-01', 0, 0, 5, 0, 'USD', '', now(), now())",
            {"pid": portfolios[BOB.user_id]},
        ),
        (
            "UPDATE portfolios SET owner_id = :bob WHERE owner_id = :alice",  # give away
            {"bob": BOB.user_id, "alice": ALICE.user_id},
        ),
        (
            "INSERT INTO accounts (id, portfolio_id, name, created_at)"
            " VALUES (:id, :pid, 'Sneaky', now())",
            {"id": uuid.uuid4(), "pid": portfolios[BOB.user_id]},
        ),
        (
            "UPDATE accounts SET portfolio_id = :bob_pid",  # move own account to Bob
            {"bob_pid": portfolios[BOB.user_id]},
        ),
        (
            "INSERT INTO allocation_targets (portfolio_id, dimension, bucket, target_weight)"
            " VALUES (:pid, 'sector', 'Tech', 1)",
            {"pid": portfolios[BOB.user_id]},
        ),
        (
            "INSERT INTO import_mappings (id, user_id, name, source_kind, mapping, created_at)"
            " VALUES (:id, :uid, 'Sneaky', 'csv', '{}', now())",
            {"id": uuid.uuid4(), "uid": BOB.user_id},
        ),
        (
            "INSERT INTO audit_log (at, user_id, event, detail, ip)"
            " VALUES (now(), :uid, 'forged', '{}', '')",
            {"uid": BOB.user_id},
        ),
    ]
    for sql, params in attempts:
        with (
            pytest.raises(DBAPIError, match="row-level security"),
            user_transaction(engine, ALICE) as conn,
        ):
            conn.execute(text(sql), params)


@postgres_only
def test_a_transaction_cannot_use_another_portfolios_account(pg):
    """The (account_id, portfolio_id) foreign key: Alice's own transaction row cannot point
    at Bob's account, even though foreign-key checks bypass row-level security."""
    engine, portfolios = pg
    with engine.connect() as conn:
        bob_account = _col(
            conn, "SELECT id FROM accounts WHERE portfolio_id = :p", p=portfolios[BOB.user_id]
        )[0]
    with (
        pytest.raises(DBAPIError, match="foreign key"),
        user_transaction(engine, ALICE) as conn,
    ):
        conn.execute(
            text(
                "INSERT INTO transactions (portfolio_id, account_id, kind, trade_date, quantity,"
                " price, amount, fee, currency, note, created_at, updated_at) VALUES (:pid, :aid,"
                " 'deposit', '2024-01-01', 0, 0, 5, 0, 'USD', '', now(), now())"
            ),
            {"pid": portfolios[ALICE.user_id], "aid": bob_account},
        )


@postgres_only
def test_own_inserts_pass_the_policies(pg):
    engine, _ = pg
    with user_transaction(engine, ALICE) as conn:
        conn.execute(
            insert(Portfolio).values(
                id=uuid.uuid4(), owner_id=ALICE.user_id, name="Second", base_currency="EUR"
            )
        )
        # Users may append audit events but not read them back, so no RETURNING: inline().
        conn.execute(
            insert(AuditEvent).inline().values(user_id=ALICE.user_id, event="x", detail={})
        )
        conn.execute(insert(AuditEvent).inline().values(user_id=None, event="y", detail={}))
        # Instruments are shared reference data: readable by all, insertable by users.
        conn.execute(insert(Instrument).values(symbol="SAP", name="SAP SE", currency="EUR"))
        assert _col(conn, "SELECT symbol FROM instruments ORDER BY symbol") == ["AAPL", "SAP"]
    with user_transaction(engine, BOB) as conn:
        assert _col(conn, "SELECT count(*) FROM instruments") == [2]


@postgres_only
def test_role_and_claims_are_reset_after_the_transaction(pg):
    engine, _ = pg
    with user_transaction(engine, ALICE) as conn:
        pid = conn.execute(text("SELECT pg_backend_pid()")).scalar_one()
        assert conn.execute(text("SELECT auth.jwt() ->> 'email'")).scalar_one() == ALICE.email
    with pytest.raises(RuntimeError), user_transaction(engine, BOB) as conn:
        raise RuntimeError("rolled back")
    with user_connection(engine, ALICE) as conn:
        assert _col(conn, "SELECT current_user") == ["authenticated"]
    with engine.connect() as conn:
        assert conn.execute(text("SELECT pg_backend_pid()")).scalar_one() == pid  # same conn
        row = conn.execute(
            text(
                "SELECT current_user, session_user,"
                " current_setting('request.jwt.claims', true), auth.uid()"
            )
        ).one()
        assert row[0] == row[1]
        assert row[0] != "authenticated"
        assert row[2] in (None, "")
        assert row[3] is None


@postgres_only
def test_admin_reads_all_users_but_only_own_portfolios(pg):
    engine, portfolios = pg
    with user_transaction(engine, ADMIN) as conn:
        assert len(_col(conn, "SELECT id FROM users")) == 3
        assert len(_col(conn, "SELECT id FROM audit_log")) == 3
        assert _col(conn, "SELECT id FROM portfolios") == [portfolios[ADMIN.user_id]]
        assert len(_col(conn, "SELECT id FROM transactions")) == 1
        assert len(_col(conn, "SELECT id FROM accounts")) == 1
        assert len(_col(conn, "SELECT bucket FROM allocation_targets")) == 1
        assert _col(conn, "SELECT user_id FROM import_mappings") == [ADMIN.user_id]
        assert _col(conn, "SELECT user_id FROM sessions") == [ADMIN.user_id]
        # Reading is all the admin claim grants: other users' rows stay unchangeable.
        sql = "UPDATE users SET display_name = 'x' WHERE id = :uid"
        assert conn.execute(text(sql), {"uid": BOB.user_id}).rowcount == 0


@postgres_only
def test_column_and_table_privileges_close_the_remaining_doors(pg):
    engine, _ = pg
    with user_transaction(engine, ALICE) as conn:
        sql = "UPDATE users SET display_name = 'Alice' WHERE id = :uid"
        assert conn.execute(text(sql), {"uid": ALICE.user_id}).rowcount == 1
    refused = [
        "UPDATE users SET role = 'admin'",  # own row, but the column is not granted
        "SELECT pw_hash FROM users",
        "SELECT * FROM auth_throttle",
        "SELECT * FROM alembic_version",
        "DELETE FROM instruments",
        "DELETE FROM audit_log",
        "TRUNCATE portfolios",
    ]
    for sql in refused:
        with (
            pytest.raises(DBAPIError, match="permission denied"),
            user_transaction(engine, ALICE) as conn,
        ):
            conn.execute(text(sql))


@postgres_only
def test_user_connection_is_read_only(pg):
    engine, _ = pg
    with (
        pytest.raises(DBAPIError, match="read-only transaction"),
        user_connection(engine, ALICE) as conn,
    ):
        conn.execute(text("UPDATE portfolios SET name = 'x'"))


@postgres_only
def test_repository_transactions_run_under_rls(pg):
    engine, _ = pg
    role_switches = []

    @event.listens_for(engine, "before_cursor_execute")
    def _spy(conn, cursor, statement, *_):
        if statement.startswith("SET LOCAL ROLE"):
            role_switches.append(statement)

    repo = PortfolioRepository(engine)
    infos = {"MSFT": InstrumentInfo("MSFT", "Microsoft", "USD")}
    created = repo.create_portfolio(ALICE, "Growth", "USD")
    txn = repo.add_transaction(
        ALICE,
        created.id,
        TransactionDraft("buy", date(2024, 3, 1), "USD", "MSFT", 2, 300.0),
        infos,
        today=date(2026, 1, 1),
    )
    assert [p.name for p in repo.list_portfolios(ALICE)] == ["Main", "Growth"]
    assert [t.id for t in repo.list_transactions(ALICE, created.id)] == [txn]
    repo.delete_transaction(ALICE, created.id, txn)
    repo.delete_portfolio(ALICE, created.id)
    assert len(role_switches) == 6
    assert set(role_switches) == {"SET LOCAL ROLE authenticated"}
    with engine.connect() as conn:  # the instrument upsert went through the INSERT policy
        assert _col(conn, "SELECT symbol FROM instruments WHERE symbol = 'MSFT'") == ["MSFT"]


def _policies(engine: Engine, schema: str) -> set[tuple[str, str]]:
    with engine.connect() as conn:
        rows = conn.execute(
            text("SELECT tablename, policyname FROM pg_policies WHERE schemaname = :s"),
            {"s": schema},
        )
        return {tuple(r) for r in rows}


@postgres_only
def test_migration_runs_in_a_second_schema_and_down_and_up_again(db_settings, postgres_url):
    admin = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://"))
    first = db_settings.sqlalchemy_url.rsplit("search_path%3D", 1)[1]
    second = f"t_{uuid.uuid4().hex[:12]}"
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{second}"'))
    try:
        # The roles and the auth shim exist already (created by the first schema's run).
        url = db_settings.sqlalchemy_url.replace(
            f"search_path%3D{first}", f"search_path%3D{second}"
        )
        other = load_settings(
            {"NEXUS_DATA_DIR": str(db_settings.data_dir), "NEXUS_DATABASE_URL": url}
        )
        upgrade(other)
        expected = _policies(admin, first)
        # 14 from 0003, 1 from 0004 (watchlist_items), 3 from 0005 (accounts,
        # allocation_targets, import_mappings).
        assert len(expected) == 18
        assert {t for t, _ in expected} >= {"accounts", "allocation_targets", "import_mappings"}
        assert _policies(admin, second) == expected
        with admin.connect() as conn:
            n = conn.execute(
                text(
                    "SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
                    " WHERE n.nspname = 'auth' AND p.proname IN ('uid', 'jwt')"
                )
            ).scalar_one()
        assert n == 2

        downgrade(other, "0002")
        assert _policies(admin, second) == set()
        assert _policies(admin, first) == expected  # the other schema is untouched
        upgrade(other)
        assert _policies(admin, second) == expected

        engine = create_engine(other.sqlalchemy_url)
        try:
            _seed(engine)
            with user_transaction(engine, BOB) as conn:
                assert _col(conn, "SELECT owner_id FROM portfolios") == [BOB.user_id]
        finally:
            engine.dispose()
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{second}" CASCADE'))
        admin.dispose()


@pytest.mark.parametrize("db_settings", ["sqlite"], indirect=True)
def test_on_sqlite_the_helpers_only_open_transactions(db_settings):
    engine = create_engine(db_settings.sqlalchemy_url)
    try:
        with user_transaction(engine, ALICE) as conn:
            conn.execute(insert(Instrument).values(symbol="AAPL", name="Apple", currency="USD"))
        with user_connection(engine, ALICE) as conn:
            assert _col(conn, "SELECT symbol FROM instruments") == ["AAPL"]
            conn.execute(text("DELETE FROM instruments"))  # rolled back at the end
        with engine.connect() as conn:
            assert _col(conn, "SELECT count(*) FROM instruments") == [1]
    finally:
        engine.dispose()
