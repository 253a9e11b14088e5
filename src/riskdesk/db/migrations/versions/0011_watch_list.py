"""monitoring: the watch list (one current entry per customer, every stay kept) and its periodic reviews

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "monitoring_watch_list",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("current_customer_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("alert_id", sa.Integer(), nullable=True),
        sa.Column("added_because", sa.String(length=2000), nullable=False),
        sa.Column("added_by", sa.String(length=64), nullable=False),
        sa.Column("added_at", WHEN, nullable=False),
        sa.Column("next_review_on", sa.Date(), nullable=False),
        sa.Column("removal_requested_by", sa.String(length=64), nullable=True),
        sa.Column("removal_requested_at", WHEN, nullable=True),
        sa.Column("removal_reason", sa.String(length=2000), nullable=False),
        sa.Column("decision", sa.String(length=16), nullable=True),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", WHEN, nullable=True),
        sa.Column("decision_reason", sa.String(length=2000), nullable=False),
        sa.Column("removed_at", WHEN, nullable=True),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_monitoring_watch_list_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["alert_id"], ["monitoring_alerts.id"], name=op.f("fk_monitoring_watch_list_alert_id_monitoring_alerts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_watch_list")),
        sa.UniqueConstraint("current_customer_id", name=op.f("uq_monitoring_watch_list_current_customer_id")),
    )
    op.create_index(op.f("ix_monitoring_watch_list_customer_id"), "monitoring_watch_list", ["customer_id"])
    op.create_index("ix_monitoring_watch_list_status", "monitoring_watch_list", ["status", "next_review_on"])
    op.create_table(
        "monitoring_watch_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("entry_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=True),
        sa.Column("opened_by", sa.String(length=64), nullable=False),
        sa.Column("opened_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["monitoring_watch_list.id"],
            name=op.f("fk_monitoring_watch_reviews_entry_id_monitoring_watch_list"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_monitoring_watch_reviews_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_watch_reviews")),
    )
    op.create_index(op.f("ix_monitoring_watch_reviews_entry_id"), "monitoring_watch_reviews", ["entry_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_monitoring_watch_reviews_entry_id"), table_name="monitoring_watch_reviews")
    op.drop_table("monitoring_watch_reviews")
    op.drop_index("ix_monitoring_watch_list_status", table_name="monitoring_watch_list")
    op.drop_index(op.f("ix_monitoring_watch_list_customer_id"), table_name="monitoring_watch_list")
    op.drop_table("monitoring_watch_list")
