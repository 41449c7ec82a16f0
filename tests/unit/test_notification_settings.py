"""The notification settings are checked at start, like the others."""

from __future__ import annotations

import pytest

from server.notifications.aliyun import AliyunSmsProvider
from server.notifications.email import LogMailer, SmtpMailer, make_mailer
from server.notifications.providers import make_sms_provider
from server.notifications.sms import LogSmsProvider
from server.notifications.tencent import TencentSmsProvider
from server.settings import NotificationSettings, Settings, SettingsError


def test_without_settings_mail_goes_to_the_log_and_texts_too_outside_production() -> None:
    settings = NotificationSettings()
    assert isinstance(make_mailer(settings), LogMailer)
    assert isinstance(make_sms_provider(settings, production=False), LogSmsProvider)
    # In production no sign-in code may reach a log: no texts unless a provider is named.
    assert make_sms_provider(settings, production=True) is None


def test_the_named_providers_are_built(monkeypatch: pytest.MonkeyPatch) -> None:
    common = {
        "sms_access_key_id": "id",
        "sms_access_key_secret": "secret",
        "sms_sign_name": "诊所",
        "sms_templates": {"booking_confirmed": "SMS_1"},
    }
    aliyun = NotificationSettings(sms_provider="aliyun", **common)  # type: ignore[arg-type]
    assert isinstance(make_sms_provider(aliyun, production=True), AliyunSmsProvider)
    tencent = NotificationSettings(sms_provider="tencent", sms_app_id="1400000000", **common)  # type: ignore[arg-type]
    assert isinstance(make_sms_provider(tencent, production=True), TencentSmsProvider)
    assert isinstance(make_mailer(NotificationSettings(smtp_host="mail.example")), SmtpMailer)


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"TELEMED_SMS_PROVIDER": "aliyun"}, "TELEMED_SMS_ACCESS_KEY_ID"),
        (
            {
                "TELEMED_SMS_PROVIDER": "tencent",
                "TELEMED_SMS_ACCESS_KEY_ID": "a",
                "TELEMED_SMS_ACCESS_KEY_SECRET": "b",
                "TELEMED_SMS_SIGN_NAME": "c",
                "TELEMED_SMS_TEMPLATES": '{"reminder_1h": "1"}',
            },
            "TELEMED_SMS_APP_ID",
        ),
        ({"TELEMED_SMTP_USER": "clinic"}, "TELEMED_SMTP_PASSWORD"),
        ({"TELEMED_SMTP_SECURITY": "ssl"}, "TELEMED_SMTP_SECURITY"),
        ({"TELEMED_SMS_PROVIDER": "twilio"}, "TELEMED_SMS_PROVIDER"),
        ({"TELEMED_REMINDER_LATE_MINUTES": "2000"}, "TELEMED_REMINDER_LATE_MINUTES"),
    ],
)
def test_bad_settings_are_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], named: str
) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SettingsError) as refused:
        Settings.from_env()
    assert named in str(refused.value)


def test_templates_are_read_as_json(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMED_SMS_TEMPLATES", '{"sign_in_code": "SMS_9"}')
    assert Settings.from_env().notifications.sms_templates == {"sign_in_code": "SMS_9"}
