"""What the clinic tells people outside the app, and when: pure rules, no I/O.

A notification names an appointment, a *rule* (why it is sent: the booking, a reminder, the
doctor being ready) and a *channel* (e-mail, SMS, the browser). Its text is a time and a link,
nothing else: no reason for the visit, no diagnosis, no drug, no doctor's specialty, because an
e-mail or a text message is read on lock screens, shared devices and providers' servers.

* :func:`render` gives the words, in the recipient's language (zh-CN or en). For a managed
  family member (domain/family.py: no sign-in, no address of their own) the account that
  manages them is told, in words that name whom it is for (:func:`short_name`: their first
  name, which is not clinical content).
* :func:`due_reminder` says which reminder (24 h, 1 h before, or the settings' offsets) an
  appointment is due for now, if any.
* :func:`send_key` is the key claimed (a unique index) before sending, so each appointment gets
  one message per rule per channel, whichever node or restart sends it; a change of the
  booking is its own message (the key carries its revision).
* :func:`backoff` spaces the retries of a failed send.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

Language = Literal["zh-CN", "en"]
LANGUAGES: tuple[Language, ...] = ("zh-CN", "en")
DEFAULT_LANGUAGE: Language = "zh-CN"


class Channel(StrEnum):
    EMAIL = "email"
    SMS = "sms"
    BROWSER = "browser"


class Rule(StrEnum):
    BOOKING_CONFIRMED = "booking_confirmed"
    BOOKING_CHANGED = "booking_changed"
    BOOKING_CANCELLED = "booking_cancelled"
    REMINDER_24H = "reminder_24h"
    REMINDER_1H = "reminder_1h"
    DOCTOR_READY = "doctor_ready"
    # Not about an appointment's time: a dose the patient asked to be reminded of (opt-in), a
    # text consultation the doctor answered, an order the pharmacy shipped.
    MEDICATION_REMINDER = "medication_reminder"
    TEXT_ANSWERED = "text_answered"
    ORDER_SHIPPED = "order_shipped"


# Sent only to patients who opted in (``Preferences.medication``, off by default).
OPT_IN_RULES = frozenset({Rule.MEDICATION_REMINDER})


def shown_rule(rule: Rule) -> str:
    """The rule's name where a message carries it (an e-mail's ``X-Telemed-Rule`` header, read
    by mail providers): "medication" is not written there, as nowhere else in a message."""
    return "reminder" if rule is Rule.MEDICATION_REMINDER else rule.value


@dataclass(frozen=True, slots=True)
class Preferences:
    """What the recipient chose: the language of their messages and the channels they
    opted out of (the browser cannot be opted out of: it is the app itself), and whether
    their medication reminders also go out by e-mail and SMS (an opt-in, off by default)."""

    language: Language = DEFAULT_LANGUAGE
    email: bool = True
    sms: bool = True
    medication: bool = False

    def allows(self, channel: Channel) -> bool:
        if channel is Channel.EMAIL:
            return self.email
        if channel is Channel.SMS:
            return self.sms
        return True

    def wants(self, rule: Rule, channel: Channel) -> bool:
        """Whether ``rule`` goes out on ``channel`` to this recipient."""
        if rule in OPT_IN_RULES and not self.medication:
            return False
        return self.allows(channel)


def language_of(value: str | None) -> Language:
    """A stored or requested language, as one of ours (``zh``, ``zh-Hans`` -> ``zh-CN``)."""
    if value and value.lower().startswith("en"):
        return "en"
    if value and value.lower().startswith("zh"):
        return "zh-CN"
    return DEFAULT_LANGUAGE


@dataclass(frozen=True, slots=True)
class Message:
    """One rendered notification. ``subject`` is for e-mail; ``text`` is the whole body of an
    e-mail or an SMS; ``params`` are the values an SMS provider's approved template takes."""

    rule: Rule
    language: Language
    subject: str
    text: str
    link: str
    local_time: str  # the appointment's time in the recipient's zone, as shown
    params: dict[str, str]
    # Whom it is for, when it goes to the account that manages the patient (their first name).
    for_name: str | None = None


_SUBJECTS: dict[Rule, dict[Language, str]] = {
    Rule.BOOKING_CONFIRMED: {"zh-CN": "预约已确认", "en": "Your appointment is booked"},
    Rule.BOOKING_CHANGED: {"zh-CN": "预约已更新", "en": "Your appointment has changed"},
    Rule.BOOKING_CANCELLED: {"zh-CN": "预约已取消", "en": "Your appointment is cancelled"},
    Rule.REMINDER_24H: {"zh-CN": "明天的预约提醒", "en": "Reminder: your appointment tomorrow"},
    Rule.REMINDER_1H: {"zh-CN": "预约即将开始", "en": "Reminder: your appointment is soon"},
    Rule.DOCTOR_READY: {"zh-CN": "医生已准备好接诊", "en": "Your doctor is ready"},
    # Neutral on purpose: "medication" on a lock screen already says too much.
    Rule.MEDICATION_REMINDER: {"zh-CN": "您设置的提醒", "en": "Your reminder"},
    Rule.TEXT_ANSWERED: {"zh-CN": "您的咨询有了回复", "en": "Your consultation has a reply"},
    Rule.ORDER_SHIPPED: {"zh-CN": "您的订单已发出", "en": "Your order is on its way"},
}

