"""``riskdesk notifications deliver|list|retry``: run the deliverer, read the outbox, send a failed one again."""

from __future__ import annotations

import time

import typer

from riskdesk.cli.common import cli_actor, container, err, handles_errors, session_scope

app = typer.Typer(help="Deliver alert notifications (webhooks, e-mail) and read the outbox.", no_args_is_help=True)


@app.command()
@handles_errors
def deliver(
    once: bool = typer.Option(False, "--once", help="one round, then exit (for cron)"),
    interval: float = typer.Option(30.0, "--interval", min=1.0, help="seconds between rounds"),
    limit: int = typer.Option(100, "--limit", min=1, max=1000, help="notifications claimed per round"),
) -> None:
    """Send the notifications that are due, retrying failed attempts with back-off; runs until stopped.

    Several deliverers may run at once (on several hosts): each row is leased to one of them while it is sent.
    """
    c = container()
    try:
        while True:
            report = c.deliver_notifications(limit=limit)
            if report.claimed or once:
                typer.echo(", ".join(f"{value} {key}" for key, value in report.counts().items()))
            if once:
                return
            if report.claimed < limit:  # a full round: more may be due at once
                time.sleep(interval)
    except KeyboardInterrupt:
        err.print("stopped", highlight=False)


@app.command("list")
@handles_errors
def list_notifications(
    status: str = typer.Option("", "--status", help="pending, delivered or failed (default: all)"),
    limit: int = typer.Option(50, "--limit", min=1, max=500),
) -> None:
    """The outbox, newest first: id, status, attempts, alert, channel, recipient, last error."""
    from riskdesk.comms import service
    from riskdesk.comms.deliverer import MAX_ATTEMPTS

    if status and status not in service.STATUSES:
        raise ValueError(f"--status must be one of {', '.join(service.STATUSES)}")
    with session_scope() as session:
        rows, total = service.list_notifications(session, status=status or None, limit=limit)
        for row in rows:
            typer.echo(
                f"{row.id}\t{row.status}\t{row.attempts}/{MAX_ATTEMPTS}\talert {row.alert_id}\t"
                f"{row.subscription.channel}\t{row.subscription.target}\t{row.last_error}"
            )
    err.print(f"{total} notifications", highlight=False)


@app.command()
@handles_errors
def retry(notification_id: int = typer.Argument(..., help="the notification's id")) -> None:
    """Queue a failed notification again; the deliverer sends it on its next round."""
    from riskdesk.comms import service

    with session_scope() as session:
        service.retry(session, notification_id=notification_id, actor=cli_actor())
    typer.echo(f"notification {notification_id} queued again")
