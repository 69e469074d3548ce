"""Import of streamlit-authenticator credentials YAML (SQLite + Postgres)."""

from __future__ import annotations

import json

import bcrypt
import pytest
import yaml
from sqlalchemy import func, select

from nexus.__main__ import main
from nexus.auth.errors import InvalidCredentials
from nexus.auth.import_yaml import UserImportError, import_users, import_users_file
from nexus.auth.local import LocalBackend
from nexus.db.engine import get_engine
from nexus.db.schema import AuditEvent, User, UserPreferences

LEGACY_PW = "legacy horse battery"
PLAIN_PW = "plain text staple 42"
COOKIE_KEY = "cookie-signing-key-SECRET-1"
CLIENT_SECRET = "google-client-secret-SECRET-2"
API_KEY = "stauth-api-key-SECRET-3"
HINT = "the name of my first cat SECRET-4"


def bcrypt_hash(password: str) -> str:
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=4)).decode()


LEGACY_HASH = bcrypt_hash(LEGACY_PW)


def config(usernames: dict, **extra) -> str:
    data = {
        "cookie": {"expiry_days": 30, "key": COOKIE_KEY, "name": "stauth"},
        "credentials": {"usernames": usernames},
        "oauth2": {
            "google": {"client_id": "cid", "client_secret": CLIENT_SECRET, "redirect_uri": "x"}
        },
        "pre-authorized": {"emails": ["invited@example.com"]},
        "api_key": API_KEY,
        **extra,
    }
    return yaml.safe_dump(data, sort_keys=False)


def full_config() -> str:
    return config(
        {
            "JSmith": {
                "email": "JSmith@Example.com",
                "first_name": "John",
                "last_name": "Smith",
                "password": LEGACY_HASH,
                "roles": ["admin", "viewer"],
                "failed_login_attempts": 3,
                "logged_in": True,
                "password_hint": HINT,
            },
            "bob": {
                "email": "bob@example.com",
                "first_name": "Bob",
                "password": PLAIN_PW,
                "roles": ["viewer"],
            },
            "guest": {"email": "guest@example.com", "first_name": "Gus", "last_name": "Guest"},
        }
    )


@pytest.fixture
def engine(db_settings):
    return get_engine(db_settings)


@pytest.fixture
def backend(engine, db_settings):
    return LocalBackend(engine, db_settings)


def user(engine, email: str):
    with engine.connect() as conn:
        return conn.execute(select(User.__table__).where(User.email == email)).first()


def count(engine, model) -> int:
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(model)).scalar_one()


def test_bcrypt_user_signs_in_and_is_rehashed_to_argon2id(engine, db_settings, backend):
    report = import_users(engine, db_settings, full_config())
    assert report.rehash_pending == 1
    row = user(engine, "jsmith@example.com")
    assert row.pw_hash == LEGACY_HASH  # kept as is until the next sign-in
    assert row.role == "admin"
    assert row.display_name == "John Smith"

    backend.sign_in_with_password("JSMITH@example.com", LEGACY_PW)  # no InvalidCredentials
    assert user(engine, "jsmith@example.com").pw_hash.startswith("$argon2id$")
    with pytest.raises(InvalidCredentials):
        backend.sign_in_with_password("jsmith@example.com", "wrong password here")


def test_plaintext_password_is_hashed_now_and_reported(engine, db_settings, backend):
    report = import_users(engine, db_settings, full_config())
    assert report.plaintext_hashed == ["bob"]
    row = user(engine, "bob@example.com")
    assert row.pw_hash.startswith("$argon2id$")
    assert PLAIN_PW not in row.pw_hash
    assert row.role == "viewer"
    backend.sign_in_with_password("bob@example.com", PLAIN_PW)


@pytest.mark.parametrize("password", [None, "", 1234567890], ids=["missing", "empty", "not-text"])
def test_passwordless_user_cannot_sign_in(engine, db_settings, backend, password):
    entry = {"email": "guest@example.com"}
    if password is not None:
        entry["password"] = password
    report = import_users(engine, db_settings, config({"guest": entry}))
    assert report.passwordless == ["guest"]
    assert "password reset" in report.format()
    assert user(engine, "guest@example.com").pw_hash == ""
    for attempt in ("", "1234567890", "anything at all"):
        with pytest.raises(InvalidCredentials):
            backend.sign_in_with_password("guest@example.com", attempt)


