"""What every command shares: the container, one unit of work, and errors printed as plain messages."""

from __future__ import annotations

import functools
import getpass
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ParamSpec, TypeVar

import typer
from rich.console import Console
from sqlalchemy.orm import Session

from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container, build_container
from riskdesk.config import InsecureSettings
from riskdesk.db.session import unit_of_work
from riskdesk.errors import DomainError

P = ParamSpec("P")
R = TypeVar("R")
err = Console(stderr=True)


def cli_actor() -> Actor:
    """Commands act as ``cli:<OS user>``: the ledger says who ran them even without a riskdesk login."""
    try:
        who = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry in some containers
        who = "unknown"
    return Actor(f"cli:{who}"[:64])


@functools.cache
def container() -> Container:
    return build_container()


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction; events the services recorded are handled before it commits."""
    with unit_of_work(container().session_factory) as session:
        yield session
        container().dispatch_events(session)


def fail(message: str, code: int = 1) -> typer.Exit:
    err.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def handles_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Domain errors and unsafe settings become one red line and exit code 1, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except DomainError as exc:
            for detail in exc.details:
                where = f"line {detail.line}, " if detail.line else ""
                err.print(f"  {where}{detail.field or '-'}: {detail.reason}", highlight=False, soft_wrap=True)
            raise fail(exc.message) from None
        except (InsecureSettings, ValueError) as exc:
            raise fail(str(exc)) from None

    return wrapper


def echo_json(value: Any) -> None:
    import json

    typer.echo(json.dumps(value, ensure_ascii=False, indent=2, default=str))
