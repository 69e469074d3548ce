"""Relational schema of the portfolio database (SQLAlchemy 2, portable SQLite/Postgres).

Conventions: primary keys of user-facing records are UUIDs (unguessable in URLs);
timestamps are timezone-aware UTC; money and quantities are double precision in the
record's own currency (``currency`` column, ISO 4217), magnitudes positive, the
transaction ``kind`` giving the sign (see ``nexus.portfolio.model``).
"""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Double,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ROLES = ("admin", "analyst", "viewer")
TRANSACTION_KINDS = (
    "buy",
    "sell",
    "deposit",
    "withdrawal",
    "dividend",
    "fee",
    "interest",
    "tax",
    "split",
    "transfer_in",
    "transfer_out",
)
LOT_METHODS = ("fifo", "lifo", "hifo", "average")
ALLOCATION_DIMENSIONS = ("symbol", "asset_class", "sector", "region", "currency", "account")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: DateTime(timezone=True)}  # noqa: RUF012


class User(Base):
    __tablename__ = "users"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    pw_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16), default="analyst")
    display_name: Mapped[str] = mapped_column(String(100), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_sign_in_at: Mapped[datetime | None]
    disabled_at: Mapped[datetime | None]

    __table_args__ = (CheckConstraint(f"role IN {ROLES!r}", name="role"),)


class Session(Base):
    """A signed-in browser. The browser holds an opaque token; we store only its hash.

    A session is created at sign-in with a one-time ``ticket_hash``; the cookie route
    redeems the ticket once, sets ``token_hash`` and hands the raw token to the browser.
    """

    __tablename__ = "sessions"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ticket_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    ticket_expires_at: Mapped[datetime | None]
    aal: Mapped[str] = mapped_column(String(8), default="aal1")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    user_agent: Mapped[str] = mapped_column(String(300), default="")
    ip: Mapped[str] = mapped_column(String(64), default="")
    # Hosted (Supabase) mode: the provider's refresh token, Fernet-encrypted.
    provider_token_enc: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (Index("ix_sessions_user_id", "user_id"),)


class UserPreferences(Base):
    __tablename__ = "user_preferences"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    base_currency: Mapped[str] = mapped_column(String(3), default="USD")
    default_portfolio_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Portfolio(Base):
    __tablename__ = "portfolios"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    base_currency: Mapped[str] = mapped_column(String(3))
    is_demo: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # Cost-basis method for sells: FIFO, LIFO, highest cost first, or average cost.
    lot_method: Mapped[str] = mapped_column(String(8), default="fifo", server_default="fifo")

    __table_args__ = (
        UniqueConstraint("owner_id", "name", name="uq_portfolios_owner_name"),
        Index("ix_portfolios_owner_id", "owner_id"),
        CheckConstraint(f"lot_method IN {LOT_METHODS!r}", name="lot_method"),
    )


class Account(Base):
    """A broker account, tax wrapper or wallet inside a portfolio; every transaction has one."""

    __tablename__ = "accounts"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        UniqueConstraint("portfolio_id", "name", name="uq_accounts_portfolio_name"),
        # Target of the transactions' (account_id, portfolio_id) foreign key, so a
        # transaction can only use an account of its own portfolio.
        UniqueConstraint("id", "portfolio_id", name="uq_accounts_id_portfolio"),
    )


