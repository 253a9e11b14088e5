"""Users, sign-in with rate limiting, API tokens and web sessions. Every event goes to the ledger."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from riskdesk.audit import service as audit
from riskdesk.audit.service import Actor
from riskdesk.db.types import utcnow
from riskdesk.errors import AuthenticationRequired, Conflict, NotFound, TooManyAttempts, ValidationFailed
from riskdesk.security.models import ApiToken, LoginAttempt, User, WebSession
from riskdesk.security.passwords import Passwords
from riskdesk.security.permissions import ROLE_PERMISSIONS, Permission, Role

log = structlog.get_logger("riskdesk.security")

TOKEN_PREFIX = "rdk_"  # noqa: S105 - a label that makes leaked tokens greppable, not a secret
USERNAME_RE = re.compile(r"^[a-z0-9][a-z0-9_.\-]{1,62}$")


@dataclass(frozen=True)
class Principal:
    """The signed-in user as the rest of the system sees them."""

    user_id: int
    username: str
    role: Role
    display_name: str = ""

    @property
    def permissions(self) -> frozenset[Permission]:
        return ROLE_PERMISSIONS[self.role]

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions


def _principal(user: User) -> Principal:
    return Principal(user.id, user.username, Role(user.role), user.display_name)


def _digest(secret: str, pepper: bytes) -> str:
    """Tokens and session ids are stored as HMAC-SHA256 under a key derived from RISKDESK_SECRET_KEY:
    a copy of the database alone cannot confirm a guessed token. Changing the secret signs everyone out."""
    return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


def check_password_policy(password: str, *, min_length: int) -> None:
    if len(password) < min_length:
        raise ValidationFailed(f"the password must have at least {min_length} characters")


def create_user(
    session: Session,
    *,
    username: str,
    role: Role,
    password: str,
    passwords: Passwords,
    min_length: int,
    actor: Actor,
    display_name: str = "",
) -> User:
    username = username.strip().lower()
    if not USERNAME_RE.match(username):
        raise ValidationFailed(
            f"username {username!r} must be 2-63 characters of a-z, 0-9, '_', '.', '-', starting with a letter or digit"
        )
    check_password_policy(password, min_length=min_length)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"user {username!r} already exists; choose another name or change that user's role")
    user = User(username=username, role=role.value, password_hash=passwords.hash(password), display_name=display_name)
    session.add(user)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="user.created",
        entity_type="user",
        entity_id=user.id,
        changes={"username": username, "role": role.value},
    )
    return user


def get_user(session: Session, *, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username.strip().lower()))
    if user is None:
        raise NotFound(f"no user is called {username!r}; `riskdesk users list` shows them")
    return user


def user_id_of(session: Session, *, username: str) -> int | None:
    return session.scalar(select(User.id).where(User.username == username.strip().lower()))


def usernames(session: Session, *, user_ids: set[int]) -> dict[int, str]:
    """Usernames by id, in one query (for lists that show who owns what)."""
    if not user_ids:
        return {}
    return dict(session.execute(select(User.id, User.username).where(User.id.in_(user_ids))).all())


def list_users(session: Session) -> list[User]:
    return list(session.scalars(select(User).order_by(User.username)))


def set_role(session: Session, *, username: str, role: Role, actor: Actor) -> User:
    user = get_user(session, username=username)
    old = user.role
    user.role = role.value
    audit.append(
        session,
        actor=actor,
        action="user.role_changed",
        entity_type="user",
        entity_id=user.id,
        changes={"role": {"old": old, "new": role.value}},
    )
    return user


def set_approval_level(session: Session, *, username: str, level: int | None, actor: Actor) -> User:
    """The credit policy's approval level ``username`` holds (None withdraws the authority); what each level may
    approve is the policy's to say, so that changing it needs no change of users."""
    if level is not None and level < 1:
        raise ValidationFailed("an approval level is a number of 1 or more (see the credit policy's approval_levels)")
    user = get_user(session, username=username)
    old = user.approval_level
    user.approval_level = level
    audit.append(
        session,
        actor=actor,
        action="user.authority_changed",
        entity_type="user",
        entity_id=user.id,
        changes={"approval_level": {"old": old, "new": level}},
    )
    return user


