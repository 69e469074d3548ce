"""Exports: the ledger as CSV/JSON (read back by our own importer: round trip) and any
computed series as CSV/Parquet."""

from __future__ import annotations

import csv
import io
import json
import uuid
from datetime import date, datetime, timedelta

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus.auth.local import LocalBackend
from nexus.db.engine import get_engine
from nexus.portfolio.export import (
    CSV_COLUMNS,
    frame_csv,
    frame_parquet,
    transactions_csv,
    transactions_json,
)
from nexus.portfolio.importers import csv_mapping
from nexus.portfolio.model import (
    InstrumentInfo,
    PortfolioRecord,
    TransactionDraft,
    TransactionRecord,
)
from nexus.portfolio.repository import PortfolioRepository

TODAY = date(2026, 11, 25)
INSTRUMENTS = {
    "AAA": InstrumentInfo("AAA", "Alpha", "USD"),
    "BBB": InstrumentInfo("BBB", "Beta", "EUR"),
}
PID = uuid.UUID(int=1)


def record(i: int, kind: str, **kw) -> TransactionRecord:
    values = {
        "trade_date": date(2024, 1, 2),
        "currency": "USD",
        "symbol": None,
        "quantity": 0.0,
        "price": 0.0,
        "amount": 0.0,
        "fee": 0.0,
        "note": "",
        "account": "Main",
    } | kw
    return TransactionRecord(id=i, portfolio_id=PID, kind=kind, **values)


def test_csv_layout_is_the_documented_one():
    tid = uuid.uuid4()
    records = [
        record(1, "deposit", amount=1000.0, note="salary, March"),
        record(2, "buy", symbol="AAA", quantity=3.0, price=0.1 + 0.2, fee=1.0),
        record(3, "buy", symbol="BBB", currency="EUR", quantity=2.0, price=50.0, fx_rate=1.0825),
        record(4, "transfer_out", amount=10.0, transfer_id=tid),
        record(5, "transfer_in", amount=10.0, account="ISA", transfer_id=tid),
        record(6, "fee", amount=2.5, note="=cmd|'/c calc'!A1", account="+Broker"),
    ]
    rows = list(csv.reader(io.StringIO(transactions_csv(records).decode("utf-8"))))
    assert (
        tuple(rows[0])
        == CSV_COLUMNS
        == (
            "date",
            "type",
            "account",
            "symbol",
            "quantity",
            "price",
            "amount",
            "fee",
            "currency",
            "fx_rate",
            "transfer",
            "note",
        )
    )
    assert rows[1] == [
        "2024-01-02",
        "deposit",
        "Main",
        "",
        "",
        "",
        "1000.0",
        "",
        "USD",
        "",
        "",
        "salary, March",
    ]
    # Every digit kept (0.1 + 0.2 is not 0.3), unused numbers empty.
    assert rows[2][4:8] == ["3.0", "0.30000000000000004", "", "1.0"]
    assert rows[3][9] == "1.0825"
    assert rows[4][10] == rows[5][10] == str(tid) and rows[5][2] == "ISA"
    # Formula-like text is defused for spreadsheets.
    assert rows[6][2] == "'+Broker" and rows[6][11].startswith("'=")


def test_json_export_holds_the_same_rows():
    records = [
        record(1, "deposit", amount=1000.0),
        record(2, "dividend", symbol="AAA", amount=12.5, fee=1.25, quantity=0.1, price=125.0),
    ]
    portfolio = PortfolioRecord(PID, uuid.UUID(int=2), "Growth", "USD", lot_method="hifo")
    payload = json.loads(
        transactions_json(records, portfolio=portfolio, exported_at=datetime(2026, 1, 2, 3, 4))
    )
    assert payload["format"] == "portfolio-nexus/transactions" and payload["version"] == 1
    assert payload["exported_at"] == "2026-01-02T03:04:00"
    assert payload["portfolio"] == {"name": "Growth", "base_currency": "USD", "lot_method": "hifo"}
    assert payload["transactions"][1] == {
        "date": "2024-01-02",
        "type": "dividend",
        "account": "Main",
        "symbol": "AAA",
        "quantity": 0.1,
        "price": 125.0,
        "amount": 12.5,
        "fee": 1.25,
        "currency": "USD",
        "fx_rate": None,
        "transfer": None,
        "note": "",
    }


def _reimport(records, **kw):
    result = csv_mapping.parse(
        transactions_csv(records),
        csv_mapping.NEXUS_MAPPING,
        instruments=INSTRUMENTS,
        today=TODAY,
        base_currency="USD",
        **kw,
    )
    return result


FIELDS = (
    "kind",
    "trade_date",
    "currency",
    "symbol",
    "quantity",
    "price",
    "amount",
    "fee",
    "note",
    "account",
    "fx_rate",
)


