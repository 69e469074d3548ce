"""Import users from a streamlit-authenticator (stauth) credentials YAML.

Rules (``python -m nexus import-users FILE [--dry-run]``):

* ``credentials.usernames`` is the only section read. ``cookie``, ``oauth2``, ``api_key`` and
  ``pre-authorized`` are ignored (secrets are never imported), as are ``failed_login_attempts``,
  ``logged_in`` and ``password_hint`` of each user.
* Usernames are case-insensitive (stauth lower-cases them at load, so of two entries that
  differ only in case the later one is the one stauth used); people sign in here with their
  e-mail. Every entry needs a valid e-mail, else the whole file is refused.
* E-mails must be unique: an address already registered, or used by an earlier entry of the
  file, is reported and that entry skipped.
* ``password`` matching stauth's bcrypt pattern ``^\\$2[aby]\\$\\d+\\$.{53}$`` is kept as a legacy
  hash (verified with bcrypt and rehashed to argon2id at the next sign-in). Any other text is a
  plaintext password: hashed with argon2id now and reported (never stored as is). No password
  (OAuth guests) → the account is created without one (empty hash, which never verifies) and
  reported as needing a password reset.
* ``roles`` map onto admin > analyst > viewer: the highest known role wins; unknown roles are
  reported; no known role → ``analyst`` (the role of a self-registered account).
* ``first_name`` + ``last_name`` → display name (the username if both are empty).

All or nothing: a malformed file raises :class:`UserImportError` before anything is
written, and the accounts are created in one transaction together with one
``users.imported`` audit event that holds counts only.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import Connection, Engine, func, insert, select
from sqlalchemy.exc import IntegrityError

from nexus.auth.audit import record
from nexus.auth.local import EMAIL_RE, normalise_email
from nexus.auth.passwords import hash_password
from nexus.db.schema import User, UserPreferences
from nexus.settings import Settings

#: streamlit-authenticator's own test for "this value is already hashed".
STAUTH_BCRYPT_RE = re.compile(r"^\$2[aby]\$\d+\$.{53}$")
#: What bcrypt can actually verify: cost 04-31 and 53 characters of bcrypt base64.
USABLE_BCRYPT_RE = re.compile(r"\$2[aby]\$(0[4-9]|[12]\d|3[01])\$[./A-Za-z0-9]{53}")
ROLE_RANK = {"viewer": 0, "analyst": 1, "admin": 2}
DEFAULT_ROLE = "analyst"
IGNORED_SECTIONS = ("cookie", "oauth2", "api_key", "pre-authorized")
PASSWORDLESS_HASH = ""  # never verifies: argon2 rejects it as an invalid hash


class UserImportError(Exception):
    """The file cannot be imported; nothing was written. ``str()`` says why."""


@dataclass(frozen=True)
class ImportedUser:
    username: str
    email: str
    role: str
    display_name: str


@dataclass(frozen=True)
class SkippedUser:
    username: str
    reason: str


@dataclass
class ImportReport:
    """What an import did (or, with ``dry_run``, would do). Holds no passwords or hashes."""

    dry_run: bool = False
    created: list[ImportedUser] = field(default_factory=list)
    skipped: list[SkippedUser] = field(default_factory=list)
    rehash_pending: int = 0  # legacy bcrypt hashes, rehashed to argon2id at next sign-in
    plaintext_hashed: list[str] = field(default_factory=list)  # usernames
    passwordless: list[str] = field(default_factory=list)  # usernames: need a password reset
    unknown_roles: dict[str, list[str]] = field(default_factory=dict)  # role -> usernames
    ignored_sections: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": len(self.created),
            "skipped": len(self.skipped),
            "rehash_pending": self.rehash_pending,
            "plaintext_hashed": len(self.plaintext_hashed),
            "passwordless": len(self.passwordless),
            "unknown_roles": len(self.unknown_roles),
        }

    def format(self) -> str:
        """Human-readable summary for the command line."""
        done = "would be" if self.dry_run else "were"
        lines = ["DRY RUN: nothing was written."] if self.dry_run else []
        lines.append(f"Accounts that {done} created: {len(self.created)}")
        lines += [f"  {u.username} -> {u.email} ({u.role})" for u in self.created]
        if self.skipped:
            lines.append(f"Entries skipped: {len(self.skipped)}")
            lines += [f"  {s.username}: {s.reason}" for s in self.skipped]
        if self.rehash_pending:
            lines.append(
                f"bcrypt hashes kept: {self.rehash_pending} (each is upgraded to argon2id at "
                "that user's next sign-in)"
            )
        if self.plaintext_hashed:
            lines.append(
                f"Plaintext passwords that {done} hashed with argon2id (the file held them in "
                "clear; ask these users to change them): " + ", ".join(self.plaintext_hashed)
            )
        if self.passwordless:
            lines.append(
                "No usable password; these accounts need a password reset before they can "
                "sign in: " + ", ".join(self.passwordless)
            )
        for role, users in sorted(self.unknown_roles.items()):
            lines.append(f"Unknown role {role!r} ignored for: {', '.join(users)}")
        if self.ignored_sections:
            lines.append(
                "Ignored (never imported): " + ", ".join(self.ignored_sections) + "; and every "
                "user's failed_login_attempts, logged_in and password_hint"
            )
        lines += [f"Warning: {w}" for w in self.warnings]
        return "\n".join(lines)


@dataclass
class _Entry:
    username: str
    email: str
    role: str
    display_name: str
    kind: str  # "bcrypt" | "plaintext" | "none"
    secret: str | None = field(default=None, repr=False)  # bcrypt hash or plaintext
    reason: str = ""  # why "none"


def _text(value: Any) -> str:
    if value is None or isinstance(value, (dict, list, bool)):
        return ""
    return " ".join(str(value).split())


def _role(username: str, value: Any, report: ImportReport) -> str:
    if value is None:
        items: list[Any] = []
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        items = [value]
    best: str | None = None
    for item in items:
        name = str(item).strip().lower()
        if name in ROLE_RANK:
            if best is None or ROLE_RANK[name] > ROLE_RANK[best]:
                best = name
        elif name:
            users = report.unknown_roles.setdefault(str(item).strip(), [])
            if username not in users:
                users.append(username)
    return best or DEFAULT_ROLE


def _password(
    username: str, entry: Mapping[str, Any], report: ImportReport
) -> tuple[str, str | None, str]:
    value = entry.get("password")
    if value is None or value == "":
        return "none", None, "no password in the file"
    if not isinstance(value, str):
        # e.g. `password: 0123` is read by YAML as a number; guessing its text is unsafe.
        return "none", None, "the password is not text"
    if STAUTH_BCRYPT_RE.match(value):
        if USABLE_BCRYPT_RE.fullmatch(value):
            return "bcrypt", value, ""
        return "none", None, "the bcrypt hash is malformed"
    if value.startswith("$"):
        report.warnings.append(
            f"{username}: the password looks like a hash of another kind; like "
            "streamlit-authenticator, it is treated as a plaintext password."
        )
    return "plaintext", value, ""


def parse_credentials(
    text: str | bytes, report: ImportReport
) -> tuple[list[_Entry], list[SkippedUser]]:
    """Validate the file; return the entries to import (file order) and replaced duplicates."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        # Only the position: YAML's message quotes the offending line, which may be a secret.
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise UserImportError(f"The file is not valid YAML{where}.") from None
    if not isinstance(data, Mapping):
        raise UserImportError("The file is not a streamlit-authenticator config (no mapping).")
    credentials = data.get("credentials")
    usernames = credentials.get("usernames") if isinstance(credentials, Mapping) else None
    if not isinstance(usernames, Mapping):
        raise UserImportError("The file has no 'credentials: usernames:' mapping.")
    report.ignored_sections = [s for s in IGNORED_SECTIONS if s in data]

    entries: dict[str, _Entry] = {}  # by lower-cased username; later entries replace earlier
    replaced: list[SkippedUser] = []
    for raw_name, entry in usernames.items():
        username = str(raw_name).strip()
        if not username:
            raise UserImportError("An entry under 'usernames' has an empty username.")
        if not isinstance(entry, Mapping):
            raise UserImportError(f"The entry for {username!r} is not a mapping of fields.")
        email = entry.get("email")
        email = normalise_email(email) if isinstance(email, str) else ""
        if not EMAIL_RE.match(email) or len(email) > 254:
            raise UserImportError(f"The entry for {username!r} has no valid e-mail address.")
        kind, secret, reason = _password(username, entry, report)
        name = " ".join(f"{_text(entry.get('first_name'))} {_text(entry.get('last_name'))}".split())
        key = username.lower()
        if key in entries:
            replaced.append(
                SkippedUser(
                    entries[key].username,
                    f"username repeated as {username!r} (usernames are case-insensitive; the "
                    "later entry is used, as streamlit-authenticator does)",
                )
            )
            del entries[key]
        entries[key] = _Entry(
            username=username,
            email=email,
            role=_role(username, entry.get("roles"), report),
            display_name=(name or username)[:100],
            kind=kind,
            secret=secret,
            reason=reason,
        )
    return list(entries.values()), replaced


