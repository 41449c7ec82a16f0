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
    # Medication reminders also by e-mail and SMS (where email/sms allow): absent keeps the
    # stored choice (off until the patient turns it on).
    medication_reminders: bool | None = None


class NotificationPreferencesOut(BaseModel):
    language: Literal["zh-CN", "en"]
    email: bool
    sms: bool
    medication_reminders: bool

    @classmethod
    def of(cls, preferences: Preferences) -> NotificationPreferencesOut:
        return cls(
            language=preferences.language,
            email=preferences.email,
            sms=preferences.sms,
            medication_reminders=preferences.medication,
        )


class NotificationPreferencesEnvelope(BaseModel):
    notifications: NotificationPreferencesOut
