"""Every text field a client sends, over REST or Socket.IO, refuses a spoofing character (the
display-text rule of domain/text.py, or a pattern stricter than it), unless it is listed below
with the reason it is never shown to another person as sent. A new free-text field fails here
until it takes ``DisplayLine``/``DisplayText`` or is listed."""

from __future__ import annotations

import inspect
import typing
from typing import Annotated, Any

from pydantic import BaseModel, TypeAdapter, ValidationError

import signaling.models
from server.app import build_api

SPOOF = "Dr \u202egnaW"  # a right-to-left override inside

# (model, field): why it may hold any character.
EXEMPT: dict[tuple[str, str], str] = {
    ("RegisterIn", "password"): "a secret, hashed, never shown",
    ("CreateUserIn", "password"): "a secret, hashed, never shown",
    ("LoginIn", "password"): "a secret, never shown",
    ("LoginIn", "email"): "looked up, never shown",
    ("LoginIn", "device_token"): "a signed token, verified",
    ("PhoneCodeIn", "phone"): "parsed as a phone number and stored in E.164 (422 otherwise)",
    ("PhoneLoginIn", "phone"): "parsed as a phone number and stored in E.164 (422 otherwise)",
    ("PhoneSetIn", "phone"): "parsed as a phone number and stored in E.164 (422 otherwise)",
    ("PhoneRegisterIn", "phone"): "parsed as a phone number and stored in E.164 (422 otherwise)",
    ("RefreshIn", "refresh_token"): "a token, hashed and looked up",
    ("LogoutIn", "refresh_token"): "a token, hashed and looked up",
    ("RefreshIn", "token"): "a socket's access token, verified",
    ("RedeemIn", "token"): "a guest invitation link's token, parsed and its secret hashed",
    ("RegisterIn", "timezone"): "must name an IANA zone (422 otherwise)",
    ("PhoneRegisterIn", "timezone"): "must name an IANA zone (422 otherwise)",
    ("CreateUserIn", "timezone"): "must name an IANA zone (422 otherwise)",
    ("AvailabilityIn", "timezone"): "must name an IANA zone (422 otherwise)",
    ("PrescriptionIn", "timezone"): "must name an IANA zone (422 otherwise)",
    ("BookIn", "doctor_id"): "an id, looked up (404 otherwise)",
    ("BookIn", "patient_id"): "a family member's id, looked up (404 otherwise)",
    ("ConsentIn", "patient_id"): "a family member's id, looked up (404 otherwise)",
    ("OrderIn", "patient_id"): "a family member's id, looked up (404 otherwise)",
    ("AcceptInvitationIn", "token"): "a family invitation's token, hashed and looked up",
    ("AcceptInvitationIn", "password"): "a secret, hashed, never shown",
    ("ReferralBookIn", "doctor_id"): "an id, looked up (404 otherwise)",
    ("ItemIn", "drug_id"): "an id, looked up (404 otherwise)",
    ("ItemIn", "prescription_id"): "an id, looked up (404 otherwise)",
    ("NoteIn", "appointment_id"): "an id, looked up (404 otherwise)",
    ("VitalIn", "appointment_id"): "an id, looked up (404 otherwise)",
    ("PrescriptionIn", "appointment_id"): "an id, looked up (404 otherwise)",
    ("PrescriptionIn", "drug_id"): "an id, looked up (404 otherwise)",
    ("VitalIn", "unit"): "must be one of the type's units (422 otherwise)",
    ("ConsentIn", "version"): "must be the current notice's version (409 otherwise)",
    ("PrecallOfferIn", "sdp"): "SDP, checked by its own rule (signaling/sdp.py)",
    ("SignalData", "sdp"): "SDP, checked by its own rule (signaling/sdp.py)",
    ("SignalData", "candidate"): "an ICE candidate, checked by its own rule",
    ("CandidateInit", "candidate"): "an ICE candidate, checked by its own rule",
}


def _models() -> list[type[BaseModel]]:
    found: list[type[BaseModel]] = [e.body for e in build_api().endpoints if e.body is not None]
    found += [
        c
        for c in vars(signaling.models).values()
        if inspect.isclass(c) and issubclass(c, signaling.models.Payload)
    ]
    return found


def _accepting_spoofs() -> set[tuple[str, str]]:
    seen: set[type[BaseModel]] = set()
    accepting: set[tuple[str, str]] = set()

    def walk(model: type[BaseModel]) -> None:
        if model in seen:
            return
        seen.add(model)
        for name, info in model.model_fields.items():
            annotation: Any = info.annotation
            for arg in (annotation, *typing.get_args(annotation)):
                for inner in (arg, *typing.get_args(arg)):
                    if inspect.isclass(inner) and issubclass(inner, BaseModel):
                        walk(inner)
            field_type: Any = Annotated[annotation, *info.metadata] if info.metadata else annotation
            try:
                TypeAdapter(field_type).validate_python(SPOOF)
            except ValidationError:
                continue
            accepting.add((model.__name__, name))

    for model in _models():
        walk(model)
    return accepting


def test_every_text_field_refuses_spoofing_characters_or_says_why_not() -> None:
    accepting = _accepting_spoofs()
    assert accepting - EXEMPT.keys() == set(), "free text that skips the display-text rule"
    assert EXEMPT.keys() - accepting == set(), "listed as exempt, but no longer accepts it"


def test_the_walk_sees_the_fields_it_must() -> None:
    """The check above is only as good as its walk: it reaches nested models and the socket
    payloads (an exempt field of each kind is found)."""
    accepting = _accepting_spoofs()
    assert ("CandidateInit", "candidate") in accepting  # nested in a socket payload
    assert ("RefreshIn", "token") in accepting  # a socket payload
    assert ("ItemIn", "drug_id") in accepting  # nested in a REST body
