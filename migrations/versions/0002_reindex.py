"""nightly re-index: withdrawn papers, published builds, centroid lineage, tuned recall

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("papers") as batch:
        batch.add_column(sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("index_builds") as batch:
        batch.add_column(sa.Column("published_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("trained_vectors", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("centroids_from", sa.Integer(), nullable=True))
        batch.add_column(
            sa.Column("added_since_training", sa.Integer(), nullable=False, server_default="0")
        )
        batch.add_column(sa.Column("tuned_recall", sa.Float(), nullable=True))
        batch.create_index("ix_index_builds_published_at", ["published_at"])
    # Builds completed before this migration were current in id order.
    op.execute("UPDATE index_builds SET published_at = finished_at WHERE status = 'complete'")


def downgrade() -> None:
    with op.batch_alter_table("index_builds") as batch:
        batch.drop_index("ix_index_builds_published_at")
        batch.drop_column("tuned_recall")
        batch.drop_column("added_since_training")
        batch.drop_column("centroids_from")
        batch.drop_column("trained_vectors")
        batch.drop_column("published_at")
    with op.batch_alter_table("papers") as batch:
        batch.drop_column("withdrawn_at")
