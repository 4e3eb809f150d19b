"""deep nprobe: the nprobe measured to reach recall@100 for deep rankings (hybrid's
candidates, pages beyond the first), beside the first page's

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("index_builds", sa.Column("deep_nprobe", sa.Integer(), nullable=True))
    op.add_column("index_builds", sa.Column("tuned_recall_100", sa.Float(), nullable=True))


def downgrade() -> None:
    op.drop_column("index_builds", "tuned_recall_100")
    op.drop_column("index_builds", "deep_nprobe")
