"""Tenant-scoped access to portfolios, accounts, transactions, targets and import mappings.

Every method takes the acting user first and filters by ``owner_id = actor.user_id`` (or
``user_id``) in SQL; another user's id behaves exactly like an id that does not exist
(:class:`NotFound`). On Postgres every transaction also runs as the ``authenticated`` role
with the actor's claims (``nexus.db.rls``), so row-level security is a second wall behind
those filters. Writes re-validate the whole resulting ledger inside the same database
transaction, so a refused change leaves the database as it was.

Accounts: every portfolio has at least one (``Main``, created with it); a draft names its
account (``TransactionDraft.account``, ``None`` = the portfolio's first account). FX rates
are stored as given: the pages fill an empty rate from the market data before saving, the
repository never reads market data.
"""

from __future__ import annotations

import dataclasses
import json
import math
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
from nexus.db.schema import (
    ALLOCATION_DIMENSIONS,
    LOT_METHODS,
    Account,
    AllocationTarget,
    Instrument,
    Portfolio,
    Transaction,
)
from nexus.db.schema import ImportMapping as ImportMappingRow
from nexus.portfolio.model import (
    CURRENCIES,
    DEFAULT_ACCOUNT,
    AccountRecord,
    ImportMapping,
    InstrumentInfo,
    Kind,
    LedgerError,
    NotFound,
    PortfolioRecord,
    TransactionDraft,
    TransactionRecord,
)
from nexus.portfolio.validation import clean_name, validate_draft, validate_positions

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
    "account": pl.Utf8,
    "fx_rate": pl.Float64,
    "transfer_id": pl.Utf8,
}
#: Target weights must add up to 1 within this tolerance.
WEIGHT_TOLERANCE = 1e-6
MAX_MAPPING_CHARS = 20_000


def _today() -> date:
    return datetime.now(UTC).date()


def _require_write(actor: Actor) -> None:
    if not actor.can_write:
        raise PermissionDenied("Your role (viewer) can look but not change records.")


def _clean_name(name: str) -> str:
    return clean_name(name, "portfolio")


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
        account_id=row.account_id,
        account=row.account_name,
        fx_rate=row.fx_rate,
        transfer_id=row.transfer_id,
    )


def _portfolio(p, n: int) -> PortfolioRecord:
    return PortfolioRecord(p.id, p.owner_id, p.name, p.base_currency, p.is_demo, n, p.lot_method)


