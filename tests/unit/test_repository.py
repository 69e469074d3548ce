"""Portfolio repository on SQLite and Postgres: tenant scoping and ledger validation."""

from __future__ import annotations

import dataclasses
import uuid
from datetime import date

import polars as pl
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
        (TransactionDraft("gift", date(2024, 1, 2), "USD", amount=5), "kind", "Unknown"),
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


# --------------------------------------------------------------------------- the complete ledger


def d(kind: str, day: date = date(2024, 3, 1), ccy: str = "USD", **fields) -> TransactionDraft:
    return TransactionDraft(kind, day, ccy, **fields)


@pytest.mark.parametrize(
    ("draft", "field", "message"),
    [
        (d("split", symbol="AAPL", quantity=0), "quantity", "split ratio"),
        (d("split", symbol="AAPL", quantity=1), "quantity", "ratio of 1 changes nothing"),
        (d("split", quantity=2), "symbol", "A split needs a symbol"),
        (d("split", symbol="SAP", quantity=2), "currency", "SAP trades in EUR"),
        (d("split", date(2023, 1, 2), symbol="AAPL", quantity=2), "symbol", "no AAPL on 2023"),
        (d("interest", amount=0), "amount", "Amount must be greater than zero"),
        (d("tax", symbol="AAPL", amount=-1), "amount", "Amount must be greater than zero"),
        (d("dividend", symbol="AAPL", amount=5, fee=6), "fee", "cannot exceed the dividend"),
        (d("dividend", symbol="AAPL", amount=5, quantity=1), "price", "reinvested dividend"),
        (d("transfer_out", symbol="AAPL", quantity=11, price=100), "quantity", "more than the 10"),
        (d("transfer_in", symbol="AAPL", quantity=1), "price", "market value per share"),
        (d("transfer_in", amount=0), "amount", "Amount must be greater than zero"),
        (d("deposit", amount=5, account="Nope"), "account", "no account called Nope"),
        (d("deposit", ccy="EUR", amount=5, fx_rate=-1.0), "fx_rate", "greater than zero"),
        (d("deposit", amount=5, fx_rate=1.1), "fx_rate", "base currency \\(USD\\) has an FX"),
    ],
)
def test_new_kinds_are_validated_with_clear_messages(world, draft, field, message):
    repo, alice, _ = world
    p = repo.create_portfolio(alice, "Main", "USD")
    repo.add_transaction(alice, p.id, buy(10), INSTRUMENTS, today=TODAY)
    before = repo.list_transactions(alice, p.id)
    with pytest.raises(LedgerError, match=message) as err:
        repo.add_transaction(alice, p.id, draft, INSTRUMENTS, today=TODAY)
    assert err.value.field == field
    assert repo.list_transactions(alice, p.id) == before


