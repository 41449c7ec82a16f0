"""Invitations of a third participant (domain.guests) against the database: who may invite,
approve, revoke and list, the one-time link, and redeeming it for a guest session."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import timedelta

from domain.appointments import FINAL_STATUSES, Appointment, AppointmentKind
from domain.clock import Clock
from domain.consultation import ConsultationOver, JoinWindow, NotVideo
from domain.errors import NotFound
from domain.guests import (
    GuestKind,
    GuestPass,
    Invite,
    InviteNotPending,
    InviteNotUsable,
    InviteStatus,
    check_secret,
    creation_status,
    decide,
    expiry,
    hash_secret,
    link_token,
    new_secret,
    parse_token,
    revoke,
)
from domain.ids import AppointmentId, new_id
from domain.users import Principal, Role
from server.auth.tokens import IssuedTicket, TokenService
from storage.mongo import Repositories


@dataclass(frozen=True, slots=True)
class Redeemed:
    invite: Invite
    session: IssuedTicket


class GuestService:
    def __init__(
        self,
        repos: Repositories,
        *,
        tokens: TokenService,
        window: JoinWindow,
        ttl: timedelta,
        clock: Clock,
    ) -> None:
        self._repos = repos
        self._tokens = tokens
        self._window = window
        self._ttl = ttl
        self._clock = clock

    async def _appointment(self, principal: Principal, appointment_id: str) -> Appointment:
        """The appointment, for its two participants only (anyone else: not found)."""
        appointment = await self._repos.appointments.get(appointment_id)
        if appointment is None or not appointment.is_participant(principal.user_id):
            raise NotFound("no such appointment")
        return appointment

    def _role(self, principal: Principal, appointment: Appointment) -> Role:
        return Role.DOCTOR if principal.user_id == appointment.doctor_id else Role.PATIENT

    def _check_open(self, appointment: Appointment) -> None:
        if appointment.kind is not AppointmentKind.VIDEO:
            raise NotVideo("only a video consultation takes a guest")
        if appointment.status in FINAL_STATUSES or self._clock() > self._window.closes_at(
            appointment
        ):
            raise ConsultationOver("this consultation is over")

    async def invite(
        self, principal: Principal, appointment_id: str, *, name: str, kind: GuestKind
    ) -> tuple[Invite, str | None]:
        """The doctor's invitation (with its link) or the patient's request (no link yet)."""
        appointment = await self._appointment(principal, appointment_id)
        self._check_open(appointment)
        role = self._role(principal, appointment)
        now = self._clock()
        invite = Invite(
            id=new_id(),
            appointment_id=appointment.id,
            guest_name=name,
            kind=kind,
            status=creation_status(role),
            created_by=principal.user_id,
            created_by_role=role,
            created_at=now,
            expires_at=expiry(now, self._ttl, self._window.closes_at(appointment)),
        )
        secret = new_secret() if invite.status is InviteStatus.ACTIVE else None
        if secret is not None:
            invite = replace(invite, secret_hash=hash_secret(secret), decided_by=principal.user_id)
        await self._repos.guest_invites.insert(invite)
        return invite, link_token(invite.id, secret) if secret is not None else None

    async def list(self, principal: Principal, appointment_id: str) -> list[Invite]:
        appointment = await self._appointment(principal, appointment_id)
        return await self._repos.guest_invites.for_appointment(appointment.id)

    async def _own(self, principal: Principal, invite_id: str) -> tuple[Invite, Role]:
        invite = await self._repos.guest_invites.get(invite_id)
        if invite is None:
            raise NotFound("no such invitation")
        appointment = await self._appointment(principal, invite.appointment_id)
        return invite, self._role(principal, appointment)

    async def decide(self, principal: Principal, invite_id: str, *, approve: bool) -> Invite:
        invite, role = await self._own(principal, invite_id)
        decided = decide(invite, role=role, by=principal.user_id, approve=approve)
        stored = await self._repos.guest_invites.change(decided, expected=invite.status)
        if stored is None:
            raise InviteNotPending("this invitation changed meanwhile")
        return stored

    async def new_link(self, principal: Principal, invite_id: str) -> tuple[Invite, str]:
        """A fresh link for an approved invitation (its creator or the doctor); an older link
        of it stops working."""
        invite, role = await self._own(principal, invite_id)
        if role is not Role.DOCTOR and invite.created_by != principal.user_id:
            raise NotFound("no such invitation")
        if not invite.usable(self._clock()):
            raise InviteNotPending(f"this invitation is {invite.status.value}")
        secret = new_secret()
        stored = await self._repos.guest_invites.change(
            invite, expected=InviteStatus.ACTIVE, secret_hash=hash_secret(secret)
        )
        if stored is None:
            raise InviteNotPending("this invitation changed meanwhile")
        return stored, link_token(stored.id, secret)

    async def revoke(self, principal: Principal, invite_id: str) -> Invite:
        invite, role = await self._own(principal, invite_id)
        revoked = revoke(invite, role=role, by=principal.user_id)
        stored = await self._repos.guest_invites.change(revoked, expected=invite.status)
        if stored is None:
            raise InviteNotPending("this invitation changed meanwhile")
        return stored

    def session_of(self, token: str) -> GuestPass:
        """What a guest session's token says (signature, type, audience, expiry checked);
        :class:`Unauthorized` for anything else. The hub checks the invitation as stored."""
        claims = self._tokens.decode_guest(token)
        try:
            kind = GuestKind(claims.kind)
        except ValueError:
            raise InviteNotUsable("this guest session does not work") from None
        return GuestPass(
            guest_id=claims.guest_id,
            appointment_id=AppointmentId(claims.appointment_id),
            name=claims.name,
            kind=kind,
            expires_at=claims.expires_at,
        )

    async def redeem(self, token: str) -> Redeemed:
        """The link's guest session, once: the invitation is redeemed atomically."""
        invite_id, secret = parse_token(token)
        now = self._clock()
        invite = check_secret(await self._repos.guest_invites.get(invite_id), secret, now)
        appointment = await self._repos.appointments.get(invite.appointment_id)
        if appointment is None or appointment.status in FINAL_STATUSES:
            raise InviteNotUsable("this invitation link does not work")
        redeemed = await self._repos.guest_invites.redeem(invite.id, hash_secret(secret), now)
        if redeemed is None:  # used by someone else a moment ago
            raise InviteNotUsable("this invitation link does not work")
        session = self._tokens.issue_guest(
            guest_id=redeemed.id,
            appointment_id=redeemed.appointment_id,
            name=redeemed.guest_name,
            kind=redeemed.kind.value,
            expires_at=self._window.closes_at(appointment),
        )
        return Redeemed(invite=redeemed, session=session)
