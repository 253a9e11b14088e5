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


@app.command("set-level")
@handles_errors
def set_level(
    username: str,
    level: str = typer.Option(..., "--level", help="an approval level of the credit policy; 'none' withdraws it"),
) -> None:
    """Give an approver an approval level of the credit policy (what each level may approve: `approval_levels`)."""
    if level.lower() != "none" and not level.isdigit():
        raise fail(f"--level must be a level number or 'none', not {level!r}")
    number = None if level.lower() == "none" else int(level)
    with session_scope() as session:
        service.set_approval_level(session, username=username, level=number, actor=cli_actor())
    typer.echo(f"{username} holds approval level {number if number is not None else 'none'}")
