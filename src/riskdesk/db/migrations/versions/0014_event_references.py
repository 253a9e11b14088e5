"""monitoring events by reference: the intake finds the newest order event of a reference without scanning the
customer's history

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_monitoring_events_reference", "monitoring_events", ["reference"])


def downgrade() -> None:
    op.drop_index("ix_monitoring_events_reference", table_name="monitoring_events")
