"""row-level security (Postgres only)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26

On Postgres: (a) the Supabase-compatible ``auth`` shim when absent (schema ``auth``, roles
``anon``/``authenticated``, ``auth.uid()``/``auth.jwt()``; existing objects, e.g. on
Supabase, are never replaced); (b) grants to ``authenticated`` and row-level security
policies on every tenant table of the current schema. Requests run as ``authenticated``
with their claims via ``nexus.db.rls``. No FORCE ROW LEVEL SECURITY: the owner role (the
auth layer before a user is known, migrations, ingest) is not subject to the policies.

SQLite has no row-level security: a no-op there.
"""

from __future__ import annotations

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UID = "(select auth.uid())"
IS_ADMIN = "coalesce(((select auth.jwt()) -> 'app_metadata' -> 'roles') ? 'admin', false)"
OWN_PORTFOLIO = (
    "EXISTS (SELECT 1 FROM portfolios p"
    " WHERE p.id = transactions.portfolio_id AND p.owner_id = (select auth.uid()))"
)

# Tables whose rows belong to one user through a ``user_id`` column.
USER_TABLES = (
    "user_preferences",
    "sessions",
    "mfa_factors",
    "mfa_recovery_codes",
    "password_reset_tokens",
)
CRUD = "SELECT, INSERT, UPDATE, DELETE"

# (table, privileges granted to authenticated). ``users``: never ``pw_hash``, and only the
# display name is writable, so a user cannot raise their own role even with the RLS policy
# allowing updates of their row.
USER_COLUMNS = "id, email, role, display_name, created_at, last_sign_in_at, disabled_at"
GRANTS = (
    ("portfolios", CRUD),
    ("transactions", CRUD),
    *((t, CRUD) for t in USER_TABLES),
    ("users", f"SELECT ({USER_COLUMNS}), UPDATE (display_name)"),
    ("audit_log", "SELECT, INSERT"),
    ("instruments", "SELECT, INSERT"),
)
SEQUENCE_TABLES = ("transactions", "audit_log", "mfa_recovery_codes", "password_reset_tokens")

# (name, table, command, USING, WITH CHECK); all policies are TO authenticated.
POLICIES = (
    ("portfolios_owner", "portfolios", "ALL", f"owner_id = {UID}", f"owner_id = {UID}"),
    ("transactions_owner", "transactions", "ALL", OWN_PORTFOLIO, OWN_PORTFOLIO),
    *((f"{t}_owner", t, "ALL", f"user_id = {UID}", f"user_id = {UID}") for t in USER_TABLES),
    ("users_self_select", "users", "SELECT", f"id = {UID}", None),
    ("users_admin_select", "users", "SELECT", IS_ADMIN, None),
    ("users_self_update", "users", "UPDATE", f"id = {UID}", f"id = {UID}"),
    ("audit_log_admin_select", "audit_log", "SELECT", IS_ADMIN, None),
    (
        "audit_log_insert",
        "audit_log",
        "INSERT",
        None,
        f"user_id IS NULL OR user_id = {UID} OR {IS_ADMIN}",
    ),
    ("instruments_select", "instruments", "SELECT", "true", None),
    ("instruments_insert", "instruments", "INSERT", None, "true"),
)
RLS_TABLES = (*dict.fromkeys(p[1] for p in POLICIES), "auth_throttle")
# Not for end users at all (RLS on with no policy = no rows; plus no privileges).
PRIVATE_TABLES = ("auth_throttle", "alembic_version")

