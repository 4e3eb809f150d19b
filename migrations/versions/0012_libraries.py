"""libraries: BibTeX libraries uploaded for recommendations, kept so that their feed URL
stays short and works on every host of a shared store; an index on lower(title), which
matches a library's entries to papers by exact title

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "libraries",
        sa.Column("id", sa.String(length=32), primary_key=True),
        sa.Column("entries", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.execute("CREATE INDEX ix_papers_title_lower ON papers (lower(title))")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_papers_title_lower")
    op.drop_table("libraries")