def test_malformed_bcrypt_hash_is_not_taken_for_a_password(engine, db_settings):
    bad = "$2b$99$" + "x" * 53  # stauth's pattern, but bcrypt cannot use it
    report = import_users(
        engine, db_settings, config({"u": {"email": "u@example.com", "password": bad}})
    )
    assert report.passwordless == ["u"] and report.plaintext_hashed == []
    assert user(engine, "u@example.com").pw_hash == ""


@pytest.mark.parametrize(
    ("roles", "expected", "unknown"),
    [
        (["admin", "viewer"], "admin", []),
        (["viewer", "analyst"], "analyst", []),
        (["viewer"], "viewer", []),
        ("admin", "admin", []),
        (["Admin"], "admin", []),
        (None, "analyst", []),
        ([], "analyst", []),
        (["editor", "viewer"], "viewer", ["editor"]),
        (["editor", "superuser"], "analyst", ["editor", "superuser"]),
    ],
)
def test_roles_are_mapped(engine, db_settings, roles, expected, unknown):
    entry = {"email": "r@example.com", "password": LEGACY_HASH}
    if roles is not None:
        entry["roles"] = roles
    report = import_users(engine, db_settings, config({"r": entry}))
    assert user(engine, "r@example.com").role == expected
    assert report.unknown_roles == {role: ["r"] for role in unknown}


def test_names_become_the_display_name(engine, db_settings):
    import_users(
        engine,
        db_settings,
        config(
            {
                "a": {"email": "a@example.com", "first_name": " Ann ", "last_name": "Lee"},
                "b": {"email": "b@example.com", "last_name": "Only"},
                "carol99": {"email": "c@example.com"},
            }
        ),
    )
    assert user(engine, "a@example.com").display_name == "Ann Lee"
    assert user(engine, "b@example.com").display_name == "Only"
    assert user(engine, "c@example.com").display_name == "carol99"


def test_duplicate_emails_are_reported_and_skipped(engine, db_settings, backend):
    backend.sign_up("bob@example.com", "an existing password 1")
    before = user(engine, "bob@example.com")
    text = config(
        {
            "bob": {"email": "BOB@example.com", "password": PLAIN_PW},
            "first": {"email": "same@example.com", "password": LEGACY_HASH},
            "second": {"email": "Same@Example.com", "password": LEGACY_HASH},
        }
    )
    report = import_users(engine, db_settings, text)
    assert [u.username for u in report.created] == ["first"]
    reasons = {s.username: s.reason for s in report.skipped}
    assert set(reasons) == {"bob", "second"}
    assert "exists" in reasons["bob"]
    assert "first" in reasons["second"]
    assert user(engine, "bob@example.com") == before  # untouched
    assert report.plaintext_hashed == []  # the skipped entry is not counted
    assert count(engine, User) == 2


def test_usernames_are_case_insensitive_and_the_later_entry_wins(engine, db_settings):
    text = (
        "credentials:\n  usernames:\n"
        "    JSmith: {email: old@example.com, password: x-old-password}\n"
        "    jsmith: {email: new@example.com, password: x-new-password}\n"
    )
    report = import_users(engine, db_settings, text)
    assert [u.email for u in report.created] == ["new@example.com"]
    assert [s.username for s in report.skipped] == ["JSmith"]
    assert user(engine, "old@example.com") is None


def test_every_imported_user_gets_preferences(engine, db_settings):
    import_users(engine, db_settings, full_config())
    assert count(engine, User) == count(engine, UserPreferences) == 3


@pytest.mark.parametrize(
    "text",
    [
        "credentials: {usernames: [unclosed",
        "- just\n- a list\n",
        "cookie: {key: k}\n",
        "credentials: {}\n",
        "credentials: {usernames: [a, b]}\n",
        "credentials: {usernames: {a: just-a-string}}\n",
        "credentials: {usernames: {ok: {email: ok@example.com}, bad: {password: p}}}\n",
        "credentials: {usernames: {ok: {email: ok@example.com}, bad: {email: not-an-email}}}\n",
        "credentials: {usernames: {ok: {email: ok@example.com}, bad: {email: [a@b.co]}}}\n",
        "",
    ],
)
def test_malformed_file_writes_nothing(engine, db_settings, text):
    with pytest.raises(UserImportError):
        import_users(engine, db_settings, text)
    assert count(engine, User) == 0
    assert count(engine, AuditEvent) == 0


