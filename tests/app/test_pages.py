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
from nexus.ui.navigation import PAGES as NAV_PAGES
from tests.fixtures.app import PASSWORD, page

PAGES = ["Home.py", *(entry[0] for entry in NAV_PAGES)]
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
    assert len(at.sidebar.get("page_link")) == len(
        NAV_PAGES
    )  # the first account is admin: every page


def test_dashboard_shows_library_numbers_for_the_demo_portfolio(app_settings, signed_in):
    at, result = signed_in("pages/dashboard.py")
    at.run()
    at.button(key="load_demo").click().run()
    assert not at.exception
    labels = [m.label for m in at.metric]
    assert labels[:4] == ["Total value", "Day change", "Unrealised P&L", "Cash"]
    assert labels[4:] == ["1D", "1W", "MTD", "YTD", "1Y", "MAX"]  # TWR strip (3Y: no history)

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
    assert at.metric[0].value == money(summary.total_value, "USD", whole=True)
    assert at.metric[2].value == money(summary.unrealised_pnl, "USD", signed=True, whole=True)
    assert summary.total_value > 0 and len(symbols) == 7
    captions = " ".join(c.value for c in at.caption)
    assert "Demo data" in captions and f"as of {info.last_date:%Y-%m-%d}" in captions
    assert len(at.get("plotly_chart")) == 2
    # Seven stocks traded; the one split 2-for-1 was sold in full after the split.
    assert at.dataframe[0].value.shape[0] == 6
    # The demo has two accounts and every kind of ledger event the issue lists.
    assert [a.name for a in repo.list_accounts(result.actor, portfolio.id)] == [
        "Main",
        "Retirement",
    ]
    kinds = set(txns["kind"].to_list())
    assert kinds >= {"dividend", "interest", "tax", "split", "transfer_in", "transfer_out"}
    assert txns.filter(kind="transfer_in")["transfer_id"].null_count() == 0  # internal pairs
    assert txns.filter(currency="EUR")["fx_rate"].null_count() == 0  # FX at trade date kept


def _form_key(kind: str, field: str) -> str:
    return f"new_transaction_{kind}_{field}"


ADD = "FormSubmitter:new_transaction-Add transaction"


def test_record_a_buy_and_refuse_an_oversell(app_settings, signed_in):
    at, result = signed_in("pages/transactions.py")
    at.run()
    at.text_input[0].input("Main")
    at.button[0].click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Transactions"]

    repo = PortfolioRepository(get_engine(app_settings))
    [portfolio] = repo.list_portfolios(result.actor)
    box = at.selectbox(key=_form_key("buy", "symbol"))
    symbol = box.options[0].split(" — ")[0]
    box.set_value(symbol)
    assert at.selectbox(key=_form_key("buy", "account")).options == ["Main"]
    at.number_input(key=_form_key("buy", "quantity")).set_value(3.0)
    at.number_input(key=_form_key("buy", "price")).set_value(10.0)
    at.button(key=ADD).click().run()
    assert not at.exception
    assert not at.error
    [record] = repo.list_transactions(result.actor, portfolio.id)
    assert (record.symbol, record.quantity, record.price) == (symbol, 3.0, 10.0)
    assert record.account == "Main"

    at.segmented_control(key="new_kind").set_value("sell").run()
    at.selectbox(key=_form_key("sell", "symbol")).set_value(symbol)
    at.number_input(key=_form_key("sell", "quantity")).set_value(5.0)
    at.number_input(key=_form_key("sell", "price")).set_value(10.0)
    at.button(key=ADD).click().run()
    assert "more than the 3 held" in at.error[0].value
    assert len(repo.list_transactions(result.actor, portfolio.id)) == 1


@pytest.fixture
def with_holding(app_settings, signed_in):
    """Ann's USD portfolio with 10 shares of a USD stock (bought 2024-01-02) and the page."""
    at, result = signed_in("pages/transactions.py")
    repo = PortfolioRepository(get_engine(app_settings))
    p = repo.create_portfolio(result.actor, "Main", "USD")
    reader = SnapshotReader(app_settings.history_path)
    sym = prices.symbols(reader).filter(currency="USD", asset_class="equity")["symbol"][0]
    ins = {sym: InstrumentInfo(sym, sym, "USD")}
    repo.add_transaction(
        result.actor, p.id, TransactionDraft("buy", date(2024, 1, 2), "USD", sym, 10, 50.0), ins
    )
    return at, result.actor, repo, p, sym


def test_every_kind_shows_its_fields(with_holding):
    at, *_ = with_holding
    at.run()
    expected = {
        "buy": ["Quantity", "Price per unit", "Fee"],
        "dividend": [
            "Amount",
            "Withholding tax / fee",
            "Shares reinvested (DRIP)",
            "Reinvestment price",
        ],
        "interest": ["Amount"],
        "tax": ["Amount"],
        "split": ["Ratio (new shares per old share)"],
        "transfer_in": ["Quantity (shares)", "Market value per share", "Amount (cash)"],
    }
    for kind, labels in expected.items():
        at.segmented_control(key="new_kind").set_value(kind).run()
        assert not at.exception, kind
        form = [n.label for n in at.number_input if n.key.startswith(f"new_transaction_{kind}_")]
        assert form == [*labels, "FX rate to USD (optional)"], kind
        symbol = at.selectbox(key=_form_key(kind, "symbol")) if kind != "buy" else None
        if kind in ("interest", "tax", "transfer_in"):
            assert symbol.value == ""  # optional: cash by default


