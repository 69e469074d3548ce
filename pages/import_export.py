"""Import & export: transactions in from a CSV (with a column mapping), a Ghostfolio JSON
export, a Portfolio Performance CSV export or our own CSV — preview, row errors, one
all-or-nothing commit — and the ledger out as CSV or JSON."""

import dataclasses
import hashlib
import uuid
from datetime import UTC, datetime

import polars as pl
import streamlit as st
from streamlit.errors import StreamlitAPIException

from nexus.auth.errors import AuthError
from nexus.portfolio import export
from nexus.portfolio.importers import (
    DATE_FORMATS,
    DELIMITERS,
    MAX_BYTES,
    ImportFileError,
    ImportResult,
    csv_mapping,
    ghostfolio,
    portfolio_performance,
    possible_duplicates,
    preview_rows,
    read_table,
)
from nexus.portfolio.importers.csv_mapping import (
    FIELDS,
    KIND_CHOICE_LABELS,
    KIND_CHOICES,
    NEXUS_MAPPING,
    CsvMapping,
    guess_mapping,
    kind_labels,
    suggest_kind,
)
from nexus.portfolio.model import CURRENCIES, LedgerError, NotFound
from nexus.portfolio.validation import validate_positions
from nexus.ui import data, widgets
from nexus.ui.downloads import file_stem, series_downloads
from nexus.ui.format import md_escape
from nexus.ui.guard import guard
from nexus.ui.ledger_form import KIND_LABELS

actor = guard()  # first statement of every page: signed-out visitors see only sign-in

SOURCES = {
    "csv": "Generic CSV",
    "ghostfolio": "Ghostfolio JSON",
    "pp": "Portfolio Performance CSV",
    "nexus": "Portfolio Nexus CSV",
}
SOURCE_HELP = {
    "csv": "Any CSV with a header line (comma, semicolon or tab; decimal point or comma). "
    "Map its columns and type labels to ours below, and save the mapping to reuse it for "
    "the next file from the same broker.",
    "ghostfolio": "In Ghostfolio: Portfolio → Activities → ⋮ → Export. Buys, sells, "
    "dividends, interest and fees are imported; accounts are created by their name. "
    "Liabilities and valuables are not supported.",
    "pp": "In Portfolio Performance: File → Export → CSV → account or securities account "
    "transactions (English or German), or the 'All transactions' view → Export → CSV. "
    "Securities are matched by their ticker symbol. Everything goes into one account.",
    "nexus": "A CSV from the Export tab of this page (another portfolio or installation).",
}
MAX_MB = MAX_BYTES // (1024 * 1024)
NOT_MAPPED = ""
PLURAL = {"Line": "Lines", "Activity": "Activities"}
PREVIEW_ROWS = 200

st.title("Import & export")
info = data.snapshot()
portfolio = widgets.portfolio_picker(actor)
if portfolio is None:
    widgets.onboarding(actor, info)
    st.stop()
repo = data.repository()
base = portfolio.base_currency
today = datetime.now(UTC).date()


def _link_to_transactions() -> None:
    try:
        st.page_link(
            "pages/transactions.py",
            label="See them on Transactions",
            icon=":material/receipt_long:",
        )
    except StreamlitAPIException:  # the page run on its own (tests): no page registry
        st.caption("Open **Transactions** in the menu to see them.")


def _kind_label(choice: str) -> str:
    if not choice:
        return "— choose —"
    return KIND_CHOICE_LABELS.get(choice) or KIND_LABELS[choice]


def _token(*parts: object) -> str:
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:12]


# Generic CSV: the mapping step -------------------------------------------------------------
def _mapping_choice() -> tuple[str, CsvMapping | None, dict]:
    saved = [m for m in repo.list_mappings(actor) if m.source_kind == "csv"]
    by_id = {str(m.id): m for m in saved}
    if st.session_state.get("mapping_choice") not in ("", None, *by_id):
        st.session_state["mapping_choice"] = ""
    choice = st.selectbox(
        "Saved mapping",
        ["", *by_id],
        format_func=lambda i: by_id[i].name if i else "— guess from the column names —",
        key="mapping_choice",
        help="Mappings you saved for earlier files. Only you can see yours.",
    )
    chosen = CsvMapping.from_dict(by_id[choice].mapping) if choice else None
    return choice, chosen, by_id


