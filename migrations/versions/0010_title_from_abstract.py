"""title from abstract: marks papers the corpus gave no title, titled with their abstract's
first sentence

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "papers",
        sa.Column(
            "title_from_abstract", sa.Boolean(), nullable=False, server_default=sa.false()
        ),  # fmt: skip
    )


def downgrade() -> None:
    op.drop_column("papers", "title_from_abstract")