def test_every_kind_is_stored_and_read_back(world):
    repo, alice, _ = world
    p = repo.create_portfolio(alice, "Everything", "USD")
    isa = repo.create_account(alice, p.id, "ISA")
    drafts = [
        buy(10),
        d("split", date(2024, 1, 3), symbol="aapl", quantity=2, price=9, fee=3),  # unused zeroed
        d("dividend", symbol="AAPL", amount=20, fee=3, quantity=0.1, price=150),  # DRIP
        d("interest", amount=4.5),
        d("tax", symbol="AAPL", amount=3),
        d("fee", amount=1),
        d("deposit", ccy="EUR", amount=100, fx_rate=1.08, account="ISA"),
        d("transfer_in", symbol="SAP", ccy="EUR", quantity=2, price=120, account="isa"),
        d("transfer_out", amount=10, account=isa.id),
        d("withdrawal", amount=1, fx_rate=1.0),  # base currency: rate 1 is accepted, not kept
    ]
    repo.add_transactions(alice, p.id, drafts, INSTRUMENTS, today=TODAY)
    rows = repo.list_transactions(alice, p.id)
    split = next(r for r in rows if r.kind == "split")
    assert (split.symbol, split.quantity, split.price, split.fee) == ("AAPL", 2.0, 0.0, 0.0)
    drip = next(r for r in rows if r.kind == "dividend")
    assert (drip.amount, drip.fee, drip.quantity, drip.price) == (20.0, 3.0, 0.1, 150.0)
    eur = next(r for r in rows if r.kind == "deposit")
    assert (eur.account, eur.account_id, eur.fx_rate) == ("ISA", isa.id, 1.08)
    sap = next(r for r in rows if r.kind == "transfer_in")
    assert (sap.account, sap.transfer_id, sap.price) == ("ISA", None, 120.0)
    assert next(r for r in rows if r.kind == "withdrawal").fx_rate is None
    assert {r.account for r in rows if r.kind in ("buy", "split", "interest")} == {"Main"}
    frame = repo.transactions_frame(alice, p.id)
    assert frame.columns[-3:] == ["account", "fx_rate", "transfer_id"]
    assert frame.height == len(drafts)
    # AAPL in Main: 10 bought, x2 split, +0.1 reinvested = 20.1.
    from nexus.analytics.lots import open_lots

    lots = open_lots(frame)
    assert dict(lots.group_by("symbol").agg(pl.col("quantity").sum()).iter_rows()) == {
        "AAPL": pytest.approx(20.1),
        "SAP": 2.0,
    }


def test_transfer_between_accounts_is_one_atomic_pair(world):
    repo, alice, _ = world
    p = repo.create_portfolio(alice, "Main", "USD")
    assert [a.name for a in repo.list_accounts(alice, p.id)] == ["Main"]
    repo.create_account(alice, p.id, "  Broker   B ")
    repo.add_transaction(alice, p.id, buy(10), INSTRUMENTS, today=TODAY)
    out_id, in_id = repo.transfer(
        alice,
        p.id,
        "Main",
        "Broker B",
        date(2024, 2, 1),
        "AAPL",
        4,
        instruments=INSTRUMENTS,
        today=TODAY,
    )
    rows = {r.id: r for r in repo.list_transactions(alice, p.id)}
    out, into = rows[out_id], rows[in_id]
    assert (out.kind, out.account, into.kind, into.account) == (
        "transfer_out",
        "Main",
        "transfer_in",
        "Broker B",
    )
    assert out.transfer_id == into.transfer_id is not None
    assert (out.currency, out.quantity, out.price) == ("USD", 4.0, 0.0)
    cash_ids = repo.transfer(
        alice, p.id, "Broker B", "Main", date(2024, 2, 2), None, 250.0, "EUR", today=TODAY
    )
    cash_legs = [r for r in repo.list_transactions(alice, p.id) if r.id in cash_ids]
    assert [(r.kind, r.account, r.amount, r.currency, r.symbol) for r in cash_legs] == [
        ("transfer_out", "Broker B", 250.0, "EUR", None),
        ("transfer_in", "Main", 250.0, "EUR", None),
    ]
    # More than the account holds: nothing is written.
    before = repo.list_transactions(alice, p.id)
    with pytest.raises(LedgerError, match="Transferring 7 AAPL out of Main on 2024-02-03"):
        repo.transfer(
            alice,
            p.id,
            "Main",
            "Broker B",
            date(2024, 2, 3),
            "AAPL",
            7,
            instruments=INSTRUMENTS,
            today=TODAY,
        )
    with pytest.raises(LedgerError, match="two different accounts"):
        repo.transfer(
            alice,
            p.id,
            "Main",
            "Main",
            date(2024, 2, 3),
            "AAPL",
            1,
            instruments=INSTRUMENTS,
            today=TODAY,
        )
    assert repo.list_transactions(alice, p.id) == before
    # Selling more than Main has left (10 - 4) is refused, naming the account.
    with pytest.raises(LedgerError, match="more than the 6 held in Main"):
        repo.add_transaction(alice, p.id, sell(7, date(2024, 3, 1)), INSTRUMENTS, today=TODAY)
    # Editing one side out of step with the other is refused; deleting one deletes both.
    changed = dataclasses.replace(out.as_draft(), quantity=3)
    with pytest.raises(LedgerError, match="two sides of a transfer"):
        repo.update_transaction(alice, p.id, out_id, changed, INSTRUMENTS, today=TODAY)
    repo.delete_transaction(alice, p.id, in_id)
    assert {r.id for r in repo.list_transactions(alice, p.id)} & {out_id, in_id} == set()


