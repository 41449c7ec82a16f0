"""The SMS provider the settings name (``TELEMED_SMS_PROVIDER``)."""

from __future__ import annotations

from server.notifications.aliyun import AliyunSmsProvider
from server.notifications.sms import LogSmsProvider, SmsProvider
from server.notifications.tencent import TencentSmsProvider
from server.settings import NotificationSettings, SmsProviderName


def make_sms_provider(settings: NotificationSettings) -> SmsProvider | None:
    name = settings.sms_provider
    if name is SmsProviderName.NONE:
        return None
    if name is SmsProviderName.LOG:
        return LogSmsProvider()
    # The settings refused a cloud provider without its keys and sign name.
    assert settings.sms_access_key_id
    assert settings.sms_access_key_secret
    assert settings.sms_sign_name
    if name is SmsProviderName.ALIYUN:
        return AliyunSmsProvider(
            access_key_id=settings.sms_access_key_id,
            access_key_secret=settings.sms_access_key_secret,
            sign_name=settings.sms_sign_name,
            endpoint=settings.sms_endpoint,
        )
    assert settings.sms_app_id
    return TencentSmsProvider(
        secret_id=settings.sms_access_key_id,
        secret_key=settings.sms_access_key_secret,
        app_id=settings.sms_app_id,
        sign_name=settings.sms_sign_name,
        region=settings.sms_region,
        endpoint=settings.sms_endpoint,
    )