def _mapping_step(payload: bytes, file_id: str) -> tuple[object, CsvMapping, str, dict]:
    """Column, format, default and type-label choices; returns the table, the mapping, the
    chosen saved mapping's id ("" for none) and the saved mappings by id."""
    choice, chosen, by_id = _mapping_choice()
    token = _token(file_id, choice)
    start = chosen or CsvMapping()
    delimiters = ["auto", *DELIMITERS]
    delimiter = st.selectbox(
        "Separator",
        delimiters,
        index=delimiters.index(start.delimiter),
        format_func=lambda d: "Detect" if d == "auto" else DELIMITERS[d],
        key=f"delimiter_{token}",
    )
    table = read_table(payload, delimiter)
    st.caption(
        f"{len(table.rows)} rows under {len(table.headers)} columns, separated by "
        f"{DELIMITERS[table.delimiter].lower()}s."
    )
    guess = chosen.columns if chosen else guess_mapping(table.headers)
    st.markdown("**Which column holds what**")
    columns: dict[str, str] = {}
    grid = st.columns(4)
    for i, (field, label) in enumerate(FIELDS.items()):
        options = [NOT_MAPPED, *table.headers]
        default = guess.get(field)
        with grid[i % 4]:
            picked = st.selectbox(
                label,
                options,
                index=options.index(default) if default in options else 0,
                format_func=lambda h: h or "— not in the file —",
                key=f"column_{field}_{token}",
            )
        if picked:
            columns[field] = picked
    f1, f2, f3, f4 = st.columns(4)
    date_formats = ["auto", *DATE_FORMATS]
    date_format = f1.selectbox(
        "Date format",
        date_formats,
        index=date_formats.index(start.date_format),
        format_func=lambda f: "Detect" if f == "auto" else DATE_FORMATS[f],
        key=f"date_format_{token}",
    )
    decimals = ["auto", ".", ","]
    decimal = f2.selectbox(
        "Decimal mark",
        decimals,
        index=decimals.index(start.decimal),
        format_func={"auto": "Detect", ".": "Point (1,234.56)", ",": "Comma (1.234,56)"}.get,
        key=f"decimal_{token}",
    )
    currency = f3.selectbox(
        "Currency when none is given",
        CURRENCIES,
        index=CURRENCIES.index(start.default_currency if chosen else base),
        key=f"currency_{token}",
        help="Rows with a symbol take the instrument's currency.",
    )
    account = f4.text_input(
        "Account when none is given",
        value=start.default_account,
        max_chars=80,
        placeholder="The portfolio's first account",
        key=f"account_{token}",
        help="A new account name is created when the import is committed.",
    )
    kinds: dict[str, str] = {}
    labels = kind_labels(table, CsvMapping(columns=columns))
    if labels:
        st.markdown("**What the file's types mean**")
        grid = st.columns(4)
        options = ["", *KIND_CHOICES]
        for i, label in enumerate(labels):
            default = start.kinds.get(label) or suggest_kind(label) or ""
            with grid[i % 4]:
                picked = st.selectbox(
                    md_escape(label),  # the file's text: no links or images in labels
                    options,
                    index=options.index(default) if default in options else 0,
                    format_func=_kind_label,
                    key=f"kind_{i}_{token}",
                )
            if picked:
                kinds[label] = picked
    elif "kind" not in columns:
        st.caption(
            "No type column: rows with a quantity are buys (positive) or sells (negative), "
            "the others deposits (positive amount) or withdrawals (negative)."
        )
    mapping = CsvMapping(
        columns=columns,
        kinds=kinds,
        date_format=date_format,
        decimal=decimal,
        delimiter=delimiter,
        default_currency=currency,
        default_account=account,
        symbols=dict(start.symbols),
    )
    return table, mapping, choice, by_id


def _save_mapping(mapping: dict, name_key: str) -> None:
    name = st.session_state.get(name_key, "")
    try:
        saved = repo.save_mapping(actor, name, "csv", mapping)
    except (LedgerError, AuthError) as exc:
        st.session_state["mapping_message"] = ("error", str(exc))
        return
    st.session_state["mapping_choice"] = str(saved.id)
    st.session_state["mapping_message"] = ("success", f"Saved the mapping {saved.name!r}.")


def _delete_mapping(mapping_id: str) -> None:
    try:
        repo.delete_mapping(actor, uuid.UUID(mapping_id))
    except (NotFound, AuthError, ValueError) as exc:
        st.session_state["mapping_message"] = ("error", str(exc))
        return
    st.session_state["mapping_choice"] = ""
    st.session_state["mapping_message"] = ("success", "Deleted the mapping.")


