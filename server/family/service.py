"""Use cases of family members (就诊人): the account holder adds, edits and lists the people
they manage, and invites a managed adult to sign in on their own. Object-level authorization:
only the holder sees or changes a managed person here (anyone else: ``NotFound``)."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain.clock import Clock
from domain.errors import Conflict, Forbidden, NotFound
from domain.family import (
    Relation,
    Sex,
    age_on,
    check_birth_date,
    check_name,
    check_relation,
    is_minor,
)
from domain.users import Principal, User
from storage.mongo import Repositories
from storage.paging import After

INVITATION_TTL = timedelta(days=7)
MAX_FAMILY_MEMBERS = 20  # people one account manages


class MinorCannotSignIn(Conflict):
    code = "minor_cannot_sign_in"
    title = "A minor is managed by their guardian"


class InvitationInvalid(NotFound):
    code = "invitation_invalid"
    title = "No such invitation"


@dataclass(frozen=True, slots=True)
class FamilyChanges:
    """What a PATCH changes (None: unchanged)."""

    name: str | None = None
    birth_date: date | None = None
    sex: Sex | None = None
    relation: Relation | None = None


@dataclass(frozen=True, slots=True)
class Invitation:
    token: str
    email: str
    expires_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class FamilyService:
    def __init__(self, repos: Repositories, *, clock: Clock) -> None:
        self._repos = repos
        self._clock = clock

    def _today(self) -> date:
        return self._clock().date()

    async def _holder(self, principal: Principal) -> User:
        if not principal.is_patient:
            raise Forbidden("only a patient's account manages family members")
        holder = await self._repos.users.get(principal.user_id)
        if holder is None:
            raise NotFound("no such account")
        if holder.managed_by is not None:  # cannot happen: a managed person has no sign-in
            raise Forbidden("a managed person does not manage others")
        return holder

    async def list(
        self, principal: Principal, *, after: After | None, limit: int
    ) -> tuple[list[User], After | None]:
        holder = await self._holder(principal)
        people = await self._repos.users.list_managed(
            holder.id, after=after.id if after else None, limit=limit + 1
        )
        more = len(people) > limit
        people = people[:limit]
        return people, (After(value=None, id=people[-1].id) if more else None)

    async def get(self, principal: Principal, person_id: str) -> User:
        holder = await self._holder(principal)
        person = await self._repos.users.get(person_id)
        if person is None or person.managed_by != holder.id:
            raise NotFound("no such family member")
        return person

    async def add(
        self,
        principal: Principal,
        *,
        name: str,
        birth_date: date,
        sex: Sex,
        relation: Relation,
    ) -> User:
        holder = await self._holder(principal)
        today = self._today()
        name = check_name(name)
        check_birth_date(birth_date, today)
        check_relation(relation, birth_date, today, holder.birth_date)
        if len(await self._repos.users.managed_ids(holder.id)) >= MAX_FAMILY_MEMBERS:
            raise Conflict(
                f"an account manages at most {MAX_FAMILY_MEMBERS} people",
                details={"reason": "family_limit"},
            )
        return await self._repos.users.create_managed(
            holder_id=holder.id,
            name=name,
            relation=relation.value,
            birth_date=birth_date,
            sex=sex.value,
            created_at=self._clock(),
            timezone=holder.timezone,
        )

    async def update(self, principal: Principal, person_id: str, changes: FamilyChanges) -> User:
        person = await self.get(principal, person_id)
        holder = await self._holder(principal)
        today = self._today()
        birth_date = changes.birth_date or person.birth_date
        relation = changes.relation or Relation(person.relation or Relation.OTHER.value)
        fields: dict[str, object] = {}
        if changes.name is not None:
            fields["name"] = check_name(changes.name)
        if changes.birth_date is not None:
            fields["birth_date"] = check_birth_date(changes.birth_date, today).isoformat()
        if changes.sex is not None:
            fields["sex"] = changes.sex.value
        if changes.relation is not None:
            fields["relation"] = changes.relation.value
        if birth_date is not None:
            check_relation(relation, birth_date, today, holder.birth_date)
        if not fields:
            return person
        updated = await self._repos.users.update_managed(person.id, holder.id, fields)
        if updated is None:  # given their own sign-in meanwhile
            raise NotFound("no such family member")
        return updated

    async def invite(self, principal: Principal, person_id: str, *, email: str) -> Invitation:
        """An invitation for a managed adult to sign in on their own: a one-time token the
        holder passes on (the clinic's mail, or by hand); the person sets their password."""
        person = await self.get(principal, person_id)
        today = self._today()
        if person.birth_date is None or is_minor(person.birth_date, today):
            raise MinorCannotSignIn(
                "a minor is managed by their guardian and cannot have a sign-in of their own"
            )
        if await self._repos.users.get_by_email(email) is not None:
            raise Conflict("an account with this email already exists")
        token = secrets.token_urlsafe(32)
        expires_at = self._clock() + INVITATION_TTL
        stored = await self._repos.users.set_invitation(
            person.id,
            principal.user_id,
            token_hash=token_hash(token),
            email=email,
            expires_at=expires_at,
        )
        if stored is None:
            raise NotFound("no such family member")
        return Invitation(token=token, email=email.lower(), expires_at=expires_at)

    async def invited(self, token: str) -> tuple[User, str, str]:
        """The person a valid invitation is for, its address and the holder's id."""
        found = await self._repos.users.invitation(token_hash(token))
        if found is None:
            raise InvitationInvalid("this invitation is not valid (used, replaced or unknown)")
        person, email, expires_at = found
        if expires_at.tzinfo is None:
            from datetime import UTC

            expires_at = expires_at.replace(tzinfo=UTC)
        if expires_at <= self._clock():
            raise InvitationInvalid("this invitation has expired; ask for a new one")
        assert person.managed_by is not None
        return person, email, person.managed_by


def age_of(person: User, today: date) -> int | None:
    return age_on(person.birth_date, today) if person.birth_date is not None else None
