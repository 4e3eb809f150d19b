"""citation links: each paper's other ids, the papers it cites and the papers its source
says cite it, as keys (``search.graph.keys``), kept so that every build resolves its
citation graph again; and the build's graph files (a directory beside its index)

The graph itself is never a table: each build writes it as sparse rows in files
(``indexer.graph``), which servers memory-map.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
LINKS = ("paper_keys", "reference_keys", "citer_keys")


def upgrade() -> None:
    for table in ("papers", "paper_versions"):
        for column in LINKS:
            op.add_column(table, sa.Column(column, sa.JSON(), nullable=True))
    op.add_column("index_builds", sa.Column("graph_path", sa.Text(), nullable=True))


def downgrade() -> None:
    op.drop_column("index_builds", "graph_path")
    for table in ("papers", "paper_versions"):
        for column in LINKS:
            op.drop_column(table, column)
