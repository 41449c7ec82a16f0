"""The pharmacist's review as a pure state machine, and the warnings it shows (no I/O)."""

from __future__ import annotations

import pytest

from domain.errors import Conflict
from domain.pharmacy import (
    REVIEW_TRANSITIONS,
    ActiveTherapy,
    ReviewStatus,
    WarningCode,
    check_review,
    review_warnings,
)

R = ReviewStatus


@pytest.mark.parametrize("current", list(R))
@pytest.mark.parametrize("target", list(R))
def test_only_a_pending_review_is_decided(current: ReviewStatus, target: ReviewStatus) -> None:
    allowed = current is R.PENDING and target in (R.APPROVED, R.REJECTED)
    assert (target in REVIEW_TRANSITIONS[current]) is allowed
    if allowed:
        check_review(current, target)
    else:
        with pytest.raises(Conflict):
            check_review(current, target)


def codes(**kw: object) -> list[str]:
    args: dict[str, object] = {
        "drug_names": ["Amoxicillin Capsules", "阿莫西林胶囊"],
        "ingredients": ["amoxicillin", "penicillin"],
        "allergies": [],
        "active": [],
    } | kw
    return [w.code.value for w in review_warnings(**args)]  # type: ignore[arg-type]


def test_an_allergy_matches_either_name_or_an_ingredient_ignoring_case_and_spaces() -> None:
    assert codes(allergies=["PENICILLIN"]) == [WarningCode.ALLERGY]
    assert codes(allergies=["阿莫西林"]) == [WarningCode.ALLERGY]
    assert codes(allergies=["amoxicillin capsules"]) == [WarningCode.ALLERGY]
    assert codes(allergies=["Peanuts", "dust"]) == []
    assert codes(allergies=["  "]) == []


def test_the_same_ingredient_already_active_is_duplicate_therapy() -> None:
    same = ActiveTherapy("p1", "Amoxil", ("Amoxicillin",))
    other = ActiveTherapy("p2", "Amlodipine", ("amlodipine",))
    assert codes(active=[same, other]) == [WarningCode.DUPLICATE_THERAPY]
    assert codes(active=[other]) == []
    assert codes(allergies=["penicillin"], active=[same]) == ["allergy", "duplicate_therapy"]
