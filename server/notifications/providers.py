"""The SMS provider the settings name (``TELEMED_SMS_PROVIDER``)."""

from __future__ import annotations

from server.notifications.aliyun import AliyunSmsProvider
from server.notifications.sms import LogSmsProvider, SmsProvider
from server.notifications.tencent import TencentSmsProvider
from server.settings import NotificationSettings, SmsProviderName


def sms_provider_name(settings: NotificationSettings, *, production: bool) -> SmsProviderName:
    """The one named, else ``log`` outside production and ``none`` in production."""
    if settings.sms_provider is not None:
        return settings.sms_provider
    return SmsProviderName.NONE if production else SmsProviderName.LOG


def make_sms_provider(settings: NotificationSettings, *, production: bool) -> SmsProvider | None:
    name = sms_provider_name(settings, production=production)
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
