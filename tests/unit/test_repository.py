"""Portfolio repository on SQLite and Postgres: tenant scoping and ledger validation."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from nexus.auth.errors import PermissionDenied
from nexus.auth.local import LocalBackend
from nexus.auth.models import Actor
from nexus.db.engine import get_engine
from nexus.portfolio.model import InstrumentInfo, LedgerError, NotFound, TransactionDraft
from nexus.portfolio.repository import PortfolioRepository

TODAY = date(2026, 11, 25)
INSTRUMENTS = {
    "AAPL": InstrumentInfo("AAPL", "Apple", "USD"),
    "SAP": InstrumentInfo("SAP", "SAP SE", "EUR"),
}


def buy(qty: float, day: date = date(2024, 1, 2), symbol: str = "AAPL", ccy: str = "USD"):
    return TransactionDraft("buy", day, ccy, symbol, qty, 100.0, fee=1.0)


def sell(qty: float, day: date = date(2024, 2, 1)):
    return TransactionDraft("sell", day, "USD", "AAPL", qty, 110.0)


@pytest.fixture
def world(db_settings):
    engine = get_engine(db_settings)
    backend = LocalBackend(engine, db_settings)
    alice = backend.sign_up("alice@example.com", "correct horse battery")
    bob = backend.sign_up("bob@example.com", "tr0ub4dor and 3 more")
    return PortfolioRepository(engine), alice, bob


def test_user_b_can_neither_read_nor_change_user_a_portfolio(world):
    repo, alice, bob = world
    pa = repo.create_portfolio(alice, "Alice main", "USD")
    txn = repo.add_transaction(alice, pa.id, buy(10), INSTRUMENTS, today=TODAY)

    assert repo.list_portfolios(bob) == []
    attempts = [
        lambda: repo.get_portfolio(bob, pa.id),
        lambda: repo.list_transactions(bob, pa.id),
        lambda: repo.transactions_frame(bob, pa.id),
        lambda: repo.rename_portfolio(bob, pa.id, "pwned"),
        lambda: repo.delete_portfolio(bob, pa.id),
        lambda: repo.add_transaction(bob, pa.id, buy(1), INSTRUMENTS, today=TODAY),
        lambda: repo.update_transaction(bob, pa.id, txn, buy(99), INSTRUMENTS, today=TODAY),
        lambda: repo.delete_transaction(bob, pa.id, txn),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound, match="No such portfolio"):
            attempt()
    # Bob's own portfolio id with Alice's transaction id: still not found.
    pb = repo.create_portfolio(bob, "Bob main", "USD")
    with pytest.raises(NotFound, match="No such transaction"):
        repo.delete_transaction(bob, pb.id, txn)
    with pytest.raises(NotFound, match="No such transaction"):
        repo.update_transaction(bob, pb.id, txn, buy(5), INSTRUMENTS, today=TODAY)

    unchanged = repo.get_portfolio(alice, pa.id)
    assert unchanged.name == "Alice main"
    [record] = repo.list_transactions(alice, pa.id)
    assert (record.id, record.quantity) == (txn, 10.0)
    # An id that exists nowhere behaves exactly the same.
    with pytest.raises(NotFound, match="No such portfolio"):
        repo.get_portfolio(alice, uuid.uuid4())


@pytest.mark.parametrize(
    ("draft", "field", "message"),
    [
        (buy(10, symbol="NOPE"), "symbol", "Unknown symbol 'NOPE'"),
        (buy(0), "quantity", "Quantity must be greater than zero"),
        (buy(-3), "quantity", "Quantity must be greater than zero"),
        (TransactionDraft("buy", date(2024, 1, 2), "USD", "AAPL", 1, 0.0), "price", "Price"),
        (TransactionDraft("buy", date(2024, 1, 2), "USD", "AAPL", 1, -5), "price", "Price"),
        (sell(11), "quantity", "more than the 10 held"),
        (buy(1, day=date(2026, 11, 26)), "trade_date", "in the future"),
        (buy(1, symbol="SAP", ccy="USD"), "currency", "SAP trades in EUR, not USD"),
        (TransactionDraft("deposit", date(2024, 1, 2), "USD", amount=0), "amount", "Amount"),
        (TransactionDraft("deposit", date(2024, 1, 2), "XYZ", amount=5), "currency", "Currency"),
        (TransactionDraft("dividend", date(2024, 1, 2), "USD", amount=5), "symbol", "needs a sym"),
        (TransactionDraft("split", date(2024, 1, 2), "USD", amount=5), "kind", "Unknown"),
    ],
)
def test_invalid_transactions_are_refused_and_nothing_is_stored(world, draft, field, message):
    repo, alice, _ = world
    p = repo.create_portfolio(alice, "Main", "USD")
    repo.add_transaction(alice, p.id, buy(10), INSTRUMENTS, today=TODAY)
    before = repo.list_transactions(alice, p.id)
    with pytest.raises(LedgerError, match=message) as err:
        repo.add_transaction(alice, p.id, draft, INSTRUMENTS, today=TODAY)
    assert err.value.field == field
    assert repo.list_transactions(alice, p.id) == before


def test_edits_and_deletes_that_would_oversell_are_refused(world):
    repo, alice, _ = world
    p = repo.create_portfolio(alice, "Main", "USD")
    first = repo.add_transaction(alice, p.id, buy(10), INSTRUMENTS, today=TODAY)
    repo.add_transaction(alice, p.id, sell(8), INSTRUMENTS, today=TODAY)
    before = repo.list_transactions(alice, p.id)
    with pytest.raises(LedgerError, match="Selling 8 AAPL on 2024-02-01"):
        repo.delete_transaction(alice, p.id, first)
    with pytest.raises(LedgerError, match="more than the 5 held"):
        repo.update_transaction(alice, p.id, first, buy(5), INSTRUMENTS, today=TODAY)
    # Moving the buy after the sell leaves nothing held on the sell date.
    with pytest.raises(LedgerError, match="more than the 0 held"):
        repo.update_transaction(
            alice, p.id, first, buy(10, day=date(2024, 3, 1)), INSTRUMENTS, today=TODAY
        )
    assert repo.list_transactions(alice, p.id) == before
    repo.update_transaction(alice, p.id, first, buy(12), INSTRUMENTS, today=TODAY)
    assert repo.list_transactions(alice, p.id)[0].quantity == 12


def test_batch_is_all_or_nothing(world):
    repo, alice, _ = world
    p = repo.create_portfolio(alice, "Main", "USD")
    batch = [buy(5), buy(5, symbol="SAP", ccy="EUR"), sell(20)]
    with pytest.raises(LedgerError):
        repo.add_transactions(alice, p.id, batch, INSTRUMENTS, today=TODAY)
    assert repo.list_transactions(alice, p.id) == []
    ids = repo.add_transactions(alice, p.id, batch[:2], INSTRUMENTS, today=TODAY)
    assert len(ids) == 2
    frame = repo.transactions_frame(alice, p.id)
    assert frame["symbol"].to_list() == ["AAPL", "SAP"]
    assert frame["currency"].to_list() == ["USD", "EUR"]


def test_portfolio_lifecycle_and_names(world):
    repo, alice, bob = world
    p = repo.create_portfolio(alice, "  Growth   fund ", "eur")
    assert (p.name, p.base_currency) == ("Growth fund", "EUR")
    with pytest.raises(LedgerError, match="already have a portfolio called"):
        repo.create_portfolio(alice, "Growth fund", "USD")
    repo.create_portfolio(bob, "Growth fund", "USD")  # names are per user
    with pytest.raises(LedgerError, match="Give the portfolio a name"):
        repo.create_portfolio(alice, "   ", "USD")
    with pytest.raises(LedgerError, match="Base currency"):
        repo.create_portfolio(alice, "X", "BTC")
    repo.rename_portfolio(alice, p.id, "Income")
    assert repo.get_portfolio(alice, p.id).name == "Income"
    repo.add_transaction(alice, p.id, buy(1), INSTRUMENTS, today=TODAY)
    repo.delete_portfolio(alice, p.id)
    assert repo.list_portfolios(alice) == []


def test_viewers_cannot_write(world):
    repo, alice, _ = world
    p = repo.create_portfolio(alice, "Main", "USD")
    viewer = Actor(alice.user_id, alice.email, "viewer")
    with pytest.raises(PermissionDenied):
        repo.add_transaction(viewer, p.id, buy(1), INSTRUMENTS, today=TODAY)
    with pytest.raises(PermissionDenied):
        repo.create_portfolio(viewer, "Other", "USD")
    assert repo.get_portfolio(viewer, p.id).transaction_count == 0


def test_traded_symbols_are_the_actors_own(world):
    repo, alice, bob = world
    pa = repo.create_portfolio(alice, "A", "USD")
    repo.add_transactions(alice, pa.id, [buy(1), buy(2, symbol="SAP", ccy="EUR")], INSTRUMENTS,
                          today=TODAY)  # fmt: skip
    repo.add_transaction(alice, pa.id, TransactionDraft("deposit", date(2024, 1, 2), "USD",
                         amount=5), INSTRUMENTS, today=TODAY)  # fmt: skip
    assert repo.traded_symbols(alice) == ["AAPL", "SAP"]
    assert repo.traded_symbols(bob) == []
