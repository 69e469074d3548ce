"""Tenant-scoped access to portfolios and transactions.

Every method takes the acting user first and filters by ``owner_id = actor.user_id`` in
SQL; another user's id behaves exactly like an id that does not exist (:class:`NotFound`).
On Postgres every transaction also runs as the ``authenticated`` role with the actor's
claims (``nexus.db.rls``), so row-level security is a second wall behind those filters.
Writes re-validate the whole resulting ledger inside the same database transaction, so a
refused change leaves the database as it was.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime

import polars as pl
from sqlalchemy import Connection, Engine, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from nexus.auth.errors import PermissionDenied
from nexus.auth.models import Actor
from nexus.db.rls import user_connection, user_transaction
from nexus.db.schema import Instrument, Portfolio, Transaction
from nexus.portfolio.model import (
    CURRENCIES,
    InstrumentInfo,
    LedgerError,
    NotFound,
    PortfolioRecord,
    TransactionDraft,
    TransactionRecord,
)
from nexus.portfolio.validation import validate_draft, validate_positions

TRANSACTION_SCHEMA = {
    "id": pl.Int64,
    "date": pl.Date,
    "kind": pl.Utf8,
    "symbol": pl.Utf8,
    "quantity": pl.Float64,
    "price": pl.Float64,
    "amount": pl.Float64,
    "fee": pl.Float64,
    "currency": pl.Utf8,
}


def _today() -> date:
    return datetime.now(UTC).date()


def _require_write(actor: Actor) -> None:
    if not actor.can_write:
        raise PermissionDenied("Your role (viewer) can look but not change records.")


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise LedgerError("name", "Give the portfolio a name.")
    if len(name) > 80:
        raise LedgerError("name", "Keep the name to 80 characters or fewer.")
    return name


def _record(row) -> TransactionRecord:
    return TransactionRecord(
        id=row.id,
        portfolio_id=row.portfolio_id,
        kind=row.kind,
        trade_date=row.trade_date,
        currency=row.currency,
        symbol=row.symbol,
        quantity=row.quantity,
        price=row.price,
        amount=row.amount,
        fee=row.fee,
        note=row.note,
    )


class PortfolioRepository:
    """All reads and writes of portfolio records, scoped to the acting user."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    # Portfolios ----------------------------------------------------------------------
    def _owned(self, conn: Connection, actor: Actor, portfolio_id: uuid.UUID, *, lock=False):
        stmt = select(Portfolio.__table__).where(
            Portfolio.id == portfolio_id, Portfolio.owner_id == actor.user_id
        )
        if lock:
            stmt = stmt.with_for_update()
        row = conn.execute(stmt).first()
        if row is None:
            raise NotFound("No such portfolio.")
        return row

    def list_portfolios(self, actor: Actor) -> list[PortfolioRecord]:
        counts = (
            select(Transaction.portfolio_id, func.count().label("n"))
            .group_by(Transaction.portfolio_id)
            .subquery()
        )
        stmt = (
            select(Portfolio.__table__, func.coalesce(counts.c.n, 0).label("n"))
            .outerjoin(counts, counts.c.portfolio_id == Portfolio.id)
            .where(Portfolio.owner_id == actor.user_id)
            .order_by(Portfolio.created_at, Portfolio.name)
        )
        with user_connection(self.engine, actor) as conn:
            rows = conn.execute(stmt).all()
        return [
            PortfolioRecord(p.id, p.owner_id, p.name, p.base_currency, p.is_demo, p.n) for p in rows
        ]

    def get_portfolio(self, actor: Actor, portfolio_id: uuid.UUID) -> PortfolioRecord:
        with user_connection(self.engine, actor) as conn:
            p = self._owned(conn, actor, portfolio_id)
            n = conn.execute(
                select(func.count()).where(Transaction.portfolio_id == p.id)
            ).scalar_one()
        return PortfolioRecord(p.id, p.owner_id, p.name, p.base_currency, p.is_demo, n)

    def create_portfolio(
        self, actor: Actor, name: str, base_currency: str, *, is_demo: bool = False
    ) -> PortfolioRecord:
        _require_write(actor)
        name = _clean_name(name)
        base_currency = (base_currency or "").upper()
        if base_currency not in CURRENCIES:
            raise LedgerError(
                "base_currency", f"Base currency must be one of {', '.join(CURRENCIES)}."
            )
        pid = uuid.uuid4()
        try:
            with user_transaction(self.engine, actor) as conn:
                conn.execute(
                    insert(Portfolio).values(
                        id=pid,
                        owner_id=actor.user_id,
                        name=name,
                        base_currency=base_currency,
                        is_demo=is_demo,
                    )
                )
        except IntegrityError:
            raise LedgerError("name", f"You already have a portfolio called {name!r}.") from None
        return PortfolioRecord(pid, actor.user_id, name, base_currency, is_demo, 0)

    def rename_portfolio(self, actor: Actor, portfolio_id: uuid.UUID, name: str) -> None:
        _require_write(actor)
        name = _clean_name(name)
        try:
            with user_transaction(self.engine, actor) as conn:
                self._owned(conn, actor, portfolio_id, lock=True)
                conn.execute(
                    update(Portfolio)
                    .where(Portfolio.id == portfolio_id, Portfolio.owner_id == actor.user_id)
                    .values(name=name)
                )
        except IntegrityError:
            raise LedgerError("name", f"You already have a portfolio called {name!r}.") from None

    def delete_portfolio(self, actor: Actor, portfolio_id: uuid.UUID) -> None:
        _require_write(actor)
        with user_transaction(self.engine, actor) as conn:
            self._owned(conn, actor, portfolio_id, lock=True)
            conn.execute(delete(Transaction).where(Transaction.portfolio_id == portfolio_id))
            conn.execute(
                delete(Portfolio).where(
                    Portfolio.id == portfolio_id, Portfolio.owner_id == actor.user_id
                )
            )

    # Transactions --------------------------------------------------------------------
    def _rows(self, conn: Connection, portfolio_id: uuid.UUID) -> list:
        stmt = (
            select(Transaction.__table__)
            .where(Transaction.portfolio_id == portfolio_id)
            .order_by(Transaction.trade_date, Transaction.id)
        )
        return list(conn.execute(stmt).all())

    def list_transactions(self, actor: Actor, portfolio_id: uuid.UUID) -> list[TransactionRecord]:
        with user_connection(self.engine, actor) as conn:
            self._owned(conn, actor, portfolio_id)
            return [_record(r) for r in self._rows(conn, portfolio_id)]

    def traded_symbols(self, actor: Actor) -> list[str]:
        """Every symbol in any of the actor's portfolios (one query), sorted."""
        stmt = (
            select(Transaction.symbol)
            .join(Portfolio, Portfolio.id == Transaction.portfolio_id)
            .where(Portfolio.owner_id == actor.user_id, Transaction.symbol.is_not(None))
            .distinct()
            .order_by(Transaction.symbol)
        )
        with user_connection(self.engine, actor) as conn:
            return list(conn.execute(stmt).scalars())

    def transactions_frame(self, actor: Actor, portfolio_id: uuid.UUID) -> pl.DataFrame:
        """The ledger as the analytics frame (see ``docs/contracts.md``)."""
        records = self.list_transactions(actor, portfolio_id)
        return pl.DataFrame(
            [
                (
                    r.id,
                    r.trade_date,
                    r.kind,
                    r.symbol,
                    r.quantity,
                    r.price,
                    r.amount,
                    r.fee,
                    r.currency,
                )
                for r in records
            ],
            schema=TRANSACTION_SCHEMA,
            orient="row",
        )

    def _upsert_instruments(self, conn: Connection, infos: Sequence[InstrumentInfo]) -> None:
        if not infos:
            return
        values = [
            {
                "symbol": i.symbol,
                "name": i.name,
                "currency": i.currency,
                "asset_class": i.asset_class,
            }
            for i in {i.symbol: i for i in infos}.values()
        ]
        ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        conn.execute(ins(Instrument).values(values).on_conflict_do_nothing())

    def _write(
        self,
        actor: Actor,
        portfolio_id: uuid.UUID,
        instruments: Mapping[str, InstrumentInfo],
        *,
        add: Sequence[TransactionDraft] = (),
        replace: tuple[int, TransactionDraft] | None = None,
        remove: int | None = None,
        today: date | None = None,
    ) -> list[int]:
        """Apply one change set atomically after validating the resulting ledger."""
        _require_write(actor)
        today = today or _today()
        add = [validate_draft(d, instruments, today=today) for d in add]
        if replace is not None:
            replace = (replace[0], validate_draft(replace[1], instruments, today=today))
        with user_transaction(self.engine, actor) as conn:
            self._owned(conn, actor, portfolio_id, lock=True)
            existing = {r.id: _record(r).as_draft() for r in self._rows(conn, portfolio_id)}
            for txn_id in (replace[0] if replace else None, remove):
                if txn_id is not None and txn_id not in existing:
                    raise NotFound("No such transaction in this portfolio.")
            if replace is not None:
                existing[replace[0]] = replace[1]
            if remove is not None:
                del existing[remove]
            base = max(existing, default=0) + 1
            validate_positions([*existing.items(), *((base + i, d) for i, d in enumerate(add))])
            used = [d for d in add if d.symbol] + (
                [replace[1]] if replace and replace[1].symbol else []
            )
            self._upsert_instruments(conn, [instruments[d.symbol] for d in used])
            if remove is not None:
                conn.execute(
                    delete(Transaction).where(
                        Transaction.id == remove, Transaction.portfolio_id == portfolio_id
                    )
                )
            if replace is not None:
                txn_id, d = replace
                conn.execute(
                    update(Transaction)
                    .where(Transaction.id == txn_id, Transaction.portfolio_id == portfolio_id)
                    .values(**_columns(d))
                )
            new_ids = []
            for d in add:
                result = conn.execute(
                    insert(Transaction).values(portfolio_id=portfolio_id, **_columns(d))
                )
                new_ids.append(result.inserted_primary_key[0])
            conn.execute(
                update(Portfolio)
                .where(Portfolio.id == portfolio_id)
                .values(updated_at=datetime.now(UTC))
            )
        return new_ids

    def add_transaction(
        self,
        actor: Actor,
        portfolio_id: uuid.UUID,
        draft: TransactionDraft,
        instruments: Mapping[str, InstrumentInfo],
        *,
        today: date | None = None,
    ) -> int:
        """Validate and store one transaction; return its id."""
        return self._write(actor, portfolio_id, instruments, add=[draft], today=today)[0]

    def add_transactions(
        self,
        actor: Actor,
        portfolio_id: uuid.UUID,
        drafts: Sequence[TransactionDraft],
        instruments: Mapping[str, InstrumentInfo],
        *,
        today: date | None = None,
    ) -> list[int]:
        """All-or-nothing: every draft is stored, or none is."""
        return self._write(actor, portfolio_id, instruments, add=drafts, today=today)

    def update_transaction(
        self,
        actor: Actor,
        portfolio_id: uuid.UUID,
        transaction_id: int,
        draft: TransactionDraft,
        instruments: Mapping[str, InstrumentInfo],
        *,
        today: date | None = None,
    ) -> None:
        self._write(actor, portfolio_id, instruments, replace=(transaction_id, draft), today=today)

    def delete_transaction(
        self, actor: Actor, portfolio_id: uuid.UUID, transaction_id: int
    ) -> None:
        """Delete one transaction (refused if a later sell would then exceed holdings)."""
        self._write(actor, portfolio_id, {}, remove=transaction_id)


def _columns(d: TransactionDraft) -> dict:
    return {
        "kind": d.kind,
        "trade_date": d.trade_date,
        "symbol": d.symbol,
        "quantity": d.quantity,
        "price": d.price,
        "amount": d.amount,
        "fee": d.fee,
        "currency": d.currency,
        "note": d.note,
    }