def _save_controls(mapping: CsvMapping, choice: str, by_id: dict) -> None:
    with st.container(border=True):
        left, right = st.columns([3, 1], vertical_alignment="bottom")
        name_key = f"mapping_name_{choice or 'new'}"
        left.text_input(
            "Save this mapping as",
            value=by_id[choice].name if choice in by_id else "",
            max_chars=80,
            placeholder="e.g. My broker",
            key=name_key,
            help="Saving under an existing name replaces that mapping.",
        )
        right.button(
            "Save mapping",
            icon=":material/save:",
            on_click=_save_mapping,
            args=(mapping.to_dict(), name_key),
            key="mapping_save",
        )
        if choice in by_id:
            st.button(
                f"Delete the saved mapping {md_escape(by_id[choice].name)}",
                icon=":material/delete:",
                on_click=_delete_mapping,
                args=(choice,),
                key="mapping_delete",
            )
    message = st.session_state.pop("mapping_message", None)
    if message:
        kind, text = message
        (st.success if kind == "success" else st.error)(md_escape(text))


# Every source: unknown symbols, preview, commit --------------------------------------------
def _symbol_step(first: ImportResult, instruments: dict, token: str, preset: dict) -> dict:
    """A known symbol for each of the file's unknown ones (or leave it: row errors)."""
    unknown = list(first.unknown_symbols)
    if not unknown:
        return {}
    options = ["", *sorted(instruments)]
    remap: dict[str, str] = {}
    with st.expander(f"Symbols not in the market data ({len(unknown)})", expanded=True):
        st.caption(
            "Map each to a symbol of the market data, or leave it: its rows stay errors. "
            "To fetch a new symbol, an administrator adds it to NEXUS_SYMBOLS."
        )
        grid = st.columns(3)
        for i, symbol in enumerate(unknown[:60]):
            label = first.symbol_labels.get(symbol.upper()) or symbol
            title = f"{label} ({symbol})" if label != symbol else symbol
            rows = first.unknown_symbols[symbol]
            default = preset.get(symbol, "")
            with grid[i % 3]:
                picked = st.selectbox(
                    f"{md_escape(title)} · {len(rows)} row(s)",
                    options,
                    index=options.index(default) if default in options else 0,
                    format_func=lambda s: (
                        f"{s} · {instruments[s].name}" if s else "— leave as an error —"
                    ),
                    key=f"remap_{_token(symbol)}_{token}",
                )
            if picked:
                remap[symbol] = picked
        if len(unknown) > 60:
            st.caption(f"… and {len(unknown) - 60} more: map these first, then upload again.")
    return remap


def _whole_ledger_problem(result: ImportResult, existing) -> str | None:
    """The ledger-wide check the commit will make (no overselling, splits with shares)."""
    accounts = [a.name for a in repo.list_accounts(actor, portfolio.id)]
    by_fold = {a.casefold(): a for a in accounts}

    def resolved(d):
        name = d.account if isinstance(d.account, str) and d.account else accounts[0]
        return dataclasses.replace(d, account=by_fold.get(name.casefold(), name))

    start = max((r.id for r in existing), default=0) + 1
    ledger = [(r.id, r.as_draft()) for r in existing]
    ledger += [(start + i, resolved(d)) for i, d in enumerate(result.ready)]
    try:
        validate_positions(ledger)
    except LedgerError as exc:
        return exc.problem
    return None


