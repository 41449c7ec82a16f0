"""Request and response models of family members (PROTOCOL.md, "Family members")."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, EmailStr, Field

from domain.family import Relation, Sex, age_on, is_minor, under_six
from domain.users import User
from server.auth.models import UserOut
from server.http.types import Day, DisplayLine, UtcDateTime


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FamilyMemberIn(_Strict):
    name: DisplayLine = Field(min_length=1, max_length=100)
    birth_date: Day
    sex: Sex
    relation: Relation


class FamilyMemberPatch(_Strict):
    name: DisplayLine | None = Field(default=None, min_length=1, max_length=100)
    birth_date: Day | None = None
    sex: Sex | None = None
    relation: Relation | None = None


class FamilyMemberOut(BaseModel):
    """A person the caller manages: a patient with their own record (``id`` is their patient
    id everywhere a patient id is taken)."""

    id: str
    name: str
    birth_date: date | None
    sex: Sex | None
    relation: Relation | None
    age: int | None = Field(description="whole years today")
    minor: bool = Field(description="under 18 today")
    under_six: bool = Field(description="under six today: online only with the guardian present")
    invited: bool = Field(description="an invitation to sign in on their own is outstanding")
    created_at: UtcDateTime

    @classmethod
    def of(cls, person: User, today: date, *, invited: bool = False) -> FamilyMemberOut:
        born = person.birth_date
        return cls(
            id=person.id,
            name=person.name,
            birth_date=born,
            sex=Sex(person.sex) if person.sex else None,
            relation=Relation(person.relation) if person.relation else None,
            age=age_on(born, today) if born else None,
            minor=is_minor(born, today) if born else False,
            under_six=under_six(born, today),
            invited=invited,
            created_at=person.created_at,
        )


class FamilyMemberEnvelope(BaseModel):
    family_member: FamilyMemberOut


class FamilyMembersPage(BaseModel):
    family_members: list[FamilyMemberOut]
    next_cursor: str | None


class InvitationIn(_Strict):
    email: EmailStr = Field(max_length=254)


class InvitationOut(BaseModel):
    token: str = Field(description="one-time; pass it to the person (it is not shown again)")
    email: str
    expires_at: UtcDateTime
    url: str = Field(description="the page where the person sets their password")


class InvitationEnvelope(BaseModel):
    invitation: InvitationOut


class AcceptInvitationIn(_Strict):
    token: str = Field(min_length=1, max_length=256)
    password: str = Field(min_length=1, max_length=256, json_schema_extra={"format": "password"})


class AcceptedOut(BaseModel):
    user: UserOut