_BODIES: dict[Rule, dict[Language, str]] = {
    Rule.BOOKING_CONFIRMED: {
        "zh-CN": "您的预约时间为 {time}。详情：{link}",
        "en": "Your appointment is on {time}. Details: {link}",
    },
    Rule.BOOKING_CHANGED: {
        "zh-CN": "您的预约已更新，时间为 {time}。详情：{link}",
        "en": "Your appointment has changed; it is on {time}. Details: {link}",
    },
    Rule.BOOKING_CANCELLED: {
        "zh-CN": "您 {time} 的预约已取消。详情：{link}",
        "en": "Your appointment on {time} is cancelled. Details: {link}",
    },
    Rule.REMINDER_24H: {
        "zh-CN": "提醒：您的预约时间为 {time}。到时请打开：{link}",
        "en": "Reminder: your appointment is on {time}. At the time, open: {link}",
    },
    Rule.REMINDER_1H: {
        "zh-CN": "提醒：您的预约将于 {time} 开始。请打开：{link}",
        "en": "Reminder: your appointment starts at {time}. Open: {link}",
    },
    Rule.DOCTOR_READY: {
        "zh-CN": "医生已准备好为您接诊（预约时间 {time}）。请现在打开：{link}",
        "en": "Your doctor is ready to see you (appointment at {time}). Open now: {link}",
    },
    Rule.MEDICATION_REMINDER: {
        "zh-CN": "您设置了 {time} 的提醒。详情：{link}",
        "en": "You asked to be reminded at {time}. Details: {link}",
    },
    Rule.TEXT_ANSWERED: {
        "zh-CN": "您 {time} 提交的咨询已有回复。请打开查看：{link}",
        "en": "Your consultation of {time} has a reply. Read it here: {link}",
    },
    Rule.ORDER_SHIPPED: {
        "zh-CN": "您的订单已于 {time} 发出。详情：{link}",
        "en": "Your order was shipped on {time}. Details: {link}",
    },
}

# The same messages sent to the account that manages the patient (a child, a dependent
# parent): they name whom the appointment, the reminder or the order is for, by first name.
_FAMILY_SUBJECTS: dict[Rule, dict[Language, str]] = {
    Rule.BOOKING_CONFIRMED: {"zh-CN": "{name}的预约已确认", "en": "{name}'s appointment is booked"},
    Rule.BOOKING_CHANGED: {"zh-CN": "{name}的预约已更新", "en": "{name}'s appointment has changed"},
    Rule.BOOKING_CANCELLED: {
        "zh-CN": "{name}的预约已取消",
        "en": "{name}'s appointment is cancelled",
    },
    Rule.REMINDER_24H: {
        "zh-CN": "{name}明天的预约提醒",
        "en": "Reminder: {name}'s appointment tomorrow",
    },
    Rule.REMINDER_1H: {
        "zh-CN": "{name}的预约即将开始",
        "en": "Reminder: {name}'s appointment is soon",
    },
    Rule.DOCTOR_READY: {
        "zh-CN": "医生已准备好为{name}接诊",
        "en": "The doctor is ready to see {name}",
    },
    Rule.MEDICATION_REMINDER: {"zh-CN": "为{name}设置的提醒", "en": "Your reminder for {name}"},
    Rule.TEXT_ANSWERED: {
        "zh-CN": "{name}的咨询有了回复",
        "en": "{name}'s consultation has a reply",
    },
    Rule.ORDER_SHIPPED: {"zh-CN": "{name}的订单已发出", "en": "{name}'s order is on its way"},
}

_FAMILY_BODIES: dict[Rule, dict[Language, str]] = {
    Rule.BOOKING_CONFIRMED: {
        "zh-CN": "{name}的预约时间为 {time}。详情：{link}",
        "en": "{name}'s appointment is on {time}. Details: {link}",
    },
    Rule.BOOKING_CHANGED: {
        "zh-CN": "{name}的预约已更新，时间为 {time}。详情：{link}",
        "en": "{name}'s appointment has changed; it is on {time}. Details: {link}",
    },
    Rule.BOOKING_CANCELLED: {
        "zh-CN": "{name} {time} 的预约已取消。详情：{link}",
        "en": "{name}'s appointment on {time} is cancelled. Details: {link}",
    },
    Rule.REMINDER_24H: {
        "zh-CN": "提醒：{name}的预约时间为 {time}。到时请打开：{link}",
        "en": "Reminder: {name}'s appointment is on {time}. At the time, open: {link}",
    },
    Rule.REMINDER_1H: {
        "zh-CN": "提醒：{name}的预约将于 {time} 开始。请打开：{link}",
        "en": "Reminder: {name}'s appointment starts at {time}. Open: {link}",
    },
    Rule.DOCTOR_READY: {
        "zh-CN": "医生已准备好为{name}接诊（预约时间 {time}）。请现在打开：{link}",
        "en": "The doctor is ready to see {name} (appointment at {time}). Open now: {link}",
    },
    Rule.MEDICATION_REMINDER: {
        "zh-CN": "您为{name}设置了 {time} 的提醒。详情：{link}",
        "en": "You asked to be reminded at {time} for {name}. Details: {link}",
    },
    Rule.TEXT_ANSWERED: {
        "zh-CN": "{name} {time} 提交的咨询已有回复。请打开查看：{link}",
        "en": "{name}'s consultation of {time} has a reply. Read it here: {link}",
    },
    Rule.ORDER_SHIPPED: {
        "zh-CN": "{name}的订单已于 {time} 发出。详情：{link}",
        "en": "{name}'s order was shipped on {time}. Details: {link}",
    },
}

