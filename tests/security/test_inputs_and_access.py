"""SQL injection strings in every text input; cross-user access through every page and
query parameter. Runs the pages with AppTest against a real SQLite database."""

from __future__ import annotations

import uuid
from datetime import date

import pytest
from sqlalchemy import func, inspect, select

from nexus.db.engine import get_engine
from nexus.db.schema import Portfolio, Transaction, User
from nexus.market import prices
from nexus.market.snapshot import SnapshotReader
from nexus.portfolio.model import InstrumentInfo, TransactionDraft
from nexus.portfolio.repository import PortfolioRepository
from nexus.ui.navigation import PAGES as NAV_PAGES
from tests.fixtures.app import PASSWORD, page

INJECTIONS = [
    "'; DROP TABLE users; --",
    "x' OR '1'='1",
    '" OR 1=1 --',
    "1); DELETE FROM portfolios; --",
    "Robert'); DROP TABLE transactions;--",
]
PAGES = [entry[0] for entry in NAV_PAGES]


def _tables(settings) -> set[str]:
    return set(inspect(get_engine(settings)).get_table_names())


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_strings_in_sign_in_and_registration_are_plain_text(app_settings, payload):
    before = _tables(app_settings)
    at = page("Home.py").run()
    at.text_input(key="sign_in_email").input(payload)
    at.text_input(key="sign_in_password").input(payload)
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["E-mail or password is incorrect."]
    at.text_input(key="register_name").input(payload)
    at.text_input(key="register_email").input(f"ok{abs(hash(payload)) % 1000}@example.com")
    at.text_input(key="register_password").input(PASSWORD)
    at.text_input(key="register_confirm").input(PASSWORD)
    at.button[1].click().run()
    assert not at.exception
    assert _tables(app_settings) == before
    with get_engine(app_settings).connect() as conn:
        assert conn.execute(select(User.display_name)).scalar_one() == payload
    at2 = page("Home.py").run()
    at2.text_input(key="forgot_email").input(payload)
    at2.button[2].click().run()
    assert not at2.exception and "If an account exists" in at2.success[0].value


@pytest.mark.parametrize("payload", INJECTIONS)
def test_injection_strings_in_portfolio_and_ledger_inputs_are_stored_verbatim(
    app_settings, signed_in, payload
):
    at, result = signed_in("pages/transactions.py")
    at.run()
    at.text_input[0].input(payload)  # onboarding: portfolio name
    at.button[0].click().run()
    assert not at.exception
    repo = PortfolioRepository(get_engine(app_settings))
    [portfolio] = repo.list_portfolios(result.actor)
    assert portfolio.name == " ".join(payload.split())
    at.segmented_control(key="new_kind").set_value("deposit").run()
    at.number_input[0].set_value(100.0)
    note = next(t for t in at.text_input if t.label == "Note (optional)")
    note.input(payload)
    at.button(key="FormSubmitter:new_transaction-Add transaction").click().run()
    assert not at.exception and not at.error
    [txn] = repo.list_transactions(result.actor, portfolio.id)
    assert txn.note == payload
    rename = at.text_input(key="rename")
    rename.input(payload + " renamed")
    at.button(key="rename_btn").click().run()
    assert repo.get_portfolio(result.actor, portfolio.id).name.endswith("renamed")
    with get_engine(app_settings).connect() as conn:
        assert conn.execute(select(func.count()).select_from(User)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(Portfolio)).scalar_one() == 1
        assert conn.execute(select(func.count()).select_from(Transaction)).scalar_one() == 1


@pytest.fixture
def alice_and_bob(app_settings, signed_in):
    """Alice owns a portfolio with a transaction; Bob has his own."""
    _, alice = signed_in("pages/dashboard.py", "alice@example.com")
    repo = PortfolioRepository(get_engine(app_settings))
    reader = SnapshotReader(app_settings.history_path)
    symbol = prices.symbols(reader).filter(currency="USD", asset_class="equity")["symbol"][0]
    secret = repo.create_portfolio(alice.actor, "Alice secret", "USD")
    repo.add_transaction(
        alice.actor,
        secret.id,
        TransactionDraft("buy", date(2024, 1, 2), "USD", symbol, 7, 10.0, note="alice-note"),
        {symbol: InstrumentInfo(symbol, symbol, "USD")},
    )
    return repo, alice, secret


@pytest.mark.parametrize("path", PAGES)
@pytest.mark.parametrize(
    "params",
    [
        {"portfolio": "ALICE"},
        {"portfolio": "' OR 1=1 --"},
        {"portfolio": str(uuid.uuid4())},
        {"edit_choice": "1", "portfolio": "ALICE"},
        {"admin_user": "ALICE_USER"},
    ],
)
def test_bob_cannot_see_alice_through_any_page_or_query_parameter(
    app_settings, signed_in, alice_and_bob, path, params
):
    repo, alice, secret = alice_and_bob
    at, bob = signed_in(path, "bob@example.com")
    repo.create_portfolio(bob.actor, "Bob main", "USD")
    for key, value in params.items():
        value = value.replace("ALICE_USER", str(alice.actor.user_id))
        at.query_params[key] = value.replace("ALICE", str(secret.id))
    at.run()
    assert not at.exception
    shown = " ".join(
        str(e.value) for kind in ("markdown", "caption", "title", "text") for e in at.get(kind)
    )
    for widget in at.selectbox:
        shown += " " + " ".join(map(str, widget.options))
    for frame in at.dataframe:
        shown += " " + frame.value.to_string() if hasattr(frame.value, "to_string") else ""
    assert "Alice secret" not in shown and "alice-note" not in shown
    assert "alice@example.com" not in shown
    if path in ("pages/admin.py", "pages/data_health.py"):
        assert "administrators" in at.error[0].value or "role you do not have" in at.error[0].value
    assert repo.get_portfolio(alice.actor, secret.id).transaction_count == 1