def test_an_edit_without_an_account_keeps_the_rows_account(world):
    repo, alice, _ = world
    p = repo.create_portfolio(alice, "Main", "USD")
    repo.create_account(alice, p.id, "ISA")
    isa_buy = dataclasses.replace(buy(10), account="ISA")
    txn = repo.add_transaction(alice, p.id, isa_buy, INSTRUMENTS, today=TODAY)
    repo.update_transaction(alice, p.id, txn, buy(12), INSTRUMENTS, today=TODAY)
    [row] = repo.list_transactions(alice, p.id)
    assert (row.quantity, row.account) == (12.0, "ISA")
    repo.update_transaction(
        alice, p.id, txn, dataclasses.replace(buy(12), account="Main"), INSTRUMENTS, today=TODAY
    )
    assert repo.list_transactions(alice, p.id)[0].account == "Main"
    with pytest.raises(LedgerError, match="Unknown symbol 'NOPE'"):
        repo.transfer(alice, p.id, "Main", "ISA", date(2024, 2, 1), "nope", 1, today=TODAY)


def test_accounts_lifecycle(world):
    repo, alice, _ = world
    p = repo.create_portfolio(alice, "Main", "USD")
    [main] = repo.list_accounts(alice, p.id)
    isa = repo.create_account(alice, p.id, "ISA")
    with pytest.raises(LedgerError, match="already has an account called 'ISA'"):
        repo.create_account(alice, p.id, "ISA")
    with pytest.raises(LedgerError, match="Give the account a name"):
        repo.create_account(alice, p.id, "  ")
    repo.add_transaction(
        alice, p.id, d("deposit", amount=5, account="ISA"), INSTRUMENTS, today=TODAY
    )
    with pytest.raises(LedgerError, match="still has 1 transaction"):
        repo.delete_account(alice, p.id, isa.id)
    repo.rename_account(alice, p.id, isa.id, "Tax-free")
    assert [(a.name, a.transaction_count) for a in repo.list_accounts(alice, p.id)] == [
        ("Main", 0),
        ("Tax-free", 1),
    ]
    assert repo.list_transactions(alice, p.id)[0].account == "Tax-free"
    repo.delete_account(alice, p.id, main.id)  # empty: fine
    repo.delete_transaction(alice, p.id, repo.list_transactions(alice, p.id)[0].id)
    with pytest.raises(LedgerError, match="at least one account"):
        repo.delete_account(alice, p.id, isa.id)
    # Without "Main", a draft without an account goes to the first remaining one.
    repo.add_transaction(alice, p.id, d("deposit", amount=1), INSTRUMENTS, today=TODAY)
    assert repo.list_transactions(alice, p.id)[0].account == "Tax-free"


def test_lot_method_per_portfolio(world):
    repo, alice, bob = world
    p = repo.create_portfolio(alice, "Main", "USD")
    assert p.lot_method == "fifo"
    repo.set_lot_method(alice, p.id, "HIFO")
    assert repo.get_portfolio(alice, p.id).lot_method == "hifo"
    assert repo.list_portfolios(alice)[0].lot_method == "hifo"
    with pytest.raises(LedgerError, match="Lot method must be one of"):
        repo.set_lot_method(alice, p.id, "random")
    with pytest.raises(NotFound):
        repo.set_lot_method(bob, p.id, "lifo")
    with pytest.raises(PermissionDenied):
        repo.set_lot_method(Actor(alice.user_id, alice.email, "viewer"), p.id, "lifo")


