"""Relational database: engine, schema and Alembic migrations."""
