"""The caller's notification choices (PROTOCOL.md, "Notifications"): the language of their
e-mails and texts, and the channels they opted out of."""

from __future__ import annotations

from domain.notifications import Preferences
from server import keys
from server.http.api import Api, Call
from server.notifications.models import (
    NotificationPreferencesEnvelope,
    NotificationPreferencesIn,
    NotificationPreferencesOut,
)

api = Api()
TAGS = ["notifications"]


@api.get(
    "/me/notifications",
    summary="The caller's notification language and opt-outs",
    tags=TAGS,
    response=NotificationPreferencesEnvelope,
)
async def get_notification_preferences(call: Call) -> NotificationPreferencesEnvelope:
    user = await call.app[keys.ACCOUNTS].get_user(call.principal.user_id)
    preferences = await call.app[keys.NOTIFICATIONS].preferences(user)
    return NotificationPreferencesEnvelope(notifications=NotificationPreferencesOut.of(preferences))


@api.put(
    "/me/notifications",
    summary="Set the caller's notification language, opt-outs (e-mail, SMS) and opt-in "
    "(medication reminders by e-mail and SMS)",
    tags=TAGS,
    body=NotificationPreferencesIn,
    response=NotificationPreferencesEnvelope,
)
async def put_notification_preferences(call: Call) -> NotificationPreferencesEnvelope:
    body = call.body(NotificationPreferencesIn)
    user = await call.app[keys.ACCOUNTS].get_user(call.principal.user_id)
    medication = body.medication_reminders
    if medication is None:
        medication = (await call.app[keys.NOTIFICATIONS].preferences(user)).medication
    stored = await call.app[keys.DATABASE].repos.notification_preferences.set(
        user.id,
        Preferences(language=body.language, email=body.email, sms=body.sms, medication=medication),
        call.app[keys.CLOCK](),
    )
    return NotificationPreferencesEnvelope(notifications=NotificationPreferencesOut.of(stored))
