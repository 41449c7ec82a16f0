"""The notification rules (domain/notifications.py): what is said, when, and under which key."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.notifications import (
    Channel,
    Preferences,
    Rule,
    backoff,
    due_reminder,
    language_of,
    render,
    send_key,
    shown_rule,
)

START = datetime(2026, 3, 3, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai
OFFSETS = {Rule.REMINDER_24H: timedelta(hours=24), Rule.REMINDER_1H: timedelta(hours=1)}
LINK = "https://clinic.example/consult/a1"


@pytest.mark.parametrize("rule", list(Rule))
@pytest.mark.parametrize("language", ["zh-CN", "en"])
def test_every_message_is_a_time_and_a_link_in_the_language(rule: Rule, language: str) -> None:
    message = render(rule, language, start=START, timezone="Asia/Shanghai", link=LINK)  # type: ignore[arg-type]
    assert LINK in message.text
    assert message.local_time in message.text
    assert "09:00" in message.local_time
    assert "Asia/Shanghai" in message.local_time
    assert message.params == {"time": message.local_time, "link": LINK}
    english_words = any(word in message.text for word in ("appointment", "doctor", "You"))
    assert english_words is (language == "en")


def test_the_time_is_in_the_recipients_zone_and_a_bad_zone_falls_back_to_utc() -> None:
    assert (
        "2026-03-03 09:00"
        in render(Rule.REMINDER_1H, "zh-CN", start=START, timezone="Asia/Shanghai", link=LINK).text
    )
    assert (
        "01:00 (UTC)"
        in render(Rule.REMINDER_1H, "en", start=START, timezone="Not/AZone", link=LINK).text
    )


def test_language_of_accepts_what_browsers_and_accounts_say() -> None:
    assert language_of("en-GB") == "en"
    assert language_of("zh-Hans") == "zh-CN"
    assert language_of(None) == "zh-CN"
    assert language_of("fr") == "zh-CN"


def test_medication_reminders_are_an_opt_in_and_never_say_medication() -> None:
    rule = Rule.MEDICATION_REMINDER
    off, on = Preferences(), Preferences(medication=True)
    assert not off.wants(rule, Channel.EMAIL)
    assert not off.wants(rule, Channel.SMS)
    assert on.wants(rule, Channel.EMAIL)
    assert not Preferences(medication=True, sms=False).wants(rule, Channel.SMS)
    assert off.wants(Rule.ORDER_SHIPPED, Channel.EMAIL)  # not an opt-in rule
    assert shown_rule(rule) == "reminder"
    assert shown_rule(Rule.TEXT_ANSWERED) == "text_answered"
    for language in ("zh-CN", "en"):
        message = render(rule, language, start=START, timezone="Asia/Shanghai", link=LINK)  # type: ignore[arg-type]
        for word in ("medic", "Medic", "药", "dose", "剂"):
            assert word not in message.text + message.subject


def test_opt_outs_never_silence_the_browser() -> None:
    prefs = Preferences(email=False, sms=False)
    assert not prefs.allows(Channel.EMAIL)
    assert not prefs.allows(Channel.SMS)
    assert prefs.allows(Channel.BROWSER)


def test_one_key_per_appointment_rule_and_channel_and_one_per_change() -> None:
    assert send_key("a1", Rule.REMINDER_1H, Channel.EMAIL) == "a1:reminder_1h:email"
    assert send_key("a1", Rule.REMINDER_1H, Channel.EMAIL, 7) == "a1:reminder_1h:email"
    assert send_key("a1", Rule.REMINDER_1H, Channel.SMS) != send_key(
        "a1", Rule.REMINDER_1H, Channel.EMAIL
    )
    assert send_key("a1", Rule.BOOKING_CHANGED, Channel.EMAIL, 3) != send_key(
        "a1", Rule.BOOKING_CHANGED, Channel.EMAIL, 4
    )


def test_reminders_fall_due_at_their_offset_and_the_nearest_wins() -> None:
    booked = START - timedelta(days=3)

    def due(now: datetime) -> Rule | None:
        return due_reminder(start=START, booked_at=booked, now=now, offsets=OFFSETS)

    assert due(START - timedelta(hours=25)) is None
    assert due(START - timedelta(hours=24)) is Rule.REMINDER_24H
    assert due(START - timedelta(hours=2)) is Rule.REMINDER_24H
    assert due(START - timedelta(minutes=60)) is Rule.REMINDER_1H
    assert due(START - timedelta(minutes=1)) is Rule.REMINDER_1H
    assert due(START) is None


def test_a_reminder_whose_moment_passed_before_the_booking_is_not_sent() -> None:
    booked = START - timedelta(hours=5)
    now = START - timedelta(hours=4)
    assert due_reminder(start=START, booked_at=booked, now=now, offsets=OFFSETS) is None
    now = START - timedelta(minutes=30)
    assert due_reminder(start=START, booked_at=booked, now=now, offsets=OFFSETS) is Rule.REMINDER_1H


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff(n, base=1.0, cap=5.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert backoff(1, base=0.0) == 0.0
