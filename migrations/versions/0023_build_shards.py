"""build shards: how many shards an index build is split into (``PAPERSEARCH_SHARDS``;
every build before it is one), and the checksums of its parts, each verifiable on the host
that holds it: the files every server reads (the centroids, the graph) and each shard's

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
    op.add_column("index_builds", sa.Column("part_checksums", sa.JSON(), nullable=True))


def downgrade() -> None:
    op.drop_column("index_builds", "part_checksums")
    op.drop_column("index_builds", "shards")
