"""Importers: generic CSV with a mapping, Ghostfolio JSON, Portfolio Performance CSV.

Expected drafts are listed by hand from the fixture files (tests/fixtures/imports) and the
formats' documented meaning, never copied from the importers' output.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from nexus.auth.local import LocalBackend
from nexus.db.engine import get_engine
from nexus.db.schema import Account, ImportMapping, Transaction
from nexus.portfolio.importers import (
    ImportFileError,
    RowError,
    csv_mapping,
    detect_date_format,
    detect_decimal,
    ghostfolio,
    parse_number,
    portfolio_performance,
    possible_duplicates,
    preview_rows,
    read_table,
)
from nexus.portfolio.importers.csv_mapping import (
    AUTO_CASH,
    AUTO_TRADE,
    SKIP,
    CsvMapping,
    guess_mapping,
)
from nexus.portfolio.model import InstrumentInfo, LedgerError, TransactionDraft
from nexus.portfolio.repository import PortfolioRepository

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "imports"
TODAY = date(2024, 12, 31)
INSTRUMENTS = {
    "MSFT": InstrumentInfo("MSFT", "Microsoft", "USD"),
    "AAPL": InstrumentInfo("AAPL", "Apple", "USD"),
    "SAP": InstrumentInfo("SAP", "SAP SE", "EUR"),
    "IWDA": InstrumentInfo("IWDA", "iShares Core MSCI World", "EUR", "etf"),
}


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


def rows_of(result) -> list[tuple]:
    """(row, kind, date, symbol, quantity, price, amount, fee, currency, account, fx, note)."""
    return [
        (
            row,
            d.kind,
            d.trade_date,
            d.symbol,
            pytest.approx(d.quantity),
            pytest.approx(d.price),
            pytest.approx(d.amount),
            pytest.approx(d.fee),
            d.currency,
            d.account,
            pytest.approx(d.fx_rate) if d.fx_rate is not None else None,
            d.note,
        )
        for row, d in result.drafts
    ]


def expect(*rows) -> list[tuple]:
    return [tuple(r) for r in rows]


# Ghostfolio ----------------------------------------------------------------------------
IBKR, DEPOT = "My Online Trading Account", "Depot DE"


def test_ghostfolio_export_gives_the_hand_listed_drafts_and_row_errors():
    result = ghostfolio.parse(
        fixture("ghostfolio-export.json"), instruments=INSTRUMENTS, today=TODAY
    )
    assert result.row_label == "Activity" and result.rows_read == 10
    assert rows_of(result) == expect(
        # FEE under the manual asset "Account Opening Fee": the amount is in "fee", no symbol.
        (1, "fee", date(2021, 9, 1), None, 0, 0, 49.0, 0, "USD", IBKR, None, ""),
        (2, "buy", date(2021, 9, 16), "MSFT", 5, 298.58, 0, 19.0, "USD", IBKR, None,
         "My first order 🤓"),
        # DIVIDEND: quantity × unitPrice = 5 × 0.62.
        (3, "dividend", date(2021, 11, 17), "MSFT", 0, 0, 3.10, 0, "USD", IBKR, None, ""),
        (5, "sell", date(2022, 3, 1), "MSFT", 2, 310.0, 0, 5.0, "USD", IBKR, None, ""),
        (6, "interest", date(2022, 12, 31), None, 0, 0, 12.34, 0, "EUR", DEPOT, None,
         "Tagesgeld"),
        # No account: the portfolio's first account; fee 0.28 = withholding.
        (10, "dividend", date(2022, 5, 18), "MSFT", 0, 0, 1.86, 0.28, "USD", None, None, ""),
    )  # fmt: skip
    assert [(e.row, e.field) for e in result.errors] == [
        (4, "symbol"),
        (7, "kind"),
        (8, "kind"),
        (9, "trade_date"),
    ]
    by_row = {e.row: e.message for e in result.errors}
    assert by_row[4].startswith("SAP.DE is not in the market data; add it to NEXUS_SYMBOLS")
    assert "Liabilities" in by_row[7] and "not supported" in by_row[7]
    assert "ITEM" in by_row[8]
    assert "future" in by_row[9]
    assert result.unknown_symbols == {"SAP.DE": [4]}
    assert any("balances" in w for w in result.warnings)
    assert result.accounts == [DEPOT, IBKR]


def test_ghostfolio_symbol_remap_makes_the_unknown_symbol_importable():
    result = ghostfolio.parse(
        fixture("ghostfolio-export.json"),
        instruments=INSTRUMENTS,
        today=TODAY,
        symbol_map={"SAP.DE": "SAP"},
    )
    [(_row, draft)] = [(r, d) for r, d in result.drafts if r == 4]
    assert (draft.kind, draft.symbol, draft.quantity, draft.price, draft.fee) == (
        "buy", "SAP", 10.0, 120.5, 4.9,
    )  # fmt: skip
    assert (draft.currency, draft.account) == ("EUR", DEPOT)
    assert 4 not in result.error_rows and not result.unknown_symbols


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b'{"accounts": []}', "no 'activities' list"),
        (b"[1, 2, 3]", "no 'activities' list"),
        (b"Date,Type\n2024-01-01,BUY\n", "not valid JSON"),
        (b"PK\x03\x04 spreadsheet", "spreadsheet"),
        (b"", "empty"),
    ],
)
def test_ghostfolio_rejects_files_that_are_not_an_export(payload, message):
    with pytest.raises(ImportFileError, match=message):
        ghostfolio.parse(payload, instruments=INSTRUMENTS, today=TODAY)


# Portfolio Performance ------------------------------------------------------------------
def test_portfolio_performance_english_export():
    result = portfolio_performance.parse(
        fixture("pp-transactions-en.csv"), instruments=INSTRUMENTS, today=TODAY, base_currency="EUR"
    )
    msft_rate, div_rate = 0.9190, 0.9202454
    assert rows_of(result) == expect(
        (2, "deposit", date(2024, 1, 2), None, 0, 0, 10_000.0, 0, "EUR", None, None, ""),
        # Lines 3 (cash side, −1,251.90) and 4 (securities side) are one buy:
        # gross 1,251.90 − 1.90 fee = 1,250.00 for 10 shares.
        (4, "buy", date(2024, 1, 15), "SAP", 10, 125.0, 0, 1.90, "EUR", None, None, ""),
        # Bought in USD from a EUR account: price from the gross amount 2,000.00 USD, the
        # EUR fee converted at the rate (EUR per USD), which is also the row's FX rate.
        (5, "buy", date(2024, 2, 1), "MSFT", 10, 200.0, 0, 1.45 / msft_rate, "USD", None,
         msft_rate, ""),
        (6, "dividend", date(2024, 3, 14), "MSFT", 0, 0, 32.60, 4.60 / div_rate, "USD", None,
         div_rate, ""),
        # Dividend net 16.19 + taxes 5.81 = gross 22.00, the taxes withheld as its fee.
        (7, "dividend", date(2024, 5, 17), "SAP", 0, 0, 22.0, 5.81, "EUR", None, None, ""),
        # Sale: −640.10 net + 1.90 fee + 8.00 tax = 650.00 for 5 shares; the tax its own row.
        (8, "sell", date(2024, 6, 3), "SAP", 5, 130.0, 0, 1.90, "EUR", None, None,
         "Partial sale"),
        (8, "tax", date(2024, 6, 3), "SAP", 0, 0, 8.0, 0, "EUR", None, None, ""),
        (9, "interest", date(2024, 6, 30), None, 0, 0, 3.50, 0, "EUR", None, None,
         "Overnight money"),
        (10, "fee", date(2024, 7, 1), None, 0, 0, 4.95, 0, "EUR", None, None, "Custody fee"),
        (11, "withdrawal", date(2024, 7, 15), None, 0, 0, 500.0, 0, "EUR", None, None, ""),
        # A cash transfer out without its other side: a lone transfer.
        (13, "transfer_out", date(2024, 9, 2), None, 0, 0, 200.0, 0, "EUR", None, None, ""),
        (15, "tax", date(2024, 10, 1), None, 0, 0, 1.23, 0, "EUR", None, None, ""),
    )  # fmt: skip
    assert [(e.row, e.field) for e in result.errors] == [(12, "symbol"), (14, "kind")]
    no_ticker = result.errors[0].message
    assert "iShares Core MSCI World UCITS ETF" in no_ticker and "IE00B4L5Y983" in no_ticker
    assert "Refunds" in result.errors[1].message
    assert result.unknown_symbols == {"IE00B4L5Y983": [12]}
    assert result.skipped == 1 and result.rows_read == 14
    assert result.lone_transfers == 1
    assert any("appear twice" in w and "line 3" in w for w in result.warnings)
    assert any("lone transfer" in w for w in result.warnings)


def test_portfolio_performance_isin_remap_and_default_account():
    result = portfolio_performance.parse(
        fixture("pp-transactions-en.csv"),
        instruments=INSTRUMENTS,
        today=TODAY,
        default_account="Broker PP",
        symbol_map={"IE00B4L5Y983": "IWDA"},
    )
    [delivery] = [d for r, d in result.drafts if r == 12]
    # Delivery (Inbound) of 5 at 1,100.00: a transfer in at 220.00 per share.
    assert (delivery.kind, delivery.symbol, delivery.quantity, delivery.price) == (
        "transfer_in", "IWDA", 5.0, 220.0,
    )  # fmt: skip
    assert {d.account for _, d in result.drafts} == {"Broker PP"}
    assert [e.row for e in result.errors] == [14]


def test_portfolio_performance_german_export_with_decimal_comma():
    result = portfolio_performance.parse(
        fixture("pp-transactions-de.csv"), instruments=INSTRUMENTS, today=TODAY
    )
    assert rows_of(result) == expect(
        (2, "deposit", date(2023, 1, 2), None, 0, 0, 5_000.0, 0, "EUR", None, None, ""),
        (3, "buy", date(2023, 1, 10), "SAP", 10, 125.0, 0, 1.90, "EUR", None, None, ""),
        # −493,10 + 1,90 + 5,00 = 500,00 for 4 shares; Steuern → a tax row.
        (4, "sell", date(2023, 3, 1), "SAP", 4, 125.0, 0, 1.90, "EUR", None, None, ""),
        (4, "tax", date(2023, 3, 1), "SAP", 0, 0, 5.0, 0, "EUR", None, None, ""),
        (5, "dividend", date(2023, 5, 12), "SAP", 0, 0, 20.0, 5.28, "EUR", None, None, ""),
        (6, "interest", date(2023, 6, 30), None, 0, 0, 1.25, 0, "EUR", None, None, ""),
        (7, "fee", date(2023, 7, 1), None, 0, 0, 12.0, 0, "EUR", None, None, "Depotgebühr"),
        (11, "withdrawal", date(2023, 10, 2), None, 0, 0, 250.0, 0, "EUR", None, None, ""),
        (12, "tax", date(2023, 11, 15), None, 0, 0, 3.40, 0, "EUR", None, None, ""),
        (13, "fee", date(2023, 12, 1), None, 0, 0, 0.80, 0, "EUR", None, None,
         "Interest charge"),
        # A buy seen only from the cash account (negative value) is still a buy.
        (14, "buy", date(2023, 12, 20), "SAP", 8, 125.0, 0, 1.50, "EUR", None, None, ""),
    )  # fmt: skip
    # Einlieferung of MSFT (a USD stock) booked in EUR without a gross amount in USD.
    assert [(e.row, e.field) for e in result.errors] == [(8, "currency")]
    assert "MSFT trades in USD" in result.errors[0].message
    # Umbuchung (Ausgang) + (Eingang) of the same 1.000,00: both land in one account.
    assert result.skipped == 2 and result.lone_transfers == 0
    assert any("left out" in w for w in result.warnings)


def test_portfolio_performance_all_transactions_view_lists_each_buy_once():
    result = portfolio_performance.parse(
        fixture("pp-all-transactions-view-en.csv"),
        instruments=INSTRUMENTS,
        today=TODAY,
        default_currency="EUR",
    )
    assert rows_of(result) == expect(
        (2, "deposit", date(2024, 1, 2), None, 0, 0, 1_000.0, 0, "EUR", None, None, ""),
        # Net 626.90 − fee 1.90 = 625.00 for 5; line 4 is the same buy (accounts swapped).
        (3, "buy", date(2024, 1, 15), "SAP", 5, 125.0, 0, 1.90, "EUR", None, None, ""),
        (7, "dividend", date(2024, 3, 1), "SAP", 0, 0, 11.0, 2.90, "EUR", None, None,
         "Dividend 2023"),
    )  # fmt: skip
    assert result.errors == [] and result.skipped == 3  # line 4 + the transfer pair 5/6


def test_portfolio_performance_needs_its_columns():
    with pytest.raises(ImportFileError, match="Portfolio Performance"):
        portfolio_performance.parse(
            b"Datum;Betrag\n2024-01-01;5\n", instruments=INSTRUMENTS, today=TODAY
        )


# Generic CSV ----------------------------------------------------------------------------
BROKER = b"""Trade Date;Action;Ticker;Shares;Price;Commission;Amount;Currency;Account;Notes
03.01.2024;Kauf;AAPL;10;185,50;1,00;;USD;Broker A;first

