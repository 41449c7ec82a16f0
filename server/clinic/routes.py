"""``GET /clinic``: what every visitor may know of the clinic: the address of in-person
appointments, in Chinese and English (``TELEMED_CLINIC_ADDRESS_ZH``, ``..._EN``), and whether it
takes text consultations, answered within how many hours (``TELEMED_TEXT_CONSULTATIONS``,
``TELEMED_TEXT_RESPONSE_HOURS``)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from server import keys
from server.http.api import Api, Call

api = Api()


class ClinicOut(BaseModel):
    address_en: str | None = Field(description="null when not configured")
    address_zh: str | None = Field(description="null when not configured")
    text_consultations: bool = Field(default=True, description="kind text may be booked")
    text_response_hours: int = Field(
        default=24, description="a text consultation is answered within this many hours"
    )


@api.get(
    "/clinic",
    summary="The clinic's public details: the address of in-person appointments",
    tags=["clinic"],
    response=ClinicOut,
    auth=False,
)
async def get_clinic(call: Call) -> ClinicOut:
    clinic = call.app[keys.SETTINGS].clinic
    return ClinicOut(
        address_en=clinic.clinic_address_en or None,
        address_zh=clinic.clinic_address_zh or None,
        text_consultations=clinic.text_consultations,
        text_response_hours=clinic.text_response_hours,
    )
