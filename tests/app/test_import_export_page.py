"""The Import & export page (AppTest): mapping step, preview, row errors, all-or-nothing
commit, saved mappings per user, the fixture exports of other tools, and the downloads."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from nexus.db.engine import get_engine
from nexus.market import prices
from nexus.market.snapshot import SnapshotReader
from nexus.portfolio.model import TransactionDraft
from nexus.portfolio.repository import PortfolioRepository
from nexus.ui.format import md_escape

PAGE = "pages/import_export.py"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"


@pytest.fixture
def repo(app_settings) -> PortfolioRepository:
    return PortfolioRepository(get_engine(app_settings))


@pytest.fixture
def demo_symbols(app_settings) -> dict[str, str]:
    """A USD and a EUR equity of the published demo market."""
    reader = SnapshotReader(app_settings.history_path)
    try:
        universe = prices.symbols(reader).filter(asset_class="equity")
    finally:
        reader.close()
    return {
        "USD": sorted(universe.filter(currency="USD")["symbol"])[0],
        "EUR": sorted(universe.filter(currency="EUR")["symbol"])[0],
    }


def open_page(signed_in, repo, email="ann@example.com", *, portfolio=True):
    at, result = signed_in(PAGE, email)
    created = repo.create_portfolio(result.actor, "Imports", "USD") if portfolio else None
    at.run()
    assert not at.exception
    return at, result.actor, created


def upload(at, data: bytes, name: str = "broker.csv", source: str = "csv"):
    at.file_uploader(key=f"upload_{source}_{at.session_state['import_nonce']}").set_value(
        (name, data, "text/csv")
    ).run()
    assert not at.exception
    return at


def selectbox(at, label: str):
    [box] = [s for s in at.selectbox if s.label == label]
    return box


def metrics(at) -> dict[str, int]:
    return {m.label: int(m.value) for m in at.metric}


def commit_button(at):
    return at.button(key="import_commit")


def ledger(repo, actor, portfolio_id) -> list[tuple]:
    return [
        (r.kind, r.trade_date, r.symbol, r.quantity, r.price, r.amount, r.fee, r.currency,
         r.account)
        for r in repo.list_transactions(actor, portfolio_id)
    ]  # fmt: skip


def test_csv_import_with_a_bad_row_blocks_until_skipped_then_commits(
    app_settings, signed_in, repo, demo_symbols
):
    usd = demo_symbols["USD"]
    at, actor, portfolio = open_page(signed_in, repo)
    assert [t.label for t in at.tabs] == ["Import", "Export"]
    csv = (
        "Date,Type,Symbol,Quantity,Price,Fee,Amount,Currency,Account,Note\n"
        "2024-01-02,Deposit,,,,,1000,USD,,salary\n"
        f"2024-01-03,Buy,{usd},2,30,1,,USD,Broker,\n"
        "2024-01-04,Buy,AAPL.DE,1,1,,,EUR,,\n"
    ).encode()
    upload(at, csv)
    # The mapping step guessed every column from its header.
    assert selectbox(at, "Date").value == "Date"
    assert selectbox(at, "Price per unit").value == "Price"
    assert selectbox(at, "Deposit").value == "deposit"  # a type label, understood
    assert metrics(at) == {"Lines read": 3, "Ready": 2, "With errors": 1, "Skipped": 0}
    errors = at.dataframe[1].value
    assert errors["row"].to_list() == [4]
    assert errors["message"][0].startswith("AAPL.DE is not in the market data")
    assert any("created with the import: Broker" in c.value for c in at.caption)
    assert commit_button(at).label == "Import 2 transactions"
    assert commit_button(at).disabled  # (a browser cannot click it either)
    assert repo.list_transactions(actor, portfolio.id) == []

    at.checkbox[0].check().run()
    assert not commit_button(at).disabled
    commit_button(at).click().run()
    assert not at.exception
    assert ledger(repo, actor, portfolio.id) == [
        ("deposit", date(2024, 1, 2), None, 0.0, 0.0, 1000.0, 0.0, "USD", "Main"),
        ("buy", date(2024, 1, 3), usd, 2.0, 30.0, 0.0, 1.0, "USD", "Broker"),
    ]
    assert [a.name for a in repo.list_accounts(actor, portfolio.id)] == ["Main", "Broker"]
    assert "Imported 2 transactions" in at.success[0].value
    assert at.file_uploader(key="upload_csv_1").value is None  # a fresh uploader


def test_symbol_remap_and_saved_mappings_are_per_user(app_settings, signed_in, repo, demo_symbols):
    eur = demo_symbols["EUR"]
    data = (
        "Datum;Typ;Ticker;Stück;Kurs;Gebühren;Wert\n"
        "02.01.2024;Einlage;;;;;1.000,50\n"
        "03.01.2024;Kauf;XYZ.DE;3;12,5;0,99;\n"
        "04.01.2024;Kauf;XYZ.DE;1;13;0;\n"
    ).encode()
    at, ann, portfolio = open_page(signed_in, repo)
    upload(at, data)
    assert metrics(at)["With errors"] == 2
    selectbox(at, "Currency when none is given").set_value("EUR").run()
    remap = selectbox(at, md_escape("XYZ.DE") + " · 2 row(s)")
    remap.set_value(eur).run()
    assert metrics(at) == {"Lines read": 3, "Ready": 3, "With errors": 0, "Skipped": 0}
    at.text_input(key="mapping_name_new").input("My broker").run()
    at.button(key="mapping_save").click().run()
    assert not at.exception
    [saved] = repo.list_mappings(ann)
    assert saved.name == "My broker" and saved.source_kind == "csv"
    assert saved.mapping["symbols"] == {"XYZ.DE": eur}
    assert saved.mapping["columns"]["quantity"] == "Stück"
    assert saved.mapping["default_currency"] == "EUR"

    # Bob does not see Ann's mapping.
    bob_at, bob, _ = open_page(signed_in, repo, "bob@example.com")
    upload(bob_at, data)
    assert selectbox(bob_at, "Saved mapping").options == ["— guess from the column names —"]
    assert repo.list_mappings(bob) == []

    # Ann, another day: picking the saved mapping brings the remap and currency back.
    again, _ = signed_in(PAGE, "ann@example.com")
    again.run()
    upload(again, data)
    selectbox(again, "Saved mapping").set_value(str(saved.id)).run()
    assert metrics(again)["With errors"] == 0
    commit_button(again).click().run()
    assert [
        (r.kind, r.symbol, r.quantity, r.price, r.amount, r.fee, r.currency)
        for r in repo.list_transactions(ann, portfolio.id)
    ] == [
        ("deposit", None, 0.0, 0.0, 1000.5, 0.0, "EUR"),
        ("buy", eur, 3.0, 12.5, 0.0, 0.99, "EUR"),
        ("buy", eur, 1.0, 13.0, 0.0, 0.0, "EUR"),
    ]
    # Delete it again.
    upload(again, data)  # after an import the uploader starts empty
    selectbox(again, "Saved mapping").set_value(str(saved.id)).run()
    again.button(key="mapping_delete").click().run()
    assert selectbox(again, "Saved mapping").value == ""
    assert repo.list_mappings(ann) == []


def test_a_file_that_would_oversell_is_refused_as_a_whole(
    app_settings, signed_in, repo, demo_symbols
):
    usd = demo_symbols["USD"]
    at, actor, portfolio = open_page(signed_in, repo)
    upload(
        at,
        f"Date,Type,Symbol,Quantity,Price\n2024-02-01,Buy,{usd},1,10\n2024-02-02,Sell,{usd},5,11\n".encode(),
    )
    assert metrics(at)["With errors"] == 0
    assert any("would be refused" in e.value and "Selling 5" in e.value for e in at.error)
    assert commit_button(at).disabled
    assert repo.list_transactions(actor, portfolio.id) == []


def test_portfolio_performance_german_export_with_a_remap(
    app_settings, signed_in, repo, demo_symbols
):
    eur = demo_symbols["EUR"]
    at, actor, portfolio = open_page(signed_in, repo)
    at.segmented_control(key="import_source").set_value("pp").run()
    upload(at, (FIXTURES / "pp-transactions-de.csv").read_bytes(), "Depot.csv", "pp")
    at.text_input(key="pp_account").input("Depot").run()
    # SAP and MSFT are not in the demo market: their rows are errors until mapped.
    assert metrics(at)["With errors"] == 5
    selectbox(at, md_escape("SAP") + " · 4 row(s)").set_value(eur).run()
    assert metrics(at) == {"Lines read": 13, "Ready": 10, "With errors": 1, "Skipped": 2}
    assert any("left out" in w.value for w in at.warning)  # the transfer pair
    at.checkbox[0].check().run()
    commit_button(at).click().run()
    assert not at.exception
    rows = ledger(repo, actor, portfolio.id)
    assert len(rows) == 11 and {r[-1] for r in rows} == {"Depot"}
    assert rows[1] == ("buy", date(2023, 1, 10), eur, 10.0, 125.0, 0.0, 1.9, "EUR", "Depot")
    assert ("tax", date(2023, 3, 1), eur, 0.0, 0.0, 5.0, 0.0, "EUR", "Depot") in rows
    # FX at the trade date was filled from the market data (EUR rows, USD portfolio).
    assert all(r.fx_rate for r in repo.list_transactions(actor, portfolio.id))


def test_ghostfolio_export_with_unsupported_activities(app_settings, signed_in, repo):
    at, actor, portfolio = open_page(signed_in, repo)
    at.segmented_control(key="import_source").set_value("ghostfolio").run()
    upload(at, (FIXTURES / "ghostfolio-export.json").read_bytes(), "export.json", "ghostfolio")
    found = metrics(at)
    assert found["Activities read"] == 10
    assert found["With errors"] == 8  # MSFT/SAP.DE unknown here, liability, item, future
    assert found["Ready"] == 2  # the fee and the interest filed under manual assets
    messages = at.dataframe[1].value["message"].to_list()
    assert any("Liabilities" in m for m in messages)
    assert commit_button(at).disabled
    assert repo.list_transactions(actor, portfolio.id) == []


@pytest.mark.parametrize(
    ("source", "data", "message"),
    [
        ("csv", b"PK\x03\x04\x14\x00\x06\x00xl/workbook.xml", "spreadsheet"),
        ("csv", b'{"activities": []}', "JSON"),
        ("csv", b"", "empty"),
        ("ghostfolio", b"Date,Type\n2024-01-02,BUY\n", "not valid JSON"),
        ("pp", b"When;What\n2024-01-02;x\n", "Portfolio Performance"),
    ],
)
def test_wrong_files_get_a_plain_error(app_settings, signed_in, repo, source, data, message):
    at, actor, portfolio = open_page(signed_in, repo)
    at.segmented_control(key="import_source").set_value(source).run()
    upload(at, data, "file.json" if source == "ghostfolio" else "file.csv", source)
    assert any(message in e.value for e in at.error)
    assert not at.metric  # no preview, nothing to commit
    assert repo.list_transactions(actor, portfolio.id) == []


def test_file_text_is_never_markdown(app_settings, signed_in, repo):
    at, _, _ = open_page(signed_in, repo)
    label = "![t](https://example.com/t.png) <b>x</b>"
    upload(at, f"Date,Type,Amount\n2024-01-02,{label},5\n".encode())
    labels = [s.label for s in at.selectbox]
    assert md_escape(label) in labels and label not in labels
    assert not any("<b>" in m.value for m in at.markdown)


def test_viewer_can_export_but_not_import(app_settings, signed_in, repo, backend):
    _, admin = signed_in("pages/dashboard.py", "admin@example.com")
    at, viewer, portfolio = open_page(signed_in, repo, "viewer@example.com")
    repo.add_transaction(
        viewer, portfolio.id, TransactionDraft("deposit", date(2024, 1, 2), "USD", amount=5.0), {}
    )
    backend.set_role(admin.actor, viewer.user_id, "viewer")
    at.run()
    assert any("viewer" in i.value and "export" in i.value for i in at.info)
    assert not at.file_uploader
    buttons = at.get("download_button")
    assert [b.label for b in buttons] == ["Transactions (CSV)", "Transactions (JSON)", "CSV",
                                          "Parquet"]  # fmt: skip
    # Media URLs carry the type's extension (Parquet has no registered one).
    assert [b.proto.url.rsplit(".", 1)[-1] for b in buttons[:3]] == ["csv", "json", "csv"]
    assert all(b.proto.url for b in buttons) and not any(b.disabled for b in buttons)