class Instrument(Base):
    """A tradable symbol known from the market data (cached here for validation and FKs)."""

    __tablename__ = "instruments"

    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    currency: Mapped[str] = mapped_column(String(3))
    asset_class: Mapped[str] = mapped_column(String(32), default="equity")
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class Transaction(Base):
    __tablename__ = "transactions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    portfolio_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("portfolios.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    trade_date: Mapped[date] = mapped_column(Date)
    symbol: Mapped[str | None] = mapped_column(ForeignKey("instruments.symbol"))
    quantity: Mapped[float] = mapped_column(Double, default=0.0)
    price: Mapped[float] = mapped_column(Double, default=0.0)
    amount: Mapped[float] = mapped_column(Double, default=0.0)
    fee: Mapped[float] = mapped_column(Double, default=0.0)
    currency: Mapped[str] = mapped_column(String(3))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    account_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    # Shared by the two rows of a transfer between accounts; null otherwise.
    transfer_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Base-currency units per 1 unit of ``currency`` on the trade date; null = market rate.
    fx_rate: Mapped[float | None] = mapped_column(Double)

    __table_args__ = (
        CheckConstraint(f"kind IN {TRANSACTION_KINDS!r}", name="kind"),
        CheckConstraint("quantity >= 0 AND price >= 0 AND amount >= 0 AND fee >= 0", name="signs"),
        CheckConstraint("fx_rate IS NULL OR fx_rate > 0", name="fx_rate"),
        ForeignKeyConstraint(
            ["account_id", "portfolio_id"],
            ["accounts.id", "accounts.portfolio_id"],
            name="fk_transactions_account_id_accounts",
        ),
        Index("ix_transactions_portfolio_date", "portfolio_id", "trade_date"),
        Index("ix_transactions_account_id", "account_id"),
    )


class AllocationTarget(Base):
    """Target weight of one bucket (a symbol, sector, account …) along one dimension."""

    __tablename__ = "allocation_targets"

    portfolio_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("portfolios.id", ondelete="CASCADE"), primary_key=True
    )
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)
    bucket: Mapped[str] = mapped_column(String(100), primary_key=True)
    target_weight: Mapped[float] = mapped_column(Double)

    __table_args__ = (
        CheckConstraint(f"dimension IN {ALLOCATION_DIMENSIONS!r}", name="dimension"),
        CheckConstraint("target_weight >= 0 AND target_weight <= 1", name="target_weight"),
    )


class ImportMapping(Base):
    """A user's saved column mapping for importing transactions from a broker's file."""

    __tablename__ = "import_mappings"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(80))
    source_kind: Mapped[str] = mapped_column(String(32))
    mapping: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_import_mappings_user_name"),)


class AuditEvent(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    event: Mapped[str] = mapped_column(String(64))
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    ip: Mapped[str] = mapped_column(String(64), default="")

    __table_args__ = (Index("ix_audit_log_at", "at"),)


class MfaFactor(Base):
    """A TOTP authenticator. ``secret_enc`` is Fernet-encrypted under a key derived from
    ``NEXUS_SECRET_KEY``; ``last_timecode`` is the last accepted 30-s step (replay guard)."""

    __tablename__ = "mfa_factors"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    friendly_name: Mapped[str] = mapped_column(String(100), default="Authenticator app")
    factor_type: Mapped[str] = mapped_column(String(16), default="totp")
    secret_enc: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="unverified")
    last_timecode: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)

    __table_args__ = (
        CheckConstraint("status IN ('unverified', 'verified')", name="status"),
        Index("ix_mfa_factors_user_id", "user_id"),
    )


class MfaRecoveryCode(Base):
    """One-time recovery codes, stored hashed; ``used_at`` marks a spent code."""

    __tablename__ = "mfa_recovery_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]

    __table_args__ = (Index("ix_mfa_recovery_codes_user_id", "user_id"),)


class PasswordResetToken(Base):
    """Single-use, expiring reset token; only its HMAC is stored."""

    __tablename__ = "password_reset_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    used_at: Mapped[datetime | None]


class AuthThrottle(Base):
    """Failure counters per key (``user:<email>``, ``ip:<addr>``, ``mfa:<user id>``)."""

    __tablename__ = "auth_throttle"

    key: Mapped[str] = mapped_column(String(300), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[datetime] = mapped_column(default=utcnow)
    locked_until: Mapped[datetime | None]


class WatchlistItem(Base):
    """A symbol a user follows on the Markets page (also ingested in live mode)."""

    __tablename__ = "watchlist_items"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    symbol: Mapped[str] = mapped_column(String(32), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)