def _preview(result: ImportResult, source: str) -> None:
    ready_rows = len({row for row, _ in result.drafts})
    c1, c2, c3, c4 = st.columns(4)
    c1.metric(PLURAL[result.row_label] + " read", result.rows_read)
    c2.metric("Ready", ready_rows, help=f"{len(result.drafts)} transactions")
    c3.metric("With errors", len(result.error_rows))
    c4.metric("Skipped", result.skipped, help="Rows left out on purpose (see the notes).")
    for problem in result.problems:
        st.error(md_escape(problem), icon=":material/block:")
    for warning in result.warnings:
        st.warning(md_escape(warning))
    if result.lone_transfers and source != "pp":
        st.info(
            f"{result.lone_transfers} transfer row(s) have no other side in the file: they "
            "are imported as lone transfers in or out of the portfolio, at their value."
        )
    preview = preview_rows(result, PREVIEW_ROWS)
    if preview:
        st.markdown(
            f"**Preview** · first {min(len(preview), PREVIEW_ROWS)} transactions and errors"
        )
        st.dataframe(
            pl.DataFrame(preview, infer_schema_length=None),
            hide_index=True,
            width="stretch",
            placeholder="",
            column_config={
                "row": st.column_config.NumberColumn(result.row_label, format="%d"),
                "status": st.column_config.TextColumn("Status"),
                "date": st.column_config.DateColumn("Date", format="YYYY-MM-DD"),
                "type": st.column_config.TextColumn("Type"),
                "account": st.column_config.TextColumn("Account"),
                "symbol": st.column_config.TextColumn("Symbol"),
                "quantity": st.column_config.NumberColumn("Quantity", format="%.6g"),
                "price": st.column_config.NumberColumn("Price", format="%.4f"),
                "amount": st.column_config.NumberColumn("Amount", format="%,.2f"),
                "fee": st.column_config.NumberColumn("Fee", format="%.2f"),
                "currency": st.column_config.TextColumn("Currency"),
                "message": st.column_config.TextColumn("Problem"),
            },
            key="import_preview",
        )
    if result.errors:
        st.markdown(f"**Rows with errors** · {len(result.error_rows)}")
        st.dataframe(
            pl.DataFrame(
                {
                    "row": [e.row for e in result.errors],
                    "field": [e.field for e in result.errors],
                    "message": [e.message for e in result.errors],
                }
            ),
            hide_index=True,
            width="stretch",
            column_config={
                "row": st.column_config.NumberColumn(result.row_label, format="%d"),
                "field": st.column_config.TextColumn("Field"),
                "message": st.column_config.TextColumn("What is wrong"),
            },
            key="import_errors",
        )


def _commit(result: ImportResult, instruments: dict, nonce: int) -> None:
    existing = repo.list_transactions(actor, portfolio.id)
    duplicates = possible_duplicates((r.as_draft() for r in existing), result.drafts)
    if duplicates:
        lines = ", ".join(map(str, duplicates[:10])) + (" …" if len(duplicates) > 10 else "")
        st.warning(
            f"{len(duplicates)} row(s) match transactions already in this portfolio "
            f"({result.row_label.lower()} {lines}): importing them records them twice."
        )
    known = {a.name.casefold() for a in repo.list_accounts(actor, portfolio.id)}
    new_accounts = [a for a in result.accounts if a.casefold() not in known]
    if new_accounts:
        st.caption("New account(s), created with the import: " + md_escape(", ".join(new_accounts)))
    problem = _whole_ledger_problem(result, existing) if result.drafts else None
    if problem:
        st.error(
            "The import as a whole would be refused: " + md_escape(problem),
            icon=":material/block:",
        )
    skip = False
    if result.errors and result.drafts:
        skip = st.checkbox(
            f"Skip the {len(result.error_rows)} row(s) with errors and import only the "
            f"{len({r for r, _ in result.drafts})} ready one(s)",
            key=f"skip_errors_{nonce}",
        )
    blocked = (
        not result.drafts or bool(result.problems) or bool(problem) or (result.errors and not skip)
    )
    if result.errors and not skip:
        st.caption("Fix the rows with errors (or choose to skip them) to import.")
    count = len(result.drafts)
    if st.button(
        f"Import {count} transaction{'s' if count != 1 else ''}",
        type="primary",
        icon=":material/upload:",
        disabled=bool(blocked),
        key="import_commit",
        help="All or nothing: every transaction is stored, or none is.",
    ):
        drafts = data.with_market_fx(result.ready, base, info.seq)
        try:
            ids = repo.import_transactions(actor, portfolio.id, drafts, instruments)
        except (LedgerError, NotFound, AuthError) as exc:
            st.error("Nothing was imported: " + md_escape(str(exc)))
            return
        st.session_state["import_done"] = (
            f"Imported {len(ids)} transactions into {md_escape(portfolio.name)}."
        )
        st.session_state["import_nonce"] = nonce + 1
        st.toast(f"Imported {len(ids)} transactions", icon=":material/check:")
        st.rerun()


