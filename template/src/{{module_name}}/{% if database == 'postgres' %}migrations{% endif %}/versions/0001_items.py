"""Create the example's table, items (models.Item).

Revision ID: 0001
Revises:
Created: the service's first migration

This file is the service's: `make update` never changes it. Next migrations:
`make migration m="add price"` writes one from models.py (review it).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "items",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(length=200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("items")
