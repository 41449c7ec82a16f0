"""Request and response models of the auth endpoints (also the OpenAPI schemas)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from domain.users import Role, User
from server.http.types import DisplayLine

if TYPE_CHECKING:
    from server.auth.service import IssuedTokens


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RegisterIn(Strict):
    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=1, max_length=256, json_schema_extra={"format": "password"})
    name: DisplayLine = Field(min_length=1, max_length=120)
    timezone: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        examples=["Asia/Shanghai"],
        description="the person's IANA time zone (their medication times are in it); default UTC",
    )


class LoginIn(Strict):
    email: str = Field(min_length=1, max_length=254)
    password: str = Field(min_length=1, max_length=256, json_schema_extra={"format": "password"})
    # Non-browser clients may send back the device token instead of the cookie.
    device_token: str | None = Field(default=None, max_length=2048)


class RefreshIn(Strict):
    refresh_token: str = Field(min_length=1, max_length=256)


class LogoutIn(Strict):
    refresh_token: str | None = Field(default=None, min_length=1, max_length=256)


class CreateUserIn(RegisterIn):
    role: Role
    specialty: DisplayLine | None = Field(default=None, min_length=1, max_length=80)


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    role: Role
    specialty: str | None = None
    timezone: str = "UTC"
    active: bool = Field(default=True, description="false while an admin has deactivated it")
    phone: str | None = Field(default=None, description="the account's mobile number (E.164)")

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            phone=user.phone,
            id=user.id,
            email=user.mail_address or "",  # "": no address (registered by phone)
            name=user.name,
            role=user.role,
            specialty=user.specialty,
            timezone=user.timezone,
            active=user.active,
        )


class UserEnvelope(BaseModel):
    user: UserOut


class TokenPair(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name
    expires_in: int
    user: UserOut
    device_token: str | None = None

    @classmethod
    def of(cls, issued: IssuedTokens) -> TokenPair:
        return cls(
            access_token=issued.access_token,
            refresh_token=issued.refresh_token,
            expires_in=issued.expires_in,
            user=UserOut.of(issued.user),
            device_token=issued.device_token,
        )


class PhoneCodeIn(Strict):
    phone: str = Field(min_length=3, max_length=32, examples=["+8613800138000"])
    language: Literal["zh-CN", "en"] = Field(
        default="zh-CN", description="the language of the text message"
    )


class PhoneCodeOut(BaseModel):
    expires_in: int = Field(description="seconds the code is good for")


class PhoneLoginIn(Strict):
    phone: str = Field(min_length=3, max_length=32, examples=["+8613800138000"])
    code: str = Field(pattern=r"^[0-9]{6}$")


class PhoneSetIn(PhoneLoginIn):
    pass


class PhoneRegisterIn(PhoneLoginIn):
    """A patient account by mobile number and the code texted to it (no e-mail, no password:
    they sign in by phone)."""

    name: DisplayLine = Field(min_length=1, max_length=120)
    timezone: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        examples=["Asia/Shanghai"],
        description="the person's IANA time zone (their medication times are in it); default UTC",
    )
