"""Input and output shapes of users and tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr, StringConstraints

from riskdesk.security.permissions import Role


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    username: Annotated[str, StringConstraints(min_length=2, max_length=63)]
    role: Role
    password: SecretStr
    display_name: Annotated[str, StringConstraints(max_length=128)] = ""


class UserUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Role | None = None
    is_active: bool | None = None


class UserOut(BaseModel):
    username: str
    display_name: str
    role: Role
    is_active: bool
    permissions: list[str]
    created_at: datetime


class TokenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str
    days: int | None = Field(default=None, ge=1, le=3650, description="default RISKDESK_TOKEN_DAYS")
    name: Annotated[str, StringConstraints(max_length=128)] = ""


class TokenOut(BaseModel):
    id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class TokenCreated(TokenOut):
    token: str = Field(description="shown once; only its hash is stored")
