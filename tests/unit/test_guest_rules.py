"""A third participant's invitation as pure rules (domain.guests): who may invite and decide,
the link's format, its secret checked against the stored hash, expiry within the join window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.errors import Forbidden, NotFound
from domain.guests import (
    GuestKind,
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
    parse_token,
    revoke,
)
from domain.ids import AppointmentId, UserId
from domain.users import Role

NOW = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
DOCTOR = UserId("d" * 24)
PATIENT = UserId("p" * 24)


def invite(status: InviteStatus = InviteStatus.ACTIVE, secret: str = "s3cret") -> Invite:  # noqa: S107
    return Invite(
        id="i" * 24,
        appointment_id=AppointmentId("a" * 24),
        guest_name="Li Na",
        kind=GuestKind.INTERPRETER,
        status=status,
        created_by=PATIENT,
        created_by_role=Role.PATIENT,
        created_at=NOW,
        expires_at=NOW + timedelta(hours=1),
        secret_hash=hash_secret(secret),
    )


def test_the_doctor_invites_at_once_the_patient_asks_and_nobody_else() -> None:
    assert creation_status(Role.DOCTOR) is InviteStatus.ACTIVE
    assert creation_status(Role.PATIENT) is InviteStatus.PENDING_APPROVAL
    for role in (Role.ADMIN, Role.PHARMACIST):
        with pytest.raises(NotFound):
            creation_status(role)


def test_only_the_doctor_decides_and_only_once() -> None:
    pending = invite(InviteStatus.PENDING_APPROVAL)
    with pytest.raises(Forbidden):
        decide(pending, role=Role.PATIENT, by=PATIENT, approve=True)
    approved = decide(pending, role=Role.DOCTOR, by=DOCTOR, approve=True)
    assert (approved.status, approved.decided_by) == (InviteStatus.ACTIVE, DOCTOR)
    assert decide(pending, role=Role.DOCTOR, by=DOCTOR, approve=False).status is (
        InviteStatus.DECLINED
    )
    with pytest.raises(InviteNotPending):
        decide(approved, role=Role.DOCTOR, by=DOCTOR, approve=False)


def test_the_doctor_or_the_creator_revokes_what_is_not_redeemed() -> None:
    assert revoke(invite(), role=Role.PATIENT, by=PATIENT).status is InviteStatus.REVOKED
    assert revoke(invite(), role=Role.DOCTOR, by=DOCTOR).status is InviteStatus.REVOKED
    other_patient = UserId("q" * 24)
    with pytest.raises(NotFound):
        revoke(invite(), role=Role.PATIENT, by=other_patient)
    with pytest.raises(InviteNotPending):
        revoke(invite(InviteStatus.REDEEMED), role=Role.DOCTOR, by=DOCTOR)


def test_a_link_opens_only_with_its_secret_while_active_and_unexpired() -> None:
    token = link_token("i" * 24, "s3cret")
    assert parse_token(token) == ("i" * 24, "s3cret")
    for bad in ("", "gi1..x", "gi2.a.b", "gi1.a.b.c", "gi1.a." + "x" * 300, "gi1.a.密"):
        with pytest.raises(InviteNotUsable):
            parse_token(bad)
    assert check_secret(invite(), "s3cret", NOW) == invite()
    for wrong, status, at in (
        ("other", InviteStatus.ACTIVE, NOW),
        ("s3cret", InviteStatus.REDEEMED, NOW),
        ("s3cret", InviteStatus.PENDING_APPROVAL, NOW),
        ("s3cret", InviteStatus.REVOKED, NOW),
        ("s3cret", InviteStatus.ACTIVE, NOW + timedelta(hours=1)),
    ):
        with pytest.raises(InviteNotUsable):
            check_secret(invite(status), wrong, at)
    with pytest.raises(InviteNotUsable):
        check_secret(None, "s3cret", NOW)


def test_a_link_never_outlives_the_consultations_window() -> None:
    closes = NOW + timedelta(minutes=20)
    assert expiry(NOW, timedelta(hours=1), closes) == closes
    assert expiry(NOW, timedelta(minutes=5), closes) == NOW + timedelta(minutes=5)
