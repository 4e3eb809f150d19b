"""filter keys for the category and author filters; PostgreSQL's full-text search

``category_keys`` and ``author_keys`` hold what the filters match, whole
(``search.query.filter_keys``): on PostgreSQL they are JSONB with GIN indexes, so a filter
is an index lookup, not a scan. Existing papers get their keys here.

On PostgreSQL, keyword search gets what SQLite has from migration 0003: a
weighted ``tsvector`` (title A, abstract B, authors C), a stored generated
column that PostgreSQL keeps current on every insert and update, with a GIN
index over the searchable papers (withdrawal takes a paper out of it, a
restore puts it back).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

from search.query.filter_keys import author_keys, category_keys

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KEYS = ("category_keys", "author_keys")
SEARCH_VECTOR = """
    setweight(to_tsvector('english', coalesce(title, '')), 'A')
    || setweight(to_tsvector('english', coalesce(abstract, '')), 'B')
    || setweight(to_tsvector('english', coalesce(authors::text, '')), 'C')"""
BATCH = 1000


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    key_type = JSONB() if postgres else sa.JSON()
    empty = sa.text("'[]'::jsonb") if postgres else sa.text("'[]'")
    for name in KEYS:  # a plain ADD COLUMN: SQLite copies no table, its triggers stay
        op.add_column("papers", sa.Column(name, key_type, nullable=False, server_default=empty))
    fill_keys(key_type)
    if postgres:
        for name in KEYS:
            op.execute(f"CREATE INDEX ix_papers_{name} ON papers USING gin ({name}) "
                       "WHERE withdrawn_at IS NULL")  # fmt: skip
        op.execute(f"ALTER TABLE papers ADD COLUMN search_vector tsvector "
                   f"GENERATED ALWAYS AS ({SEARCH_VECTOR}) STORED")  # fmt: skip
        op.execute("CREATE INDEX ix_papers_search_vector ON papers USING gin (search_vector) "
                   "WHERE withdrawn_at IS NULL")  # fmt: skip


def fill_keys(key_type) -> None:
    """Keys for the papers already stored, a batch at a time."""
    papers = sa.table("papers", sa.column("id", sa.Integer), sa.column("authors", sa.JSON),
                      sa.column("categories", sa.JSON), sa.column("category_keys", key_type),
                      sa.column("author_keys", key_type))  # fmt: skip
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(
            sa.select(papers.c.id, papers.c.authors, papers.c.categories)
            .where(papers.c.id > after).order_by(papers.c.id).limit(BATCH)
        ).all()  # fmt: skip
        if not rows:
            return
        bind.execute(
            papers.update().where(papers.c.id == sa.bindparam("paper_id")),
            [{"paper_id": paper_id, "author_keys": author_keys(authors or []),
              "category_keys": category_keys(categories or [])}
             for paper_id, authors, categories in rows],
        )  # fmt: skip
        after = rows[-1][0]


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_papers_search_vector")
        op.execute("ALTER TABLE papers DROP COLUMN IF EXISTS search_vector")
        for name in KEYS:
            op.execute(f"DROP INDEX IF EXISTS ix_papers_{name}")
    for name in KEYS:
        op.drop_column("papers", name)
