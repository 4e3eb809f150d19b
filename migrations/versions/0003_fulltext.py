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
TRIGGERS = {
    "papers_fts_insert": f"""
        CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN
            INSERT INTO papers_fts(rowid, {COLUMNS})
            VALUES (new.id, new.title, new.abstract, new.authors);
        END""",
    "papers_fts_delete": f"""
        CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN
            INSERT INTO papers_fts(papers_fts, rowid, {COLUMNS})
            VALUES ('delete', old.id, old.title, old.abstract, old.authors);
        END""",
    "papers_fts_update": f"""
        CREATE TRIGGER papers_fts_update AFTER UPDATE OF title, abstract, authors ON papers
        BEGIN
            INSERT INTO papers_fts(papers_fts, rowid, {COLUMNS})
            VALUES ('delete', old.id, old.title, old.abstract, old.authors);
            INSERT INTO papers_fts(rowid, {COLUMNS})
            VALUES (new.id, new.title, new.abstract, new.authors);
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
    op.execute("INSERT INTO papers_fts(papers_fts) VALUES ('rebuild')")  # papers already stored


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_papers_doi_lower")
    if op.get_bind().dialect.name != "sqlite":
        return
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.execute("DROP TABLE IF EXISTS papers_fts")
