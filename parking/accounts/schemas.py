"""What goes in and out of the account endpoints."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from parking.security import Role

__all__ = [
    "AccountChange",
    "NewAccount",
    "PasswordChange",
    "Registration",
    "TokenRequest",
    "TokenResponse",
    "User",
]

Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
Phone = Annotated[str, StringConstraints(pattern=r"^[0-9]{6,15}$")]
DisplayName = Annotated[str, StringConstraints(strip_whitespace=True, max_length=80)]


class Registration(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: Password
    display_name: DisplayName = ""
    phone: Phone | None = None


class NewAccount(Registration):
    """An account an admin makes, with any role."""

    role: Role


class AccountChange(BaseModel):
    """What an admin changes of an account: active or not, a new password; at least one."""

    model_config = ConfigDict(extra="forbid")

    is_active: bool | None = None
    password: Password | None = None

    @model_validator(mode="after")
    def _something(self) -> AccountChange:
        if self.is_active is None and self.password is None:
            raise ValueError("give is_active, password or both")
        return self


class PasswordChange(BaseModel):
    """A signed-in user's new password, with the current one as proof."""

    model_config = ConfigDict(extra="forbid")

    current_password: Annotated[str, StringConstraints(min_length=1, max_length=128)]
    new_password: Password


class TokenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: EmailStr
    password: Annotated[str, StringConstraints(min_length=1, max_length=128)]


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the token expires.")


class User(BaseModel):
    """An account as others may see it (never its password hash)."""

    id: int
    email: str
    role: Role
    display_name: str
    phone: str | None
    is_active: bool
    created_at: datetime
