"""index builds record the SHA-256 of their file; an index of searchable papers by year

The checksum is checked before a build is loaded. The partial index answers
year filters without reading the papers' rows.

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
    # A plain ADD COLUMN (SQLite has it): no copy of the table.
    op.add_column("index_builds", sa.Column("checksum", sa.String(64), nullable=True))
    op.execute("CREATE INDEX ix_papers_searchable_year ON papers (year) WHERE withdrawn_at IS NULL")


def downgrade() -> None:
    op.execute("DROP INDEX IF EXISTS ix_papers_searchable_year")
    with op.batch_alter_table("index_builds") as batch:
        batch.drop_column("checksum")
