"""Users and tokens over JSON (admins), and who-am-I for everyone."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Request

from riskdesk.security import service
from riskdesk.security.models import ApiToken, User
from riskdesk.security.permissions import ROLE_PERMISSIONS, Permission, Role
from riskdesk.security.schemas import TokenCreated, TokenIn, TokenOut, UserIn, UserOut, UserUpdate
from riskdesk.security.service import Principal
from riskdesk.web.deps import ContainerDep, SessionDep, actor_of, require

router = APIRouter(prefix="/api/v1", tags=["users"])

Admin = Annotated[Principal, require(Permission.users_manage)]
Anyone = Annotated[Principal, require(Permission.desk_use)]


def user_out(user: User) -> UserOut:
    role = Role(user.role)
    return UserOut(
        username=user.username,
        display_name=user.display_name,
        role=role,
        is_active=user.is_active,
        permissions=sorted(p.value for p in ROLE_PERMISSIONS[role]),
        created_at=user.created_at,
    )


def token_out(token: ApiToken, username: str) -> TokenOut:
    return TokenOut(
        id=token.id,
        username=username,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        last_used_at=token.last_used_at,
    )


@router.get("/me", response_model=UserOut)
def me(session: SessionDep, principal: Anyone) -> UserOut:
    return user_out(service.get_user(session, username=principal.username))


@router.get("/users", response_model=list[UserOut])
def list_users(session: SessionDep, principal: Admin) -> list[UserOut]:
    return [user_out(user) for user in service.list_users(session)]


@router.post("/users", status_code=201, response_model=UserOut)
def create_user(
    data: UserIn, request: Request, session: SessionDep, container: ContainerDep, principal: Admin
) -> UserOut:
    user = service.create_user(
        session,
        username=data.username,
        role=data.role,
        password=data.password.get_secret_value(),
        passwords=container.passwords,
        min_length=container.settings.password_min_length,
        actor=actor_of(request, principal),
        display_name=data.display_name,
    )
    return user_out(user)


@router.patch("/users/{username}", response_model=UserOut)
def update_user(username: str, data: UserUpdate, request: Request, session: SessionDep, principal: Admin) -> UserOut:
    actor = actor_of(request, principal)
    user = service.get_user(session, username=username)
    if data.role is not None and data.role.value != user.role:
        user = service.set_role(session, username=username, role=data.role, actor=actor)
    if data.is_active is not None and data.is_active != user.is_active:
        user = service.set_active(session, username=username, active=data.is_active, actor=actor)
    return user_out(user)


@router.get("/tokens", response_model=list[TokenOut])
def list_tokens(session: SessionDep, principal: Admin) -> list[TokenOut]:
    return [token_out(token, username) for token, username in service.list_tokens(session)]


@router.post("/tokens", status_code=201, response_model=TokenCreated)
def create_token(
    data: TokenIn, request: Request, session: SessionDep, container: ContainerDep, principal: Admin
) -> TokenCreated:
    token, secret = service.create_token(
        session,
        username=data.username,
        days=data.days or container.settings.token_days,
        name=data.name,
        actor=actor_of(request, principal),
        pepper=container.token_pepper,
    )
    return TokenCreated(**token_out(token, data.username.strip().lower()).model_dump(), token=secret)


@router.delete("/tokens/{token_id}", response_model=TokenOut)
def revoke_token(token_id: int, request: Request, session: SessionDep, principal: Admin) -> TokenOut:
    token = service.revoke_token(session, token_id=token_id, actor=actor_of(request, principal))
    user = session.get(User, token.user_id)
    return token_out(token, user.username if user else "")
