"""author keys for every way a name splits into given names and a surname

Which words make a surname cannot be told from the name ("Haitz Sáez de Ocáriz
Borde", "Khan Muhammad Bin Asad"), so the author keys now hold, for every split,
the surname alone and the surname after the given names' initials
(``search.query.filter_keys.author_keys``). The papers' keys are filled again. The
keyword index of the current build holds the old keys in its own format (1):
``papersearch db upgrade`` writes it again (format 2), and the next index run writes
its build's afresh.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-04
"""

import importlib
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    keys = importlib.import_module("migrations.versions.0005_filter_keys_and_postgres_fulltext")
    keys.fill_keys(JSONB() if postgres else sa.JSON())


def downgrade() -> None:
    """The keys this release writes are a superset of 0014's: a paper found before is
    found still, so they stay."""
