"""author ids: each author's ids as its source gives them (OpenAlex author id, ORCID,
Semantic Scholar authorId), as keys (``search.authors.keys``) in the order of the
paper's authors

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    for table in ("papers", "paper_versions"):
        op.add_column(table, sa.Column("author_ids", sa.JSON(), nullable=True))


def downgrade() -> None:
    for table in ("papers", "paper_versions"):
        op.drop_column(table, "author_ids")
