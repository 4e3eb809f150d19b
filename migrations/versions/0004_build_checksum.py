"""index builds record the SHA-256 of their file, checked before a build is loaded

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # A plain ADD COLUMN: batch mode would copy the papers' neighbour tables for nothing,
    # and index_builds has no triggers to lose.
    op.add_column("index_builds", sa.Column("checksum", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("index_builds") as batch:
        batch.drop_column("checksum")