def set_active(session: Session, *, username: str, active: bool, actor: Actor) -> User:
    user = get_user(session, username=username)
    if not active and user.username == actor.name:
        raise ValidationFailed("you cannot deactivate yourself; ask another admin")
    user.is_active = active
    if not active:
        now = utcnow()
        for token in session.scalars(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        ):
            token.revoked_at = now
        for web in session.scalars(
            select(WebSession).where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))
        ):
            web.ended_at = now
    audit.append(
        session,
        actor=actor,
        action="user.activated" if active else "user.deactivated",
        entity_type="user",
        entity_id=user.id,
    )
    return user


# ── Sign-in ──────────────────────────────────────────────────────────────────────────────────────────────


# Failures for one username from all addresses together that lock it for everyone, as a multiple of the
# per-address limit: one address can lock a name only for itself, many addresses guessing together lock it.
_ALL_ADDRESSES_FACTOR = 4


def _failures_since_last_success(
    session: Session, *, username: str, since: datetime, client_ip: str | None
) -> list[datetime]:
    query = select(LoginAttempt.attempted_at).where(
        LoginAttempt.username == username, LoginAttempt.succeeded.is_(False), LoginAttempt.attempted_at >= since
    )
    success = select(func.max(LoginAttempt.attempted_at)).where(
        LoginAttempt.username == username, LoginAttempt.succeeded.is_(True)
    )
    if client_ip is not None:
        query = query.where(LoginAttempt.client_ip == client_ip)
    last_success = session.scalar(success)
    failures = list(session.scalars(query.order_by(LoginAttempt.attempted_at)))
    return [at for at in failures if last_success is None or at > last_success]


def authenticate(
    session: Session,
    *,
    username: str,
    password: str,
    passwords: Passwords,
    client_ip: str,
    max_failures: int,
    lockout_minutes: int,
    request_id: str = "",
) -> Principal:
    """Check a password, refusing while the name is locked for this address (``max_failures`` failures in
    the window) or for every address (four times as many from anywhere).

    The caller commits even when this raises: the failed attempt and its ledger entry must be kept.
    """
    username = username.strip().lower()[:64]
    if session.get_bind().dialect.name == "postgresql":
        # Count-then-insert must not interleave for one name, or parallel guesses all see "below the limit".
        session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:name))"), {"name": f"login:{username}"})
    now = utcnow()
    window = timedelta(minutes=lockout_minutes)
    from_here = _failures_since_last_success(session, username=username, since=now - window, client_ip=client_ip)
    from_anywhere = _failures_since_last_success(session, username=username, since=now - window, client_ip=None)
    for failures, limit in ((from_here, max_failures), (from_anywhere, max_failures * _ALL_ADDRESSES_FACTOR)):
        if len(failures) >= limit:
            retry_after = max(1, int((failures[-limit] + window - now).total_seconds()))
            log.warning("login.locked", username=username, client_ip=client_ip, failures=len(failures))
            raise TooManyAttempts(
                f"too many failed sign-ins for {username!r}; try again in {retry_after // 60 + 1} minutes"
                " or ask an admin to reset the password",
                retry_after_seconds=retry_after,
            )
    user = session.scalar(select(User).where(User.username == username))
    ok = passwords.verify(user.password_hash if user else None, password) and bool(user and user.is_active)
    session.add(LoginAttempt(username=username, client_ip=client_ip, succeeded=ok, attempted_at=now))
    # The ledger is permanent: a name typed by mistake (or a password typed into the name field) must not be
    # kept there, so attempts on names that are not users are recorded without the name.
    audit.append(
        session,
        actor=Actor(user.username if user else "unknown-user", request_id),
        action="login.succeeded" if ok else "login.failed",
        entity_type="user",
        entity_id=user.id if user else "unknown",
        changes={"client_ip": client_ip},
    )
    if not ok or user is None:
        log.warning("login.failed", username=username, client_ip=client_ip, failures=len(from_here) + 1)
        raise AuthenticationRequired("the username or password is wrong")
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash(password)
    log.info("login.succeeded", username=username, client_ip=client_ip)
    return _principal(user)


def change_password(
    session: Session, *, username: str, password: str, passwords: Passwords, min_length: int, actor: Actor
) -> None:
    check_password_policy(password, min_length=min_length)
    user = get_user(session, username=username)
    user.password_hash = passwords.hash(password)
    now = utcnow()
    for web in session.scalars(select(WebSession).where(WebSession.user_id == user.id, WebSession.ended_at.is_(None))):
        web.ended_at = now  # a changed password signs the old browser sessions out; API tokens stay
    audit.append(session, actor=actor, action="user.password_changed", entity_type="user", entity_id=user.id)