def _import_tab() -> None:
    done = st.session_state.pop("import_done", None)
    if done:
        st.success(done, icon=":material/check_circle:")
        _link_to_transactions()
    if not actor.can_write:
        st.info("Your role is **viewer**: you can export, but not import transactions.")
        return
    if info is None:
        widgets.no_market_data()
        return
    instruments = data.instruments(info.seq)
    source = (
        st.segmented_control(
            "Source",
            list(SOURCES),
            default="csv",
            format_func=SOURCES.get,
            required=True,
            key="import_source",
        )
        or "csv"
    )
    st.caption(SOURCE_HELP[source])
    nonce = st.session_state.setdefault("import_nonce", 0)
    upload = st.file_uploader(
        f"{SOURCES[source]} file (at most {MAX_MB} MB)",
        type=["json"] if source == "ghostfolio" else ["csv", "txt", "tsv"],
        key=f"upload_{source}_{nonce}",
        max_upload_size=MAX_MB,
    )
    if upload is None:
        return
    payload = upload.getvalue()
    if len(payload) > MAX_BYTES:
        st.error(f"The file is larger than {MAX_MB} MB. Split it into smaller files.")
        return
    common = {"instruments": instruments, "today": today, "base_currency": base}
    choice, mapping, saved = "", None, {}
    try:
        if source == "ghostfolio":

            def run(symbols):
                return ghostfolio.parse(payload, symbol_map=symbols, **common)

        elif source == "pp":
            left, right = st.columns(2)
            pp_currency = left.selectbox(
                "Currency when the file gives none",
                CURRENCIES,
                index=CURRENCIES.index(base),
                key="pp_currency",
            )
            pp_account = right.text_input(
                "Import into account",
                max_chars=80,
                placeholder="The portfolio's first account",
                key="pp_account",
                help="Portfolio Performance keeps cash and securities in separate accounts; "
                "here one account holds both. A new name is created on import.",
            )

            def run(symbols):
                return portfolio_performance.parse(
                    payload,
                    default_currency=pp_currency,
                    default_account=" ".join(pp_account.split()) or None,
                    symbol_map=symbols,
                    **common,
                )

        elif source == "nexus":

            def run(symbols):
                return csv_mapping.parse(payload, NEXUS_MAPPING, symbol_map=symbols, **common)

        else:
            table, mapping, choice, saved = _mapping_step(payload, upload.file_id)

            def run(symbols):  # the remap step shows (and pre-fills) the saved remaps
                used = dataclasses.replace(mapping, symbols={})
                return csv_mapping.parse(table, used, symbol_map=symbols, **common)

        first = run(None)
    except ImportFileError as exc:
        st.error(md_escape(str(exc)), icon=":material/error:")
        return
    preset = mapping.symbols if mapping else {}
    remap = _symbol_step(first, instruments, _token(upload.file_id, source, choice), preset)
    result = run(remap) if remap else first
    if mapping is not None:
        mapping = dataclasses.replace(mapping, symbols=remap)
        _save_controls(mapping, choice, saved)
    _preview(result, source)
    _commit(result, instruments, nonce)


def _export_tab() -> None:
    records = repo.list_transactions(actor, portfolio.id)
    stem = f"{file_stem(portfolio.name)}-transactions-{today:%Y-%m-%d}"
    st.markdown(f"**{len(records)} transactions** in {md_escape(portfolio.name)}")
    with st.container(horizontal=True, gap="small"):
        st.download_button(
            "Transactions (CSV)",
            data=export.transactions_csv(records),
            file_name=f"{stem}.csv",
            mime="text/csv",
            icon=":material/download:",
            on_click="ignore",
            key="export_csv",
        )
        st.download_button(
            "Transactions (JSON)",
            data=export.transactions_json(records, portfolio=portfolio),
            file_name=f"{stem}.json",
            mime="application/json",
            icon=":material/download:",
            on_click="ignore",
            key="export_json",
        )
    st.caption(
        "The CSV has the columns date, type, account, symbol, quantity, price, amount, fee, "
        "currency, fx_rate, transfer and note (UTF-8, ISO dates, decimal point, positive "
        "amounts: the type gives the direction). It imports back with the source "
        "'Portfolio Nexus CSV', into this or another portfolio."
    )
    st.markdown("**The ledger as a table** (for pandas, polars, DuckDB …)")
    series_downloads(
        repo.transactions_frame(actor, portfolio.id), f"{portfolio.name}-ledger", key="ledger"
    )
    st.info(
        "Every chart's numbers can be downloaded on its own page: look for the CSV and "
        "Parquet buttons under the charts and tables.",
        icon=":material/download:",
    )


import_tab, export_tab = st.tabs(["Import", "Export"])
with import_tab:
    _import_tab()
with export_tab:
    _export_tab()
