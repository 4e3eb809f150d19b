"""venue keys: the key the venue filter matches, the same in the database and in the
keyword index (``search.query.filter_keys.venue_key``: NFKC, case-folded, single-spaced)

SQLite's ``lower()`` folds ASCII alone, so ``venue=Études Économiques`` found nothing by
meaning and everything by keywords. The papers' keys (and their kept versions') are
filled here; ``papersearch db upgrade`` writes the current build's keyword index again
(format 3).

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from search.query.filter_keys import venue_key

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None
BATCH = 5000


def upgrade() -> None:
    for table in ("papers", "paper_versions"):
        op.add_column(table, sa.Column("venue_key", sa.Text(), nullable=True))
        fill(table)
    op.create_index("ix_papers_venue_key", "papers", ["venue_key"])


def fill(name: str) -> None:
    """Each row's key, a batch at a time (by the table's own key)."""
    key = "version_id" if name == "paper_versions" else "id"
    table = sa.table(name, sa.column(key, sa.Integer), sa.column("venue", sa.Text),
                     sa.column("venue_key", sa.Text))  # fmt: skip
    bind = op.get_bind()
    after = 0
    while True:
        rows = bind.execute(
            sa.select(table.c[key], table.c.venue)
            .where(table.c[key] > after, table.c.venue.is_not(None))
            .order_by(table.c[key]).limit(BATCH)
        ).all()  # fmt: skip
        if not rows:
            return
        bind.execute(
            table.update().where(table.c[key] == sa.bindparam("row")),
            [{"row": row, "venue_key": venue_key(venue)} for row, venue in rows],
        )
        after = rows[-1][0]


def downgrade() -> None:
    op.drop_index("ix_papers_venue_key", table_name="papers")
    for table in ("papers", "paper_versions"):  # SQLite drops a column in place (no copy,
        op.drop_column(table, "venue_key")  # which would cascade to the embeddings' rows)
