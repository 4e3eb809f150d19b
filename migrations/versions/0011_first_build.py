"""first build: the index build that first held each paper, so that every mode serves the
papers of the build in use (and feeds know when a paper arrived)

Papers stored before this revision get the first complete build finished after they were
stored; papers stored since the last build get none until the next build holds them.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("papers", sa.Column("first_build", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE papers SET first_build = (SELECT min(b.id) FROM index_builds b"
        " WHERE b.status IN ('complete', 'pruned') AND b.finished_at >= papers.created_at)"
    )
    op.create_index("ix_papers_first_build", "papers", ["first_build"])


def downgrade() -> None:
    op.drop_index("ix_papers_first_build", table_name="papers")
    op.drop_column("papers", "first_build")
