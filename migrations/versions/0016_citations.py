"""citations: how often each paper is cited, where the corpus says (Semantic Scholar's
citationCount, OpenAlex's cited_by_count), for showing and for sort=citations

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("papers", sa.Column("citations", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("papers", "citations")
