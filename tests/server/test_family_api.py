"""Family members (就诊人) over the real API: the details an account may give, the managed
person's FHIR export with a RelatedPerson for the holder, a managed adult's own sign-in (after
which the holder's access ends), and a managed account that can never sign in itself."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from domain.users import Role
from server import keys
from storage.users import managed_email
from tests.conftest import STRONG_PASSWORD
from tests.server.clinic import MONDAY, Clinic, iso, ok, problem
from tests.server.test_fhir_export import assert_valid_fhir, resources

MEMBERS = "/api/v1/me/family-members"


async def add(clinic: Clinic, who: dict[str, Any], **body: Any) -> Any:
    return await clinic.client.post(MEMBERS, json=body, headers=clinic.h(who))


CHILD = {"name": "王小明", "birth_date": "2021-05-01", "sex": "male", "relation": "child"}
FATHER = {"name": "Li Ming", "birth_date": "1950-02-03", "sex": "male", "relation": "parent"}


async def test_a_holder_adds_lists_and_edits_family_members(clinic: Clinic) -> None:
    child = (await ok(await add(clinic, clinic.patient_a, **CHILD), 201))["family_member"]
    assert child | {"id": "", "created_at": ""} == {
        "id": "",
        "name": "王小明",
        "birth_date": "2021-05-01",
        "sex": "male",
        "relation": "child",
        "age": 4,
        "minor": True,
        "under_six": True,
        "invited": False,
        "created_at": "",
    }
    await ok(await add(clinic, clinic.patient_a, **FATHER), 201)
    listed = await ok(await clinic.client.get(MEMBERS, headers=clinic.h(clinic.patient_a)))
    assert [m["name"] for m in listed["family_members"]] == ["王小明", "Li Ming"]
    other = await ok(await clinic.client.get(MEMBERS, headers=clinic.h(clinic.patient_b)))
    assert other["family_members"] == []
    edited = await ok(
        await clinic.client.patch(
            f"{MEMBERS}/{child['id']}",
            json={"birth_date": "2019-03-02"},
            headers=clinic.h(clinic.patient_a),
        )
    )
    assert edited["family_member"]["age"] == 7
    assert edited["family_member"]["under_six"] is False


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"birth_date": "2026-03-03"}, "birth_date"),  # tomorrow
        ({"birth_date": "1899-12-31"}, "birth_date"),
        ({"relation": "parent", "birth_date": "2010-01-01"}, "relation"),  # a parent of 16
        ({"relation": "spouse", "birth_date": "2009-03-03"}, "relation"),  # 17 today
        ({"relation": "cousin"}, "relation"),
        ({"sex": "x"}, "sex"),
        ({"name": ""}, "name"),
        ({"name": "a\u202eb"}, "name"),  # a bidi override
    ],
)
async def test_impossible_details_are_refused_naming_the_field_and_nothing_is_stored(
    clinic: Clinic, change: dict[str, Any], field: str
) -> None:
    body = await problem(
        await add(clinic, clinic.patient_a, **(CHILD | change)), 422, "invalid_input"
    )
    assert field in {e["field"].split(".")[-1] for e in body["errors"]}, body
    listed = await ok(await clinic.client.get(MEMBERS, headers=clinic.h(clinic.patient_a)))
    assert listed["family_members"] == []


@pytest.mark.parametrize("who", ["doctor", "admin"])
async def test_only_a_patients_account_manages_family_members(clinic: Clinic, who: str) -> None:
    await problem(await add(clinic, getattr(clinic, who), **CHILD), 403, "forbidden")


async def test_the_family_members_fhir_export_names_the_holder_as_a_related_person(
    clinic: Clinic,
) -> None:
    child = (await ok(await add(clinic, clinic.patient_a, **CHILD), 201))["family_member"]
    booked = await clinic.client.post(
        "/api/v1/appointments",
        json={
            "doctor_id": clinic.doctor["id"],
            "start": iso(MONDAY + timedelta(hours=1)),
            "kind": "in_person",
            "patient_id": child["id"],
        },
        headers=clinic.h(clinic.patient_a),
    )
    await ok(booked, 201)
    bundle = await ok(
        await clinic.client.get(
            f"/api/v1/patients/{child['id']}/fhir", headers=clinic.h(clinic.patient_a)
        )
    )
    assert_valid_fhir(bundle)
    [patient] = resources(bundle, "Patient")
    assert patient["id"] == child["id"]
    assert patient["birthDate"] == "2021-05-01"
    assert patient["gender"] == "male"
    assert "telecom" not in patient  # the stored placeholder address is nobody's
    [related] = resources(bundle, "RelatedPerson")
    assert related["id"] == clinic.patient_a["id"]
    assert related["name"] == [{"text": "Patient A"}]
    assert related["relationship"][0]["coding"][0]["code"] == "PRN"  # the holder is a parent
    patient_url = next(
        e["fullUrl"] for e in bundle["entry"] if e["resource"]["resourceType"] == "Patient"
    )
    assert related["patient"]["reference"] == patient_url
    [appointment] = resources(bundle, "Appointment")
    assert appointment["participant"][0]["actor"]["reference"] == patient_url
    # The holder's own export has no RelatedPerson: nobody manages them.
    own = await ok(
        await clinic.client.get(
            f"/api/v1/patients/{clinic.patient_a['id']}/fhir", headers=clinic.h(clinic.patient_a)
        )
    )
    assert resources(own, "RelatedPerson") == []


async def test_a_managed_account_never_signs_in_itself(clinic: Clinic) -> None:
    child = (await ok(await add(clinic, clinic.patient_a, **CHILD), 201))["family_member"]
    # Its stored hash is empty: the sign-in must not fall back to the timing dummy's password.
    for password in ("not-a-real-password-just-for-timing", STRONG_PASSWORD, ""):
        response = await clinic.client.post(
            "/api/v1/auth/login",
            json={"email": managed_email(child["id"]), "password": password or "x"},
        )
        await problem(response, 401, "unauthorized")


async def test_a_managed_adult_gets_their_own_sign_in_and_the_holders_access_ends(
    clinic: Clinic,
) -> None:
    holder = clinic.patient_a
    father = (await ok(await add(clinic, holder, **FATHER), 201))["family_member"]
    child = (await ok(await add(clinic, holder, **CHILD), 201))["family_member"]
    invite = f"{MEMBERS}/{father['id']}/invitation"
    minor = await clinic.client.post(
        f"{MEMBERS}/{child['id']}/invitation",
        json={"email": "xm@example.com"},
        headers=clinic.h(holder),
    )
    await problem(minor, 409, "minor_cannot_sign_in")
    taken = await clinic.client.post(
        invite, json={"email": clinic.patient_b["email"]}, headers=clinic.h(holder)
    )
    await problem(taken, 409, "conflict")
    stranger = await clinic.client.post(
        invite, json={"email": "li.ming@example.com"}, headers=clinic.h(clinic.patient_b)
    )
    await problem(stranger, 404, "not_found")
    first = (
        await ok(
            await clinic.client.post(
                invite, json={"email": "li.ming@example.com"}, headers=clinic.h(holder)
            ),
            201,
        )
    )["invitation"]
    assert first["url"].endswith(f"/invitation#{first['token']}")
    second = (
        await ok(
            await clinic.client.post(
                invite, json={"email": "Li.Ming@example.com"}, headers=clinic.h(holder)
            ),
            201,
        )
    )["invitation"]
    accept = "/api/v1/auth/invitation/accept"
    replaced = await clinic.client.post(
        accept, json={"token": first["token"], "password": STRONG_PASSWORD}
    )
    await problem(replaced, 404, "invitation_invalid")  # a new one replaced it
    weak = await clinic.client.post(accept, json={"token": second["token"], "password": "li ming"})
    await problem(weak, 422, "invalid_input")
    accepted = await ok(
        await clinic.client.post(
            accept, json={"token": second["token"], "password": STRONG_PASSWORD}
        )
    )
    assert accepted["user"] == accepted["user"] | {
        "id": father["id"],
        "email": "li.ming@example.com",
        "role": "patient",
    }
    again = await clinic.client.post(
        accept, json={"token": second["token"], "password": STRONG_PASSWORD}
    )
    await problem(again, 404, "invitation_invalid")

    tokens = await clinic.accounts.login("li.ming@example.com")
    own = {"Authorization": f"Bearer {tokens['access_token']}"}
    record = await ok(
        await clinic.client.get(f"/api/v1/patients/{father['id']}/record", headers=own)
    )
    assert record["patient"]["managed_by"] is None
    assert record["patient"]["email"] == "li.ming@example.com"
    # The holder no longer sees their record, nor manages them.
    gone = await clinic.client.get(
        f"/api/v1/patients/{father['id']}/record", headers=clinic.h(holder)
    )
    await problem(gone, 404, "not_found")
    listed = await ok(await clinic.client.get(MEMBERS, headers=clinic.h(holder)))
    assert [m["id"] for m in listed["family_members"]] == [child["id"]]
    trail = await ok(
        await clinic.client.get(
            f"/api/v1/admin/audit?patient={father['id']}&limit=200", headers=clinic.h(clinic.admin)
        )
    )
    given = [e for e in trail["entries"] if e["action"] == "family_member.sign_in_given"]
    # The weak password's attempt and the accepted one.
    assert sorted(e["outcome"] for e in given) == ["failed", "success"]


async def test_an_invitation_expires_after_seven_days(clinic: Clinic) -> None:
    father = (await ok(await add(clinic, clinic.patient_a, **FATHER), 201))["family_member"]
    invitation = (
        await ok(
            await clinic.client.post(
                f"{MEMBERS}/{father['id']}/invitation",
                json={"email": "late@example.com"},
                headers=clinic.h(clinic.patient_a),
            ),
            201,
        )
    )["invitation"]
    clinic.clock.advance(days=7, seconds=1)
    late = await clinic.client.post(
        "/api/v1/auth/invitation/accept",
        json={"token": invitation["token"], "password": STRONG_PASSWORD},
    )
    await problem(late, 404, "invitation_invalid")
    repos = clinic.client.app[keys.DATABASE].repos
    still = await repos.users.get(father["id"])
    assert still is not None
    assert still.managed_by == clinic.patient_a["id"]
    assert still.role is Role.PATIENT