def test_allocation_targets(world):
    repo, alice, _ = world
    p = repo.create_portfolio(alice, "Main", "USD")
    repo.set_targets(alice, p.id, "sector", {"Tech": 0.6, " Health  care ": 0.4})
    assert repo.get_targets(alice, p.id, "sector") == {"Health care": 0.4, "Tech": 0.6}
    assert repo.get_targets(alice, p.id, "region") == {}
    repo.set_targets(alice, p.id, "sector", {"Tech": 1.0})  # replaces the dimension
    assert repo.get_targets(alice, p.id, "sector") == {"Tech": 1.0}
    for weights, message in (
        ({"Tech": 0.5, "Health": 0.4}, "add up to 100 % \\(they add up to 90.00%\\)"),
        ({"Tech": 1.5, "Health": -0.5}, "between 0 % and 100 %"),
        ({"": 1.0}, "needs a name"),
        ({"Tech": "lots"}, "between 0 % and 100 %"),
    ):
        with pytest.raises(LedgerError, match=message):
            repo.set_targets(alice, p.id, "sector", weights)
    with pytest.raises(LedgerError, match="Dimension must be one of"):
        repo.set_targets(alice, p.id, "colour", {"Red": 1.0})
    assert repo.get_targets(alice, p.id, "sector") == {"Tech": 1.0}
    repo.set_targets(alice, p.id, "sector", {})
    assert repo.get_targets(alice, p.id, "sector") == {}


def test_import_mappings(world):
    repo, alice, _ = world
    first = repo.save_mapping(alice, "Broker CSV", "csv", {"Date": "date", "Qty": "quantity"})
    again = repo.save_mapping(alice, "Broker CSV", "csv", {"Date": "date"})  # replaces
    assert again.id == first.id
    other = repo.save_mapping(alice, "Another", "xlsx", {})
    assert [(m.name, m.mapping) for m in repo.list_mappings(alice)] == [
        ("Another", {}),
        ("Broker CSV", {"Date": "date"}),
    ]
    with pytest.raises(LedgerError, match="plain JSON"):
        repo.save_mapping(alice, "Bad", "csv", {"x": object()})
    repo.delete_mapping(alice, other.id)
    assert [m.name for m in repo.list_mappings(alice)] == ["Broker CSV"]


def test_other_users_get_not_found_for_accounts_targets_and_mappings(world):
    repo, alice, bob = world
    pa = repo.create_portfolio(alice, "Alice", "USD")
    [alice_main] = repo.list_accounts(alice, pa.id)
    isa = repo.create_account(alice, pa.id, "ISA")
    repo.set_targets(alice, pa.id, "symbol", {"AAPL": 1.0})
    mapping = repo.save_mapping(alice, "Mine", "csv", {"a": "b"})
    pb = repo.create_portfolio(bob, "Bob", "USD")
    [bob_main] = repo.list_accounts(bob, pb.id)

    attempts = [
        lambda: repo.list_accounts(bob, pa.id),
        lambda: repo.create_account(bob, pa.id, "Sneaky"),
        lambda: repo.rename_account(bob, pa.id, isa.id, "pwned"),
        lambda: repo.delete_account(bob, pa.id, isa.id),
        lambda: repo.get_targets(bob, pa.id, "symbol"),
        lambda: repo.set_targets(bob, pa.id, "symbol", {"MSFT": 1.0}),
        lambda: repo.transfer(
            bob, pa.id, "Main", "ISA", date(2024, 1, 2), None, 1.0, "USD", today=TODAY
        ),
    ]
    for attempt in attempts:
        with pytest.raises(NotFound, match="No such portfolio"):
            attempt()
    # Alice's account id used in Bob's own portfolio: no such account there.
    with pytest.raises(NotFound, match="No such account"):
        repo.rename_account(bob, pb.id, isa.id, "pwned")
    with pytest.raises(NotFound, match="No such account"):
        repo.delete_account(bob, pb.id, alice_main.id)
    with pytest.raises(LedgerError, match="no account called"):
        repo.add_transaction(
            bob, pb.id, d("deposit", amount=1, account=isa.id), INSTRUMENTS, today=TODAY
        )
    with pytest.raises(NotFound, match="No such import mapping"):
        repo.delete_mapping(bob, mapping.id)
    assert repo.list_mappings(bob) == []
    # Bob's save of the same name is his own mapping.
    repo.save_mapping(bob, "Mine", "csv", {})
    assert repo.list_mappings(alice)[0].mapping == {"a": "b"}
    assert [a.name for a in repo.list_accounts(alice, pa.id)] == ["Main", "ISA"]
    assert repo.get_targets(alice, pa.id, "symbol") == {"AAPL": 1.0}
    assert bob_main.name == "Main"


