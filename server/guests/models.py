"""Requests and responses of the third-participant endpoints (PROTOCOL.md, "A third
participant")."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.guests import GuestKind, Invite, InviteStatus
from domain.users import Role
from server.http.types import DisplayLine, UtcDateTime


class InviteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DisplayLine = Field(min_length=1, max_length=100, description="the guest, as shown")
    kind: GuestKind

    @field_validator("name")
    @classmethod
    def _stripped(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("a name is required")
        return value


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approve: bool


class RedeemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=200)


class CreatorOut(BaseModel):
    id: str
    role: Role


class InviteOut(BaseModel):
    id: str
    appointment_id: str
    guest_name: str
    kind: GuestKind
    status: InviteStatus
    created_by: CreatorOut
    created_at: UtcDateTime
    expires_at: UtcDateTime
    redeemed_at: UtcDateTime | None

    @classmethod
    def of(cls, invite: Invite) -> InviteOut:
        return cls(
            id=invite.id,
            appointment_id=invite.appointment_id,
            guest_name=invite.guest_name,
            kind=invite.kind,
            status=invite.status,
            created_by=CreatorOut(id=invite.created_by, role=invite.created_by_role),
            created_at=invite.created_at,
            expires_at=invite.expires_at,
            redeemed_at=invite.redeemed_at,
        )


class LinkOut(BaseModel):
    url: str = Field(description="the one-time link to give the guest (shown once)")
    token: str
    expires_at: UtcDateTime


class InviteCreated(BaseModel):
    invite: InviteOut
    link: LinkOut | None = Field(description="null while the doctor has not approved it")


class InviteEnvelope(BaseModel):
    invite: InviteOut


class InvitesOut(BaseModel):
    invites: list[InviteOut]


class GuestOut(BaseModel):
    id: str
    name: str
    kind: GuestKind


class GuestSessionOut(BaseModel):
    guest_token: str = Field(description="for the Socket.IO handshake only: auth {guest_token}")
    expires_at: UtcDateTime
    appointment_id: str
    guest: GuestOut
