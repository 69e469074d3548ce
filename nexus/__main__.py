"""Command line: ``python -m nexus migrate | create-user | import-users``."""

from __future__ import annotations

import argparse
import getpass
import sys

from nexus.settings import Settings, SettingsError, get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nexus", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database schema")
    cu = sub.add_parser("create-user", help="create an account (password read from stdin/tty)")
    cu.add_argument("email")
    cu.add_argument("--role", choices=("admin", "analyst", "viewer"), default=None)
    cu.add_argument("--name", default="")
    iu = sub.add_parser(
        "import-users", help="import accounts from a streamlit-authenticator credentials YAML"
    )
    iu.add_argument("file")
    iu.add_argument("--dry-run", action="store_true", help="report only; write nothing")
    args = parser.parse_args(argv)
    try:
        settings = get_settings()
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if args.command == "migrate":
        from nexus.db.migrate import upgrade

        upgrade(settings)
        print(f"database is up to date ({settings.sqlalchemy_url.split('://', 1)[0]})")
        return 0

    if args.command == "import-users":
        return _import_users(settings, args.file, dry_run=args.dry_run)

    from nexus.auth import RegistrationError, get_backend
    from nexus.db.migrate import upgrade

    upgrade(settings)
    password = (
        getpass.getpass("Password: ") if sys.stdin.isatty() else sys.stdin.readline().rstrip("\n")
    )
    try:
        actor = get_backend(settings).sign_up(
            args.email, password, display_name=args.name, role=args.role
        )
    except RegistrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"created {actor.email} ({actor.role})")
    return 0


def _import_users(settings: Settings, path: str, *, dry_run: bool) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from nexus.auth.import_yaml import UserImportError, import_users_file
    from nexus.db.engine import get_engine
    from nexus.db.migrate import upgrade

    if settings.auth_backend != "local":
        print("error: import-users needs NEXUS_AUTH_BACKEND=local", file=sys.stderr)
        return 2
    if not dry_run:
        upgrade(settings)
    try:
        report = import_users_file(get_engine(settings), settings, path, dry_run=dry_run)
    except UserImportError as exc:
        print(f"error: {exc} Nothing was imported.", file=sys.stderr)
        return 1
    except SQLAlchemyError as exc:
        print(
            f"error: database error ({type(exc).__name__}); is the schema up to date "
            "(`python -m nexus migrate`)? Nothing was imported.",
            file=sys.stderr,
        )
        return 1
    print(report.format())
    return 0


if __name__ == "__main__":
    sys.exit(main())
