"""keyword index per build: the database ranks no text any more

Keyword ranking moved to a Tantivy index written with each build
(``search.keyword_index``), so the full-text machinery goes: on SQLite the
FTS5 table ``papers_fts`` and its three triggers (migration 0003), on
PostgreSQL the ``search_vector`` column and its GIN index (migration 0005).
Builds record their keyword index directory. ``papersearch db upgrade`` (or the
next index run) writes the keyword index of the current build. Category filter keys
are filled again: they now hold every dotted prefix (``I.2`` finds ``I.2.6``).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-04
"""

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGGERS = ("papers_fts_insert", "papers_fts_delete", "papers_fts_update")


def upgrade() -> None:
    op.add_column("index_builds", sa.Column("keywords_path", sa.Text(), nullable=True))
    # Category keys now hold every dotted prefix (I.2.6 → I.2.6, I.2, I): filled again.
    postgres = op.get_bind().dialect.name == "postgresql"
    keys = importlib.import_module("migrations.versions.0005_filter_keys_and_postgres_fulltext")
    keys.fill_keys(JSONB() if postgres else sa.JSON())
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_papers_search_vector")
        op.execute("ALTER TABLE papers DROP COLUMN IF EXISTS search_vector")
    elif op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        op.execute("DROP TABLE IF EXISTS papers_fts")


def downgrade() -> None:
    """Back to 0013: the database's full-text index, rebuilt from the papers. Builds with
    a keyword index lose their checksum (it covered the keyword index, which 0013 does
    not know), so that 0013 checks their files only for existence."""
    op.execute("UPDATE index_builds SET checksum = NULL WHERE keywords_path IS NOT NULL")
    op.drop_column("index_builds", "keywords_path")
    if op.get_bind().dialect.name == "postgresql":
        keys = importlib.import_module("migrations.versions.0005_filter_keys_and_postgres_fulltext")
        op.execute(f"ALTER TABLE papers ADD COLUMN search_vector tsvector "
                   f"GENERATED ALWAYS AS ({keys.SEARCH_VECTOR}) STORED")  # fmt: skip
        op.execute("CREATE INDEX ix_papers_search_vector ON papers USING gin (search_vector) "
                   "WHERE withdrawn_at IS NULL")  # fmt: skip
    elif op.get_bind().dialect.name == "sqlite":
        fulltext = importlib.import_module("migrations.versions.0003_fulltext")
        op.execute(
            f"CREATE VIRTUAL TABLE papers_fts USING fts5({fulltext.COLUMNS}, content='papers', "
            "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
        )
        fulltext.create_triggers()
        columns = fulltext.COLUMNS
        op.execute(f"INSERT INTO papers_fts(rowid, {columns}) "
                   f"SELECT id, {columns} FROM papers WHERE withdrawn_at IS NULL")  # fmt: skip
