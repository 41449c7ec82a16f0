"""Users, roles and the authenticated principal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum

from domain.ids import SessionId, UserId


class Role(StrEnum):
    PATIENT = "patient"
    DOCTOR = "doctor"
    ADMIN = "admin"
    PHARMACIST = "pharmacist"


@dataclass(frozen=True, slots=True)
class User:
    id: UserId
    email: str
    name: str
    role: Role
    specialty: str | None
    password_hash: str
    created_at: datetime
    timezone: str = "UTC"
    locale: str | None = None
    # Set while an admin has deactivated the account: it cannot sign in, and every sign-in it
    # had was revoked when it was deactivated.
    deactivated_at: datetime | None = None
    # The account's mobile number (E.164), for SMS and sign-in by phone; None: none given.
    phone: str | None = None
    # A family member (domain/family.py): the account that manages this patient, who has no
    # sign-in of their own while it is set; what they are to that account; their date of birth
    # and sex (also kept for a patient who signs in, when known).
    managed_by: UserId | None = None
    relation: str | None = None
    birth_date: date | None = None
    sex: str | None = None

    @property
    def active(self) -> bool:
        return self.deactivated_at is None

    @property
    def mail_address(self) -> str | None:
        """Where mail reaches this person, or None: the accounts with no address of their own
        (a managed family member, an account registered by phone) are stored under one in the
        reserved ``.invalid`` domain, which no mail goes to and which is never shown."""
        return None if self.email.endswith(".invalid") else self.email


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling: read from a verified access token, never from a request body."""

    user_id: UserId
    role: Role
    session_id: SessionId
    token_id: str
    expires_at: datetime

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN

    @property
    def is_doctor(self) -> bool:
        return self.role is Role.DOCTOR

    @property
    def is_patient(self) -> bool:
        return self.role is Role.PATIENT

    @property
    def is_pharmacist(self) -> bool:
        return self.role is Role.PHARMACIST
