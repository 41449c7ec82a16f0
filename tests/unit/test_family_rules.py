"""The rules of family members (domain/family.py): ages, dates of birth, relations, who acts
for a patient, and the under-six guardian rule."""

from __future__ import annotations

from datetime import date

import pytest

from domain.errors import Conflict, InvalidInput
from domain.family import (
    GuardianRequired,
    InvalidFamilyMember,
    Relation,
    acts_for,
    age_on,
    check_birth_date,
    check_guardian_present,
    check_name,
    check_relation,
    is_minor,
    under_six,
)

TODAY = date(2026, 3, 2)


@pytest.mark.parametrize(
    ("born", "age"),
    [
        (date(2020, 3, 2), 6),  # the sixth birthday today
        (date(2020, 3, 3), 5),  # tomorrow
        (date(2026, 3, 2), 0),
        (date(2008, 3, 2), 18),
        (date(2008, 3, 3), 17),
        (date(1900, 1, 1), 126),
    ],
)
def test_age_in_whole_years(born: date, age: int) -> None:
    assert age_on(born, TODAY) == age


def test_a_leap_day_birthday_counts_on_the_first_of_march() -> None:
    born = date(2020, 2, 29)
    assert age_on(born, date(2026, 2, 28)) == 5
    assert age_on(born, date(2026, 3, 1)) == 6


def test_minor_and_under_six_turn_on_the_birthday() -> None:
    assert is_minor(date(2008, 3, 3), TODAY)
    assert not is_minor(date(2008, 3, 2), TODAY)
    assert under_six(date(2020, 3, 3), TODAY)
    assert not under_six(date(2020, 3, 2), TODAY)
    assert not under_six(None, TODAY)  # unknown: the rule cannot apply


@pytest.mark.parametrize(
    ("born", "problem"),
    [(date(2026, 3, 3), "is in the future"), (date(1899, 12, 31), "is before 1900-01-01")],
)
def test_impossible_dates_of_birth_are_refused_naming_the_field(born: date, problem: str) -> None:
    with pytest.raises(InvalidFamilyMember) as refused:
        check_birth_date(born, TODAY)
    assert isinstance(refused.value, InvalidInput)
    assert refused.value.details == [
        {"field": "birth_date", "message": problem, "type": "value_error"}
    ]


def test_today_and_1900_are_possible_dates_of_birth() -> None:
    assert check_birth_date(TODAY, TODAY) == TODAY
    assert check_birth_date(date(1900, 1, 1), TODAY) == date(1900, 1, 1)


@pytest.mark.parametrize("relation", [Relation.PARENT, Relation.SPOUSE])
def test_a_parent_or_spouse_is_an_adult(relation: Relation) -> None:
    with pytest.raises(InvalidFamilyMember) as refused:
        check_relation(relation, date(2010, 1, 1), TODAY, None)
    assert refused.value.field == "relation"
    check_relation(relation, date(2008, 3, 2), TODAY, None)


def test_a_child_is_younger_than_the_holder_when_the_holders_age_is_known() -> None:
    with pytest.raises(InvalidFamilyMember):
        check_relation(Relation.CHILD, date(1980, 1, 1), TODAY, date(1985, 1, 1))
    check_relation(Relation.CHILD, date(1980, 1, 1), TODAY, None)
    check_relation(Relation.CHILD, date(2015, 1, 1), TODAY, date(1985, 1, 1))
    check_relation(Relation.OTHER, date(2020, 1, 1), TODAY, None)  # a child cousin


def test_names_are_trimmed_and_bounded() -> None:
    assert check_name("  王小明 ") == "王小明"
    with pytest.raises(InvalidFamilyMember):
        check_name("   ")
    with pytest.raises(InvalidFamilyMember):
        check_name("x" * 101)


def test_who_acts_for_a_patient() -> None:
    assert acts_for("p", "p", None)  # themselves
    assert acts_for("h", "c", "h")  # their holder
    assert not acts_for("x", "c", "h")  # a holder of someone else, or a stranger
    assert not acts_for("x", "c", None)


def check(birth: date | None, held_by: str | None, *, rule: bool = True) -> None:
    check_guardian_present(
        rule=rule, birth_date=birth, managed_by="h", seat_held_by=held_by, today=TODAY
    )


def test_under_six_is_admitted_only_with_the_guardian_in_the_seat() -> None:
    five = date(2021, 1, 1)
    check(five, "h")
    for holder in ("someone", None):
        with pytest.raises(GuardianRequired) as refused:
            check(five, holder)
        assert isinstance(refused.value, Conflict)
        assert refused.value.code == "guardian_required"
        assert refused.value.status == 409


def test_the_guardian_rule_leaves_others_alone() -> None:
    check(date(2020, 3, 2), "someone")  # six today
    check(None, "someone")  # no date of birth known
    check(date(2021, 1, 1), "someone", rule=False)  # the rule is off
    with pytest.raises(GuardianRequired):  # an unmanaged child under six, alone
        check_guardian_present(
            rule=True, birth_date=date(2022, 1, 1), managed_by=None, seat_held_by="c", today=TODAY
        )
