"""Each user's watchlist of symbols (tenant-scoped like every record)."""

from __future__ import annotations

from sqlalchemy import Engine, delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from nexus.auth.models import Actor
from nexus.db.rls import user_connection, user_transaction
from nexus.db.schema import WatchlistItem
from nexus.portfolio.model import LedgerError

MAX_ITEMS = 50


class Watchlist:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def symbols(self, actor: Actor) -> list[str]:
        with user_connection(self.engine, actor) as conn:
            return list(
                conn.execute(
                    select(WatchlistItem.symbol)
                    .where(WatchlistItem.user_id == actor.user_id)
                    .order_by(WatchlistItem.added_at, WatchlistItem.symbol)
                ).scalars()
            )

    def add(self, actor: Actor, symbol: str, known: set[str]) -> None:
        """Add a symbol the market data knows (viewers may keep a watchlist too)."""
        symbol = (symbol or "").strip().upper()
        if symbol not in known:
            raise LedgerError("symbol", f"Unknown symbol {symbol!r}: it is not in the market data.")
        if len(self.symbols(actor)) >= MAX_ITEMS:
            raise LedgerError("symbol", f"A watchlist holds at most {MAX_ITEMS} symbols.")
        with user_transaction(self.engine, actor) as conn:
            ins = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            conn.execute(
                ins(WatchlistItem)
                .values(user_id=actor.user_id, symbol=symbol)
                .on_conflict_do_nothing()
            )

    def remove(self, actor: Actor, symbol: str) -> None:
        with user_transaction(self.engine, actor) as conn:
            conn.execute(
                delete(WatchlistItem).where(
                    WatchlistItem.user_id == actor.user_id, WatchlistItem.symbol == symbol
                )
            )
