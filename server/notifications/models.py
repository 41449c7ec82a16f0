"""Request and response models of the notification endpoints (also the OpenAPI schemas)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from domain.notifications import Preferences


class NotificationPreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    language: Literal["zh-CN", "en"]
    email: bool
    sms: bool


class NotificationPreferencesOut(BaseModel):
    language: Literal["zh-CN", "en"]
    email: bool
    sms: bool

    @classmethod
    def of(cls, preferences: Preferences) -> NotificationPreferencesOut:
        return cls(language=preferences.language, email=preferences.email, sms=preferences.sms)


class NotificationPreferencesEnvelope(BaseModel):
    notifications: NotificationPreferencesOut
