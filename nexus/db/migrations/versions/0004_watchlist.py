"""watchlist

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watchlist_items",
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("symbol", sa.String(length=32), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_watchlist_items_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "symbol", name=op.f("pk_watchlist_items")),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("GRANT SELECT, INSERT, UPDATE, DELETE ON watchlist_items TO authenticated")
        op.execute("ALTER TABLE watchlist_items ENABLE ROW LEVEL SECURITY")
        op.execute(
            "CREATE POLICY watchlist_items_owner ON watchlist_items FOR ALL TO authenticated "
            "USING (user_id = (select auth.uid())) WITH CHECK (user_id = (select auth.uid()))"
        )


def downgrade() -> None:
    op.drop_table("watchlist_items")