# ── API tokens ───────────────────────────────────────────────────────────────────────────────────────────


def create_token(
    session: Session, *, username: str, days: int, actor: Actor, pepper: bytes, name: str = ""
) -> tuple[ApiToken, str]:
    """Return the stored token row and the token itself, which is never stored and shown only now."""
    if not 1 <= days <= 3650:
        raise ValidationFailed("a token lives between 1 and 3650 days")
    user = get_user(session, username=username)
    if not user.is_active:
        raise ValidationFailed(f"user {username!r} is deactivated; activate them before issuing a token")
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        user_id=user.id,
        name=name,
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        token_hash=_digest(secret, pepper),
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(token)
    session.flush()
    audit.append(
        session,
        actor=actor,
        action="token.created",
        entity_type="api_token",
        entity_id=token.id,
        changes={"user": user.username, "prefix": token.prefix, "expires_at": token.expires_at.isoformat()},
    )
    return token, secret


def resolve_token(session: Session, *, secret: str, pepper: bytes) -> Principal:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret, pepper)))
    now = utcnow()
    if token is None:
        raise AuthenticationRequired("the bearer token is not known; create one with `riskdesk tokens create`")
    if token.revoked_at is not None:
        raise AuthenticationRequired("the bearer token was revoked; ask for a new one")
    if token.expires_at <= now:
        raise AuthenticationRequired("the bearer token has expired; ask for a new one")
    user = session.get(User, token.user_id)
    if user is None or not user.is_active:
        raise AuthenticationRequired("the token's user is deactivated")
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=5):
        token.last_used_at = now  # coarse, so reads do not write on every request
    return _principal(user)


def list_tokens(session: Session, *, username: str | None = None) -> list[tuple[ApiToken, str]]:
    query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
    if username:
        query = query.where(User.username == username.strip().lower())
    return [(token, name) for token, name in session.execute(query).all()]


def revoke_token(session: Session, *, token_id: int | None = None, prefix: str | None = None, actor: Actor) -> ApiToken:
    query = select(ApiToken)
    if token_id is not None:
        query = query.where(ApiToken.id == token_id)
    elif prefix:
        query = query.where(ApiToken.prefix == prefix)
    else:
        raise ValidationFailed("name the token to revoke by its id or its prefix (`riskdesk tokens list`)")
    matches = list(session.scalars(query))
    if not matches:
        raise NotFound("no such token; `riskdesk tokens list` shows ids and prefixes")
    if len(matches) > 1:
        raise Conflict("that prefix matches several tokens; revoke by id instead")
    token = matches[0]
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.append(
            session,
            actor=actor,
            action="token.revoked",
            entity_type="api_token",
            entity_id=token.id,
            changes={"prefix": token.prefix},
        )
    return token


# ── Web sessions ─────────────────────────────────────────────────────────────────────────────────────────


def start_web_session(session: Session, *, principal: Principal, hours: int, pepper: bytes) -> tuple[WebSession, str]:
    secret = secrets.token_urlsafe(32)
    web = WebSession(
        user_id=principal.user_id,
        session_hash=_digest(secret, pepper),
        csrf_token=secrets.token_urlsafe(32),
        expires_at=utcnow() + timedelta(hours=hours),
    )
    session.add(web)
    session.flush()
    return web, secret


def resolve_web_session(session: Session, *, secret: str, pepper: bytes) -> tuple[Principal, WebSession] | None:
    web = session.scalar(select(WebSession).where(WebSession.session_hash == _digest(secret, pepper)))
    if web is None or web.ended_at is not None or web.expires_at <= utcnow():
        return None
    user = session.get(User, web.user_id)
    if user is None or not user.is_active:
        return None
    return _principal(user), web


def end_web_session(session: Session, *, secret: str, actor: Actor, pepper: bytes) -> None:
    web = session.scalar(select(WebSession).where(WebSession.session_hash == _digest(secret, pepper)))
    if web is not None and web.ended_at is None:
        web.ended_at = utcnow()
        audit.append(session, actor=actor, action="logout", entity_type="user", entity_id=web.user_id)
