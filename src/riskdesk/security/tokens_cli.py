"""``riskdesk tokens …``."""

from __future__ import annotations

import typer

from riskdesk.cli.common import cli_actor, container, fail, handles_errors, session_scope
from riskdesk.security import service

app = typer.Typer(help="Create, list and revoke API bearer tokens.", no_args_is_help=True)


@app.command()
@handles_errors
def create(
    username: str,
    days: int = typer.Option(0, "--days", min=0, max=3650, help="days until it expires (default RISKDESK_TOKEN_DAYS)"),
    name: str = typer.Option("", "--name", help="what the token is for"),
) -> None:
    """Print a new token alone on standard output. Only its hash is stored: keep it now."""
    c = container()
    with session_scope() as session:
        _, secret = service.create_token(
            session,
            username=username,
            days=days or c.settings.token_days,
            name=name,
            actor=cli_actor(),
            pepper=c.token_pepper,
        )
    typer.echo(secret)


@app.command("list")
@handles_errors
def list_tokens(username: str = typer.Argument(None)) -> None:
    with session_scope() as session:
        for token, owner in service.list_tokens(session, username=username):
            state = "revoked" if token.revoked_at else f"expires {token.expires_at:%Y-%m-%d}"
            typer.echo(f"{token.id:6} {token.prefix:12} {owner:20} {state:22} {token.name}")


@app.command()
@handles_errors
def revoke(
    token_id: int = typer.Argument(None, help="the token's id (see `riskdesk tokens list`)"),
    prefix: str = typer.Option(None, "--prefix", help="or the token's first characters, e.g. rdk_AbCdEf"),
) -> None:
    """Revoke a token at once."""
    if token_id is None and not prefix:
        raise fail("give the token id or --prefix")
    with session_scope() as session:
        token = service.revoke_token(session, token_id=token_id, prefix=prefix, actor=cli_actor())
        typer.echo(f"revoked token {token.id} ({token.prefix})")