def test_yaml_error_does_not_quote_the_file(engine, db_settings):
    text = f"credentials:\n  usernames:\n    a: {{email: a@example.com, password: '{PLAIN_PW}\n"
    with pytest.raises(UserImportError) as info:
        import_users(engine, db_settings, text)
    assert "line" in str(info.value)
    assert PLAIN_PW not in str(info.value)


def test_a_failure_while_writing_rolls_everything_back(engine, db_settings, monkeypatch):
    import nexus.auth.import_yaml as mod

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(mod, "record", boom)
    with pytest.raises(RuntimeError):
        import_users(engine, db_settings, full_config())
    assert count(engine, User) == 0
    assert count(engine, UserPreferences) == 0


def test_dry_run_writes_nothing(engine, db_settings):
    report = import_users(engine, db_settings, full_config(), dry_run=True)
    assert report.dry_run
    assert [u.email for u in report.created] == [
        "jsmith@example.com",
        "bob@example.com",
        "guest@example.com",
    ]
    assert report.rehash_pending == 1
    assert report.plaintext_hashed == ["bob"]
    assert report.passwordless == ["guest"]
    assert "DRY RUN" in report.format()
    assert count(engine, User) == 0
    assert count(engine, AuditEvent) == 0


def test_no_secret_from_the_file_reaches_the_audit_log_or_report(engine, db_settings):
    report = import_users(engine, db_settings, full_config())
    with engine.connect() as conn:
        events = conn.execute(select(AuditEvent.event, AuditEvent.detail, AuditEvent.ip)).all()
    assert [e.event for e in events] == ["users.imported"]
    assert events[0].detail == {
        "created": 3,
        "skipped": 0,
        "rehash_pending": 1,
        "plaintext_hashed": 1,
        "passwordless": 1,
        "unknown_roles": 0,
    }
    logged = json.dumps([list(e) for e in events])
    printed = report.format() + repr(report)
    secrets = [LEGACY_PW, LEGACY_HASH, PLAIN_PW, COOKIE_KEY, CLIENT_SECRET, API_KEY, HINT]
    for secret in secrets:
        assert secret not in logged
        assert secret not in printed
    assert "@" not in logged  # counts only, no addresses
    # Ignored sections are named, never copied.
    assert "cookie" in report.ignored_sections and "api_key" in report.ignored_sections


def test_warns_when_nobody_would_administer(engine, db_settings):
    report = import_users(
        engine, db_settings, config({"v": {"email": "v@example.com", "roles": ["viewer"]}})
    )
    assert any("administrator" in w for w in report.warnings)
    report = import_users(engine, db_settings, full_config())
    assert not report.warnings


def test_cli_import_users(engine, db_settings, tmp_path, capsys):
    path = tmp_path / "config.yaml"
    path.write_text(full_config())
    assert main(["import-users", str(path), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "DRY RUN" in out and "jsmith@example.com" in out
    assert count(engine, User) == 0

    assert main(["import-users", str(path)]) == 0
    out = capsys.readouterr().out
    assert "were created: 3" in out
    assert count(engine, User) == 3

    assert main(["import-users", str(path)]) == 0  # again: everything is a duplicate now
    assert "Entries skipped: 3" in capsys.readouterr().out

    bad = tmp_path / "bad.yaml"
    bad.write_text("credentials: {}\n")
    assert main(["import-users", str(bad)]) == 1
    assert "Nothing was imported" in capsys.readouterr().err
    assert main(["import-users", str(tmp_path / "missing.yaml")]) == 1


def test_import_users_file_reports_unreadable_files(engine, db_settings, tmp_path):
    with pytest.raises(UserImportError, match="Cannot read"):
        import_users_file(engine, db_settings, tmp_path / "nope.yaml")
