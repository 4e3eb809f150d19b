"""library bounds: each kept library's size and when it was last read, so that libraries
not read for a while expire and the total they take stays bounded

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("libraries", sa.Column("bytes", sa.Integer(), nullable=False,
                                         server_default="0"))  # fmt: skip
    op.add_column("libraries", sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))
    text = "entries::text" if op.get_bind().dialect.name == "postgresql" else "entries"
    op.execute(f"UPDATE libraries SET bytes = length({text}), read_at = created_at")
    op.create_index("ix_libraries_read_at", "libraries", ["read_at"])


def downgrade() -> None:
    op.drop_index("ix_libraries_read_at", table_name="libraries")
    op.drop_column("libraries", "read_at")
    op.drop_column("libraries", "bytes")