def _existing_emails(conn: Connection, emails: list[str]) -> set[str]:
    if not emails:
        return set()
    rows = conn.execute(select(func.lower(User.email)).where(func.lower(User.email).in_(emails)))
    return set(rows.scalars())


def _plan(
    entries: list[_Entry], replaced: list[SkippedUser], taken: set[str], report: ImportReport
) -> list[_Entry]:
    """Drop e-mail conflicts and (re)fill the outcome parts of the report."""
    report.created.clear()
    report.skipped[:] = replaced
    report.rehash_pending = 0
    report.plaintext_hashed.clear()
    report.passwordless.clear()
    first_with: dict[str, str] = {}
    keep: list[_Entry] = []
    for e in entries:
        if e.email in taken:
            report.skipped.append(SkippedUser(e.username, "an account with this e-mail exists"))
            continue
        if e.email in first_with:
            report.skipped.append(
                SkippedUser(e.username, f"e-mail already used by {first_with[e.email]!r}")
            )
            continue
        first_with[e.email] = e.username
        keep.append(e)
        report.created.append(ImportedUser(e.username, e.email, e.role, e.display_name))
        if e.kind == "bcrypt":
            report.rehash_pending += 1
        elif e.kind == "plaintext":
            report.plaintext_hashed.append(e.username)
        else:
            report.passwordless.append(e.username)
    return keep


