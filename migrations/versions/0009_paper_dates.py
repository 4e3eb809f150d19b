"""paper dates: the date the corpus gives (an arXiv listing date, a publication date),
for sorting by date

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("papers", sa.Column("date", sa.String(length=10), nullable=True))
    op.create_index("ix_papers_year_date", "papers", ["year", "date"])


def downgrade() -> None:
    op.drop_index("ix_papers_year_date", table_name="papers")
    op.drop_column("papers", "date")
