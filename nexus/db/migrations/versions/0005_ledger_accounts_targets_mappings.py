"""complete ledger: accounts, new kinds, FX at trade date, lot method, targets, mappings

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27

* ``accounts`` (one named "Main" is created for every existing portfolio and every existing
  transaction is assigned to it); ``transactions.account_id`` (NOT NULL, foreign key on
  ``(account_id, portfolio_id)`` so a transaction can only use an account of its own
  portfolio), ``transactions.transfer_id`` and ``transactions.fx_rate``; the kinds
  ``interest``, ``tax``, ``split``, ``transfer_in`` and ``transfer_out``.
* ``portfolios.lot_method`` ('fifo' for existing portfolios).
* ``allocation_targets`` and ``import_mappings``.
* On Postgres: grants and row-level security policies for the three new tables, like the
  other tenant tables (0003/0004).

Downgrade refuses (and changes nothing) while transactions of the new kinds exist: delete
them first; account assignments, FX rates, targets and mappings are dropped.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OLD_KINDS = ("buy", "sell", "deposit", "withdrawal", "dividend", "fee")
NEW_KINDS = ("interest", "tax", "split", "transfer_in", "transfer_out")
LOT_METHODS = ("fifo", "lifo", "hifo", "average")
DIMENSIONS = ("symbol", "asset_class", "sector", "region", "currency", "account")

UID = "(select auth.uid())"


def _own_portfolio(table: str) -> str:
    return (
        "EXISTS (SELECT 1 FROM portfolios p"  # noqa: S608 - fixed table names, no input
        f" WHERE p.id = {table}.portfolio_id AND p.owner_id = {UID})"
    )


# (name, table, USING = WITH CHECK); all FOR ALL TO authenticated.
POLICIES = (
    ("accounts_owner", "accounts", _own_portfolio("accounts")),
    ("allocation_targets_owner", "allocation_targets", _own_portfolio("allocation_targets")),
    ("import_mappings_owner", "import_mappings", f"user_id = {UID}"),
)


def _in(values: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{v}'" for v in values) + ")"


def upgrade() -> None:
    bind = op.get_bind()
    op.create_table(
        "accounts",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name=op.f("fk_accounts_portfolio_id_portfolios"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("id", "portfolio_id", name="uq_accounts_id_portfolio"),
        sa.UniqueConstraint("portfolio_id", "name", name="uq_accounts_portfolio_name"),
    )
    op.create_table(
        "allocation_targets",
        sa.Column("portfolio_id", sa.Uuid(), nullable=False),
        sa.Column("dimension", sa.String(length=16), nullable=False),
        sa.Column("bucket", sa.String(length=100), nullable=False),
        sa.Column("target_weight", sa.Double(), nullable=False),
        sa.CheckConstraint(
            f"dimension IN {_in(DIMENSIONS)}", name=op.f("ck_allocation_targets_dimension")
        ),
        sa.CheckConstraint(
            "target_weight >= 0 AND target_weight <= 1",
            name=op.f("ck_allocation_targets_target_weight"),
        ),
        sa.ForeignKeyConstraint(
            ["portfolio_id"],
            ["portfolios.id"],
            name=op.f("fk_allocation_targets_portfolio_id_portfolios"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "portfolio_id", "dimension", "bucket", name=op.f("pk_allocation_targets")
        ),
    )
    op.create_table(
        "import_mappings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("source_kind", sa.String(length=32), nullable=False),
        sa.Column("mapping", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_import_mappings_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_import_mappings")),
        sa.UniqueConstraint("user_id", "name", name="uq_import_mappings_user_name"),
    )

    with op.batch_alter_table("portfolios", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("lot_method", sa.String(length=8), server_default="fifo", nullable=False)
        )
        batch_op.create_check_constraint(
            op.f("ck_portfolios_lot_method"), f"lot_method IN {_in(LOT_METHODS)}"
        )

    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("account_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("transfer_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("fx_rate", sa.Double(), nullable=True))

    # Data: one "Main" account per existing portfolio, owning all its transactions.
    portfolios = sa.table("portfolios", sa.column("id", sa.Uuid()))
    accounts = sa.table(
        "accounts",
        sa.column("id", sa.Uuid()),
        sa.column("portfolio_id", sa.Uuid()),
        sa.column("name", sa.String()),
        sa.column("created_at", sa.DateTime(timezone=True)),
    )
    now = datetime.now(UTC)
    rows = [
        {"id": uuid.uuid4(), "portfolio_id": pid, "name": "Main", "created_at": now}
        for pid in bind.execute(sa.select(portfolios.c.id)).scalars()
    ]
    if rows:
        bind.execute(accounts.insert(), rows)
    transactions = sa.table(
        "transactions", sa.column("portfolio_id", sa.Uuid()), sa.column("account_id", sa.Uuid())
    )
    main = (
        sa.select(accounts.c.id)
        .where(accounts.c.portfolio_id == transactions.c.portfolio_id)
        .scalar_subquery()
    )
    bind.execute(transactions.update().values(account_id=main))

    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.alter_column("account_id", existing_type=sa.Uuid(), nullable=False)
        batch_op.drop_constraint(op.f("ck_transactions_kind"), type_="check")
        batch_op.create_check_constraint(
            op.f("ck_transactions_kind"), f"kind IN {_in(OLD_KINDS + NEW_KINDS)}"
        )
        batch_op.create_check_constraint(
            op.f("ck_transactions_fx_rate"), "fx_rate IS NULL OR fx_rate > 0"
        )
        batch_op.create_foreign_key(
            "fk_transactions_account_id_accounts",
            "accounts",
            ["account_id", "portfolio_id"],
            ["id", "portfolio_id"],
        )
        batch_op.create_index("ix_transactions_account_id", ["account_id"], unique=False)

    if bind.dialect.name == "postgresql":
        for _, table, _ in POLICIES:
            op.execute(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {table} TO authenticated")
            op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
        for name, table, rule in POLICIES:
            op.execute(
                f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR ALL TO authenticated"
                f" USING ({rule}) WITH CHECK ({rule})"
            )


def downgrade() -> None:
    bind = op.get_bind()
    transactions = sa.table("transactions", sa.column("kind", sa.String()))
    newer = bind.execute(
        sa.select(sa.func.count()).where(transactions.c.kind.in_(NEW_KINDS))
    ).scalar_one()
    if newer:
        raise RuntimeError(
            f"Cannot downgrade below 0005: {newer} transaction(s) use the kinds "
            f"{', '.join(NEW_KINDS)}, which the older schema cannot hold. Delete them first."
        )
    with op.batch_alter_table("transactions", schema=None) as batch_op:
        batch_op.drop_index("ix_transactions_account_id")
        batch_op.drop_constraint("fk_transactions_account_id_accounts", type_="foreignkey")
        batch_op.drop_constraint(op.f("ck_transactions_fx_rate"), type_="check")
        batch_op.drop_constraint(op.f("ck_transactions_kind"), type_="check")
        batch_op.create_check_constraint(op.f("ck_transactions_kind"), f"kind IN {_in(OLD_KINDS)}")
        batch_op.drop_column("fx_rate")
        batch_op.drop_column("transfer_id")
        batch_op.drop_column("account_id")
    with op.batch_alter_table("portfolios", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_portfolios_lot_method"), type_="check")
        batch_op.drop_column("lot_method")
    # Dropping the tables drops their policies and grants too.
    op.drop_table("import_mappings")
    op.drop_table("allocation_targets")
    op.drop_table("accounts")
