"""The ``riskdesk`` command. Each feature's commands are imported only when they run, so ``--help`` is fast."""

from __future__ import annotations

import importlib
from typing import Any

import typer
from typer.core import TyperGroup

# name → (module with a Typer ``app``, one-line help shown by ``riskdesk --help`` without importing it)
LAZY_COMMANDS: dict[str, tuple[str, str]] = {
    "db": ("riskdesk.db.cli", "Migrate the database and check it is at head."),
    "users": ("riskdesk.security.cli", "Create users, change roles, list the permission matrix."),
    "tokens": ("riskdesk.security.tokens_cli", "Create, list and revoke API bearer tokens."),
    "keys": ("riskdesk.security.keys_cli", "Generate encryption keys and re-encrypt under a new one."),
    "audit": ("riskdesk.audit.cli", "Verify the ledger, write Merkle checkpoints, print inclusion proofs."),
    "credit": ("riskdesk.credit.cli", "Review expiring limits; load exchange rates and open items (exposure)."),
    "customers": ("riskdesk.customers.cli", "Import customers from CSV or JSON Lines."),
    "events": ("riskdesk.monitoring.cli:events_app", "Send monitoring events from a file; dead letters."),
    "monitor": (
        "riskdesk.monitoring.cli:monitor_app",
        "Monitoring rules, the alert queue, the watch list, the stream worker.",
    ),
    "notifications": ("riskdesk.comms.cli", "Deliver alert notifications (webhooks, e-mail); the outbox."),
    "documents": ("riskdesk.verification.registry_cli:documents_app", "Turn documents expiring soon into tasks."),
    "demo": ("riskdesk.demo.cli", "Build a seeded demo portfolio in a fresh database and serve the desk."),
    "ids": ("riskdesk.verification.ids_cli", "Check unified social credit codes, resident ID numbers and LEIs."),
    "model": ("riskdesk.scoring.model_cli", "Train, evaluate and score probability-of-default models."),
    "scorecard": ("riskdesk.scoring.cli", "Train a points scorecard on labelled data and score with it."),
    "screen": ("riskdesk.verification.cli", "Screen a name against the watchlists; compare two names; re-screen."),
    "registry": ("riskdesk.verification.registry_cli:registry_app", "Import registry snapshots for verification."),
    "verify": ("riskdesk.verification.registry_cli:verify_app", "Verify customers against the registry and screening."),
    "watchlist": ("riskdesk.verification.watchlist_cli", "Import watchlists (CSV, FollowTheMoney) and list them."),
    "serve": ("riskdesk.web.cli", "Serve the web desk and the API."),
}


class LazyGroup(TyperGroup):
    # Typer vendors its own click; its Context and Command types are private, hence Any here.
    def list_commands(self, ctx: Any) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(LAZY_COMMANDS))

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name in LAZY_COMMANDS:
            module_name, _, attribute = LAZY_COMMANDS[cmd_name][0].partition(":")
            module = importlib.import_module(module_name)
            command = typer.main.get_command(getattr(module, attribute or "app"))
            command.name = cmd_name
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: Any, formatter: Any) -> None:
        rows = [(name, LAZY_COMMANDS[name][1]) for name in sorted(LAZY_COMMANDS)]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


app = typer.Typer(
    cls=LazyGroup,
    help="riskdesk — the desk of a company's risk-control unit. Settings come from RISKDESK_* variables.",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


@app.callback()
def main() -> None:
    """riskdesk — the desk of a company's risk-control unit."""


@app.command("version", hidden=True)
def version() -> None:
    from riskdesk import __version__

    typer.echo(__version__)
