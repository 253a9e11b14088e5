"""monitoring: events, dead letters, customer behaviour state, rules (built-ins seeded active), alerts

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

WHEN = sa.DateTime(timezone=True)

# The built-in early-warning indicators as they stood when this migration was written (version 1, active): a
# later change is a new version made by an admin, never an edit of this list.
# (rule_id, name, name_zh, expression, severity, tier, suppression_seconds, description)
BUILTIN_RULES = [
    (
        "dpd_over_30",
        "More than 30 days past due",
        "逾期超过30天",
        "state.max_days_past_due > 30",
        "medium",
        "watch",
        604800,
        "An invoice is more than 30 days overdue (IFRS 9: significant increase in credit risk presumed).",
    ),
    (
        "dpd_over_60",
        "More than 60 days past due",
        "逾期超过60天",
        "state.max_days_past_due > 60",
        "high",
        "early_warning",
        604800,
        "An invoice is more than 60 days overdue.",
    ),
    (
        "dpd_over_90",
        "More than 90 days past due",
        "逾期超过90天",
        "state.max_days_past_due > 90",
        "critical",
        "default_candidate",
        2592000,
        "An invoice is more than 90 days overdue (IFRS 9: default presumed).",
    ),
    (
        "utilisation_over_90",
        "Limit utilisation over 90 %",
        "授信额度使用率超过90%",
        "state.utilisation > 0.9",
        "medium",
        "watch",
        604800,
        "Exposure is above 90 % of the credit limit.",
    ),
    (
        "over_limit",
        "Exposure over the credit limit",
        "超出授信额度",
        "state.utilisation > 1.0",
        "high",
        "early_warning",
        259200,
        "Exposure is above the credit limit.",
    ),
    (
        "payment_delay_worsening",
        "Payment delays getting worse",
        "付款延迟趋势恶化",
        "features.payment_delay_trend >= 10.0 && features.avg_days_late_last_3 > 5.0",
        "medium",
        "watch",
        2592000,
        "The last 3 payments were on average at least 10 days later than the 3 before, and more than 5 days late.",
    ),
    (
        "score_or_grade_drop",
        "Score or grade dropped",
        "评分或等级下降",
        'event.type == "score_changed" && (state.grade_notches_down >= 2 || state.score_change <= -40)',
        "high",
        "early_warning",
        86400,
        "A regrading fell by 2 grades or more, or the score fell by 40 points or more (odds of default doubled).",
    ),
    (
        "lawsuit_or_enforcement",
        "Lawsuit or court enforcement",
        "涉诉或被强制执行",
        'event.type == "enforcement" || (event.type == "lawsuit" && event.role != "plaintiff")',
        "high",
        "early_warning",
        0,
        "The customer is sued or under court enforcement (a suit it brings itself does not count).",
    ),
    (
        "dishonest_debtor",
        "Listed as a dishonest debtor",
        "列入失信被执行人名单",
        'event.type == "dishonest_debtor_listed"',
        "critical",
        "default_candidate",
        0,
        "The customer was listed as a dishonest judgment debtor (失信被执行人).",
    ),
    (
        "legal_representative_change",
        "Change of legal representative",
        "法定代表人变更",
        'event.type == "registry_change" && event.change == "legal_representative"',
        "low",
        "watch",
        0,
        "The registry shows a new legal representative.",
    ),
    (
        "capital_reduction",
        "Capital reduction",
        "减少注册资本",
        'event.type == "registry_change" && event.change == "capital_reduction"',
        "medium",
        "watch",
        0,
        "The registered capital was reduced.",
    ),
    (
        "order_spike",
        "Order spike",
        "订单激增",
        "features.orders_count_7d >= 5 && features.order_velocity_ratio >= 3.0",
        "medium",
        "watch",
        604800,
        "At least 5 orders in 7 days, at three times the customer's 90-day daily rate or more.",
    ),
    (
        "unusual_transaction",
        "Unusual transaction for this customer",
        "异常交易",
        'event.type == "transaction" && features.transaction_unusual',
        "medium",
        "watch",
        86400,
        "The amount is far from the customer's own recent transactions (robust z-score).",
    ),
]


def upgrade() -> None:
    op.create_table(
        "monitoring_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("occurred_at", WHEN, nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=True),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("received_by", sa.String(length=64), nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_monitoring_events_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_monitoring_events_event_id")),
    )
    op.create_index("ix_monitoring_events_customer", "monitoring_events", ["customer_id", "occurred_at"])
    op.create_table(
        "monitoring_dead_letters",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=True),
        sa.Column("raw", sa.JSON(), nullable=False),
        sa.Column("payload_hash", sa.String(length=64), nullable=False),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=2000), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("received_by", sa.String(length=64), nullable=False),
        sa.Column("received_at", WHEN, nullable=False),
        sa.Column("replayed_by", sa.String(length=64), nullable=True),
        sa.Column("replayed_at", WHEN, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_dead_letters")),
    )
    op.create_index(op.f("ix_monitoring_dead_letters_event_id"), "monitoring_dead_letters", ["event_id"])
    op.create_index("ix_monitoring_dead_letters_open", "monitoring_dead_letters", ["replayed_at", "id"])
    op.create_table(
        "monitoring_customer_state",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("behaviour", sa.JSON(), nullable=False),
        sa.Column("events_applied", sa.Integer(), nullable=False),
        sa.Column("last_occurred_at", WHEN, nullable=True),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_monitoring_customer_state_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_customer_state")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_monitoring_customer_state_customer_id")),
    )
    rules = op.create_table(
        "monitoring_rules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("name_zh", sa.String(length=200), nullable=False),
        sa.Column("expression", sa.String(length=4000), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("suppression_seconds", sa.Integer(), nullable=False),
        sa.Column("description", sa.String(length=2000), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", WHEN, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_rules")),
        sa.UniqueConstraint("rule_id", "version", name=op.f("uq_monitoring_rules_rule_id_version")),
    )
    op.create_index("ix_monitoring_rules_status", "monitoring_rules", ["status"])
    op.create_table(
        "monitoring_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.Integer(), nullable=False),
        sa.Column("rule_id", sa.String(length=64), nullable=False),
        sa.Column("rule_version", sa.Integer(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("tier", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("dedup_key", sa.String(length=256), nullable=False),
        sa.Column("event_id", sa.String(length=128), nullable=False),
        sa.Column("occurred_at", WHEN, nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("assignee", sa.String(length=64), nullable=True),
        sa.Column("sla_due_at", WHEN, nullable=False),
        sa.Column("close_reason", sa.String(length=2000), nullable=False),
        sa.Column("raised_at", WHEN, nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", WHEN, nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_monitoring_alerts_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_monitoring_alerts")),
        sa.UniqueConstraint("dedup_key", name=op.f("uq_monitoring_alerts_dedup_key")),
    )
    op.create_index("ix_monitoring_alerts_status", "monitoring_alerts", ["status", "id"])
    op.create_index("ix_monitoring_alerts_customer", "monitoring_alerts", ["customer_id", "rule_id", "occurred_at"])
    now = datetime.now(UTC)
    op.bulk_insert(
        rules,
        [
            {
                "rule_id": rule_id,
                "version": 1,
                "name": name,
                "name_zh": name_zh,
                "expression": expression,
                "severity": severity,
                "tier": tier,
                "status": "active",
                "suppression_seconds": suppression,
                "description": description,
                "created_by": "migration:0010",
                "created_at": now,
            }
            for rule_id, name, name_zh, expression, severity, tier, suppression, description in BUILTIN_RULES
        ],
    )


def downgrade() -> None:
    op.drop_index("ix_monitoring_alerts_customer", table_name="monitoring_alerts")
    op.drop_index("ix_monitoring_alerts_status", table_name="monitoring_alerts")
    op.drop_table("monitoring_alerts")
    op.drop_index("ix_monitoring_rules_status", table_name="monitoring_rules")
    op.drop_table("monitoring_rules")
    op.drop_table("monitoring_customer_state")
    op.drop_index("ix_monitoring_dead_letters_open", table_name="monitoring_dead_letters")
    op.drop_index(op.f("ix_monitoring_dead_letters_event_id"), table_name="monitoring_dead_letters")
    op.drop_table("monitoring_dead_letters")
    op.drop_index("ix_monitoring_events_customer", table_name="monitoring_events")
    op.drop_table("monitoring_events")
