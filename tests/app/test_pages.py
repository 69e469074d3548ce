"""AppTest for every page: guards, sign-in/registration, dashboard numbers, ledger forms."""

from __future__ import annotations

import uuid
from datetime import date

import pytest

from nexus.analytics import valuation
from nexus.db.engine import get_engine
from nexus.market import prices
from nexus.market.snapshot import SnapshotReader
from nexus.portfolio.model import InstrumentInfo, TransactionDraft
from nexus.portfolio.repository import PortfolioRepository
from nexus.ui.format import money
from tests.fixtures.app import PASSWORD, page

PAGES = [
    "Home.py",
    "pages/dashboard.py",
    "pages/transactions.py",
    "pages/markets.py",
    "pages/news.py",
    "pages/economy.py",
    "pages/settings.py",
    "pages/admin.py",
    "pages/data_health.py",
]
SIGN_IN_BUTTONS = ["Sign in", "Create account", "Send reset link"]


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_visitor_sees_only_the_sign_in_page(app_settings, path):
    at = page(path).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Portfolio Nexus"]
    assert [b.label for b in at.button] == SIGN_IN_BUTTONS
    assert not at.metric and not at.dataframe and not at.selectbox
    assert not at.sidebar.button  # no menu, no sign-out


@pytest.mark.parametrize("path", PAGES)
def test_a_forged_or_dead_session_id_is_treated_as_signed_out(app_settings, backend, path):
    backend.sign_up("ann@example.com", PASSWORD)
    result = backend.sign_in_with_password("ann@example.com", PASSWORD)
    backend.sign_out(result.session_id)
    for sid in (str(uuid.uuid4()), str(result.session_id)):
        at = page(path)
        at.session_state["nexus_session_id"] = sid
        at.run()
        assert [b.label for b in at.button] == SIGN_IN_BUTTONS
        assert not at.metric


def test_register_then_land_on_onboarding(app_settings):
    at = page("Home.py").run()
    at.text_input(key="register_email").input("new@example.com")
    at.text_input(key="register_password").input("short")
    at.text_input(key="register_confirm").input("short")
    at.button[1].click().run()
    assert "at least 10 characters" in at.error[0].value
    assert "nexus_session_id" not in at.session_state

    at.text_input(key="register_password").input(PASSWORD)
    at.text_input(key="register_confirm").input(PASSWORD)
    at.button[1].click().run()
    assert not at.exception
    assert "nexus_session_id" in at.session_state
    assert [t.value for t in at.title] == ["Dashboard"]
    assert any("no portfolio yet" in m.value for m in at.markdown)
    assert any(b.label == "Load demo portfolio" for b in at.button)


def test_wrong_password_gets_one_generic_message(app_settings, backend):
    backend.sign_up("ann@example.com", PASSWORD)
    at = page("Home.py").run()
    at.text_input(key="sign_in_email").input("ann@example.com")
    at.text_input(key="sign_in_password").input("not the password")
    at.button[0].click().run()
    assert [e.value for e in at.error] == ["E-mail or password is incorrect."]
    assert "nexus_session_id" not in at.session_state


def test_sign_in_form_signs_in(app_settings, backend):
    backend.sign_up("ann@example.com", PASSWORD)
    at = page("Home.py").run()
    at.text_input(key="sign_in_email").input("ANN@example.com")
    at.text_input(key="sign_in_password").input(PASSWORD)
    at.button[0].click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Dashboard"]
    assert "nexus_session_id" in at.session_state


def test_signed_in_menu_names_the_user_and_offers_sign_out(app_settings, signed_in):
    at, _ = signed_in("Home.py")
    at.run()
    assert "ann@example.com" in at.sidebar.caption[0].value.replace("\\", "")
    assert at.sidebar.button(key="sign_out").label == "Sign out"
    assert len(at.sidebar.get("page_link")) == 8  # the first account is admin: every page


