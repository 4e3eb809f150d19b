"""paper versions: each build serves the papers as it held them, whatever runs write since

A paper's row is the write path's working copy. ``content_build`` names the build that
first held the row's present state (its fields and whether it is withdrawn); NULL while a
run has changed it and no build holds the change yet. A run that changes a row some
build holds first keeps the old state in ``paper_versions``, valid for the builds from
its ``content_build`` up to ``until_build`` (NULL: the change is not built yet). A server
of build N reads, for each paper, the row or the version valid at N: a refused or failed
run, or ``builds use`` of an older build, changes no answer of a served build.

Rows stored before this revision: ``content_build`` is the first complete build finished
after the row's last change (its withdrawal, for a withdrawn paper), or its first build
where none was; earlier states were not kept, so older builds see the present one.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BUILT_AFTER = (
    "(SELECT min(b.id) FROM index_builds b WHERE b.status IN ('complete', 'pruned')"
    " AND b.finished_at >= {moment} AND b.id >= papers.first_build)"
)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    keys = JSONB() if postgres else sa.JSON()
    op.add_column("papers", sa.Column("content_build", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE papers SET content_build = CASE WHEN withdrawn_at IS NOT NULL THEN "
        + BUILT_AFTER.format(moment="papers.withdrawn_at")
        + " ELSE coalesce("
        + BUILT_AFTER.format(moment="papers.updated_at")
        + ", first_build) END"
    )
    op.create_index("ix_papers_content_build", "papers", ["content_build"])
    op.create_table(
        "paper_versions",
        sa.Column("version_id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("id", sa.Integer(), nullable=False),  # the paper's id
        sa.Column("until_build", sa.Integer(), nullable=True),
        sa.Column("external_id", sa.String(length=255), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("title_from_abstract", sa.Boolean(), nullable=False),
        sa.Column("abstract", sa.Text(), nullable=True),
        sa.Column("authors", sa.JSON(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=True),
        sa.Column("date", sa.String(length=10), nullable=True),
        sa.Column("citations", sa.Integer(), nullable=True),
        sa.Column("venue", sa.Text(), nullable=True),
        sa.Column("doi", sa.String(length=255), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("categories", sa.JSON(), nullable=False),
        sa.Column("category_keys", keys, nullable=False),
        sa.Column("author_keys", keys, nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("text_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("withdrawn_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_build", sa.Integer(), nullable=True),
        sa.Column("content_build", sa.Integer(), nullable=False),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_paper_versions_id", "paper_versions", ["id"])
    op.create_index("ix_paper_versions_builds", "paper_versions", ["content_build", "until_build"])


def downgrade() -> None:
    op.drop_index("ix_paper_versions_builds", table_name="paper_versions")
    op.drop_index("ix_paper_versions_id", table_name="paper_versions")
    op.drop_table("paper_versions")
    op.drop_index("ix_papers_content_build", table_name="papers")
    op.drop_column("papers", "content_build")
