"""The FHIR export, validated by the FHIR models of ``fhir.resources`` (R4B, the R4 line's
current release: the same definitions for every resource exported here)."""

from __future__ import annotations

import base64
from datetime import timedelta
from typing import Any

import pytest
from fhir.resources.R4B import get_fhir_model_class
from fhir.resources.R4B.bundle import Bundle

from domain.appointments import AppointmentKind, AppointmentStatus
from domain.ids import new_id
from server import keys
from tests.server.clinic import MONDAY, Clinic, ok, problem


async def consultation(clinic: Clinic, doctor: dict[str, Any], *, minutes_ago: int) -> str:
    """A completed video consultation of patient A, driven through the state machine."""
    repos = await clinic.repos()
    start = clinic.clock.now - timedelta(minutes=minutes_ago)
    appointment = await repos.appointments.insert(
        patient_id=clinic.patient_a["id"],
        doctor_id=doctor["id"],
        start=start,
        end=start + timedelta(minutes=30),
        kind=AppointmentKind.VIDEO,
        reason="follow-up",
        now=start - timedelta(days=1),
    )
    for status in (
        AppointmentStatus.WAITING,
        AppointmentStatus.IN_PROGRESS,
        AppointmentStatus.COMPLETED,
    ):
        assert await repos.appointments.transition(appointment.id, status, now=start) is not None
    return appointment.id


async def chat(
    clinic: Clinic, appointment_id: str, lines: list[tuple[dict[str, Any], str]]
) -> None:
    """Messages exactly as the hub stores them."""
    db = clinic.client.app[keys.DATABASE].db
    await db["messages"].insert_many(
        [
            {
                "_id": new_id(),
                "appointment_id": appointment_id,
                "seq": seq,
                "sender_id": who["id"],
                "sender_role": who["user"]["role"],
                "sender_name": who["user"]["name"],
                "text": text,
                "client_msg_id": f"c-{appointment_id}-{seq}",
                "sent_at": clinic.clock.now - timedelta(minutes=30 - seq),
            }
            for seq, (who, text) in enumerate(lines, start=1)
        ]
    )


@pytest.fixture
async def record(clinic: Clinic) -> dict[str, Any]:
    """Patient A: a completed video visit with D (with chat), one with E (with chat), a booked
    in-person visit with D, vitals, a note, an allergy, a condition and a prescription."""
    c = clinic.client
    pid = clinic.patient_a["id"]
    with_d = await consultation(clinic, clinic.doctor, minutes_ago=120)
    with_e = await consultation(clinic, clinic.other_doctor, minutes_ago=60)
    upcoming = await clinic.booked(
        clinic.patient_a, clinic.doctor, MONDAY + timedelta(hours=2), kind="in_person"
    )
    await chat(
        clinic,
        with_d,
        [
            (clinic.patient_a, "Hello doctor"),
            (clinic.doctor, "Hello, how are you?"),
            (clinic.patient_a, "Better, thanks"),
        ],
    )
    await chat(clinic, with_e, [(clinic.other_doctor, "Second opinion here")])
    doctor = clinic.h(clinic.doctor)
    vitals = [
        {
            "type": "blood_pressure",
            "value": {"systolic": 128, "diastolic": 82},
            "unit": "mmHg",
            "appointment_id": with_d,
        },
        {"type": "heart_rate", "value": 66, "unit": "/min"},
        {"type": "glucose", "value": 95, "unit": "mg/dL"},
        {"type": "glucose", "value": 5.2, "unit": "mmol/L"},
        {"type": "weight", "value": 61.5, "unit": "kg"},
        {"type": "temperature", "value": 36.6, "unit": "Cel"},
        {"type": "spo2", "value": 98, "unit": "%"},
    ]
    for vital in vitals:
        await ok(
            await c.post(
                f"/api/v1/patients/{pid}/vitals",
                json={**vital, "measured_at": "2026-03-01T22:00:00Z"},
                headers=clinic.h(clinic.patient_a),
            ),
            201,
        )
    await ok(
        await c.post(
            f"/api/v1/patients/{pid}/notes",
            json={"appointment_id": with_d, "text": "BP well controlled. 血压控制良好。"},
            headers=doctor,
        ),
        201,
    )
    await ok(
        await c.post(
            f"/api/v1/patients/{pid}/allergies",
            json={"substance": "Penicillin", "reaction": "hives", "severity": "severe"},
            headers=doctor,
        ),
        201,
    )
    await ok(
        await c.post(
            f"/api/v1/patients/{pid}/conditions",
            json={"name": "Essential hypertension", "code": "I10", "onset_date": "2024-05-01"},
            headers=doctor,
        ),
        201,
    )
    await ok(
        await c.post(
            f"/api/v1/patients/{pid}/prescriptions",
            json={
                "appointment_id": with_d,
                "drug": "Amlodipine 5 mg",
                "dose": "1 tablet",
                "times": ["08:00"],
                "timezone": "Asia/Shanghai",
                "start_date": "2026-03-02",
                "days": 30,
            },
            headers=doctor,
        ),
        201,
    )
    return {"with_d": with_d, "with_e": with_e, "upcoming": upcoming["id"]}


