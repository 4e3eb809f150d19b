"""vector files: the manifest of the shards that hold the papers' vectors; builds with
on-disk lists

Vectors leave the ``embeddings`` table for append-only files per model
(``search.store.vectors``); the database keeps this manifest. Moving the rows
of an existing store needs its data directory, which a migration does not
know: ``papersearch db upgrade`` (and the next ``index`` or ``reindex``) moves
them after this migration, resumably, and readers refuse a store that still
holds rows in ``embeddings``. A build too large to make in memory keeps its
inverted lists in a second file, ``index_builds.lists_path``.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "vector_shards",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("model_key", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("dtype", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_vector_shards_model_key", "vector_shards", ["model_key"])
    op.add_column("index_builds", sa.Column("lists_path", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("index_builds") as batch:
        batch.drop_column("lists_path")
    op.drop_index("ix_vector_shards_model_key", table_name="vector_shards")
    op.drop_table("vector_shards")
