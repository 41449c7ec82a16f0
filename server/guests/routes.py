"""REST endpoints of a third participant (PROTOCOL.md, "A third participant"): the doctor
invites (or the patient asks, and the doctor approves), the one-time link, revoking, and
redeeming the link for a guest session. Every call is audited; an invitation is its
appointment's two participants' only (anyone else: 404)."""

from __future__ import annotations

from domain.users import Role
from server import keys
from server.audit.recorder import audited
from server.guests.models import (
    DecisionIn,
    GuestOut,
    GuestSessionOut,
    InviteCreated,
    InviteEnvelope,
    InviteIn,
    InviteOut,
    InvitesOut,
    LinkOut,
    RedeemIn,
)
from server.guests.service import GuestService
from server.http.api import Api, Call

api = Api()
TAGS = ["consultations"]
PARTICIPANTS = [Role.DOCTOR, Role.PATIENT]
GUEST_INVITE_EVENT = "guest:invite"


def _service(call: Call) -> GuestService:
    return call.app[keys.GUESTS]


async def _tell(call: Call, invite: InviteOut) -> None:
    """``guest:invite`` ``{invite}`` to both participants' open sockets (on any node)."""
    appointment = await call.app[keys.DATABASE].repos.appointments.get(invite.appointment_id)
    if appointment is None:
        return
    payload = {"invite": invite.model_dump(mode="json")}
    for user_id in (appointment.doctor_id, appointment.patient_id):
        await call.app[keys.HUB].push_to_user(user_id, GUEST_INVITE_EVENT, payload)


def link_out(token: str, invite: InviteOut) -> LinkOut:
    # The token travels in the fragment: never sent to a server, never in a Referer or a log.
    return LinkOut(url=f"/guest#token={token}", token=token, expires_at=invite.expires_at)


@api.post(
    "/appointments/{appointment_id}/guests",
    summary="Invite a third participant (the doctor), or ask the doctor to (the patient)",
    tags=TAGS,
    body=InviteIn,
    response=InviteCreated,
    status=201,
    roles=PARTICIPANTS,
    errors=[409],
)
async def invite(call: Call) -> InviteCreated:
    aid, body = call.path("appointment_id"), call.body(InviteIn)
    async with audited(
        call, "guest.invite", patient_id=None, resource_type="appointment", resource_id=aid
    ) as scope:
        created, token = await _service(call).invite(
            call.principal, aid, name=body.name, kind=body.kind
        )
        scope.details = {"invite_id": created.id, "kind": created.kind.value}
    out = InviteOut.of(created)
    await _tell(call, out)  # a patient's request: the doctor hears of it now
    return InviteCreated(invite=out, link=link_out(token, out) if token else None)


@api.get(
    "/appointments/{appointment_id}/guests",
    summary="The invitations of a consultation (its two participants)",
    tags=TAGS,
    response=InvitesOut,
    roles=PARTICIPANTS,
)
async def list_invites(call: Call) -> InvitesOut:
    aid = call.path("appointment_id")
    async with audited(
        call, "guest.list", patient_id=None, resource_type="appointment", resource_id=aid
    ):
        invites = await _service(call).list(call.principal, aid)
    return InvitesOut(invites=[InviteOut.of(i) for i in invites])


@api.post(
    "/guest-invites/{invite_id}/decision",
    summary="Approve or decline the patient's request for a guest (the doctor)",
    tags=TAGS,
    body=DecisionIn,
    response=InviteEnvelope,
    roles=PARTICIPANTS,
    errors=[403, 409],
)
async def decision(call: Call) -> InviteEnvelope:
    iid, body = call.path("invite_id"), call.body(DecisionIn)
    async with audited(
        call, "guest.decide", patient_id=None, resource_type="guest_invite", resource_id=iid
    ) as scope:
        decided = await _service(call).decide(call.principal, iid, approve=body.approve)
        scope.details = {"approve": body.approve}
    await _tell(call, InviteOut.of(decided))
    return InviteEnvelope(invite=InviteOut.of(decided))


@api.post(
    "/guest-invites/{invite_id}/link",
    summary="A fresh one-time link for an approved invitation (older links stop working)",
    tags=TAGS,
    response=InviteCreated,
    roles=PARTICIPANTS,
    errors=[409],
)
async def new_link(call: Call) -> InviteCreated:
    iid = call.path("invite_id")
    async with audited(
        call, "guest.link", patient_id=None, resource_type="guest_invite", resource_id=iid
    ):
        invite, token = await _service(call).new_link(call.principal, iid)
    out = InviteOut.of(invite)
    return InviteCreated(invite=out, link=link_out(token, out))


@api.post(
    "/guest-invites/{invite_id}/revoke",
    summary="Take back an invitation not yet redeemed (the doctor, or its creator)",
    tags=TAGS,
    response=InviteEnvelope,
    roles=PARTICIPANTS,
    errors=[409],
)
async def revoke(call: Call) -> InviteEnvelope:
    iid = call.path("invite_id")
    async with audited(
        call, "guest.revoke", patient_id=None, resource_type="guest_invite", resource_id=iid
    ):
        revoked = await _service(call).revoke(call.principal, iid)
    await _tell(call, InviteOut.of(revoked))
    return InviteEnvelope(invite=InviteOut.of(revoked))


@api.post(
    "/guest-invites/redeem",
    summary="Redeem a one-time link for a guest session bound to its consultation",
    tags=TAGS,
    body=RedeemIn,
    response=GuestSessionOut,
    auth=False,
)
async def redeem(call: Call) -> GuestSessionOut:
    body = call.body(RedeemIn)
    async with audited(
        call, "guest.redeem", patient_id=None, resource_type="guest_invite"
    ) as scope:
        redeemed = await _service(call).redeem(body.token)
        scope.resource_id = redeemed.invite.id
    invite = redeemed.invite
    return GuestSessionOut(
        guest_token=redeemed.session.token,
        expires_at=redeemed.session.expires_at,
        appointment_id=invite.appointment_id,
        guest=GuestOut(id=invite.id, name=invite.guest_name, kind=invite.kind),
    )