def test_deleting_a_portfolio_removes_its_accounts_and_targets(world):
    repo, alice, _ = world
    p = repo.create_portfolio(alice, "Main", "USD")
    repo.create_account(alice, p.id, "ISA")
    repo.set_targets(alice, p.id, "account", {"Main": 0.5, "ISA": 0.5})
    repo.add_transaction(
        alice, p.id, d("deposit", amount=5, account="ISA"), INSTRUMENTS, today=TODAY
    )
    repo.delete_portfolio(alice, p.id)
    with get_engine_for(repo).connect() as conn:
        from sqlalchemy import text

        for table in ("accounts", "allocation_targets", "transactions"):
            assert conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one() == 0


def get_engine_for(repo: PortfolioRepository):
    return repo.engine


def test_import_transactions_creates_missing_accounts_in_the_same_transaction(world):
    repo, alice, bob = world
    p = repo.create_portfolio(alice, "Imported", "USD")
    tid = uuid.uuid4()
    drafts = [
        d("deposit", amount=1_000.0, account="Broker B"),
        d("buy", symbol="AAPL", quantity=5, price=100.0, account="broker b"),  # same account
        d("transfer_out", amount=50.0, account="Broker B", transfer_id=tid),
        d("transfer_in", amount=50.0, account="Savings", transfer_id=tid),
        d("deposit", amount=10.0),  # no account: the portfolio's first
    ]
    ids = repo.import_transactions(alice, p.id, drafts, INSTRUMENTS, today=TODAY)
    assert len(ids) == 5
    assert [(a.name, a.transaction_count) for a in repo.list_accounts(alice, p.id)] == [
        ("Main", 1),
        ("Broker B", 3),
        ("Savings", 1),
    ]
    out, into = (r for r in repo.list_transactions(alice, p.id) if r.transfer_id)
    assert out.transfer_id == into.transfer_id and (out.account, into.account) == (
        "Broker B",
        "Savings",
    )

    # A refused import creates no account and no row, however many it would have added.
    before = (repo.list_accounts(alice, p.id), repo.list_transactions(alice, p.id))
    refused = [
        d("deposit", amount=5.0, account="Ghost 1"),
        d("sell", symbol="AAPL", quantity=6, price=100.0, account="Ghost 2"),
    ]
    with pytest.raises(LedgerError, match="Selling 6 AAPL"):
        repo.import_transactions(alice, p.id, refused, INSTRUMENTS, today=TODAY)
    with pytest.raises(LedgerError, match="80 characters"):
        repo.import_transactions(
            alice, p.id, [d("deposit", amount=1.0, account="x" * 81)], INSTRUMENTS, today=TODAY
        )
    assert (repo.list_accounts(alice, p.id), repo.list_transactions(alice, p.id)) == before
    # Another user's portfolio: not found, nothing created.
    with pytest.raises(NotFound, match="No such portfolio"):
        repo.import_transactions(bob, p.id, drafts[:1], INSTRUMENTS, today=TODAY)
    assert repo.list_accounts(alice, p.id) == before[0]
