"""A third participant in a video consultation (an interpreter, a family member, a colleague),
as pure rules (no I/O; time is passed in).

* **The invitation.** The doctor invites at once; the patient asks, and the invitation waits
  for the doctor's approval. Either way it names the guest (as shown to everyone) and their
  role. It is for one appointment only, while that consultation can still happen.
* **The link.** An approved invitation is a one-time link: ``gi1.<invite id>.<secret>``. Only a
  SHA-256 of the secret is stored; the link is shown once, to the one who asked for it. It
  works until ``expires_at`` (the setting's lifetime, never past the consultation's join
  window) and only once: redeeming it (atomically, so two browsers cannot both) gives a guest
  session bound to that appointment and nothing else.
* **Revoking.** The doctor, or whoever created it, revokes an invitation not yet redeemed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from domain.errors import Conflict, Forbidden, NotFound, Unauthorized
from domain.ids import AppointmentId, UserId
from domain.users import Role

TOKEN_PREFIX = "gi1"  # noqa: S105 (the format's name, not a secret)


class GuestKind(StrEnum):
    INTERPRETER = "interpreter"
    FAMILY = "family"
    COLLEAGUE = "colleague"


class InviteStatus(StrEnum):
    PENDING_APPROVAL = "pending_approval"  # asked by the patient; the doctor decides
    ACTIVE = "active"  # a link that works
    REDEEMED = "redeemed"
    DECLINED = "declined"
    REVOKED = "revoked"


class InviteNotUsable(Unauthorized):
    """Unknown, forged, expired, used or revoked: the same answer for each (a link that does
    not work tells nobody why)."""

    code = "invite_invalid"
    title = "This invitation link does not work"


class InviteNotPending(Conflict):
    code = "invite_not_pending"
    title = "This invitation is not waiting for approval"


@dataclass(frozen=True, slots=True)
class Invite:
    id: str
    appointment_id: AppointmentId
    guest_name: str
    kind: GuestKind
    status: InviteStatus
    created_by: UserId
    created_by_role: Role
    created_at: datetime
    expires_at: datetime
    secret_hash: str | None = None  # set once approved (the link exists)
    decided_by: UserId | None = None
    redeemed_at: datetime | None = None

    def usable(self, now: datetime) -> bool:
        return self.status is InviteStatus.ACTIVE and now < self.expires_at


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def link_token(invite_id: str, secret: str) -> str:
    return f"{TOKEN_PREFIX}.{invite_id}.{secret}"


def parse_token(token: str) -> tuple[str, str]:
    """The invite id and secret of a link's token; :class:`InviteNotUsable` when it is not one."""
    parts = token.split(".")
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX or not parts[1] or not parts[2]:
        raise InviteNotUsable("this invitation link does not work")
    if not token.isascii() or len(token) > 200:
        raise InviteNotUsable("this invitation link does not work")
    return parts[1], parts[2]


def check_secret(invite: Invite | None, secret: str, now: datetime) -> Invite:
    """The invite the secret opens, if it may be redeemed now (constant-time comparison)."""
    if invite is None or invite.secret_hash is None:
        raise InviteNotUsable("this invitation link does not work")
    if not hmac.compare_digest(invite.secret_hash, hash_secret(secret)):
        raise InviteNotUsable("this invitation link does not work")
    if not invite.usable(now):
        raise InviteNotUsable("this invitation link does not work")
    return invite


def expiry(now: datetime, ttl: timedelta, window_closes_at: datetime) -> datetime:
    """When a link made now stops working: after ``ttl``, never after the join window."""
    return min(now + ttl, window_closes_at)


def creation_status(role: Role) -> InviteStatus:
    """The doctor's invitation works at once; the patient's waits for the doctor."""
    if role is Role.DOCTOR:
        return InviteStatus.ACTIVE
    if role is Role.PATIENT:
        return InviteStatus.PENDING_APPROVAL
    raise NotFound("no such appointment")


def decide(invite: Invite, *, role: Role, by: UserId, approve: bool) -> Invite:
    """The doctor approves or declines the patient's request."""
    if role is not Role.DOCTOR:
        raise Forbidden("only the doctor approves a guest")
    if invite.status is not InviteStatus.PENDING_APPROVAL:
        raise InviteNotPending(f"this invitation is {invite.status.value}")
    status = InviteStatus.ACTIVE if approve else InviteStatus.DECLINED
    return replace(invite, status=status, decided_by=by)


def revoke(invite: Invite, *, role: Role, by: UserId) -> Invite:
    """The doctor, or the one who created it, takes back an invitation not yet redeemed."""
    if role is not Role.DOCTOR and by != invite.created_by:
        raise NotFound("no such invitation")
    if invite.status not in (InviteStatus.PENDING_APPROVAL, InviteStatus.ACTIVE):
        raise InviteNotPending(f"this invitation is {invite.status.value}")
    return replace(invite, status=InviteStatus.REVOKED, decided_by=by)


@dataclass(frozen=True, slots=True)
class GuestPass:
    """A redeemed invitation's guest session, as its token says (checked, not yet against the
    invitation as stored): one guest, one appointment, until ``expires_at``."""

    guest_id: str  # the invitation's id
    appointment_id: AppointmentId
    name: str
    kind: GuestKind
    expires_at: datetime


def check_guest_pass(guest: GuestPass, invite: Invite | None) -> None:
    """The stored invitation still backs the session: redeemed, for that appointment (a
    revoked one, or one whose guest the doctor removed, ends it)."""
    if (
        invite is None
        or invite.status is not InviteStatus.REDEEMED
        or invite.appointment_id != guest.appointment_id
    ):
        raise InviteNotUsable("this guest session has ended")
