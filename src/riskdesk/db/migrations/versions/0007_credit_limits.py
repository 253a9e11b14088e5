"""credit proposals and limits

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credit_proposals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("assessment_id", sa.Integer(), nullable=True),
        sa.Column("grade", sa.String(length=8), nullable=False),
        sa.Column("limit_amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment_days", sa.Integer(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("rationale", sa.String(length=2000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("proposed_by", sa.String(length=64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(length=64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_reason", sa.String(length=2000), nullable=False),
        sa.ForeignKeyConstraint(
            ["assessment_id"],
            ["credit_assessments.id"],
            name=op.f("fk_credit_proposals_assessment_id_credit_assessments"),
        ),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_credit_proposals_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_proposals")),
    )
    with op.batch_alter_table("credit_proposals", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_credit_proposals_customer_id"), ["customer_id"], unique=False)
        batch_op.create_index("ix_credit_proposals_status", ["status", "id"], unique=False)

    op.create_table(
        "credit_limits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("grade", sa.String(length=8), nullable=False),
        sa.Column("amount", sa.Numeric(precision=18, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("payment_days", sa.Integer(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("expires_on", sa.Date(), nullable=False),
        sa.Column("approved_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], name=op.f("fk_credit_limits_customer_id_customers")),
        sa.ForeignKeyConstraint(
            ["proposal_id"], ["credit_proposals.id"], name=op.f("fk_credit_limits_proposal_id_credit_proposals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_limits")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_credit_limits_customer_id")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("approval_authority", sa.Numeric(precision=18, scale=2), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("approval_authority")

    op.drop_table("credit_limits")
    with op.batch_alter_table("credit_proposals", schema=None) as batch_op:
        batch_op.drop_index("ix_credit_proposals_status")
        batch_op.drop_index(batch_op.f("ix_credit_proposals_customer_id"))

    op.drop_table("credit_proposals")
