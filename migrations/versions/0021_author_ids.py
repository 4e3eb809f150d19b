"""author ids: each author's ids as its source gives them (OpenAlex author id, ORCID,
Semantic Scholar authorId), as keys (``search.authors.keys``) in the order of the
paper's authors; and all of them as one key list, which PostgreSQL indexes (GIN) so that
an author's papers are an index lookup

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    key_type = JSONB() if postgres else sa.JSON()
    empty = sa.text("'[]'::jsonb") if postgres else sa.text("'[]'")
    for table in ("papers", "paper_versions"):
        op.add_column(table, sa.Column("author_ids", sa.JSON(), nullable=True))
        op.add_column(table, sa.Column("author_id_keys", key_type, nullable=False,
                                       server_default=empty))  # fmt: skip
    if postgres:
        op.execute("CREATE INDEX ix_papers_author_id_keys ON papers USING gin (author_id_keys) "
                   "WHERE withdrawn_at IS NULL")  # fmt: skip


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_papers_author_id_keys")
    for table in ("papers", "paper_versions"):
        op.drop_column(table, "author_id_keys")
        op.drop_column(table, "author_ids")
