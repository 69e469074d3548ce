"""One typed settings object for the whole project.

Precedence (highest first): environment variables, then ``.streamlit/secrets.toml``
(the file Streamlit exposes as ``st.secrets``; read here with ``tomllib`` so the library
never imports Streamlit), then the embedded defaults below. Every field is documented in
the README's configuration table (``tests/unit/test_docs.py`` fails otherwise).

A bad value stops start-up with :class:`SettingsError`, whose message names the setting and
the values it accepts.
"""

from __future__ import annotations

import functools
import os
import secrets
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

SECRETS_FILE = Path(".streamlit") / "secrets.toml"
SECRET_KEY_FILE = "secret_key"  # noqa: S105 (a file name, not a secret)


class SettingsError(ValueError):
    """A setting has a value the application cannot run with."""


class Settings(BaseModel):
    """Typed settings. Field ``alias`` is the environment variable / secrets key."""

    model_config = ConfigDict(populate_by_name=True, frozen=True, extra="ignore")

    data_dir: Path = Field(
        default=Path("data"),
        alias="NEXUS_DATA_DIR",
        description="Folder for runtime files: database, market snapshots, keys, locks.",
    )
    database_url: str = Field(
        default="",
        alias="NEXUS_DATABASE_URL",
        description="SQLAlchemy URL of the portfolio database; default SQLite in the data dir.",
    )
    auth_backend: Literal["local", "supabase"] = Field(
        default="local",
        alias="NEXUS_AUTH_BACKEND",
        description="Account backend: `local` (app database) or `supabase` (Supabase Auth).",
    )
    supabase_url: str = Field(
        default="",
        alias="SUPABASE_URL",
        description="Supabase project URL (for `NEXUS_AUTH_BACKEND=supabase`).",
    )
    supabase_anon_key: SecretStr = Field(
        default=SecretStr(""),
        alias="SUPABASE_ANON_KEY",
        description="Supabase anon (public) key.",
    )
    supabase_service_role_key: SecretStr = Field(
        default=SecretStr(""),
        alias="SUPABASE_SERVICE_ROLE_KEY",
        description="Supabase service-role key, server side only: admin page actions.",
    )
    supabase_jwt_secret: SecretStr = Field(
        default=SecretStr(""),
        alias="SUPABASE_JWT_SECRET",
        description="Supabase JWT secret (HS256) to verify access tokens locally.",
    )
    public_url: str = Field(
        default="http://localhost:8501",
        alias="NEXUS_PUBLIC_URL",
        description="Address users reach the app at; used in e-mailed links.",
    )
    smtp_host: str = Field(
        default="",
        alias="NEXUS_SMTP_HOST",
        description="SMTP server for e-mail; unset = write mails to `<data dir>/outbox/`.",
    )
    smtp_port: int = Field(
        default=587,
        alias="NEXUS_SMTP_PORT",
        ge=1,
        le=65535,
        description="SMTP port (STARTTLS on 587, TLS on 465).",
    )
    smtp_user: str = Field(default="", alias="NEXUS_SMTP_USER", description="SMTP user name.")
    smtp_password: SecretStr = Field(
        default=SecretStr(""), alias="NEXUS_SMTP_PASSWORD", description="SMTP password."
    )
    mail_from: str = Field(
        default="Portfolio Nexus <no-reply@localhost>",
        alias="NEXUS_MAIL_FROM",
        description="Sender address of e-mails.",
    )
    access_token_minutes: int = Field(
        default=15,
        alias="NEXUS_ACCESS_TOKEN_MINUTES",
        ge=1,
        le=60,
        description="Lifetime of internal access tokens (JWT), in minutes.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(""),
        alias="NEXUS_SECRET_KEY",
        description="Key for signing internal tokens; generated into the data dir when unset.",
    )
    market_provider: Literal["demo", "live"] = Field(
        default="demo",
        alias="NEXUS_MARKET_PROVIDER",
        description="`demo` (offline, deterministic) or `live` (the provider chains below).",
    )
    price_providers: str = Field(
        default="tiingo,alphavantage",
        alias="NEXUS_PRICE_PROVIDERS",
        description="Ordered fallback chain for daily bars (live mode).",
    )
    quote_providers: str = Field(
        default="finnhub,alphavantage",
        alias="NEXUS_QUOTE_PROVIDERS",
        description="Ordered fallback chain for live quotes (live mode).",
    )
    fx_providers: str = Field(
        default="ecb,alphavantage",
        alias="NEXUS_FX_PROVIDERS",
        description="Ordered fallback chain for FX rates (live mode).",
    )
    news_providers: str = Field(
        default="newsapi,alphavantage",
        alias="NEXUS_NEWS_PROVIDERS",
        description="Ordered fallback chain for news (live mode).",
    )
    symbols: str = Field(
        default="AAPL,MSFT,NVDA,AMZN,GOOGL,SPY",
        alias="NEXUS_SYMBOLS",
        description="Symbols ingested in live mode, besides those users hold or watch.",
    )
    fred_series: str = Field(
        default="DGS10,DGS2,T10Y2Y,FEDFUNDS,CPIAUCSL,UNRATE,GDPC1",
        alias="NEXUS_FRED_SERIES",
        description="FRED series fetched by the `macro` job.",
    )
    alphavantage_api_key: SecretStr = Field(
        default=SecretStr(""), alias="ALPHAVANTAGE_API_KEY", description="Alpha Vantage API key."
    )
    tiingo_api_key: SecretStr = Field(
        default=SecretStr(""), alias="TIINGO_API_KEY", description="Tiingo API key."
    )
    finnhub_api_key: SecretStr = Field(
        default=SecretStr(""), alias="FINNHUB_API_KEY", description="Finnhub API key."
    )
    fred_api_key: SecretStr = Field(
        default=SecretStr(""), alias="FRED_API_KEY", description="FRED API key."
    )
    newsapi_key: SecretStr = Field(
        default=SecretStr(""), alias="NEWSAPI_KEY", description="NewsAPI key."
    )
    alphavantage_base_url: str = Field(
        default="https://www.alphavantage.co",
        alias="ALPHAVANTAGE_BASE_URL",
        description="Alpha Vantage endpoint (proxies, tests).",
    )
    tiingo_base_url: str = Field(
        default="https://api.tiingo.com", alias="TIINGO_BASE_URL", description="Tiingo endpoint."
    )
    finnhub_base_url: str = Field(
        default="https://finnhub.io/api/v1",
        alias="FINNHUB_BASE_URL",
        description="Finnhub endpoint.",
    )
    fred_base_url: str = Field(
        default="https://api.stlouisfed.org", alias="FRED_BASE_URL", description="FRED endpoint."
    )
    newsapi_base_url: str = Field(
        default="https://newsapi.org", alias="NEWSAPI_BASE_URL", description="NewsAPI endpoint."
    )
    http_cache: Literal["sqlite", "redis"] = Field(
        default="sqlite",
        alias="NEXUS_HTTP_CACHE",
        description="HTTP response cache backend: `sqlite` (file in the data dir) or `redis`.",
    )
    redis_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        alias="NEXUS_REDIS_URL",
        description="Redis URL when `NEXUS_HTTP_CACHE=redis`.",
    )
    quotes_seconds: int = Field(
        default=15,
        alias="NEXUS_QUOTES_SECONDS",
        ge=2,
        le=3600,
        description="How often the `quotes` job runs while the exchange is open.",
    )
    demo_seed: int = Field(
        default=20240101,
        alias="NEXUS_DEMO_SEED",
        description="Seed of the demo provider: the same seed gives the same numbers.",
    )
    base_currency: Literal["USD", "EUR", "GBP", "CHF", "JPY"] = Field(
        default="USD",
        alias="NEXUS_BASE_CURRENCY",
        description="Default base currency offered for new portfolios.",
    )
    session_idle_minutes: int = Field(
        default=120,
        alias="NEXUS_SESSION_IDLE_MINUTES",
        ge=5,
        le=60 * 24 * 30,
        description="A session unused for this many minutes ends.",
    )
    session_max_hours: int = Field(
        default=24 * 14,
        alias="NEXUS_SESSION_MAX_HOURS",
        ge=1,
        le=24 * 365,
        description="Absolute lifetime of a session, in hours, however active.",
    )
    cookie_secure: Literal["auto", "always", "never"] = Field(
        default="auto",
        alias="NEXUS_COOKIE_SECURE",
        description="`Secure` flag of the session cookie; `auto`: set when the request is HTTPS.",
    )
    prices_cron: str = Field(
        default="5 22 * * mon-fri",
        alias="NEXUS_PRICES_CRON",
        description="When the scheduler runs the `prices` job (crontab syntax, UTC).",
    )
    fx_cron: str = Field(
        default="15 16 * * mon-fri",
        alias="NEXUS_FX_CRON",
        description="When the scheduler runs the `fx` job (crontab, UTC).",
    )
    macro_cron: str = Field(
        default="30 22 * * *",
        alias="NEXUS_MACRO_CRON",
        description="When the scheduler runs the `macro` job (crontab, UTC).",
    )
    news_cron: str = Field(
        default="*/30 * * * *",
        alias="NEXUS_NEWS_CRON",
        description="When the scheduler runs the `news` job (crontab, UTC).",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO",
        alias="NEXUS_LOG_LEVEL",
        description="Log level of the app and the ingest process.",
    )

    @field_validator("prices_cron", "fx_cron", "macro_cron", "news_cron")
    @classmethod
    def _valid_cron(cls, value: str) -> str:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value, timezone="UTC")
        except ValueError as exc:
            raise ValueError(f"not a crontab expression ({exc}); e.g. '5 22 * * mon-fri'") from None
        return value

    @field_validator(
        "supabase_url",
        "public_url",
        "alphavantage_base_url",
        "tiingo_base_url",
        "finnhub_base_url",
        "fred_base_url",
        "newsapi_base_url",
    )
    @classmethod
    def _valid_http_url(cls, value: str) -> str:
        if value and not value.startswith(("https://", "http://")):
            raise ValueError("must be an http(s):// URL")
        return value.rstrip("/")

    @field_validator("database_url")
    @classmethod
    def _valid_db_url(cls, value: str) -> str:
        if value and not value.startswith(("sqlite://", "postgresql://", "postgresql+psycopg://")):
            raise ValueError(
                "must start with sqlite:// or postgresql:// (or postgresql+psycopg://)"
            )
        return value

    @model_validator(mode="after")
    def _supabase_needs_project(self) -> Settings:
        if self.auth_backend == "supabase" and not (
            self.supabase_url and self.supabase_anon_key.get_secret_value()
        ):
            raise ValueError(
                "NEXUS_AUTH_BACKEND=supabase needs SUPABASE_URL and SUPABASE_ANON_KEY "
                "(Supabase dashboard: Project Settings > API)"
            )
        return self

    def chain(self, kind: str) -> list[str]:
        """Ordered provider names for a data kind (``prices``, ``quotes``, ``fx``, ``news``)."""
        raw = getattr(self, f"{ {'prices': 'price', 'quotes': 'quote'}.get(kind, kind) }_providers")
        return [p.strip().lower() for p in raw.split(",") if p.strip()]

    def symbol_list(self) -> list[str]:
        return [s.strip().upper() for s in self.symbols.split(",") if s.strip()]

    def fred_series_list(self) -> list[str]:
        return [s.strip().upper() for s in self.fred_series.split(",") if s.strip()]

    # Derived paths -------------------------------------------------------------------
    @property
    def markets_dir(self) -> Path:
        return self.data_dir / "markets"

    @property
    def history_path(self) -> Path:
        """Published, read-only market history snapshot."""
        return self.markets_dir / "history.duckdb"

    @property
    def live_path(self) -> Path:
        """Published, read-only live quotes snapshot."""
        return self.markets_dir / "live.duckdb"

    @property
    def sqlalchemy_url(self) -> str:
        """Database URL with the psycopg 3 driver made explicit for Postgres."""
        url = self.database_url or f"sqlite:///{(self.data_dir / 'nexus.db').resolve()}"
        if url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
        return url

    @property
    def is_sqlite(self) -> bool:
        return self.sqlalchemy_url.startswith("sqlite")

    def signing_key(self) -> bytes:
        """The secret key, generating and storing one in the data dir on first use."""
        value = self.secret_key.get_secret_value()
        if value:
            return value.encode()
        return _stored_key(self.data_dir.resolve() / SECRET_KEY_FILE)