def resources(bundle: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


def assert_valid_fhir(bundle: dict[str, Any]) -> None:
    """Validated by fhir.resources (required fields, types, value sets it knows, no unknown
    elements), and every reference resolves inside the bundle."""
    Bundle.model_validate(bundle)
    for entry in bundle["entry"]:
        get_fhir_model_class(entry["resource"]["resourceType"]).model_validate(entry["resource"])
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert len(urls) == len(set(urls))

    def references(value: Any) -> list[str]:
        if isinstance(value, dict):
            found = [value["reference"]] if isinstance(value.get("reference"), str) else []
            return found + [r for v in value.values() for r in references(v)]
        if isinstance(value, list):
            return [r for v in value for r in references(v)]
        return []

    dangling = set(references([e["resource"] for e in bundle["entry"]])) - set(urls)
    assert dangling == set()


async def test_the_patients_export_is_a_valid_r4_bundle(
    clinic: Clinic, record: dict[str, Any]
) -> None:
    response = await clinic.client.get(
        f"/api/v1/patients/{clinic.patient_a['id']}/fhir", headers=clinic.h(clinic.patient_a)
    )
    assert response.status == 200
    assert response.content_type == "application/fhir+json"
    bundle = await response.json()
    assert bundle["resourceType"] == "Bundle"
    assert bundle["type"] == "collection"
    assert_valid_fhir(bundle)

    (patient,) = resources(bundle, "Patient")
    assert patient["id"] == clinic.patient_a["id"]
    assert {p["id"] for p in resources(bundle, "Practitioner")} == {
        clinic.doctor["id"],
        clinic.other_doctor["id"],
    }
    appointments = {a["id"]: a for a in resources(bundle, "Appointment")}
    assert appointments[record["with_d"]]["status"] == "fulfilled"
    assert appointments[record["upcoming"]]["status"] == "booked"
    encounters = {e["id"]: e for e in resources(bundle, "Encounter")}
    assert set(encounters) == {record["with_d"], record["with_e"]}  # visits that happened
    assert encounters[record["with_d"]]["class"]["code"] == "VR"  # virtual: a video visit
    assert encounters[record["with_d"]]["status"] == "finished"

    observations = resources(bundle, "Observation")
    codes = {o["code"]["coding"][0]["code"] for o in observations}
    assert codes == {"85354-9", "8867-4", "2339-0", "15074-8", "29463-7", "8310-5", "59408-5"}
    (bp,) = [o for o in observations if o["code"]["coding"][0]["code"] == "85354-9"]
    assert {
        c["code"]["coding"][0]["code"]: c["valueQuantity"]["value"] for c in bp["component"]
    } == {"8480-6": 128, "8462-4": 82}
    assert bp["component"][0]["valueQuantity"]["system"] == "http://unitsofmeasure.org"
    assert bp["component"][0]["valueQuantity"]["code"] == "mm[Hg]"
    assert bp["encounter"]["reference"] in {e["fullUrl"] for e in bundle["entry"]}
    (glucose_mg,) = [o for o in observations if o["code"]["coding"][0]["code"] == "2339-0"]
    assert glucose_mg["valueQuantity"]["code"] == "mg/dL"
    assert all(
        o["category"][0]["coding"][0]["code"] in {"vital-signs", "laboratory"} for o in observations
    )

    (rx,) = resources(bundle, "MedicationRequest")
    assert rx["status"] == "active"
    assert rx["intent"] == "order"
    assert rx["dosageInstruction"][0]["timing"]["repeat"]["timeOfDay"] == ["08:00:00"]

    communications = resources(bundle, "Communication")
    assert len(communications) == 4  # every message of both of the patient's consultations
    texts = [c["payload"][0]["contentString"] for c in communications]
    assert texts[:3] == ["Hello doctor", "Hello, how are you?", "Better, thanks"]
    by_text = dict(zip(texts, communications, strict=True))
    fulls = {
        e["resource"]["resourceType"] + "/" + e["resource"]["id"]: e["fullUrl"]
        for e in bundle["entry"]
    }
    assert (
        by_text["Hello doctor"]["sender"]["reference"] == fulls[f"Patient/{clinic.patient_a['id']}"]
    )
    assert (
        by_text["Hello, how are you?"]["sender"]["reference"]
        == fulls[f"Practitioner/{clinic.doctor['id']}"]
    )
    assert (
        by_text["Hello doctor"]["encounter"]["reference"] == fulls[f"Encounter/{record['with_d']}"]
    )

    (note,) = resources(bundle, "DocumentReference")
    assert (
        base64.b64decode(note["content"][0]["attachment"]["data"]).decode()
        == "BP well controlled. 血压控制良好。"
    )
    assert len(resources(bundle, "AllergyIntolerance")) == 1
    assert resources(bundle, "Condition")[0]["code"]["coding"][0]["code"] == "I10"


async def test_a_doctor_export_holds_only_their_own_transcripts(
    clinic: Clinic, record: dict[str, Any]
) -> None:
    response = await clinic.client.get(
        f"/api/v1/patients/{clinic.patient_a['id']}/fhir", headers=clinic.h(clinic.doctor)
    )
    bundle = await response.json()
    assert_valid_fhir(bundle)
    texts = [c["payload"][0]["contentString"] for c in resources(bundle, "Communication")]
    assert texts == ["Hello doctor", "Hello, how are you?", "Better, thanks"]
    # The rest of the record is shared among the patient's doctors.
    assert len(resources(bundle, "Appointment")) == 3


async def test_export_is_audited_and_refused_to_others(
    clinic: Clinic, record: dict[str, Any]
) -> None:
    url = f"/api/v1/patients/{clinic.patient_a['id']}/fhir"
    for who in (clinic.patient_b, clinic.admin):
        await problem(await clinic.client.get(url, headers=clinic.h(who)), 404, "not_found")
    await ok(await clinic.client.get(url, headers=clinic.h(clinic.patient_a)))
    rows = await (await clinic.repos()).audit.query(patient_id=clinic.patient_a["id"], limit=100)
    exports = [e for _, e in rows if e.action == "fhir.export"]
    assert [(e.actor_id, e.outcome.value) for e in reversed(exports)] == [
        (clinic.patient_b["id"], "denied"),
        (clinic.admin["id"], "denied"),
        (clinic.patient_a["id"], "success"),
    ]
    success = exports[0]
    assert set(success.details["transcripts"]) == {
        record["with_d"],
        record["with_e"],
        record["upcoming"],
    }
    assert success.details["messages"] == 4


async def test_an_empty_record_exports_a_valid_bundle(clinic: Clinic) -> None:
    response = await clinic.client.get(
        f"/api/v1/patients/{clinic.patient_b['id']}/fhir", headers=clinic.h(clinic.patient_b)
    )
    bundle = await response.json()
    assert_valid_fhir(bundle)
    assert [e["resource"]["resourceType"] for e in bundle["entry"]] == ["Patient"]


async def test_the_validation_catches_broken_bundles(
    clinic: Clinic, record: dict[str, Any]
) -> None:
    """The checks above can fail: a missing required element, an element FHIR does not have,
    and a reference to nothing are each refused."""
    from pydantic import ValidationError

    response = await clinic.client.get(
        f"/api/v1/patients/{clinic.patient_a['id']}/fhir", headers=clinic.h(clinic.patient_a)
    )
    good = await response.json()

    def broken(kind: str, change: Any) -> dict[str, Any]:
        import copy

        bundle = copy.deepcopy(good)
        change(
            next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind)
        )
        return bundle

    with pytest.raises(ValidationError):
        assert_valid_fhir(broken("Observation", lambda r: r.pop("status")))
    with pytest.raises(ValidationError):
        assert_valid_fhir(broken("Encounter", lambda r: r.update(mood="good")))
    with pytest.raises(AssertionError):
        assert_valid_fhir(
            broken("Communication", lambda r: r.update(subject={"reference": "urn:uuid:0"}))
        )
