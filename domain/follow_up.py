"""Online care only for follow-up visits (复诊), with the patient's informed consent, and the
doctor's eligibility decision (PROTOCOL.md, "Online care only for follow-up visits").

Pure rules, no I/O: the appointment service and the hub ask these functions, with the setting
``TELEMED_FOLLOW_UP_ONLY`` passed in as ``gate``.

Which appointments the gate holds: the online ones (:data:`ONLINE_KINDS`: a video visit and a
text-and-image consultation are both online care), booked with ``visit_type`` given. A video
booking that does not name its visit type comes from a client of the first protocol, which knows
nothing of prior diagnoses, eligibility or consent; it is kept as it always was (``visit_type``
and ``eligibility`` null) rather than refused, so those clients keep working while every client
that speaks this protocol (the browser app) is held to the rule. A clinic that must hold every
booking refuses the old clients at its edge; that choice is documented in PROTOCOL.md. No client
of the first protocol books a text consultation (``kind: "text"`` is of this protocol), so a text
consultation that names no visit type is a follow-up and held like any other.

The gate is one set of rules for both online kinds: the booking (:func:`check_booking`), the
doctor's decision (:func:`decide`), the patient's consent before entering (:func:`check_join`:
joining the video room, opening the text consultation) and the doctor's confirmation before the
consultation starts (:func:`check_admit`: admitting the patient, writing in the text chat). A text
consultation turned into a video call is the same appointment, so its eligibility and consent
carry over as they are.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import date, datetime

from domain.appointments import AppointmentKind
from domain.errors import Conflict, DomainError, Forbidden, InvalidInput
from domain.users import Role

MAX_PRIOR_DOCUMENTS = 20


class VisitType(enum.StrEnum):
    FIRST = "first"
    FOLLOW_UP = "follow_up"


class EligibilityStatus(enum.StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    DECLINED = "declined"


class Urgency(enum.StrEnum):
    ROUTINE = "routine"
    URGENT = "urgent"
    EMERGENCY = "emergency"


class OnlineFirstVisitNotAllowed(DomainError):
    code = "online_first_visit_not_allowed"
    status = 422
    title = "A first visit is in person"


class EligibilityUnconfirmed(DomainError):
    code = "eligibility_unconfirmed"
    status = 409
    title = "Eligibility not confirmed"


class ConsentRequired(DomainError):
    code = "consent_required"
    status = 403
    title = "Consent to online care required"


@dataclass(frozen=True, slots=True)
class PriorDiagnosis:
    condition: str
    diagnosed_on: date
    institution: str
    document_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Eligibility:
    status: EligibilityStatus
    by: str | None = None
    at: datetime | None = None
    reason: str | None = None


PENDING = Eligibility(status=EligibilityStatus.PENDING)

# The kinds of appointment that are online care, held by the gate alike.
ONLINE_KINDS = frozenset({AppointmentKind.VIDEO, AppointmentKind.TEXT})
# The online kinds a client of the first protocol books (it names no visit type; see above).
FIRST_PROTOCOL_KINDS = frozenset({AppointmentKind.VIDEO})


def held_visit_type(
    *,
    gate: bool,
    kind: AppointmentKind,
    visit_type: VisitType | None,
    prior: PriorDiagnosis | None,
) -> VisitType | None:
    """The visit type a booking is recorded as: the one it names; else a follow-up when it names
    a prior diagnosis, or, with the gate on, when it is an online kind only this protocol books
    (``text``); else none (a client of the first protocol, or the gate off: as before)."""
    if visit_type is not None:
        return visit_type
    if prior is not None or (gate and kind in ONLINE_KINDS - FIRST_PROTOCOL_KINDS):
        return VisitType.FOLLOW_UP
    return None


def check_booking(
    *,
    gate: bool,
    kind: AppointmentKind,
    visit_type: VisitType | None,
    prior: PriorDiagnosis | None,
    today: date,
) -> Eligibility | None:
    """The eligibility a new booking starts with (``None``: not held by the gate)."""
    if prior is not None:
        if prior.diagnosed_on > today:
            raise InvalidInput("prior_diagnosis.diagnosed_on is in the future")
        if len(set(prior.document_ids)) != len(prior.document_ids):
            raise InvalidInput("prior_diagnosis.document_ids names a document twice")
        if len(prior.document_ids) > MAX_PRIOR_DOCUMENTS:
            raise InvalidInput(f"prior_diagnosis holds at most {MAX_PRIOR_DOCUMENTS} documents")
    visit_type = held_visit_type(gate=gate, kind=kind, visit_type=visit_type, prior=prior)
    if not gate or kind not in ONLINE_KINDS or visit_type is None:
        return None
    if visit_type is VisitType.FIRST:
        raise OnlineFirstVisitNotAllowed(
            "a first visit cannot be online: book an in-person appointment (kind in_person)"
        )
    if prior is None or not prior.document_ids:
        raise InvalidInput(
            f"a {kind.value} follow-up needs prior_diagnosis with at least one document of the "
            "diagnosis"
        )
    return PENDING


def decide(
    current: Eligibility | None,
    *,
    doctor_id: str,
    eligible: bool,
    reason: str | None,
    now: datetime,
) -> Eligibility:
    """The doctor's decision; a decision is final (the same decision again changes nothing)."""
    if current is None:
        raise Conflict("this appointment is not a gated follow-up visit")
    wanted = EligibilityStatus.CONFIRMED if eligible else EligibilityStatus.DECLINED
    if current.status is not EligibilityStatus.PENDING:
        if current.status is wanted:
            return current
        raise Conflict(f"eligibility is already {current.status.value}")
    if not eligible and not (reason or "").strip():
        raise InvalidInput("a declined follow-up needs a reason for the patient")
    return replace(current, status=wanted, by=doctor_id, at=now, reason=(reason or None))