# Supabase's definitions (supabase/auth migrations 20220224000811, 20220531120530).
SHIM = r"""
DO $shim$
BEGIN
    BEGIN
        CREATE SCHEMA IF NOT EXISTS auth;
    EXCEPTION WHEN duplicate_schema OR unique_violation THEN NULL;  -- created concurrently
    END;

    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'anon') THEN
        BEGIN
            CREATE ROLE anon NOLOGIN NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'authenticated') THEN
        BEGIN
            CREATE ROLE authenticated NOLOGIN NOINHERIT;
        EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
        END;
    END IF;

    IF to_regprocedure('auth.uid()') IS NULL THEN
        BEGIN
            CREATE FUNCTION auth.uid() RETURNS uuid LANGUAGE sql STABLE AS $fn$
                SELECT coalesce(
                    nullif(current_setting('request.jwt.claim.sub', true), ''),
                    (nullif(current_setting('request.jwt.claims', true), '')::jsonb ->> 'sub')
                )::uuid
            $fn$;
        EXCEPTION WHEN duplicate_function OR unique_violation THEN NULL;
        END;
    END IF;
    IF to_regprocedure('auth.jwt()') IS NULL THEN
        BEGIN
            CREATE FUNCTION auth.jwt() RETURNS jsonb LANGUAGE sql STABLE AS $fn$
                SELECT coalesce(
                    nullif(current_setting('request.jwt.claim', true), ''),
                    nullif(current_setting('request.jwt.claims', true), '')
                )::jsonb
            $fn$;
        EXCEPTION WHEN duplicate_function OR unique_violation THEN NULL;
        END;
    END IF;

    IF NOT has_schema_privilege('anon', 'auth', 'USAGE')
       OR NOT has_schema_privilege('authenticated', 'auth', 'USAGE') THEN
        BEGIN
            GRANT USAGE ON SCHEMA auth TO anon, authenticated;
        EXCEPTION WHEN insufficient_privilege THEN
            RAISE WARNING 'cannot grant USAGE on schema auth; ask its owner to';
        END;
    END IF;

    -- The app's connecting role must be able to SET ROLE authenticated.
    IF NOT pg_has_role(current_user, 'authenticated', 'MEMBER') THEN
        BEGIN
            EXECUTE format('GRANT authenticated TO %I', current_user);
        EXCEPTION WHEN insufficient_privilege OR invalid_grant_operation THEN
            RAISE WARNING 'cannot grant role authenticated to %; grant it as an admin',
                current_user;
        END;
    END IF;
END
$shim$;
"""


def _is_postgres() -> bool:
    return op.get_bind().dialect.name == "postgresql"


def _schema() -> str:
    name = op.get_bind().exec_driver_sql("SELECT current_schema()").scalar_one()
    return op.get_bind().dialect.identifier_preparer.quote(name)


def upgrade() -> None:
    if not _is_postgres():
        return
    op.execute(SHIM)
    schema = _schema()
    op.execute(f"GRANT USAGE ON SCHEMA {schema} TO authenticated")
    for table in (*(g[0] for g in GRANTS), *PRIVATE_TABLES):
        op.execute(f"REVOKE ALL ON {table} FROM anon, authenticated")
    for table, privileges in GRANTS:
        op.execute(f"GRANT {privileges} ON {table} TO authenticated")
    for table in SEQUENCE_TABLES:
        op.execute(
            "DO $seq$ BEGIN EXECUTE format('GRANT USAGE ON SEQUENCE %s TO authenticated', "
            f"pg_get_serial_sequence('{table}', 'id')); END $seq$"
        )
    for table in RLS_TABLES:
        op.execute(f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY")
    for name, table, command, using, check in POLICIES:
        sql = f"CREATE POLICY {name} ON {table} AS PERMISSIVE FOR {command} TO authenticated"
        if using is not None:
            sql += f" USING ({using})"
        if check is not None:
            sql += f" WITH CHECK ({check})"
        op.execute(sql)


def downgrade() -> None:
    if not _is_postgres():
        return
    for name, table, *_ in POLICIES:
        op.execute(f"DROP POLICY IF EXISTS {name} ON {table}")
    for table in RLS_TABLES:
        op.execute(f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY")
    # Without policies the grants would expose every row: take them back (fail closed).
    for table, _ in GRANTS:
        op.execute(f"REVOKE ALL ON {table} FROM authenticated")
    for table in SEQUENCE_TABLES:
        op.execute(
            "DO $seq$ BEGIN EXECUTE format('REVOKE ALL ON SEQUENCE %s FROM authenticated', "
            f"pg_get_serial_sequence('{table}', 'id')); END $seq$"
        )
    # Schema USAGE stays: on Supabase the schema (public) is shared with other objects.
