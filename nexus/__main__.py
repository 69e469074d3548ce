"""Command line: ``python -m nexus migrate | create-user``."""

from __future__ import annotations

import argparse
import getpass
import sys

from nexus.settings import SettingsError, get_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m nexus", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database schema")
    cu = sub.add_parser("create-user", help="create an account (password read from stdin/tty)")
    cu.add_argument("email")
    cu.add_argument("--role", choices=("admin", "analyst", "viewer"), default=None)
    cu.add_argument("--name", default="")
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


if __name__ == "__main__":
    sys.exit(main())
