"""build shards: how many shards an index build is split into (``PAPERSEARCH_SHARDS``);
every build before it is one

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    shards = sa.Column("shards", sa.Integer(), nullable=False, server_default="1")
    op.add_column("index_builds", shards)


def downgrade() -> None:
    op.drop_column("index_builds", "shards")