def _comparable(d: TransactionDraft) -> tuple:
    return tuple(getattr(d, f) for f in FIELDS)


magnitude = st.floats(min_value=1e-6, max_value=1e9, allow_nan=False, allow_infinity=False)
note = st.text(
    st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="\u2028\u2029")
    | st.sampled_from(["\n", ",", '"', "'", "=", "+", "-", "@", ";"]),
    max_size=40,
).map(str.strip)
account = st.sampled_from(["Main", "ISA", "=Sneaky", "Broker, B", "'quoted'", "Ünïcødé"])
day = st.dates(min_value=date(2000, 1, 1), max_value=TODAY)


@st.composite
def drafts(draw) -> TransactionDraft:
    kind = draw(
        st.sampled_from(
            [
                "buy",
                "sell",
                "deposit",
                "withdrawal",
                "dividend",
                "interest",
                "fee",
                "tax",
                "split",
                "transfer_in",
                "transfer_out",
            ]
        )
    )
    symbol = draw(st.sampled_from(["AAA", "BBB"]))
    ccy = INSTRUMENTS[symbol].currency
    common = {"trade_date": draw(day), "note": draw(note), "account": draw(account)}
    if kind in ("buy", "sell"):
        d = TransactionDraft(
            kind,
            currency=ccy,
            symbol=symbol,
            quantity=draw(magnitude),
            price=draw(magnitude),
            fee=draw(st.just(0.0) | magnitude),
            **common,
        )
    elif kind == "dividend":
        amount = draw(magnitude)
        drip = draw(st.booleans())
        d = TransactionDraft(
            kind,
            currency=ccy,
            symbol=symbol,
            amount=amount,
            fee=draw(st.floats(0, 1)) * amount,
            quantity=draw(magnitude) if drip else 0.0,
            price=draw(magnitude) if drip else 0.0,
            **common,
        )
    elif kind == "split":
        ratio = draw(st.sampled_from([2.0, 3.0, 0.1, 0.5, 1.5]))
        d = TransactionDraft(kind, currency=ccy, symbol=symbol, quantity=ratio, **common)
    elif kind in ("transfer_in", "transfer_out") and draw(st.booleans()):
        d = TransactionDraft(
            kind,
            currency=ccy,
            symbol=symbol,
            quantity=draw(magnitude),
            price=draw(magnitude),
            **common,
        )
    else:
        cash = draw(st.sampled_from(["USD", "EUR", "GBP", "CHF", "JPY"]))
        with_symbol = kind in ("interest", "fee", "tax") and draw(st.booleans())
        d = TransactionDraft(
            kind,
            currency=cash,
            symbol=symbol if with_symbol else None,
            amount=draw(magnitude),
            **common,
        )
    if d.currency != "USD" and kind != "split" and draw(st.booleans()):
        d = TransactionDraft(
            **{**{f: getattr(d, f) for f in d.__dataclass_fields__}, "fx_rate": draw(magnitude)}
        )
    return d


@settings(max_examples=150, deadline=None)
@given(st.lists(drafts(), min_size=1, max_size=12))
def test_property_every_valid_ledger_row_survives_export_then_import(rows):
    records = [
        TransactionRecord(
            id=i,
            portfolio_id=PID,
            kind=d.kind,
            trade_date=d.trade_date,
            currency=d.currency,
            symbol=d.symbol,
            quantity=d.quantity,
            price=d.price,
            amount=d.amount,
            fee=d.fee,
            note=d.note,
            account=d.account,
            fx_rate=d.fx_rate,
        )
        for i, d in enumerate(rows, start=1)
    ]
    result = _reimport(records)
    assert result.errors == [] and result.problems == []
    assert [_comparable(d) for d in result.ready] == [_comparable(r.as_draft()) for r in records]


def test_frames_export_to_csv_and_parquet():
    frame = pl.DataFrame(
        {
            "date": [date(2024, 1, 2) + timedelta(days=i) for i in range(3)],
            "value": [100.0, 101.5, None],
            "symbol": ["AAA", "B,B", 'quote"d'],
            "count": [1, 2, 3],
        }
    )
    text = frame_csv(frame).decode("utf-8")
    assert text.splitlines()[0] == "date,value,symbol,count"
    assert text.splitlines()[1] == "2024-01-02,100.0,AAA,1"
    assert pl.read_csv(io.StringIO(text), try_parse_dates=True).equals(frame)
    back = pl.read_parquet(io.BytesIO(frame_parquet(frame)))
    assert back.equals(frame) and back.schema == frame.schema


# The whole round trip on real databases --------------------------------------------------
@pytest.fixture
def world(db_settings):
    engine = get_engine(db_settings)
    backend = LocalBackend(engine, db_settings)
    alice = backend.sign_up("alice@example.com", "correct horse battery")
    return PortfolioRepository(engine), alice