def check_admit(*, gate: bool, eligibility: Eligibility | None) -> None:
    """A gated follow-up is admitted only once its doctor confirmed it."""
    if gate and eligibility is not None and eligibility.status is not EligibilityStatus.CONFIRMED:
        raise EligibilityUnconfirmed(
            "confirm the patient's eligibility for an online follow-up first"
        )


def check_join(
    *,
    gate: bool,
    role: Role,
    eligibility: Eligibility | None,
    accepted_versions: frozenset[str],
    current_version: str,
) -> None:
    """A patient joins a gated follow-up once they accepted the current consent text."""
    if not gate or role is not Role.PATIENT or eligibility is None:
        return
    if current_version not in accepted_versions:
        raise ConsentRequired(
            f"accept the informed consent to online care (version {current_version}) first"
        )


def check_referral(*, role: Role, doctor_id: str, caller_id: str) -> None:
    if role is not Role.DOCTOR or doctor_id != caller_id:
        raise Forbidden("only the appointment's doctor refers the patient")


# The informed consent to online care, versioned: a new text gets a new version, and every
# patient accepts it again before their next online consultation.
CONSENT_VERSION = "2026-12"
CONSENT_TEXT = {
    "en": (
        "Online consultations on this service are follow-up visits only: they continue the care "
        "of a condition already diagnosed in person, and the doctor must first confirm that your "
        "visit qualifies. A first diagnosis needs an in-person visit. The doctor sees and hears "
        "you only through the camera and microphone, cannot examine you, and may end the online "
        "visit and refer you to an in-person visit at any time. The documents you share become "
        "part of your medical record. In an emergency, call 120 or go to the nearest emergency "
        "department."
    ),
    "zh-CN": (
        "本平台的在线问诊仅限复诊：用于已在线下确诊疾病的后续诊疗，医生需先确认您符合复诊条件。"
        "首次诊断须到医院线下就诊。医生只能通过摄像头和麦克风看到、听到您，无法为您查体，"
        "并可随时结束在线问诊、转为线下就诊。您上传的资料将记入您的病历。"
        "如遇紧急情况，请拨打 120 或前往最近的急诊科。"
    ),
}


@dataclass(frozen=True, slots=True)
class Referral:
    """The doctor's referral of the patient to an offline (in-person) visit."""

    id: str
    appointment_id: str
    patient_id: str
    doctor_id: str
    reason: str
    department: str | None
    urgency: Urgency
    created_at: datetime
    booked_appointment_id: str | None