def _stored_hash(e: _Entry) -> str:
    if e.kind == "plaintext":
        return hash_password(e.secret or "")
    if e.kind == "bcrypt":
        return e.secret or PASSWORDLESS_HASH
    return PASSWORDLESS_HASH


def import_users(
    engine: Engine, settings: Settings, text: str | bytes, *, dry_run: bool = False
) -> ImportReport:
    """Import the accounts of a stauth credentials YAML given as text; see the module doc."""
    report = ImportReport(dry_run=dry_run)
    entries, replaced = parse_credentials(text, report)
    emails = [e.email for e in entries]
    with engine.connect() as conn:
        keep = _plan(entries, replaced, _existing_emails(conn, emails), report)
        has_admin = conn.execute(
            select(func.count()).select_from(User).where(User.role == "admin")
        ).scalar_one()
    if not has_admin and not any(e.role == "admin" for e in keep):
        report.warnings.append(
            "there is no administrator; create one with "
            "`python -m nexus create-user EMAIL --role admin`."
        )
    if dry_run:
        return report

    # Hash outside the transaction (argon2 takes ~0.1 s each); plaintext never reaches the DB.
    hashes = {e.username: _stored_hash(e) for e in keep}
    try:
        with engine.begin() as conn:
            # Re-plan inside the transaction: someone may have registered meanwhile.
            keep = _plan(entries, replaced, _existing_emails(conn, emails), report)
            rows = [
                {
                    "id": uuid.uuid4(),
                    "email": e.email,
                    "pw_hash": hashes[e.username] if e.username in hashes else _stored_hash(e),
                    "role": e.role,
                    "display_name": e.display_name,
                }
                for e in keep
            ]
            if rows:
                conn.execute(insert(User), rows)
                conn.execute(
                    insert(UserPreferences),
                    [{"user_id": r["id"], "base_currency": settings.base_currency} for r in rows],
                )
            record(conn, "users.imported", **report.counts())
    except IntegrityError:
        raise UserImportError(
            "An account with one of these e-mails was created during the import; nothing was "
            "imported. Run the import again."
        ) from None
    return report


def import_users_file(
    engine: Engine, settings: Settings, path: str | Path, *, dry_run: bool = False
) -> ImportReport:
    """:func:`import_users` on a file."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UserImportError(f"Cannot read {path}: {exc.__class__.__name__}.") from None
    return import_users(engine, settings, text, dry_run=dry_run)