04.01.2024;Einzahlung;;;;;"1.000,00";EUR;;
05.01.2024;Verkauf;AAPL;-4;190;1;;USD;Broker A;"two
lines"
06.01.2024;Kauf;AAPL.DE;1;1;0;;EUR;;
07.01.2024;Gift;AAPL;1;1;;;USD;;
08.01.2024;Zinsgutschrift;;;;;2,50;EUR;;
"""


def test_guess_mapping_from_common_headers():
    assert guess_mapping(
        ["Trade Date", "Action", "Ticker", "Shares", "Price", "Commission", "Amount",
         "Currency", "Account", "Notes"]
    ) == {
        "date": "Trade Date", "kind": "Action", "symbol": "Ticker", "quantity": "Shares",
        "price": "Price", "fee": "Commission", "amount": "Amount", "currency": "Currency",
        "account": "Account", "note": "Notes",
    }  # fmt: skip
    assert guess_mapping(["Datum", "Typ", "Wert", "Stück", "Kurs", "Gebühren", "Notiz"]) == {
        "date": "Datum", "kind": "Typ", "amount": "Wert", "quantity": "Stück", "price": "Kurs",
        "fee": "Gebühren", "note": "Notiz",
    }  # fmt: skip
    # A header is used once; unrelated headers stay unmapped.
    assert guess_mapping(["Order ID", "Date", "Symbol"]) == {"date": "Date", "symbol": "Symbol"}


def test_generic_csv_with_mapping_row_numbers_signs_and_labels():
    table = read_table(BROKER)
    assert table.delimiter == ";"
    mapping = CsvMapping(columns=guess_mapping(table.headers), kinds={"Zinsgutschrift": "interest"})
    assert csv_mapping.kind_labels(table, mapping) == [
        "Kauf", "Einzahlung", "Verkauf", "Gift", "Zinsgutschrift",
    ]  # fmt: skip
    result = csv_mapping.parse(table, mapping, instruments=INSTRUMENTS, today=TODAY)
    assert rows_of(result) == expect(
        (2, "buy", date(2024, 1, 3), "AAPL", 10, 185.50, 0, 1.0, "USD", "Broker A", None, "first"),
        # Line 3 is blank; the deposit is on line 4; "1.000,00" with a decimal comma.
        (4, "deposit", date(2024, 1, 4), None, 0, 0, 1_000.0, 0, "EUR", None, None, ""),
        # The sign of −4 is ignored: the type says it is a sale. The note spans lines 5–6.
        (5, "sell", date(2024, 1, 5), "AAPL", 4, 190.0, 0, 1.0, "USD", "Broker A", None,
         "two\nlines"),
        (9, "interest", date(2024, 1, 8), None, 0, 0, 2.50, 0, "EUR", None, None, ""),
    )  # fmt: skip
    assert result.errors == [
        RowError(7, "symbol", result.errors[0].message),
        RowError(8, "kind", "Unknown type 'Gift': choose what it means in the type mapping."),
    ]
    assert result.errors[0].message.startswith("AAPL.DE is not in the market data")
    assert result.unknown_symbols == {"AAPL.DE": [7]}

    # Map the unknown symbol and skip the gifts: everything left is ready.
    mapping.kinds["Gift"] = SKIP
    mapping.symbols["AAPL.DE"] = "SAP"
    result = csv_mapping.parse(table, mapping, instruments=INSTRUMENTS, today=TODAY)
    assert result.errors == [] and result.skipped == 1
    assert [(r, d.symbol, d.currency) for r, d in result.drafts if r == 7] == [(7, "SAP", "EUR")]


def test_sign_gives_the_direction_when_mapped_so():
    data = b"date\tkind\tsymbol\tqty\tprice\tamount\n" + b"\n".join(
        [
            b"2024-02-01\ttrade\tAAPL\t3\t100\t",
            b"2024-02-02\ttrade\tAAPL\t-1\t110\t",
            b"2024-02-03\tcash\t\t\t\t-50",
            b"2024-02-04\tcash\t\t\t\t75.5",
            b"2024-02-05\ttrade\tAAPL\t0\t110\t",
        ]
    )
    mapping = CsvMapping(
        columns={"date": "date", "kind": "kind", "symbol": "symbol", "quantity": "qty",
                 "price": "price", "amount": "amount"},
        kinds={"trade": AUTO_TRADE, "cash": AUTO_CASH},
        default_currency="USD",
    )  # fmt: skip
    result = csv_mapping.parse(data, mapping, instruments=INSTRUMENTS, today=TODAY)
    assert [(r, d.kind, d.quantity or d.amount) for r, d in result.drafts] == [
        (2, "buy", 3.0), (3, "sell", 1.0), (4, "withdrawal", 50.0), (5, "deposit", 75.5),
    ]  # fmt: skip
    assert [(e.row, e.field) for e in result.errors] == [(6, "quantity")]


def test_no_type_column_trades_by_quantity_sign_and_cash_by_amount_sign():
    data = b"Date,Symbol,Quantity,Price,Amount\n2024-03-01,MSFT,2,400,\n2024-03-02,,,,-20\n"
    mapping = CsvMapping(columns=guess_mapping(read_table(data).headers))
    assert "kind" not in mapping.columns
    result = csv_mapping.parse(data, mapping, instruments=INSTRUMENTS, today=TODAY)
    assert [(d.kind, d.currency) for _, d in result.drafts] == [
        ("buy", "USD"),
        ("withdrawal", "USD"),
    ]


def test_a_trade_with_an_amount_but_no_price_uses_amount_over_quantity():
    data = b"Date,Type,Symbol,Quantity,Amount\n2024-03-01,Buy,MSFT,4,1000\n"
    result = csv_mapping.parse(
        data, CsvMapping(columns=guess_mapping(read_table(data).headers)),
        instruments=INSTRUMENTS, today=TODAY,
    )  # fmt: skip
    [(_, d)] = result.drafts
    assert (d.quantity, d.price, d.currency) == (4.0, 250.0, "USD")


@pytest.mark.parametrize(
    ("values", "chosen", "fits"),
    [
        (["2024-01-31", "2024-02-01T00:00"], "%Y-%m-%d", ["%Y-%m-%d"]),
        (["31.01.2024", "01.02.2024"], "%d.%m.%Y", ["%d.%m.%Y"]),
        (["01/31/2024", "02/01/2024"], "%m/%d/%Y", ["%m/%d/%Y"]),
        (["31/01/2024", "01/02/2024"], "%d/%m/%Y", ["%d/%m/%Y"]),
        (["03/04/2024", "05/06/2024"], None, ["%m/%d/%Y", "%d/%m/%Y"]),
    ],
)
def test_date_format_detection(values, chosen, fits):
    assert detect_date_format(values) == (chosen, fits)


def test_ambiguous_dates_block_the_import_until_the_user_chooses():
    data = b"Date,Type,Amount,Currency\n03/04/2024,Deposit,100,USD\n05/06/2024,Deposit,5,USD\n"
    mapping = CsvMapping(columns=guess_mapping(read_table(data).headers))
    result = csv_mapping.parse(data, mapping, instruments=INSTRUMENTS, today=TODAY)
    assert len(result.problems) == 1 and "choose the date format" in result.problems[0]
    mapping.date_format = "%d/%m/%Y"
    result = csv_mapping.parse(data, mapping, instruments=INSTRUMENTS, today=TODAY)
    assert result.problems == []
    assert [d.trade_date for d in result.ready] == [date(2024, 4, 3), date(2024, 6, 5)]
    mapping.date_format = "%m/%d/%Y"
    result = csv_mapping.parse(data, mapping, instruments=INSTRUMENTS, today=TODAY)
    assert [d.trade_date for d in result.ready] == [date(2024, 3, 4), date(2024, 5, 6)]


def test_unreadable_dates_and_numbers_are_row_errors():
    data = b"Date,Type,Amount,Currency\n2024-01-02,Deposit,12x,USD\nyesterday,Deposit,5,USD\n"
    mapping = CsvMapping(columns=guess_mapping(read_table(data).headers))
    result = csv_mapping.parse(data, mapping, instruments=INSTRUMENTS, today=TODAY)
    assert [(e.row, e.field) for e in result.errors] == [(2, "amount"), (3, "trade_date")]
    assert "Cannot read the date 'yesterday'" in result.errors[1].message


def test_missing_mapped_column_and_missing_date_are_file_problems():
    data = b"When,What,Value\n2024-01-02,Deposit,5\n"
    result = csv_mapping.parse(
        data, CsvMapping(columns={"date": "Datum", "kind": "What"}),
        instruments=INSTRUMENTS, today=TODAY,
    )  # fmt: skip
    assert any("'Datum'" in p for p in result.problems)
    assert any("date" in p for p in result.problems)
    assert result.drafts == []


def test_transfer_groups_pair_rows_and_a_broken_side_takes_the_other_along():
    data = (
        b"date,type,account,symbol,quantity,amount,currency,transfer\n"
        b"2024-04-01,transfer_out,Main,,,300,USD,t1\n"
        b"2024-04-01,transfer_in,ISA,,,300,USD,t1\n"
        b"2024-04-02,transfer_out,Main,NOPE,2,,USD,t2\n"
        b"2024-04-02,transfer_in,ISA,NOPE,2,,USD,t2\n"
        b"2024-04-03,transfer_out,Main,,,10,USD,t3\n"
        b"2024-04-03,transfer_in,ISA,,,11,USD,t3\n"
    )
    mapping = CsvMapping(columns=guess_mapping(read_table(data).headers))
    assert mapping.columns["transfer"] == "transfer"
    result = csv_mapping.parse(data, mapping, instruments=INSTRUMENTS, today=TODAY)
    (r1, out), (r2, into) = result.drafts
    assert (r1, r2) == (2, 3) and out.transfer_id == into.transfer_id is not None
    assert out.transfer_id not in (None, "t1") and isinstance(out.transfer_id, uuid.UUID)
    assert [(e.row, e.field) for e in result.errors] == [
        (4, "symbol"), (5, "symbol"), (6, "transfer"), (7, "transfer"),
    ]  # fmt: skip


def test_saved_mapping_round_trips_through_json_and_drops_junk():
    mapping = CsvMapping(
        columns={"date": "Datum", "kind": "Typ"},
        kinds={"Kauf": "buy", "Split": SKIP},
        date_format="%d.%m.%Y",
        decimal=",",
        delimiter=";",
        default_currency="EUR",
        default_account="Depot",
        symbols={"SAP.DE": "SAP"},
    )
    assert CsvMapping.from_dict(mapping.to_dict()) == mapping
    junk = CsvMapping.from_dict(
        {"columns": {"date": "D", "evil": "x", "kind": 3}, "kinds": {"X": "steal"},
         "date_format": "%s", "decimal": "x", "delimiter": "|", "default_currency": "XYZ"}
    )  # fmt: skip
    assert junk == CsvMapping(columns={"date": "D"})


def test_nexus_mapping_reads_an_export_with_formula_guard():
    data = (
        b"date,type,account,symbol,quantity,price,amount,fee,currency,fx_rate,transfer,note\n"
        b"2024-05-02,deposit,'=Main,,,,250.5,,USD,,,'=HYPERLINK(1)\n"
    )
    result = csv_mapping.parse(
        data, csv_mapping.NEXUS_MAPPING, instruments=INSTRUMENTS, today=TODAY
    )
    [(_, d)] = result.drafts
    assert (d.account, d.note, d.amount) == ("=Main", "=HYPERLINK(1)", 250.5)


# Reading files --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"   \n  \n", "empty"),
        (b"PK\x03\x04\x14\x00xl/workbook.xml", "spreadsheet"),
        (b"\x00\x01\x02binary", "binary"),
        (b'{"activities": []}', "JSON"),
        (b"Date,Type\n", "no rows"),
        (b"just one column\n1\n", "name the columns"),
    ],
)
def test_files_that_are_not_csv_are_refused_with_a_reason(data, message):
    with pytest.raises(ImportFileError, match=message):
        read_table(data)


def test_windows_1252_is_read_with_a_warning_and_tabs_are_sniffed():
    table = read_table("Datum\tTyp\tNotiz\n2024-01-02\tEinlage\tGebühr\n".encode("cp1252"))
    assert table.delimiter == "\t"
    assert table.rows == [(2, ["2024-01-02", "Einlage", "Gebühr"])]
    assert any("Windows-1252" in w for w in table.warnings)


@pytest.mark.parametrize(
    ("text", "decimal", "value"),
    [
        ("1,234.56", ".", 1234.56),
        ("1.234,56", ",", 1234.56),
        ("-1.234,56", ",", -1234.56),
        ("USD 1,234.56", ".", 1234.56),
        ("€ 12,5", ",", 12.5),
        ("(5.25)", ".", -5.25),
        ("12.50-", ".", -12.5),
        ("1'234.5", ".", 1234.5),
        ("1e-05", ".", 1e-05),
        ("", ".", None),
    ],
)
def test_parse_number(text, decimal, value):
    assert parse_number(text, decimal) == value


def test_parse_number_refuses_text():
    with pytest.raises(ValueError, match="not a number"):
        parse_number("twelve", ".")


@pytest.mark.parametrize(
    ("values", "delimiter", "decimal"),
    [
        (["1,5", "10"], ",", ","),
        (["1.234,56"], ",", ","),
        (["1,234.56"], ";", "."),
        (["0.125"], ";", "."),
        (["1.234.567"], ",", ","),
        (["1,234"], ";", ","),  # ambiguous: the separator decides
        (["1,234"], ",", "."),
        (["10", "20"], ";", ","),
    ],
)
def test_detect_decimal(values, delimiter, decimal):
    assert detect_decimal(values, delimiter) == decimal


def test_preview_rows_and_possible_duplicates():
    result = portfolio_performance.parse(
        fixture("pp-transactions-de.csv"), instruments=INSTRUMENTS, today=TODAY
    )
    preview = preview_rows(result)
    assert [(p["row"], p["status"], p["type"]) for p in preview[:5]] == [
        (2, "ready", "deposit"), (3, "ready", "buy"), (4, "ready", "sell"), (4, "ready", "tax"),
        (5, "ready", "dividend"),
    ]  # fmt: skip
    [error] = [p for p in preview if p["status"] == "error"]
    assert error["row"] == 8 and "MSFT trades in USD" in error["message"]
    existing = [TransactionDraft("deposit", date(2023, 1, 2), "EUR", amount=5000.0)]
    assert possible_duplicates(existing, result.drafts) == [2]


# Commit path on real databases ---------------------------------------------------------
@pytest.fixture
def world(db_settings):
    engine = get_engine(db_settings)
    backend = LocalBackend(engine, db_settings)
    alice = backend.sign_up("alice@example.com", "correct horse battery")
    bob = backend.sign_up("bob@example.com", "tr0ub4dor and 3 more")
    return PortfolioRepository(engine), alice, bob, engine


def _counts(engine) -> tuple[int, int, int]:
    with engine.connect() as conn:
        return tuple(
            conn.execute(select(func.count()).select_from(t)).scalar_one()
            for t in (Transaction, Account, ImportMapping)
        )


def test_a_refused_import_leaves_the_database_exactly_as_it_was(world):
    repo, alice, _, engine = world
    portfolio = repo.create_portfolio(alice, "PP", "EUR")
    repo.add_transaction(
        alice, portfolio.id, TransactionDraft("deposit", date(2023, 1, 1), "EUR", amount=100.0),
        INSTRUMENTS, today=TODAY,
    )  # fmt: skip
    result = portfolio_performance.parse(
        fixture("pp-transactions-de.csv"),
        instruments=INSTRUMENTS,
        today=TODAY,
        default_account="Imported from PP",
    )
    # The German file's own rows are fine; a sale of SAP before any was bought is not.
    oversell = TransactionDraft(
        "sell", date(2022, 12, 30), "EUR", "SAP", 1, 100.0, account="Imported from PP"
    )
    drafts = [*result.ready, oversell]
    before = _counts(engine)
    ledger = repo.list_transactions(alice, portfolio.id)
    with pytest.raises(LedgerError, match="Selling 1 SAP on 2022-12-30"):
        repo.import_transactions(alice, portfolio.id, drafts, INSTRUMENTS, today=TODAY)
    assert _counts(engine) == before
    assert repo.list_transactions(alice, portfolio.id) == ledger
    assert [a.name for a in repo.list_accounts(alice, portfolio.id)] == ["Main"]

    # Without the bad row the same import goes in whole, into the new account.
    ids = repo.import_transactions(alice, portfolio.id, result.ready, INSTRUMENTS, today=TODAY)
    assert len(ids) == len(result.ready) == 11
    after = _counts(engine)
    assert after == (before[0] + 11, before[1] + 1, before[2])
    assert [a.name for a in repo.list_accounts(alice, portfolio.id)] == [
        "Main", "Imported from PP",
    ]  # fmt: skip


def test_saved_mappings_are_per_user(world):
    repo, alice, bob, _ = world
    mapping = CsvMapping(columns={"date": "Datum"}, kinds={"Kauf": "buy"}, decimal=",")
    saved = repo.save_mapping(alice, "Comdirect", "csv", mapping.to_dict())
    assert [CsvMapping.from_dict(m.mapping) for m in repo.list_mappings(alice)] == [mapping]
    assert repo.list_mappings(bob) == []
    with pytest.raises(Exception, match="No such import mapping"):
        repo.delete_mapping(bob, saved.id)
    assert [m.name for m in repo.list_mappings(alice)] == ["Comdirect"]