SHORT_NAME_MAX = 20


def short_name(name: str) -> str:
    """How a message names a managed family member: the first word of the name as the holder
    wrote it (the whole name when it has no space, as a Chinese name written in characters),
    without control characters (a message's subject is a header), at most
    ``SHORT_NAME_MAX`` characters."""
    words = "".join(c for c in name if c.isprintable() or c.isspace()).split()
    return words[0][:SHORT_NAME_MAX] if words else ""


def family_template(rule: Rule) -> str:
    """The SMS provider's template key for ``rule`` sent to the account that manages the
    patient (values ``{name, time, link}``)."""
    return f"{rule.value}_family"


_TIME_FORMAT: dict[Language, str] = {"zh-CN": "%Y-%m-%d %H:%M", "en": "%d %b %Y, %H:%M"}


def local_time(at: datetime, timezone: str, language: Language) -> str:
    """The time as the recipient reads it: their zone, named, in their language's format."""
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
        timezone = "UTC"
    return f"{at.astimezone(zone).strftime(_TIME_FORMAT[language])} ({timezone})"


def render(
    rule: Rule,
    language: Language,
    *,
    start: datetime,
    timezone: str,
    link: str,
    for_name: str | None = None,
) -> Message:
    """The words of one notification: a time and a link, in ``language``. Nothing else about
    the appointment (the dose, the consultation, the order) is taken, so nothing clinical can
    reach a message. ``start`` is the time the message shows: the appointment's start, the
    dose's time, when the text consultation was asked, when the order was shipped.
    ``for_name``: the message goes to the account that manages the patient, and names the
    patient so (:func:`short_name`); the SMS values are then ``{name, time, link}``."""
    time = local_time(start, timezone, language)
    if for_name:
        return Message(
            rule=rule,
            language=language,
            subject=_FAMILY_SUBJECTS[rule][language].format(name=for_name),
            text=_FAMILY_BODIES[rule][language].format(name=for_name, time=time, link=link),
            link=link,
            local_time=time,
            params={"name": for_name, "time": time, "link": link},
            for_name=for_name,
        )
    return Message(
        rule=rule,
        language=language,
        subject=_SUBJECTS[rule][language],
        text=_BODIES[rule][language].format(time=time, link=link),
        link=link,
        local_time=time,
        params={"time": time, "link": link},
    )


def send_key(resource_id: str, rule: Rule, channel: Channel, revision: int = 0) -> str:
    """The idempotency key of one send: one per appointment (or reminder, order), rule and
    channel; a booking change carries the appointment's revision (its iCalendar ``SEQUENCE``),
    so each change is told once."""
    suffix = f":{revision}" if rule is Rule.BOOKING_CHANGED else ""
    return f"{resource_id}:{rule.value}:{channel.value}{suffix}"


REMINDER_RULES: dict[Rule, str] = {Rule.REMINDER_24H: "24h", Rule.REMINDER_1H: "1h"}


def due_reminder(
    *,
    start: datetime,
    booked_at: datetime,
    now: datetime,
    offsets: dict[Rule, timedelta],
) -> Rule | None:
    """The reminder an appointment is due for at ``now``, or None.

    A reminder is due from ``start - offset`` until the start. Of several due, only the nearest
    to the start is (a server down for a day sends the 1 h reminder, not both). A reminder whose
    moment had passed when the appointment was booked is not sent: the confirmation said it.
    """
    if now >= start:
        return None
    due = [
        (offset, rule)
        for rule, offset in offsets.items()
        if start - offset <= now and booked_at < start - offset
    ]
    if not due:
        return None
    return min(due)[1]


def backoff(attempt: int, *, base: float = 1.0, cap: float = 60.0) -> float:
    """Seconds to wait before retry number ``attempt`` (1, 2, ...): doubling, capped."""
    return float(min(cap, base * 2 ** max(0, attempt - 1)))


SIGN_IN_CODE_TEMPLATE = "sign_in_code"  # the SMS provider's template key for sign-in codes
_CODE_TEXT: dict[Language, str] = {
    "zh-CN": "您的登录验证码为 {code}，{minutes} 分钟内有效。请勿告诉他人。",
    "en": "Your sign-in code is {code}. It expires in {minutes} minutes. Do not share it.",
}


def sign_in_code_text(code: str, minutes: int, language: Language) -> str:
    return _CODE_TEXT[language].format(code=code, minutes=minutes)
