"""``GET /clinic``: the address of in-person appointments from TELEMED_CLINIC_ADDRESS_EN/_ZH,
public; null when not configured; the settings refuse text that could spoof a display; the
demo names an address unless the environment does."""

from __future__ import annotations

import pytest

from server.demo import DEMO_ADDRESS_EN, DEMO_ADDRESS_ZH, demo_settings
from server.settings import ClinicSettings, Settings, SettingsError
from tests.conftest import AppFactory


async def test_the_clinic_address_is_public(make_client: AppFactory, settings: Settings) -> None:
    configured = settings.with_(
        clinic=ClinicSettings(
            clinic_address_en=" 1 Harbour Road, Shanghai ", clinic_address_zh="上海市港口路1号"
        )
    )
    client = await make_client(configured)
    response = await client.get("/api/v1/clinic")  # no sign-in needed
    assert response.status == 200
    assert await response.json() == {
        "address_en": "1 Harbour Road, Shanghai",
        "address_zh": "上海市港口路1号",
        "text_consultations": True,
        "text_response_hours": 24,
    }


async def test_without_an_address_both_are_null(
    make_client: AppFactory, settings: Settings
) -> None:
    client = await make_client(settings.with_(clinic=ClinicSettings()))
    response = await client.get("/api/v1/clinic")
    assert await response.json() == {
        "address_en": None,
        "address_zh": None,
        "text_consultations": True,
        "text_response_hours": 24,
    }


def test_the_setting_comes_from_the_environment_and_refuses_spoofing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TELEMED_CLINIC_ADDRESS_ZH", "北京市东城区1号")
    assert Settings.from_env().clinic.clinic_address_zh == "北京市东城区1号"
    monkeypatch.setenv("TELEMED_CLINIC_ADDRESS_EN", "Clinic \u202eevil")
    with pytest.raises(SettingsError, match="CLINIC_ADDRESS_EN"):
        Settings.from_env()
    monkeypatch.setenv("TELEMED_CLINIC_ADDRESS_EN", "x" * 301)
    with pytest.raises(SettingsError, match="CLINIC_ADDRESS_EN"):
        Settings.from_env()


def test_the_demo_names_an_address_unless_the_environment_does(settings: Settings) -> None:
    demo = demo_settings(settings.with_(clinic=ClinicSettings()))
    assert demo.clinic.clinic_address_en == DEMO_ADDRESS_EN
    assert demo.clinic.clinic_address_zh == DEMO_ADDRESS_ZH
    own = settings.with_(clinic=ClinicSettings(clinic_address_zh="自己的地址"))
    assert demo_settings(own).clinic.clinic_address_zh == "自己的地址"
    assert demo_settings(own).clinic.clinic_address_en == ""
    # The demo's address does not reset the clinic's other settings.
    text = settings.with_(clinic=ClinicSettings(text_consultations=False, text_response_hours=6))
    assert demo_settings(text).clinic.text_consultations is False
    assert demo_settings(text).clinic.text_response_hours == 6
    assert demo_settings(text).clinic.clinic_address_en == DEMO_ADDRESS_EN