class _Accounts:
    """A portfolio's accounts, resolving a draft's account name (or id) to a row."""

    def __init__(self, rows: Sequence) -> None:
        self.rows = list(rows)
        self.by_id = {r.id: r for r in self.rows}

    def resolve(self, ref: str | uuid.UUID | None):
        if ref is None or (isinstance(ref, str) and not ref.strip()):
            return self.rows[0]
        if isinstance(ref, uuid.UUID):
            row = self.by_id.get(ref)
        else:
            name = " ".join(ref.split())
            exact = [r for r in self.rows if r.name == name]
            loose = [r for r in self.rows if r.name.casefold() == name.casefold()]
            row = (exact or (loose if len(loose) == 1 else [None]))[0]
        if row is None:
            raise LedgerError("account", f"This portfolio has no account called {ref!s}.")
        return row


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
        return [_portfolio(p, p.n) for p in rows]

    def get_portfolio(self, actor: Actor, portfolio_id: uuid.UUID) -> PortfolioRecord:
        with user_connection(self.engine, actor) as conn:
            p = self._owned(conn, actor, portfolio_id)
            n = conn.execute(
                select(func.count()).where(Transaction.portfolio_id == p.id)
            ).scalar_one()
        return _portfolio(p, n)

    def create_portfolio(
        self, actor: Actor, name: str, base_currency: str, *, is_demo: bool = False
    ) -> PortfolioRecord:
        """Create a portfolio with one account, ``Main``."""
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
                        lot_method="fifo",
                    )
                )
                conn.execute(
                    insert(Account).values(id=uuid.uuid4(), portfolio_id=pid, name=DEFAULT_ACCOUNT)
                )
        except IntegrityError:
            raise LedgerError("name", f"You already have a portfolio called {name!r}.") from None
        return PortfolioRecord(pid, actor.user_id, name, base_currency, is_demo, 0, "fifo")

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

    def set_lot_method(self, actor: Actor, portfolio_id: uuid.UUID, method: str) -> None:
        """Choose how sells pick lots: ``fifo``, ``lifo``, ``hifo`` or ``average``."""
        _require_write(actor)
        method = (method or "").strip().lower()
        if method not in LOT_METHODS:
            raise LedgerError("lot_method", f"Lot method must be one of {', '.join(LOT_METHODS)}.")
        with user_transaction(self.engine, actor) as conn:
            self._owned(conn, actor, portfolio_id, lock=True)
            conn.execute(
                update(Portfolio)
                .where(Portfolio.id == portfolio_id, Portfolio.owner_id == actor.user_id)
                .values(lot_method=method)
            )

    def delete_portfolio(self, actor: Actor, portfolio_id: uuid.UUID) -> None:
        """Delete a portfolio with its transactions, accounts and targets."""
        _require_write(actor)
        with user_transaction(self.engine, actor) as conn:
            self._owned(conn, actor, portfolio_id, lock=True)
            conn.execute(delete(Transaction).where(Transaction.portfolio_id == portfolio_id))
            conn.execute(
                delete(AllocationTarget).where(AllocationTarget.portfolio_id == portfolio_id)
            )
            conn.execute(delete(Account).where(Account.portfolio_id == portfolio_id))
            conn.execute(
                delete(Portfolio).where(
                    Portfolio.id == portfolio_id, Portfolio.owner_id == actor.user_id
                )
            )

    # Accounts ------------------------------------------------------------------------
    def _accounts(self, conn: Connection, portfolio_id: uuid.UUID) -> _Accounts:
        rows = conn.execute(
            select(Account.__table__)
            .where(Account.portfolio_id == portfolio_id)
            .order_by(Account.created_at, Account.name)
        ).all()
        return _Accounts(rows)

    def list_accounts(self, actor: Actor, portfolio_id: uuid.UUID) -> list[AccountRecord]:
        """The portfolio's accounts, oldest first (the first is the default account)."""
        counts = (
            select(Transaction.account_id, func.count().label("n"))
            .where(Transaction.portfolio_id == portfolio_id)
            .group_by(Transaction.account_id)
            .subquery()
        )
        stmt = (
            select(Account.__table__, func.coalesce(counts.c.n, 0).label("n"))
            .outerjoin(counts, counts.c.account_id == Account.id)
            .where(Account.portfolio_id == portfolio_id)
            .order_by(Account.created_at, Account.name)
        )
        with user_connection(self.engine, actor) as conn:
            self._owned(conn, actor, portfolio_id)
            rows = conn.execute(stmt).all()
        return [AccountRecord(r.id, r.portfolio_id, r.name, r.n) for r in rows]

    def create_account(self, actor: Actor, portfolio_id: uuid.UUID, name: str) -> AccountRecord:
        _require_write(actor)
        name = clean_name(name, "account")
        aid = uuid.uuid4()
        try:
            with user_transaction(self.engine, actor) as conn:
                self._owned(conn, actor, portfolio_id, lock=True)
                conn.execute(insert(Account).values(id=aid, portfolio_id=portfolio_id, name=name))
        except IntegrityError:
            raise LedgerError(
                "name", f"This portfolio already has an account called {name!r}."
            ) from None
        return AccountRecord(aid, portfolio_id, name, 0)

    def _owned_account(self, conn: Connection, portfolio_id: uuid.UUID, account_id: uuid.UUID):
        row = conn.execute(
            select(Account.__table__).where(
                Account.id == account_id, Account.portfolio_id == portfolio_id
            )
        ).first()
        if row is None:
            raise NotFound("No such account in this portfolio.")
        return row

    def rename_account(
        self, actor: Actor, portfolio_id: uuid.UUID, account_id: uuid.UUID, name: str
    ) -> None:
        _require_write(actor)
        name = clean_name(name, "account")
        try:
            with user_transaction(self.engine, actor) as conn:
                self._owned(conn, actor, portfolio_id, lock=True)
                self._owned_account(conn, portfolio_id, account_id)
                conn.execute(
                    update(Account)
                    .where(Account.id == account_id, Account.portfolio_id == portfolio_id)
                    .values(name=name)
                )
        except IntegrityError:
            raise LedgerError(
                "name", f"This portfolio already has an account called {name!r}."
            ) from None

    def delete_account(self, actor: Actor, portfolio_id: uuid.UUID, account_id: uuid.UUID) -> None:
        """Delete an empty account (refused while it has transactions or is the last one)."""
        _require_write(actor)
        with user_transaction(self.engine, actor) as conn:
            self._owned(conn, actor, portfolio_id, lock=True)
            row = self._owned_account(conn, portfolio_id, account_id)
            used = conn.execute(
                select(func.count()).where(
                    Transaction.portfolio_id == portfolio_id, Transaction.account_id == account_id
                )
            ).scalar_one()
            if used:
                raise LedgerError(
                    "account",
                    f"The account {row.name!r} still has {used} transaction(s): delete them "
                    "(or transfer its holdings to another account and delete the rest) first.",
                )
            if len(self._accounts(conn, portfolio_id).rows) <= 1:
                raise LedgerError("account", "A portfolio keeps at least one account.")
            conn.execute(
                delete(Account).where(
                    Account.id == account_id, Account.portfolio_id == portfolio_id
                )
            )

    # Transactions --------------------------------------------------------------------
    def _rows(self, conn: Connection, portfolio_id: uuid.UUID) -> list:
        stmt = (
            select(Transaction.__table__, Account.name.label("account_name"))
            .join(Account, Account.id == Transaction.account_id)
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
        """The ledger as the analytics frame (see ``docs/contracts.md``); ``account`` is the
        account's name, ``transfer_id`` a string."""
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
                    r.account,
                    r.fx_rate,
                    str(r.transfer_id) if r.transfer_id else None,
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
        create_accounts: bool = False,
    ) -> list[int]:
        """Apply one change set atomically after validating the resulting ledger.

        Removing one side of a transfer between accounts removes both sides. With
        ``create_accounts``, accounts named by the added drafts that the portfolio does not
        have yet are created in the same database transaction (so a refusal creates none).
        """
        _require_write(actor)
        today = today or _today()
        with user_transaction(self.engine, actor) as conn:
            portfolio = self._owned(conn, actor, portfolio_id, lock=True)
            accounts = self._accounts(conn, portfolio_id)
            if create_accounts:
                missing: dict[str, str] = {}  # casefolded → first spelling
                for d in add:
                    if isinstance(d.account, str) and d.account.strip():
                        try:
                            accounts.resolve(d.account)
                        except LedgerError:
                            name = clean_name(d.account, "account")
                            missing.setdefault(name.casefold(), name)
                for name in missing.values():
                    conn.execute(
                        insert(Account).values(
                            id=uuid.uuid4(), portfolio_id=portfolio_id, name=name
                        )
                    )
                if missing:
                    accounts = self._accounts(conn, portfolio_id)

            def check(d: TransactionDraft) -> tuple[TransactionDraft, uuid.UUID]:
                d = validate_draft(
                    d, instruments, today=today, base_currency=portfolio.base_currency
                )
                account = accounts.resolve(d.account)
                return dataclasses.replace(d, account=account.name), account.id

            checked = [check(d) for d in add]
            rows = {r.id: r for r in self._rows(conn, portfolio_id)}
            existing = {i: _record(r).as_draft() for i, r in rows.items()}
            for txn_id in (replace[0] if replace else None, remove):
                if txn_id is not None and txn_id not in existing:
                    raise NotFound("No such transaction in this portfolio.")
            new = None
            if replace is not None:
                txn_id, draft = replace
                if draft.account is None:  # an edit without an account keeps the row's
                    draft = dataclasses.replace(draft, account=rows[txn_id].account_id)
                new = (txn_id, check(draft))
            removed: set[int] = set()
            if remove is not None:
                pair = rows[remove].transfer_id
                removed = {
                    i for i, r in rows.items() if i == remove or (pair and r.transfer_id == pair)
                }
            if new is not None:
                existing[new[0]] = new[1][0]
            for txn_id in removed:
                del existing[txn_id]
            base = max(existing, default=0) + 1
            validate_positions(
                [*existing.items(), *((base + i, d) for i, (d, _) in enumerate(checked))]
            )
            used = [d for d, _ in checked if d.symbol]
            if new is not None and new[1][0].symbol:
                used.append(new[1][0])
            self._upsert_instruments(conn, [instruments[d.symbol] for d in used])
            if removed:
                conn.execute(
                    delete(Transaction).where(
                        Transaction.id.in_(sorted(removed)),
                        Transaction.portfolio_id == portfolio_id,
                    )
                )
            if new is not None:
                txn_id, (d, account_id) = new
                conn.execute(
                    update(Transaction)
                    .where(Transaction.id == txn_id, Transaction.portfolio_id == portfolio_id)
                    .values(**_columns(d, account_id))
                )
            new_ids = []
            for d, account_id in checked:
                result = conn.execute(
                    insert(Transaction).values(portfolio_id=portfolio_id, **_columns(d, account_id))
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

    def import_transactions(
        self,
        actor: Actor,
        portfolio_id: uuid.UUID,
        drafts: Sequence[TransactionDraft],
        instruments: Mapping[str, InstrumentInfo],
        *,
        today: date | None = None,
    ) -> list[int]:
        """All-or-nothing import: create the accounts the drafts name that the portfolio
        lacks, then store every draft, in ONE database transaction (a refusal leaves no new
        account and no row behind). Drafts keep their order; a ``transfer_id`` shared by
        two drafts makes them a transfer between accounts."""
        try:
            return self._write(
                actor, portfolio_id, instruments, add=drafts, today=today, create_accounts=True
            )
        except IntegrityError:
            raise LedgerError(
                "account", "An account of this portfolio changed meanwhile. Try again."
            ) from None

    def transfer(
        self,
        actor: Actor,
        portfolio_id: uuid.UUID,
        from_account: str | uuid.UUID,
        to_account: str | uuid.UUID,
        trade_date: date,
        symbol: str | None,
        size: float,
        currency: str | None = None,
        *,
        instruments: Mapping[str, InstrumentInfo] | None = None,
        note: str = "",
        today: date | None = None,
    ) -> tuple[int, int]:
        """Move shares (``symbol`` given: ``size`` = quantity) or cash (``symbol`` None:
        ``size`` = amount in ``currency``) from one account of the portfolio to another.

        Writes the ``transfer_out``/``transfer_in`` pair atomically with a shared
        ``transfer_id``: no external flow, the lots keep their cost and open date. Returns
        the ids (out, in). ``currency`` defaults to the instrument's for shares.
        """
        instruments = instruments or {}
        symbol = (symbol or "").strip().upper() or None
        if symbol and symbol not in instruments:
            raise LedgerError("symbol", f"Unknown symbol {symbol!r}: it is not in the market data.")
        if not currency and symbol:
            currency = instruments[symbol].currency
        tid = uuid.uuid4()
        common = {
            "trade_date": trade_date,
            "currency": currency or "",
            "symbol": symbol,
            "quantity": size if symbol else 0.0,
            "amount": 0.0 if symbol else size,
            "note": note,
            "transfer_id": tid,
        }
        out = TransactionDraft(Kind.TRANSFER_OUT.value, account=from_account, **common)
        into = TransactionDraft(Kind.TRANSFER_IN.value, account=to_account, **common)
        ids = self._write(actor, portfolio_id, instruments, add=[out, into], today=today)
        return ids[0], ids[1]

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
        """Replace a transaction (a draft without an account keeps the row's account)."""
        self._write(actor, portfolio_id, instruments, replace=(transaction_id, draft), today=today)

    def delete_transaction(
        self, actor: Actor, portfolio_id: uuid.UUID, transaction_id: int
    ) -> None:
        """Delete one transaction (both sides of a transfer between accounts); refused if a
        later sell would then exceed holdings."""
        self._write(actor, portfolio_id, {}, remove=transaction_id)

    # Allocation targets --------------------------------------------------------------
    @staticmethod
    def _dimension(dimension: str) -> str:
        value = (dimension or "").strip().lower()
        if value not in ALLOCATION_DIMENSIONS:
            raise LedgerError(
                "dimension", f"Dimension must be one of {', '.join(ALLOCATION_DIMENSIONS)}."
            )
        return value

    def get_targets(
        self, actor: Actor, portfolio_id: uuid.UUID, dimension: str
    ) -> dict[str, float]:
        """Target weights (fractions) per bucket along ``dimension``; empty when none."""
        dimension = self._dimension(dimension)
        with user_connection(self.engine, actor) as conn:
            self._owned(conn, actor, portfolio_id)
            rows = conn.execute(
                select(AllocationTarget.bucket, AllocationTarget.target_weight)
                .where(
                    AllocationTarget.portfolio_id == portfolio_id,
                    AllocationTarget.dimension == dimension,
                )
                .order_by(AllocationTarget.bucket)
            ).all()
        return {bucket: weight for bucket, weight in rows}

    def set_targets(
        self,
        actor: Actor,
        portfolio_id: uuid.UUID,
        dimension: str,
        weights: Mapping[str, float],
    ) -> None:
        """Replace the targets along ``dimension``. Weights are fractions in [0, 1] adding
        up to 1; an empty mapping clears the dimension's targets."""
        _require_write(actor)
        dimension = self._dimension(dimension)
        cleaned: dict[str, float] = {}
        for bucket, weight in weights.items():
            name = " ".join(str(bucket or "").split())
            if not name or len(name) > 100:
                raise LedgerError("bucket", "Each target needs a name of 1 to 100 characters.")
            if name in cleaned:
                raise LedgerError("bucket", f"{name!r} appears twice.")
            try:
                value = float(weight)
            except (TypeError, ValueError):
                value = math.nan
            if not math.isfinite(value) or not 0.0 <= value <= 1.0:
                raise LedgerError(
                    "target_weight", f"The target for {name!r} must be between 0 % and 100 %."
                )
            cleaned[name] = value
        total = sum(cleaned.values())
        if cleaned and abs(total - 1.0) > WEIGHT_TOLERANCE:
            raise LedgerError(
                "target_weight",
                f"Target weights must add up to 100 % (they add up to {total:.2%}).",
            )
        with user_transaction(self.engine, actor) as conn:
            self._owned(conn, actor, portfolio_id, lock=True)
            conn.execute(
                delete(AllocationTarget).where(
                    AllocationTarget.portfolio_id == portfolio_id,
                    AllocationTarget.dimension == dimension,
                )
            )
            if cleaned:
                conn.execute(
                    insert(AllocationTarget),
                    [
                        {
                            "portfolio_id": portfolio_id,
                            "dimension": dimension,
                            "bucket": bucket,
                            "target_weight": weight,
                        }
                        for bucket, weight in cleaned.items()
                    ],
                )

    # Import mappings -----------------------------------------------------------------
    def list_mappings(self, actor: Actor) -> list[ImportMapping]:
        """The actor's saved import mappings, by name."""
        with user_connection(self.engine, actor) as conn:
            rows = conn.execute(
                select(ImportMappingRow.__table__)
                .where(ImportMappingRow.user_id == actor.user_id)
                .order_by(ImportMappingRow.name)
            ).all()
        return [ImportMapping(r.id, r.name, r.source_kind, dict(r.mapping)) for r in rows]

    def save_mapping(
        self, actor: Actor, name: str, source_kind: str, mapping: Mapping
    ) -> ImportMapping:
        """Create the mapping ``name``, or replace the actor's mapping of that name."""
        _require_write(actor)
        name = clean_name(name, "mapping")
        source_kind = " ".join((source_kind or "").split())
        if not source_kind or len(source_kind) > 32:
            raise LedgerError("source_kind", "Name the source (1 to 32 characters), e.g. 'csv'.")
        try:
            text = json.dumps(dict(mapping))
        except (TypeError, ValueError):
            raise LedgerError("mapping", "The mapping must be plain JSON data.") from None
        if len(text) > MAX_MAPPING_CHARS:
            raise LedgerError("mapping", "The mapping is too large.")
        value = json.loads(text)
        with user_transaction(self.engine, actor) as conn:
            current = conn.execute(
                select(ImportMappingRow.id).where(
                    ImportMappingRow.user_id == actor.user_id, ImportMappingRow.name == name
                )
            ).scalar_one_or_none()
            if current is None:
                current = uuid.uuid4()
                conn.execute(
                    insert(ImportMappingRow).values(
                        id=current,
                        user_id=actor.user_id,
                        name=name,
                        source_kind=source_kind,
                        mapping=value,
                    )
                )
            else:
                conn.execute(
                    update(ImportMappingRow)
                    .where(
                        ImportMappingRow.id == current, ImportMappingRow.user_id == actor.user_id
                    )
                    .values(source_kind=source_kind, mapping=value)
                )
        return ImportMapping(current, name, source_kind, value)

    def delete_mapping(self, actor: Actor, mapping_id: uuid.UUID) -> None:
        _require_write(actor)
        with user_transaction(self.engine, actor) as conn:
            gone = conn.execute(
                delete(ImportMappingRow).where(
                    ImportMappingRow.id == mapping_id, ImportMappingRow.user_id == actor.user_id
                )
            ).rowcount
            if not gone:
                raise NotFound("No such import mapping.")


def _columns(d: TransactionDraft, account_id: uuid.UUID) -> dict:
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
        "account_id": account_id,
        "fx_rate": d.fx_rate,
        "transfer_id": d.transfer_id,
    }
