"""full-text index: papers_fts (FTS5, BM25) over title, abstract and authors; DOI index

An external-content FTS5 table over ``papers``, kept in step by triggers, so
that every write (index, re-index, withdrawal restores, updates) updates it in
the same transaction, whatever code path makes it. SQLite only; on other
databases keyword search is unavailable and says so.

A later migration that rebuilds ``papers`` (batch_alter_table copies the table)
drops these triggers and must create them again (``create_triggers``).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-24
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

COLUMNS = "title, abstract, authors"
# Only searchable papers are in the index: withdrawing a paper takes it out, and
# restoring it puts it back, so keyword queries need no join to skip withdrawn rows.
_ADD_NEW = f"""INSERT INTO papers_fts(rowid, {COLUMNS})
            SELECT new.id, new.title, new.abstract, new.authors WHERE new.withdrawn_at IS NULL;"""
_REMOVE_OLD = f"""INSERT INTO papers_fts(papers_fts, rowid, {COLUMNS})
            SELECT 'delete', old.id, old.title, old.abstract, old.authors
            WHERE old.withdrawn_at IS NULL;"""
TRIGGERS = {
    "papers_fts_insert": f"""
        CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN
            {_ADD_NEW}
        END""",
    "papers_fts_delete": f"""
        CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN
            {_REMOVE_OLD}
        END""",
    "papers_fts_update": f"""
        CREATE TRIGGER papers_fts_update
        AFTER UPDATE OF title, abstract, authors, withdrawn_at ON papers BEGIN
            {_REMOVE_OLD}
            {_ADD_NEW}
        END""",
}


def create_triggers() -> None:
    for sql in TRIGGERS.values():
        op.execute(sql)


def upgrade() -> None:
    op.execute("CREATE INDEX ix_papers_doi_lower ON papers (lower(doi))")  # look-up by DOI
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute(
        f"CREATE VIRTUAL TABLE papers_fts USING fts5({COLUMNS}, content='papers', "
        "content_rowid='id', tokenize='porter unicode61 remove_diacritics 2')"
    )
    create_triggers()
    op.execute(  # the papers already stored, withdrawn ones left out
        f"INSERT INTO papers_fts(rowid, {COLUMNS}) "
        f"SELECT id, {COLUMNS} FROM papers WHERE withdrawn_at IS NULL"
    )


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_papers_doi_lower")
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS papers_fts")