@functools.cache
def _stored_key(path: Path) -> bytes:
    """Read the generated key, creating it atomically (0600) if no process has yet."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
        try:
            os.link(tmp, path)  # atomic, and fails if another process won the race
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_text().strip().encode()


def _secrets_toml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as fh:
            data = tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path} is not valid TOML: {exc}") from None
    # Only top-level scalar keys are settings; tables such as [connections] belong to others.
    return {k: v for k, v in data.items() if not isinstance(v, dict)}


def load_settings(
    environ: dict[str, str] | None = None, secrets_path: Path | None = None
) -> Settings:
    """Build :class:`Settings` from the environment, secrets.toml and defaults."""
    environ = dict(os.environ if environ is None else environ)
    values: dict[str, Any] = _secrets_toml(secrets_path or SECRETS_FILE)
    aliases = {f.alias for f in Settings.model_fields.values() if f.alias}
    values.update({k: v for k, v in environ.items() if k in aliases and v != ""})
    try:
        return Settings.model_validate(values)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            name = str(err["loc"][0]) if err["loc"] else "settings"
            given = "<hidden>" if "KEY" in name or "SECRET" in name else err.get("input")
            if not err["loc"]:
                # A check across settings: its input is every value, secrets included.
                problems.append(err["msg"].removeprefix("Value error, "))
                continue
            accepted = err.get("ctx", {}).get("expected")
            msg = f"{name}={given!r}: {err['msg']}"
            if accepted:
                msg = f"{name}={given!r} is not accepted; use one of {accepted}"
            problems.append(msg)
        raise SettingsError("Invalid configuration: " + "; ".join(problems)) from None


@functools.cache
def get_settings() -> Settings:
    """Process-wide settings, loaded once."""
    return load_settings()
