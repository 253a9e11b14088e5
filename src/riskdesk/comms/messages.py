"""What a notification says: the e-mail of an alert in Chinese and English, from the outbox payload. Pure."""

from __future__ import annotations

from typing import Any

SEVERITY_ZH = {"low": "低", "medium": "中", "high": "高", "critical": "严重"}
TIER_ZH = {"watch": "关注", "early_warning": "预警", "default_candidate": "违约候选"}


def link(payload: dict[str, Any], public_url: str) -> str:
    """The desk's page of the alert: absolute when the installation's public URL is set."""
    return public_url.rstrip("/") + str(payload["links"]["desk"])


def alert_subject(payload: dict[str, Any]) -> str:
    alert, customer = payload["alert"], payload["customer"]
    severity = str(alert["severity"])
    who = customer.get("name") or f"#{customer['id']}"
    subject = (
        f"[riskdesk] 预警 {severity.upper()}: {alert['rule_name_zh']} — {who}"
        f" / alert {SEVERITY_ZH.get(severity, severity)}: {alert['rule_name']}"
    )
    return subject[:250]


def alert_text(payload: dict[str, Any], *, public_url: str = "") -> str:
    alert, customer = payload["alert"], payload["customer"]
    severity, tier = str(alert["severity"]), str(alert["tier"])
    who = f"{customer.get('name') or '—'} (#{customer['id']})"
    lines = [
        "风控台预警 · riskdesk alert",
        "",
        f"客户 / Customer: {who}",
        f"规则 / Rule: {alert['rule_name_zh']} / {alert['rule_name']} ({alert['rule_id']} v{alert['rule_version']})",
        f"严重程度 / Severity: {SEVERITY_ZH.get(severity, severity)} / {severity}",
        f"层级 / Tier: {TIER_ZH.get(tier, tier)} / {tier.replace('_', ' ')}",
        f"事件 / Event: {alert['event_type']} {alert['event_id']}, {alert['occurred_at']}",
        f"处理时限 / SLA due: {alert['sla_due_at']}",
    ]
    values = alert.get("values") or {}
    if values:
        lines += ["", "依据 / Evidence:"]
        lines += [f"  {name} = {value}" for name, value in values.items()]
    lines += ["", f"查看 / Open: {link(payload, public_url)}", ""]
    return "\n".join(lines)
