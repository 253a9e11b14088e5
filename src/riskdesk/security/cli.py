"""``riskdesk users …``."""

from __future__ import annotations

import sys

import typer

from riskdesk.cli.common import cli_actor, container, echo_json, fail, handles_errors, session_scope
from riskdesk.security import service
from riskdesk.security.permissions import ROLE_PERMISSIONS, Permission, Role

app = typer.Typer(help="Create users, change roles, list the permission matrix.", no_args_is_help=True)


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise fail("--password-stdin was given but standard input had no password line")
        return password
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@app.command()
@handles_errors
def create(
    username: str,
    role: Role = typer.Option(..., "--role", help="analyst, credit_officer, approver, compliance_officer or admin"),
    password_stdin: bool = typer.Option(False, "--password-stdin", help="read the password from standard input"),
    display_name: str = typer.Option("", "--name", help="the person's name as shown in the desk"),
) -> None:
    """Create a user. The password is asked for twice, or read from standard input."""
    password = _read_password(password_stdin)
    c = container()
    with session_scope() as session:
        user = service.create_user(
            session,
            username=username,
            role=role,
            password=password,
            passwords=c.passwords,
            min_length=c.settings.password_min_length,
            actor=cli_actor(),
            display_name=display_name,
        )
        typer.echo(f"created {user.username} ({user.role})")


@app.command("list")
@handles_errors
def list_users() -> None:
    with session_scope() as session:
        for user in service.list_users(session):
            state = "active" if user.is_active else "deactivated"
            typer.echo(f"{user.username:24} {user.role:20} {state}")


@app.command("set-role")
@handles_errors
def set_role(username: str, role: Role = typer.Option(..., "--role")) -> None:
    with session_scope() as session:
        service.set_role(session, username=username, role=role, actor=cli_actor())
    typer.echo(f"{username} is now {role.value}")


@app.command()
@handles_errors
def deactivate(username: str) -> None:
    """Deactivate a user; their sessions and tokens stop working at once."""
    with session_scope() as session:
        service.set_active(session, username=username, active=False, actor=cli_actor())
    typer.echo(f"{username} deactivated")


@app.command()
@handles_errors
def activate(username: str) -> None:
    with session_scope() as session:
        service.set_active(session, username=username, active=True, actor=cli_actor())
    typer.echo(f"{username} activated")


@app.command("set-password")
@handles_errors
def set_password(username: str, password_stdin: bool = typer.Option(False, "--password-stdin")) -> None:
    password = _read_password(password_stdin)
    c = container()
    with session_scope() as session:
        service.change_password(
            session,
            username=username,
            password=password,
            passwords=c.passwords,
            min_length=c.settings.password_min_length,
            actor=cli_actor(),
        )
    typer.echo(f"password of {username} changed")


@app.command()
def roles() -> None:
    """Print the permission matrix as JSON."""
    echo_json(
        {role.value: sorted(p.value for p in ROLE_PERMISSIONS[role]) for role in Role}
        | {"_permissions": [p.value for p in Permission]}
    )


@app.command("set-authority")
@handles_errors
def set_authority(
    username: str,
    maximum: str = typer.Option(..., "--max", help="the largest credit limit they may approve; 'none' withdraws it"),
) -> None:
    """Give an approver authority to approve credit limits up to an amount (in the limit's currency)."""
    from decimal import Decimal, InvalidOperation

    try:
        amount = None if maximum.lower() == "none" else Decimal(maximum.replace(",", ""))
    except InvalidOperation:
        raise fail(f"--max must be an amount or 'none', not {maximum!r}") from None
    with session_scope() as session:
        service.set_approval_authority(session, username=username, amount=amount, actor=cli_actor())
    typer.echo(f"{username} may approve limits up to {amount if amount is not None else 'nothing'}")
