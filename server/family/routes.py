"""REST endpoints of family members (PROTOCOL.md, "Family members (就诊人)"). Thin: validate,
call one service method inside :func:`audited` (a managed person's details are personal data
of that patient: every access lands in their audit trail), shape the answer."""

from __future__ import annotations

from domain.users import User
from server import keys
from server.audit.recorder import audited
from server.auth.models import UserOut
from server.family.models import (
    AcceptedOut,
    AcceptInvitationIn,
    FamilyMemberEnvelope,
    FamilyMemberIn,
    FamilyMemberOut,
    FamilyMemberPatch,
    FamilyMembersPage,
    InvitationEnvelope,
    InvitationIn,
    InvitationOut,
)
from server.family.service import FamilyChanges, FamilyService
from server.http.api import Api, Call
from server.http.pagination import PageQuery, decode_cursor, encode_cursor

api = Api()
TAGS = ["family"]
BASE = "/me/family-members"
ONE = BASE + "/{person_id}"


def _service(call: Call) -> FamilyService:
    return call.app[keys.FAMILY]


def _out(call: Call, person: User) -> FamilyMemberOut:
    return FamilyMemberOut.of(person, call.app[keys.CLOCK]().date())


@api.get(
    BASE,
    summary="The people the caller manages (就诊人), oldest first",
    tags=TAGS,
    query=PageQuery,
    response=FamilyMembersPage,
)
async def list_family(call: Call) -> FamilyMembersPage:
    query = call.query(PageQuery)
    async with audited(call, "family_member.list", patient_id=None, resource_type="user"):
        people, following = await _service(call).list(
            call.principal, after=decode_cursor("family", query.cursor), limit=query.limit
        )
    return FamilyMembersPage(
        family_members=[_out(call, p) for p in people],
        next_cursor=encode_cursor("family", following),
    )


@api.post(
    BASE,
    summary="Add a person the caller manages: a child, parent, spouse or other",
    tags=TAGS,
    body=FamilyMemberIn,
    response=FamilyMemberEnvelope,
    status=201,
    errors=[403, 409],
)
async def add_family_member(call: Call) -> FamilyMemberEnvelope:
    body = call.body(FamilyMemberIn)
    async with audited(call, "family_member.create", patient_id=None, resource_type="user") as s:
        person = await _service(call).add(
            call.principal,
            name=body.name,
            birth_date=body.birth_date,
            sex=body.sex,
            relation=body.relation,
        )
        s.patient_id = person.id
        s.resource_id = person.id
    return FamilyMemberEnvelope(family_member=_out(call, person))


@api.get(
    ONE,
    summary="One person the caller manages",
    tags=TAGS,
    response=FamilyMemberEnvelope,
)
async def get_family_member(call: Call) -> FamilyMemberEnvelope:
    pid = call.path("person_id")
    async with audited(call, "family_member.read", patient_id=pid, resource_type="user"):
        person = await _service(call).get(call.principal, pid)
    return FamilyMemberEnvelope(family_member=_out(call, person))


@api.patch(
    ONE,
    summary="Change a managed person's name, date of birth, sex or relation",
    tags=TAGS,
    body=FamilyMemberPatch,
    response=FamilyMemberEnvelope,
)
async def update_family_member(call: Call) -> FamilyMemberEnvelope:
    pid = call.path("person_id")
    body = call.body(FamilyMemberPatch)
    async with audited(call, "family_member.update", patient_id=pid, resource_type="user"):
        person = await _service(call).update(
            call.principal,
            pid,
            FamilyChanges(
                name=body.name, birth_date=body.birth_date, sex=body.sex, relation=body.relation
            ),
        )
    return FamilyMemberEnvelope(family_member=_out(call, person))


@api.post(
    ONE + "/invitation",
    summary="Invite a managed adult to sign in on their own (a one-time token, 7 days)",
    tags=TAGS,
    body=InvitationIn,
    response=InvitationEnvelope,
    status=201,
    errors=[409],
)
async def invite_family_member(call: Call) -> InvitationEnvelope:
    pid = call.path("person_id")
    body = call.body(InvitationIn)
    async with audited(call, "family_member.invite", patient_id=pid, resource_type="user"):
        invitation = await _service(call).invite(call.principal, pid, email=str(body.email))
    base = call.app[keys.SETTINGS].http.public_url or str(call.request.url.origin())
    return InvitationEnvelope(
        invitation=InvitationOut(
            token=invitation.token,
            email=invitation.email,
            expires_at=invitation.expires_at,
            url=f"{base.rstrip('/')}/invitation#{invitation.token}",
        )
    )


@api.post(
    "/auth/invitation/accept",
    summary="A managed adult sets their password and signs in on their own from now on",
    tags=["auth"],
    body=AcceptInvitationIn,
    response=AcceptedOut,
    auth=False,
    errors=[409],
)
async def accept_invitation(call: Call) -> AcceptedOut:
    body = call.body(AcceptInvitationIn)
    person, email, holder_id = await _service(call).invited(body.token)
    async with audited(
        call, "family_member.sign_in_given", patient_id=person.id, resource_type="user"
    ) as scope:
        scope.details["formerly_managed_by"] = holder_id
        user = await call.app[keys.ACCOUNTS].give_sign_in(
            person, holder_id=holder_id, email=email, password=body.password
        )
    return AcceptedOut(user=UserOut.of(user))
