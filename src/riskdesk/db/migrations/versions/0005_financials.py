"""financial statements

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "financial_statements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("period_end", sa.Date(), nullable=False),
        sa.Column("period_type", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("entered_by", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_financial_statements_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_financial_statements")),
        sa.UniqueConstraint(
            "customer_id",
            "period_end",
            "period_type",
            name=op.f("uq_financial_statements_customer_id_period_end_period_type"),
        ),
    )
    with op.batch_alter_table("financial_statements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_financial_statements_customer_id"), ["customer_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("financial_statements", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_financial_statements_customer_id"))

    op.drop_table("financial_statements")
