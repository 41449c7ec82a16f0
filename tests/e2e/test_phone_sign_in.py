"""Sign-in by phone in real Chromium at 375 px: the patient asks for a code, reads it from the
text message (the ``log`` SMS provider), types it and lands on their page; the phone tab and
its code step pass the accessibility audit in both languages."""

from __future__ import annotations

import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from domain.users import Role
from server import keys
from server.notifications.sms import LogSmsProvider
from tests.e2e.conftest import ContextFactory, Live, sign_in, watch
from tests.e2e.test_accessibility import AXE, audit

pytestmark = pytest.mark.browser


def with_phone(live: Live, role: Role = Role.PATIENT) -> tuple[Any, str]:
    person = live.person(role, "Phone Patient")
    phone = f"+86138{person.id[-8:].translate(str.maketrans('abcdef', '123456'))}"

    async def attach() -> None:
        await live.app[keys.DATABASE].repos.users.set_phone(person.id, phone)

    live.loop.run(attach())
    return person, phone


def code_texted_to(live: Live, phone: str) -> str:
    sms = live.app[keys.NOTIFICATIONS].sms
    assert isinstance(sms, LogSmsProvider)
    sent = [s for s in sms.sent if s.phone == phone]
    assert sent, "no text was sent"
    return sent[-1].params["code"]


def ask_for_code(page: Page, national: str) -> None:
    page.goto("/")
    page.get_by_test_id("tab-phone").click()
    page.get_by_test_id("phone").fill(national)
    page.get_by_test_id("phone-send").click()
    expect(page.get_by_test_id("phone-sent")).to_be_visible()


def test_a_patient_signs_in_with_a_texted_code_on_a_phone(
    live: Live, new_context: ContextFactory
) -> None:
    person, phone = with_phone(live)
    page = watch(new_context(phone=True, locale="zh-CN").new_page(), "patient", live)
    ask_for_code(page, phone.removeprefix("+86"))
    expect(page.get_by_test_id("phone-sent")).to_contain_text("5 分钟")
    code = code_texted_to(live, phone)

    page.get_by_test_id("phone-code").fill("000000" if code != "000000" else "111111")
    page.get_by_test_id("phone-login").click()
    expect(page.get_by_test_id("phone-error")).to_contain_text("验证码不正确")

    page.get_by_test_id("phone-code").fill(code)
    page.get_by_test_id("phone-login").click()
    page.wait_for_url(re.compile(r"/patient"))
    expect(page.get_by_test_id("user-name")).to_have_text(person.name)
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 375


def test_the_phone_tab_has_no_serious_accessibility_violations(
    live: Live, new_context: ContextFactory
) -> None:
    assert AXE.exists()
    _, phone = with_phone(live)
    page = watch(new_context(bypass_csp=True).new_page(), "patient", live)
    problems: dict[str, list[dict[str, Any]]] = {}
    page.goto("/")
    page.get_by_test_id("tab-phone").click()
    audit(page, "phone sign-in", problems)
    page.get_by_test_id("phone").fill(phone)
    page.get_by_test_id("phone-send").click()
    expect(page.get_by_test_id("phone-code")).to_be_visible()
    audit(page, "phone code", problems)
    assert problems == {}


def test_a_patient_adds_a_number_with_its_code_and_signs_in_with_it(
    live: Live, new_context: ContextFactory
) -> None:
    person = live.person(Role.PATIENT, "Number Patient")
    phone = f"+86139{person.id[-8:].translate(str.maketrans('abcdef', '123456'))}"
    page = sign_in(new_context(phone=True), person, live, path="/patient")
    settings = page.get_by_test_id("notify-settings")
    expect(settings.get_by_test_id("my-phone-current")).to_contain_text("No mobile number")
    settings.get_by_test_id("notify-email").uncheck()
    expect(settings.get_by_test_id("notify-medication")).not_to_be_checked()  # an opt-in
    settings.get_by_test_id("notify-medication").check()
    settings.get_by_test_id("notify-language").select_option("en")
    settings.get_by_test_id("notify-save").click()
    expect(settings.get_by_test_id("notify-saved")).to_be_visible()

    settings.get_by_test_id("my-phone").fill(phone)
    settings.get_by_test_id("my-phone-send").click()
    expect(settings.get_by_test_id("my-phone-code")).to_be_visible()  # the code was sent
    settings.get_by_test_id("my-phone-code").fill(code_texted_to(live, phone))
    settings.get_by_test_id("my-phone-save").click()
    expect(settings.get_by_test_id("my-phone-current")).to_contain_text(phone)

    async def stored() -> tuple[Any, Any]:
        repos = live.app[keys.DATABASE].repos
        user = await repos.users.get(person.id)
        return user, await repos.notification_preferences.get(person.id)

    user, prefs = live.loop.run(stored())
    assert user.phone == phone
    assert (prefs.language, prefs.email, prefs.sms, prefs.medication) == ("en", False, True, True)

    other = watch(new_context(phone=True).new_page(), "patient again", live)
    ask_for_code(other, phone)
    other.get_by_test_id("phone-code").fill(code_texted_to(live, phone))
    other.get_by_test_id("phone-login").click()
    other.wait_for_url(re.compile(r"/patient"))
    expect(other.get_by_test_id("user-name")).to_have_text(person.name)


def test_the_notification_settings_have_no_serious_accessibility_violations(
    live: Live, new_context: ContextFactory
) -> None:
    person = live.person(Role.PATIENT, "Audit Patient")
    page = sign_in(new_context(bypass_csp=True), person, live, path="/patient")
    expect(page.get_by_test_id("my-phone-current")).to_be_visible()
    problems: dict[str, list[dict[str, Any]]] = {}
    audit(page, "notification settings", problems)
    assert problems == {}


def test_a_new_patient_registers_with_a_number_and_a_texted_code_on_a_phone(
    live: Live, new_context: ContextFactory
) -> None:
    national = f"137{uuid.uuid4().int % 10**8:08d}"
    page = watch(new_context(phone=True, locale="zh-CN").new_page(), "new patient", live)
    page.goto("/")
    page.get_by_test_id("tab-phone").click()
    page.get_by_test_id("phone-register-toggle").click()
    expect(page.get_by_role("heading", name="用手机号注册")).to_be_visible()
    page.get_by_test_id("phone-register-name").fill("赵磊")
    page.get_by_test_id("phone").fill(national)
    page.get_by_test_id("phone-send").click()
    expect(page.get_by_test_id("phone-sent")).to_be_visible()
    page.get_by_test_id("phone-code").fill(code_texted_to(live, f"+86{national}"))
    expect(page.get_by_test_id("phone-login")).to_have_text("注册账号")
    page.get_by_test_id("phone-login").click()
    page.wait_for_url(re.compile(r"/patient"))
    expect(page.get_by_test_id("user-name")).to_have_text("赵磊")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375

    async def stored() -> Any:
        return await live.app[keys.DATABASE].repos.users.get_by_phone(f"+86{national}")

    user = live.loop.run(stored())
    assert (user.name, user.role, user.mail_address) == ("赵磊", Role.PATIENT, None)


def test_the_phone_registration_has_no_serious_accessibility_violations(
    live: Live, new_context: ContextFactory
) -> None:
    page = watch(new_context(bypass_csp=True, locale="en").new_page(), "register", live)
    problems: dict[str, list[dict[str, Any]]] = {}
    page.goto("/")
    page.get_by_test_id("tab-phone").click()
    page.get_by_test_id("phone-register-toggle").click()
    expect(page.get_by_test_id("phone-register-name")).to_be_visible()
    audit(page, "phone registration", problems)
    assert problems == {}
