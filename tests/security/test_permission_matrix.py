"""Every API route and page × every role: allowed roles get through, the others get 403.

The permission a route needs is read from its RequirePermission dependency, so a new route without one fails
``test_every_route_names_exactly_one_permission`` until it declares what it needs.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.bootstrap import Container
from riskdesk.config import Settings
from riskdesk.customers import service as customers
from riskdesk.customers.schemas import CUSTOMER_CREATE
from riskdesk.security import service as security
from riskdesk.security.permissions import ROLE_PERMISSIONS, Permission, Role
from riskdesk.web.app import create_app
from riskdesk.web.deps import RequirePermission
from tests.conftest import TEST_PASSWORD, company_payload, make_settings

PUBLIC = {("GET", "/healthz"), ("GET", "/login"), ("POST", "/login"), ("GET", "/lang/{code}")}


def permission_dependencies(route: APIRoute) -> list[RequirePermission]:
    found: list[RequirePermission] = []

    def walk(dependant: Any) -> None:
        for dependency in dependant.dependencies:
            if isinstance(dependency.call, RequirePermission):
                found.append(dependency.call)
            walk(dependency)

    walk(route.dependant)
    return found


def flat_routes(candidates: Any) -> Iterator[Any]:
    """FastAPI keeps included routers as nodes; our routers carry their own prefix, so leaves are complete."""
    for route in candidates:
        included = getattr(route, "original_router", None)
        if included is not None:
            yield from flat_routes(included.routes)
        else:
            yield route


def routes(app: FastAPI) -> list[tuple[str, str, APIRoute]]:
    return [
        (method, route.path, route)
        for route in flat_routes(app.routes)
        if isinstance(route, APIRoute)
        for method in sorted(route.methods)
    ]


def test_every_route_names_exactly_one_permission(tmp_path: Any) -> None:
    app = create_app(Container(settings=make_settings(f"sqlite:///{tmp_path}/x.db")))
    for method, path, route in routes(app):
        needed = permission_dependencies(route)
        if (method, path) in PUBLIC:
            assert needed == [], f"{method} {path} is public but declares {needed}"
        else:
            assert len(needed) == 1, f"{method} {path} must declare exactly one permission, has {len(needed)}"


@pytest.fixture(scope="module")
def matrix_world(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Any) -> Iterator[dict[str, Any]]:
    """One SQLite database with a customer, a token and one user and session per role (module-scoped: fast)."""
    import shutil

    path = tmp_path_factory.mktemp("matrix") / "matrix.db"
    shutil.copyfile(sqlite_template, path)
    settings: Settings = make_settings(f"sqlite:///{path}")
    container = Container(settings=settings)
    world: dict[str, Any] = {"container": container, "headers": {}, "principals": {}}
    with container.session_factory.begin() as session:
        customer = customers.create_customer(
            session,
            data=CUSTOMER_CREATE.validate_python(company_payload()),
            keyring=container.keyring,
            actor=Actor("test"),
        )
        world["customer_id"] = customer.id
        for role in Role:
            name = f"matrix_{role.value}"
            security.create_user(
                session,
                username=name,
                role=role,
                password=TEST_PASSWORD,
                passwords=container.passwords,
                min_length=8,
                actor=Actor("test"),
            )
            _, secret = security.create_token(
                session, username=name, days=1, actor=Actor("test"), pepper=container.token_pepper
            )
            world["headers"][role] = {"Authorization": f"Bearer {secret}"}
            user = security.get_user(session, username=name)
            principal = security.Principal(user.id, name, role)
            world["principals"][role] = principal
        # Routes that revoke a token or deactivate a user act on a spare user, never on the roles under test.
        security.create_user(
            session,
            username="matrix_spare",
            role=Role.analyst,
            password=TEST_PASSWORD,
            passwords=container.passwords,
            min_length=8,
            actor=Actor("test"),
        )
        spare_token, _ = security.create_token(
            session, username="matrix_spare", days=1, actor=Actor("test"), pepper=container.token_pepper
        )
        world["token_id"] = spare_token.id
        audit.checkpoint(session, block_size=1024)
    world["app"] = create_app(container)
    yield world
    container.dispose()


def concrete(path: str, world: dict[str, Any]) -> str:
    values = {
        "customer_id": world["customer_id"],
        "username": "matrix_spare",
        "token_id": world["token_id"],
        "seq": 1,
        "relationship_id": 999_999,
        "hit_id": 999_999,
        "proposal_id": 999_999,
        "check_id": 999_999,
        "version_id": 999_999,
        "group_id": 999_999,
        "document_id": 999_999,
        "task_id": 999_999,
        "alert_id": 999_999,
        "dead_letter_id": 999_999,
        "rule_id": "matrix_rule",
        "version": 1,
        "notification_id": 999_999,
        "subscription_id": 999_999,
        "name": "matrix-list",
        "code": "zh",
    }
    return re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)


CASES = [
    (method, path, role)
    for method, path, route in routes(create_app(Container(settings=make_settings("sqlite:///:memory:"))))
    if (method, path) not in PUBLIC
    for role in Role
]


@pytest.mark.parametrize(("method", "path", "role"), CASES, ids=[f"{m} {p} as {r.value}" for m, p, r in CASES])
def test_route_admits_exactly_the_roles_with_its_permission(
    matrix_world: dict[str, Any], method: str, path: str, role: Role
) -> None:
    app: FastAPI = matrix_world["app"]
    route = next(r for m, p, r in routes(app) if (m, p) == (method, path))
    needed: Permission = permission_dependencies(route)[0].permission
    page = permission_dependencies(route)[0].page
    with TestClient(app) as client:
        url = concrete(path, matrix_world)
        if page:
            # A session of its own per case: the logout route ends the one it is given.
            with matrix_world["container"].session_factory.begin() as session:
                web, cookie = security.start_web_session(
                    session,
                    principal=matrix_world["principals"][role],
                    hours=1,
                    pepper=matrix_world["container"].token_pepper,
                )
                csrf = web.csrf_token
            client.cookies.set("rd_session", cookie)
            response = client.request(method, url, headers={"X-CSRF-Token": csrf}, follow_redirects=False)
        else:
            response = client.request(method, url, headers=matrix_world["headers"][role], json={})
    allowed = needed in ROLE_PERMISSIONS[role]
    if allowed:
        assert response.status_code not in (401, 403), (
            f"{role.value} should pass {method} {path}: {response.text[:200]}"
        )
    else:
        assert response.status_code == 403, f"{role.value} must be refused {method} {path}, got {response.status_code}"
