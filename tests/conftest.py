"""Shared fixtures. Every database test runs on SQLite and on PostgreSQL, each test in a database of its own.

SQLite: a migrated template file is copied per test. PostgreSQL: a migrated template database is cloned per
test with ``CREATE DATABASE … TEMPLATE``; every database this run made is dropped at the end.
Without ``RISKDESK_REQUIRE_SERVICES=1`` the PostgreSQL half skips when the server is absent; with it, it fails.
"""

from __future__ import annotations

import itertools
import os
import random
import re
import shutil
import socket
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.cli import common
from riskdesk.config import Settings
from riskdesk.db import migrate
from riskdesk.db.session import build_engine
from riskdesk.demo.portfolio import make_resident_id, make_uscc
from riskdesk.security import service as security
from riskdesk.security.permissions import Role

POSTGRES_ADMIN_URL = os.environ.get("RISKDESK_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REQUIRE_SERVICES = os.environ.get("RISKDESK_REQUIRE_SERVICES") == "1"
TEST_PASSWORD = "correct-horse-battery"
RUN_ID = uuid.uuid4().hex[:8]
_counter = itertools.count()


def unavailable(reason: str) -> None:
    """Skip, or fail when CI demands the service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{reason} (RISKDESK_REQUIRE_SERVICES=1)")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _no_riskdesk_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's RISKDESK_* variables."""
    for name in list(os.environ):
        if name.startswith("RISKDESK_") and name not in (
            "RISKDESK_REQUIRE_SERVICES",
            "RISKDESK_REQUIRE_BROWSER",
            "RISKDESK_TEST_POSTGRES_URL",
            "RISKDESK_TEST_REDIS_URL",
        ):
            monkeypatch.delenv(name)


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "argon2_time_cost": 1,
        "argon2_memory_kib": 1024,
        "login_max_failures": 3,
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


# ── Databases ────────────────────────────────────────────────────────────────────────────────────────────


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    engine = build_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()  # the last connection to close checkpoints the WAL into the file we copy
    assert not Path(f"{path}-wal").exists()
    return path


class PostgresServer:
    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.made: list[str] = []
        self.template = f"riskdesk_tpl_{RUN_ID}"

    def url_for(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def create(self, name: str, template: str | None = None) -> str:
        with self.engine.connect() as connection:
            clause = f" TEMPLATE {template}" if template else ""
            connection.exec_driver_sql(f'CREATE DATABASE "{name}"{clause}')
        self.made.append(name)
        return self.url_for(name)

    def drop(self, name: str) -> None:
        with self.engine.connect() as connection:
            connection.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if name in self.made:
            self.made.remove(name)


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer | None]:
    try:
        server = PostgresServer(POSTGRES_ADMIN_URL)
        with server.engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except Exception as exc:  # any connection error means the server is not there
        yield None
        del exc
        return
    engine = build_engine(server.create(server.template))
    migrate.upgrade(engine)
    engine.dispose()
    yield server
    for name in [*server.made]:
        server.drop(name)
    server.engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, sqlite_template: Path, postgres: PostgresServer | None
) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "riskdesk.db"
        shutil.copyfile(sqlite_template, path)
        yield f"sqlite:///{path}"
        return
    if postgres is None:
        unavailable(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL}")
        return
    name = f"riskdesk_t_{RUN_ID}_{next(_counter)}"
    yield postgres.create(name, template=postgres.template)
    postgres.drop(name)


REDIS_URL = os.environ.get("RISKDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture
def redis_stream() -> Iterator[tuple[str, str]]:
    """(Redis URL, a stream name of this test's own); the stream is deleted afterwards. Nothing else is touched."""
    from redis import Redis

    client = Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except Exception:  # any connection error means the server is not there
        client.close()
        unavailable(f"Redis is not reachable at {REDIS_URL}")
        return
    name = f"riskdesk-test:{RUN_ID}:{next(_counter)}"
    yield REDIS_URL, name
    client.delete(name)
    client.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, data_dir=tmp_path)


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    built = Container(settings=settings)
    yield built
    built.dispose()


@pytest.fixture
def session(container: Container) -> Iterator[Session]:
    with container.session_factory() as db_session:
        yield db_session


# ── Factories ────────────────────────────────────────────────────────────────────────────────────────────

_rng = random.Random(20261128)


def new_uscc(division: str = "330106") -> str:
    return make_uscc(_rng, division)


def new_resident_id(born: str = "1985-06-15", male: bool = True, division: str = "110105") -> str:
    from datetime import date

    return make_resident_id(_rng, division, date.fromisoformat(born), male)


def company_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "kind": "company",
        "name": f"杭州测试科技有限公司{next(_counter)}",
        "uscc": new_uscc(),
        "legal_representative": "王芳",
        "registered_capital": {"amount": "5000000.00", "currency": "CNY"},
        "industry_code": "I6510",
        "status": "active",
    }
    payload.update(overrides)
    return payload


def individual_payload(**overrides: Any) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "kind": "individual",
        "name": "李娜",
        "id_number": new_resident_id(),
        "phone": "13912345678",
        "home_address": "北京市朝阳区建设路88号",
        "bank_account": "6222020200112233445",
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def make_user(container: Container) -> Callable[..., str]:
    def _make(role: Role, username: str | None = None) -> str:
        name = username or f"{role.value.replace('_', '')}{next(_counter)}"
        with container.session_factory.begin() as db_session:
            security.create_user(
                db_session,
                username=name,
                role=role,
                password=TEST_PASSWORD,
                passwords=container.passwords,
                min_length=8,
                actor=Actor("test"),
            )
        return name

    return _make


@pytest.fixture
def token_for(container: Container, make_user: Callable[..., str]) -> Callable[[Role], dict[str, str]]:
    """Authorization headers of a fresh user with the given role."""

    def _headers(role: Role) -> dict[str, str]:
        username = make_user(role)
        with container.session_factory.begin() as db_session:
            _, secret = security.create_token(
                db_session, username=username, days=1, actor=Actor("test"), pepper=container.token_pepper
            )
        return {"Authorization": f"Bearer {secret}"}

    return _headers


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    from riskdesk.web.app import create_app

    with TestClient(create_app(container)) as test_client:
        yield test_client


@pytest.fixture
def run(container: Container, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRunner]:
    """The ``riskdesk`` command against the test's database."""
    monkeypatch.setenv("RISKDESK_DATABASE_URL", container.settings.database_url)
    monkeypatch.setenv("RISKDESK_ARGON2_MEMORY_KIB", "1024")
    monkeypatch.setenv("RISKDESK_ARGON2_TIME_COST", "1")
    common.container.cache_clear()
    yield CliRunner()
    if common.container.cache_info().currsize:
        common.container().dispose()
    common.container.cache_clear()


@pytest.fixture
def desk(client: TestClient, make_user: Callable[..., str]) -> Callable[[Role], TestClient]:
    """The test client signed in to the desk as a fresh user of the given role."""
    from tests.security.test_auth import login

    def _as(role: Role) -> TestClient:
        client.cookies.clear()
        status, _ = login(client, make_user(role), TEST_PASSWORD)
        assert status == 303
        return client

    return _as


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