def test_record_a_split_then_a_dividend_with_tax(with_holding):
    at, actor, repo, p, sym = with_holding
    at.run()
    at.segmented_control(key="new_kind").set_value("split").run()
    at.date_input[0].set_value(date(2024, 6, 3))
    at.selectbox(key=_form_key("split", "symbol")).set_value(sym)
    at.number_input(key=_form_key("split", "quantity")).set_value(2.0)
    at.button(key=ADD).click().run()
    assert not at.exception and not at.error
    at.segmented_control(key="new_kind").set_value("tax").run()
    at.date_input[0].set_value(date(2024, 6, 4))
    at.selectbox(key=_form_key("tax", "symbol")).set_value(sym)
    at.number_input(key=_form_key("tax", "amount")).set_value(1.5)
    at.button(key=ADD).click().run()
    assert not at.exception and not at.error
    split, tax = repo.list_transactions(actor, p.id)[1:]
    assert (split.kind, split.symbol, split.quantity, split.currency) == ("split", sym, 2.0, "USD")
    assert (tax.kind, tax.symbol, tax.amount) == ("tax", sym, 1.5)
    assert at.dataframe[-1].value.shape[0] == 3  # the ledger table


def test_accounts_transfer_between_them_and_lot_method(with_holding):
    at, actor, repo, p, sym = with_holding
    at.run()
    assert any("Add a second account" in i.value for i in at.info)
    at.text_input(key="account_name").input("ISA")
    at.button(key="FormSubmitter:new_account-Add account").click().run()
    assert not at.exception and not at.error
    assert [a.name for a in repo.list_accounts(actor, p.id)] == ["Main", "ISA"]

    at.selectbox(key="transfer_from").set_value("Main")
    at.selectbox(key="transfer_to").set_value("ISA")
    at.selectbox(key="transfer_symbol").set_value(sym)
    at.number_input(key="transfer_size").set_value(4.0)
    at.button(key="FormSubmitter:transfer-Transfer").click().run()
    assert not at.exception and not at.error
    out, into = repo.list_transactions(actor, p.id)[1:]
    assert (out.kind, out.account, into.kind, into.account) == (
        "transfer_out",
        "Main",
        "transfer_in",
        "ISA",
    )
    assert out.transfer_id == into.transfer_id is not None
    # The edit tab offers no form for one side of a pair; deleting it removes both.
    at.selectbox(key="edit_choice").set_value(into.id).run()
    assert any("one side of a transfer" in i.value for i in at.info)
    at.button(key="delete_txn").click().run()
    assert [r.kind for r in repo.list_transactions(actor, p.id)] == ["buy"]

    assert at.button(key="lot_method_btn").disabled  # nothing to save yet
    at.selectbox(key="lot_method").set_value("hifo").run()
    at.button(key="lot_method_btn").click().run()
    assert not at.exception
    assert repo.get_portfolio(actor, p.id).lot_method == "hifo"


def test_foreign_buy_keeps_the_market_fx_and_account_names_stay_text(app_settings, signed_in):
    at, result = signed_in("pages/transactions.py")
    repo = PortfolioRepository(get_engine(app_settings))
    p = repo.create_portfolio(result.actor, "Main", "USD")
    payload = "**ISA** <b>x</b> [go](javascript:alert(1))"
    repo.create_account(result.actor, p.id, payload)
    reader = SnapshotReader(app_settings.history_path)
    eur = prices.symbols(reader).filter(currency="EUR", asset_class="equity")["symbol"][0]
    rates = prices.fx_to_base(reader, "USD", ["EUR"])
    at.run()
    account = at.selectbox(key=_form_key("buy", "account"))
    assert account.options == ["Main", payload]  # the name, verbatim
    account.set_value(payload)
    at.selectbox(key=_form_key("buy", "symbol")).set_value(eur)
    at.date_input[0].set_value(date(2024, 1, 3))
    at.number_input(key=_form_key("buy", "quantity")).set_value(2.0)
    at.number_input(key=_form_key("buy", "price")).set_value(10.0)
    at.button(key=ADD).click().run()
    assert not at.exception and not at.error
    [record] = repo.list_transactions(result.actor, p.id)
    assert (record.account, record.currency) == (payload, "EUR")
    expected = valuation.fx_rate_on(rates, "EUR", date(2024, 1, 3), base_currency="USD")
    assert expected and record.fx_rate == pytest.approx(expected)
    ledger = at.dataframe[-1].value
    assert payload in ledger["account"].to_list()
    # Refusals quoting the name are escaped Markdown, so nothing in it renders as markup.
    at.text_input(key="account_name").input(payload)
    at.button(key="FormSubmitter:new_account-Add account").click().run()
    assert "already has an account called" in at.error[0].value
    assert "\\*\\*ISA\\*\\* \\<b\\>" in at.error[0].value


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
