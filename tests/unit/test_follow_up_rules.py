"""The follow-up gate as pure rules: which bookings it holds, the doctor's decision, admit and
join checks."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from domain.appointments import AppointmentKind
from domain.errors import Conflict, Forbidden, InvalidInput
from domain.follow_up import (
    PENDING,
    ConsentRequired,
    Eligibility,
    EligibilityStatus,
    EligibilityUnconfirmed,
    OnlineFirstVisitNotAllowed,
    PriorDiagnosis,
    VisitType,
    check_admit,
    check_booking,
    check_join,
    check_referral,
    decide,
    held_visit_type,
)
from domain.users import Role

TODAY = date(2026, 3, 2)
NOW = datetime(2026, 3, 2, 1, tzinfo=UTC)
PRIOR = PriorDiagnosis(
    condition="Hypertension",
    diagnosed_on=date(2025, 10, 1),
    institution="Ruijin Hospital",
    document_ids=("a" * 24,),
)
VIDEO, IN_PERSON, TEXT = AppointmentKind.VIDEO, AppointmentKind.IN_PERSON, AppointmentKind.TEXT


def book(**kw: object) -> Eligibility | None:
    args: dict[str, object] = {
        "gate": True,
        "kind": VIDEO,
        "visit_type": VisitType.FOLLOW_UP,
        "prior": PRIOR,
        "today": TODAY,
    } | kw
    return check_booking(**args)  # type: ignore[arg-type]


def test_a_video_follow_up_with_its_diagnosis_waits_for_the_doctor() -> None:
    assert book() == PENDING


def test_a_first_visit_is_in_person_when_the_gate_is_on() -> None:
    with pytest.raises(OnlineFirstVisitNotAllowed):
        book(visit_type=VisitType.FIRST)
    assert book(visit_type=VisitType.FIRST, kind=IN_PERSON) is None
    assert book(visit_type=VisitType.FIRST, gate=False) is None


@pytest.mark.parametrize(
    "prior",
    [None, PriorDiagnosis("x", date(2025, 1, 1), "y", ())],
    ids=["no-diagnosis", "no-documents"],
)
def test_a_video_follow_up_needs_the_diagnosis_and_a_document(prior: object) -> None:
    with pytest.raises(InvalidInput):
        book(prior=prior)
    assert book(prior=prior, gate=False) is None
    assert book(prior=prior, kind=IN_PERSON) is None


def test_a_diagnosis_from_the_future_or_with_repeated_documents_is_refused() -> None:
    future = PriorDiagnosis("x", date(2026, 3, 3), "y", ("a" * 24,))
    twice = PriorDiagnosis("x", TODAY, "y", ("a" * 24, "a" * 24))
    for prior in (future, twice):
        with pytest.raises(InvalidInput):
            book(prior=prior, gate=False)


def test_a_booking_that_names_no_visit_type_is_not_held() -> None:
    # A first-protocol client: kept as before (see the module's docstring).
    assert book(visit_type=None, prior=None) is None


def test_a_text_consultation_is_held_as_a_video_visit_is() -> None:
    # Online care too: a follow-up with its diagnosis waits for the doctor; a first visit is
    # in person; a follow-up without a document of the diagnosis is refused.
    assert book(kind=TEXT) == PENDING
    with pytest.raises(OnlineFirstVisitNotAllowed):
        book(kind=TEXT, visit_type=VisitType.FIRST)
    for prior in (None, PriorDiagnosis("x", date(2025, 1, 1), "y", ())):
        with pytest.raises(InvalidInput, match="a text follow-up needs prior_diagnosis"):
            book(kind=TEXT, prior=prior)


def test_a_text_consultation_naming_no_visit_type_is_a_follow_up_under_the_gate() -> None:
    # Only this protocol books kind text: no first-protocol client to keep as before.
    assert book(kind=TEXT, visit_type=None) == PENDING
    with pytest.raises(InvalidInput):
        book(kind=TEXT, visit_type=None, prior=None)
    assert held_visit_type(gate=True, kind=TEXT, visit_type=None, prior=None) is (
        VisitType.FOLLOW_UP
    )
    assert held_visit_type(gate=True, kind=VIDEO, visit_type=None, prior=None) is None
    assert held_visit_type(gate=True, kind=IN_PERSON, visit_type=None, prior=None) is None
    assert held_visit_type(gate=True, kind=VIDEO, visit_type=None, prior=PRIOR) is (
        VisitType.FOLLOW_UP
    )
    assert held_visit_type(gate=True, kind=TEXT, visit_type=VisitType.FIRST, prior=None) is (
        VisitType.FIRST
    )


def test_with_the_gate_off_a_text_consultation_is_not_held() -> None:
    assert book(kind=TEXT, gate=False) is None
    assert book(kind=TEXT, gate=False, visit_type=VisitType.FIRST, prior=None) is None
    assert book(kind=TEXT, gate=False, visit_type=None, prior=None) is None
    assert held_visit_type(gate=False, kind=TEXT, visit_type=None, prior=None) is None


def test_the_doctors_decision_is_final() -> None:
    confirmed = decide(PENDING, doctor_id="d", eligible=True, reason=None, now=NOW)
    assert confirmed == Eligibility(EligibilityStatus.CONFIRMED, by="d", at=NOW, reason=None)
    assert decide(confirmed, doctor_id="d", eligible=True, reason=None, now=NOW) is confirmed
    with pytest.raises(Conflict):
        decide(confirmed, doctor_id="d", eligible=False, reason="first diagnosis", now=NOW)
    with pytest.raises(InvalidInput):
        decide(PENDING, doctor_id="d", eligible=False, reason=" ", now=NOW)
    declined = decide(PENDING, doctor_id="d", eligible=False, reason="new symptoms", now=NOW)
    assert declined.status is EligibilityStatus.DECLINED
    assert declined.reason == "new symptoms"
    with pytest.raises(Conflict):
        decide(None, doctor_id="d", eligible=True, reason=None, now=NOW)


def test_admit_waits_for_the_confirmation() -> None:
    with pytest.raises(EligibilityUnconfirmed):
        check_admit(gate=True, eligibility=PENDING)
    confirmed = decide(PENDING, doctor_id="d", eligible=True, reason=None, now=NOW)
    check_admit(gate=True, eligibility=confirmed)
    check_admit(gate=True, eligibility=None)
    check_admit(gate=False, eligibility=PENDING)


def test_a_patient_joins_after_accepting_the_current_consent() -> None:
    args = {"gate": True, "eligibility": PENDING, "current_version": "2026-01"}
    with pytest.raises(ConsentRequired):
        check_join(role=Role.PATIENT, accepted_versions=frozenset(), **args)  # type: ignore[arg-type]
    with pytest.raises(ConsentRequired):
        check_join(role=Role.PATIENT, accepted_versions=frozenset({"2025-06"}), **args)  # type: ignore[arg-type]
    check_join(role=Role.PATIENT, accepted_versions=frozenset({"2026-01"}), **args)  # type: ignore[arg-type]
    check_join(role=Role.DOCTOR, accepted_versions=frozenset(), **args)  # type: ignore[arg-type]
    check_join(
        gate=False,
        role=Role.PATIENT,
        eligibility=PENDING,
        accepted_versions=frozenset(),
        current_version="2026-01",
    )


def test_only_the_appointments_doctor_refers() -> None:
    check_referral(role=Role.DOCTOR, doctor_id="d", caller_id="d")
    for role, caller in ((Role.DOCTOR, "e"), (Role.PATIENT, "d"), (Role.ADMIN, "d")):
        with pytest.raises(Forbidden):
            check_referral(role=role, doctor_id="d", caller_id=caller)
