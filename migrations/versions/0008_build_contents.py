"""build contents: a fingerprint of what each build holds, so that a re-index that
changes nothing publishes nothing

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("index_builds", sa.Column("contents", sa.String(length=64), nullable=True))


def downgrade() -> None:
    op.drop_column("index_builds", "contents")
