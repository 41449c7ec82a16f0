"""Family members (就诊人): the people an account manages. Plain rules, no I/O.

A managed person is a patient in their own right (their own user id, so their own record,
appointments, prescriptions, FHIR export and audit trail) who has no sign-in of their own;
``managed_by`` names the account that manages them (the holder). The holder acts for them:
reads their record, books for them, takes their seat in a consultation.

Who may act for a patient (the rule every patient id goes through):

* the patient, for themselves (when they can sign in);
* the account that manages them (``managed_by``).

Under six, a guardian present: with the rule on, a patient under six years of age is admitted
to a video consultation only while the seat of the patient is held by the account that manages
them (the child cannot sign in; anyone else holding the seat is not their guardian).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum

from domain.errors import Conflict, InvalidInput

ADULT_AGE = 18  # 民法典 第十七条: an adult at eighteen
GUARDIAN_AGE = 6  # under six: online only with a guardian present
OLDEST_BIRTH_DATE = date(1900, 1, 1)  # the contract's oldest calendar date
NAME_MAX = 100


class Relation(StrEnum):
    """What the managed person is to the holder."""

    CHILD = "child"
    PARENT = "parent"
    SPOUSE = "spouse"
    OTHER = "other"


class Sex(StrEnum):
    """As FHIR's administrative gender."""

    FEMALE = "female"
    MALE = "male"
    OTHER = "other"
    UNKNOWN = "unknown"


class GuardianRequired(Conflict):
    code = "guardian_required"
    title = "A guardian must be present"


class InvalidFamilyMember(InvalidInput):
    """Bad input about one field (``field``)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(
            f"{field}: {message}",
            details=[{"field": field, "message": message, "type": "value_error"}],
        )
        self.field = field


def age_on(birth_date: date, today: date) -> int:
    """Whole years of age on ``today`` (a 29 February birthday is kept on 1 March)."""
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def is_minor(birth_date: date, today: date) -> bool:
    return age_on(birth_date, today) < ADULT_AGE


def under_six(birth_date: date | None, today: date) -> bool:
    return birth_date is not None and age_on(birth_date, today) < GUARDIAN_AGE


def check_birth_date(birth_date: date, today: date) -> date:
    """A date of birth a person can have: not in the future, not before 1900."""
    if birth_date > today:
        raise InvalidFamilyMember("birth_date", "is in the future")
    if birth_date < OLDEST_BIRTH_DATE:
        raise InvalidFamilyMember("birth_date", "is before 1900-01-01")
    return birth_date


def check_relation(
    relation: Relation, birth_date: date, today: date, holder_birth: date | None
) -> None:
    """A relation that fits the ages given: a parent is an adult; a spouse is of age to marry
    (an adult here); a child is younger than the holder when the holder's age is known."""
    age = age_on(birth_date, today)
    if relation in (Relation.PARENT, Relation.SPOUSE) and age < ADULT_AGE:
        raise InvalidFamilyMember("relation", f"a {relation.value} is an adult (18 or older)")
    if relation is Relation.CHILD and holder_birth is not None and birth_date <= holder_birth:
        raise InvalidFamilyMember("relation", "a child is younger than the account holder")


def check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned:
        raise InvalidFamilyMember("name", "is empty")
    if len(cleaned) > NAME_MAX:
        raise InvalidFamilyMember("name", f"at most {NAME_MAX} characters")
    return cleaned


def acts_for(user_id: str, patient_id: str, managed_by: str | None) -> bool:
    """Whether the signed-in ``user_id`` acts for the patient: themselves, or their holder."""
    return user_id == patient_id or (managed_by is not None and managed_by == user_id)


def check_guardian_present(
    *,
    rule: bool,
    birth_date: date | None,
    managed_by: str | None,
    seat_held_by: str | None,
    today: date,
) -> None:
    """Raise :class:`GuardianRequired` when the under-six rule keeps the patient out: the rule
    is on, the patient is under six, and the patient's seat is not held by the account that
    manages them."""
    if not rule or not under_six(birth_date, today):
        return
    if managed_by is not None and seat_held_by == managed_by:
        return
    raise GuardianRequired(
        "a patient under six is seen online only with their guardian present: the account "
        "that manages the child must join for them"
    )