def _ledger(repo, actor, portfolio_id) -> list[tuple]:
    records = repo.list_transactions(actor, portfolio_id)
    pairs: dict = {}
    out = []
    for r in records:
        pair = pairs.setdefault(r.transfer_id, len(pairs)) if r.transfer_id else None
        out.append((*_comparable(r.as_draft()), pair))
    return out


def test_round_trip_export_then_import_yields_the_same_ledger(world):
    repo, alice = world
    source = repo.create_portfolio(alice, "Source", "USD")
    repo.create_account(alice, source.id, "ISA")
    d = date(2024, 1, 2)
    ledger = [
        TransactionDraft("deposit", d, "USD", amount=10_000.0, note='Start, "quoted"\nline 2'),
        TransactionDraft("deposit", d, "EUR", amount=5_000.0, fx_rate=1.0912),
        TransactionDraft("buy", d + timedelta(days=1), "USD", "AAA", 30.0, 101.37, fee=1.0),
        TransactionDraft(
            "buy",
            d + timedelta(days=1),
            "EUR",
            "BBB",
            10.0,
            50.5,
            fee=0.5,
            fx_rate=1.0897,
            account="ISA",
        ),
        TransactionDraft("split", d + timedelta(days=30), "USD", "AAA", quantity=2.0),
        TransactionDraft(
            "dividend",
            d + timedelta(days=40),
            "USD",
            "AAA",
            0.5,
            60.0,
            amount=33.3,
            fee=4.99,
            note="=DRIP",
        ),
        TransactionDraft("sell", d + timedelta(days=50), "USD", "AAA", 12.0, 55.25, fee=1.0),
        TransactionDraft("interest", d + timedelta(days=60), "GBP", amount=1.23, fx_rate=1.27),
        TransactionDraft("fee", d + timedelta(days=61), "USD", "AAA", amount=2.0),
        TransactionDraft(
            "tax", d + timedelta(days=62), "EUR", "BBB", amount=0.75, fx_rate=1.1, account="ISA"
        ),
        TransactionDraft("withdrawal", d + timedelta(days=63), "USD", amount=100.0),
        TransactionDraft(
            "transfer_in",
            d + timedelta(days=64),
            "USD",
            "AAA",
            5.0,
            70.0,
            note="from another broker",
        ),
        TransactionDraft("transfer_out", d + timedelta(days=65), "USD", amount=50.0),
    ]
    repo.add_transactions(alice, source.id, ledger, INSTRUMENTS, today=TODAY)
    repo.transfer(
        alice,
        source.id,
        "Main",
        "ISA",
        d + timedelta(days=70),
        "AAA",
        4.0,
        instruments=INSTRUMENTS,
        note="shares to ISA",
        today=TODAY,
    )
    repo.transfer(
        alice, source.id, "ISA", "Main", d + timedelta(days=71), None, 25.0, "EUR", today=TODAY
    )
    original = _ledger(repo, alice, source.id)
    assert sum(1 for row in original if row[-1] is not None) == 4

    exported = transactions_csv(repo.list_transactions(alice, source.id))
    result = csv_mapping.parse(
        exported,
        csv_mapping.NEXUS_MAPPING,
        instruments=INSTRUMENTS,
        today=TODAY,
        base_currency="USD",
    )
    assert result.errors == [] and result.problems == [] and result.rows_read == len(original)
    target = repo.create_portfolio(alice, "Copy", "USD")
    repo.import_transactions(alice, target.id, result.ready, INSTRUMENTS, today=TODAY)
    assert _ledger(repo, alice, target.id) == original
    assert [a.name for a in repo.list_accounts(alice, target.id)] == ["Main", "ISA"]

    # And the copy exports to the same file, but for the new transfer ids.
    def rows(data: bytes) -> list[list[str]]:
        return [r[:10] + r[11:] for r in csv.reader(io.StringIO(data.decode("utf-8")))]

    assert rows(transactions_csv(repo.list_transactions(alice, target.id))) == rows(exported)


def test_nested_columns_are_flattened_for_csv_but_kept_in_parquet():
    frame = pl.DataFrame({"symbols": [["AAA", "BBB"], []], "stats": [{"n": 1}, {"n": 2}]})
    rows = list(csv.reader(io.StringIO(frame_csv(frame).decode("utf-8"))))
    assert rows == [["symbols", "stats"], ["AAA; BBB", '{"n":1}'], ["", '{"n":2}']]
    assert pl.read_parquet(io.BytesIO(frame_parquet(frame))).equals(frame)


def test_download_file_stems_are_safe():
    from nexus.ui.downloads import file_stem

    assert file_stem("Performance: TWR (1Y)") == "performance-twr-1y"
    assert file_stem("../../etc/passwd") == "etc-passwd"
    assert file_stem("Ünïcødé £") == "unicde"  # accents dropped, ø and £ too
    assert file_stem("") == "data"