def test_dashboard_shows_library_numbers_for_the_demo_portfolio(app_settings, signed_in):
    at, result = signed_in("pages/dashboard.py")
    at.run()
    at.button(key="load_demo").click().run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels == ["Total value", "Day change", "Unrealised P&L", "Cash"]

    # The same numbers straight from the library (what a notebook user would get).
    repo = PortfolioRepository(get_engine(app_settings))
    [portfolio] = repo.list_portfolios(result.actor)
    txns = repo.transactions_frame(result.actor, portfolio.id)
    reader = SnapshotReader(app_settings.history_path)
    info = prices.snapshot_info(reader)
    symbols = sorted(s for s in txns["symbol"].unique().to_list() if s)
    closes = prices.closes(reader, symbols)
    fx = prices.fx_to_base(reader, "USD", ["USD", "EUR", "GBP"])
    summary = valuation.summarise(txns, closes, fx, as_of=info.last_date, base_currency="USD")
    assert at.metric[0].value == money(summary.total_value, "USD")
    assert at.metric[2].value == money(summary.unrealised_pnl, "USD", signed=True)
    assert summary.total_value > 0 and len(symbols) == 7
    captions = " ".join(c.value for c in at.caption)
    assert "Demo data" in captions and f"as of {info.last_date:%Y-%m-%d}" in captions
    assert len(at.get("plotly_chart")) == 2
    assert at.dataframe[0].value.shape[0] == 7


def test_record_a_buy_and_refuse_an_oversell(app_settings, signed_in):
    at, result = signed_in("pages/transactions.py")
    at.run()
    at.text_input[0].input("Main")
    at.button[0].click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Transactions"]

    repo = PortfolioRepository(get_engine(app_settings))
    [portfolio] = repo.list_portfolios(result.actor)
    symbol = at.selectbox[1].options[0].split(" — ")[0]
    at.selectbox[1].set_value(symbol)
    at.number_input[0].set_value(3.0)
    at.number_input[1].set_value(10.0)
    at.button(key="FormSubmitter:new_transaction-Add transaction").click().run()
    assert not at.exception
    assert not at.error
    [record] = repo.list_transactions(result.actor, portfolio.id)
    assert (record.symbol, record.quantity, record.price) == (symbol, 3.0, 10.0)

    at.segmented_control(key="new_kind").set_value("sell").run()
    at.selectbox[1].set_value(symbol)
    at.number_input[0].set_value(5.0)
    at.number_input[1].set_value(10.0)
    at.button(key="FormSubmitter:new_transaction-Add transaction").click().run()
    assert "more than the 3 held" in at.error[0].value
    assert len(repo.list_transactions(result.actor, portfolio.id)) == 1


def test_ledger_edit_and_delete(app_settings, signed_in):
    at, result = signed_in("pages/transactions.py")
    repo = PortfolioRepository(get_engine(app_settings))
    p = repo.create_portfolio(result.actor, "Main", "USD")
    reader = SnapshotReader(app_settings.history_path)
    sym = prices.symbols(reader).filter(currency="USD", asset_class="equity")["symbol"][0]
    ins = {sym: InstrumentInfo(sym, sym, "USD")}
    repo.add_transaction(
        result.actor, p.id, TransactionDraft("buy", date(2024, 1, 2), "USD", sym, 4, 50.0), ins
    )
    at.run()
    assert at.dataframe[0].value.shape[0] == 1
    at.button(key="delete_txn").click().run()
    assert not at.exception
    assert repo.list_transactions(result.actor, p.id) == []


def test_settings_page_signs_out(app_settings, signed_in, backend):
    at, result = signed_in("pages/settings.py")
    at.run()
    assert [t.value for t in at.title] == ["Settings"]
    at.button(key="account_sign_out").click().run()
    assert [b.label for b in at.button] == SIGN_IN_BUTTONS
    assert backend.session_from_id(result.session_id) is None


def test_another_users_portfolio_id_in_the_url_is_ignored(app_settings, signed_in):
    _, alice = signed_in("pages/dashboard.py", "alice@example.com")
    repo = PortfolioRepository(get_engine(app_settings))
    secret = repo.create_portfolio(alice.actor, "Alice secret", "USD")
    at_b, bob = signed_in("pages/transactions.py", "bob@example.com")
    own = repo.create_portfolio(bob.actor, "Bob main", "USD")
    at_b.query_params["portfolio"] = str(secret.id)
    at_b.run()
    assert not at_b.exception
    picker = at_b.selectbox(key="portfolio")
    assert picker.options == ["Bob main"]
    assert picker.value == str(own.id)
    assert all("Alice secret" not in m.value for m in at_b.markdown)
