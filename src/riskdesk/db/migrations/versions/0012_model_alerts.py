"""model alerts and due rescorings: an alert may concern a model version instead of a customer; the portfolio is
marked due for rescoring when the champion or an overlay changes

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)
SUBJECT = (
    "(subject = 'customer' AND customer_id IS NOT NULL)"
    " OR (subject = 'model' AND model_version_id IS NOT NULL AND customer_id IS NULL)"
)


def upgrade() -> None:
    with op.batch_alter_table("monitoring_alerts", schema=None) as batch_op:
        # Every alert so far concerns a customer: the default fills them, then goes (the code always sets it).
        batch_op.add_column(sa.Column("subject", sa.String(length=16), nullable=False, server_default="customer"))
        batch_op.add_column(sa.Column("model_version_id", sa.Integer(), nullable=True))
        batch_op.alter_column("customer_id", existing_type=sa.Integer(), nullable=True)
        batch_op.create_foreign_key(
            batch_op.f("fk_monitoring_alerts_model_version_id_model_versions"),
            "model_versions",
            ["model_version_id"],
            ["id"],
        )
        batch_op.create_check_constraint(batch_op.f("ck_monitoring_alerts_subject"), SUBJECT)
        batch_op.create_index("ix_monitoring_alerts_model", ["model_version_id", "rule_id", "status"])
    with op.batch_alter_table("monitoring_alerts", schema=None) as batch_op:
        batch_op.alter_column("subject", existing_type=sa.String(length=16), server_default=None)
    op.create_table(
        "rescoring_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("requested_at", WHEN, nullable=False),
        sa.Column("run", sa.String(length=32), nullable=True),
        sa.Column("done_at", WHEN, nullable=True),
        sa.Column("outcome", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rescoring_requests")),
    )
    op.create_index("ix_rescoring_requests_open", "rescoring_requests", ["done_at", "due_on"])


def downgrade() -> None:
    op.drop_index("ix_rescoring_requests_open", table_name="rescoring_requests")
    op.drop_table("rescoring_requests")
    op.execute("DELETE FROM monitoring_alerts WHERE subject = 'model'")
    with op.batch_alter_table("monitoring_alerts", schema=None) as batch_op:
        batch_op.drop_index("ix_monitoring_alerts_model")
        batch_op.drop_constraint(batch_op.f("ck_monitoring_alerts_subject"), type_="check")
        batch_op.drop_constraint(batch_op.f("fk_monitoring_alerts_model_version_id_model_versions"), type_="foreignkey")
        batch_op.alter_column("customer_id", existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column("model_version_id")
        batch_op.drop_column("subject")
