"""Alembic migrations: the only source of the papersearch schema."""
