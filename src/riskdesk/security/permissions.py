"""Roles and the permission matrix. Every API route and page names exactly one permission it needs.

The matrix is data, not scattered ``if role == ...`` checks, so it can be printed (``riskdesk users
roles``), documented and tested route by route.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    analyst = "analyst"
    credit_officer = "credit_officer"
    approver = "approver"
    compliance_officer = "compliance_officer"
    admin = "admin"


class Permission(StrEnum):
    customers_read = "customers:read"
    customers_write = "customers:write"
    customers_import = "customers:import"
    personal_data_read = "personal_data:read"  # see sensitive personal values unmasked
    screening_read = "screening:read"  # see hits, watchlists, screen a name
    screening_decide = "screening:decide"  # confirm or dismiss hits, screen a customer now
    watchlists_manage = "watchlists:manage"  # import watchlists and registry snapshots
    verification_run = "verification:run"  # verify a customer against the registry
    credit_assess = "credit:assess"  # score, grade and propose a limit
    credit_approve = "credit:approve"  # decide on others' proposals and credit blocks, within one's approval level
    credit_check = "credit:check"  # ask whether an order may go out on credit (the ERP's token)
    exposure_write = "exposure:write"  # report open orders, deliveries, invoices; load exchange rates
    models_manage = "models:manage"  # register PD models, ask for their promotion, set overlays, rescore
    events_ingest = "events:ingest"  # send monitoring events; see and replay dead letters
    alerts_work = "alerts:work"  # investigate, escalate, assign and close monitoring alerts
    watch_list_decide = "watch_list:decide"  # consent to or refuse taking a customer off the watch list
    rules_write = "rules:write"  # write monitoring rule drafts: new rules, new versions, edits of a draft
    rules_activate = "rules:activate"  # switch a rule version on (never one's own) or off
    audit_read = "audit:read"
    audit_verify = "audit:verify"
    users_manage = "users:manage"
    notifications_read = "notifications:read"  # see the notification outbox and the subscriptions
    notifications_manage = "notifications:manage"  # add and change subscriptions, retry a notification
    desk_use = "desk:use"  # any signed-in user: home page, own profile, logout


# Every role reads the outbox: it shows the alerts everyone sees on the queue, and where they were sent.
_EVERYONE = {Permission.desk_use, Permission.customers_read, Permission.notifications_read}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # Analysts investigate and collect customer data; they enter ID numbers but see them masked.
    Role.analyst: frozenset(
        _EVERYONE
        | {
            Permission.customers_write,
            Permission.customers_import,
            Permission.screening_read,
            Permission.screening_decide,
            Permission.verification_run,
            Permission.events_ingest,
            Permission.alerts_work,
            Permission.rules_write,
        }
    ),
    # Credit officers assess customers and need the full identity of individuals and guarantors.
    Role.credit_officer: frozenset(
        _EVERYONE
        | {
            Permission.customers_write,
            Permission.customers_import,
            Permission.personal_data_read,
            Permission.credit_assess,
            Permission.credit_check,
            Permission.exposure_write,
            Permission.models_manage,
            Permission.events_ingest,
            Permission.alerts_work,
            Permission.rules_write,
            Permission.screening_read,
            Permission.screening_decide,
            Permission.verification_run,
        }
    ),
    # Approvers decide on what others propose; they read, they do not edit master data.
    # They also take escalated monitoring alerts, decide who leaves the watch list and switch monitoring rules on and
    # off (not their own).
    Role.approver: frozenset(
        _EVERYONE
        | {
            Permission.screening_read,
            Permission.credit_approve,
            Permission.alerts_work,
            Permission.watch_list_decide,
            Permission.rules_activate,
        }
    ),
    # Compliance answers rights requests and audits: full personal data and the ledger, no edits.
    # Compliance also owns the watchlists and reviews screening hits.
    Role.compliance_officer: frozenset(
        _EVERYONE
        | {
            Permission.personal_data_read,
            Permission.audit_read,
            Permission.audit_verify,
            Permission.screening_read,
            Permission.screening_decide,
            Permission.verification_run,
            Permission.watchlists_manage,
        }
    ),
    # Admins run users and settings; they read customers masked and can verify the ledger.
    Role.admin: frozenset(
        _EVERYONE
        | {
            Permission.users_manage,
            Permission.audit_read,
            Permission.audit_verify,
            Permission.watchlists_manage,
            Permission.rules_activate,
            Permission.notifications_manage,
        }
    ),
}
