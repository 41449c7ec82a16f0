"""``telemed serve --demo``: a small demo clinic to try the product with (idempotent)."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import structlog
from aiohttp import web
from pymongo.errors import DuplicateKeyError

from domain.appointments import Appointment, AppointmentKind, AppointmentStatus
from domain.availability import Availability, WeeklyWindow, local_to_utc, zone
from domain.documents import DocumentKind
from domain.errors import Conflict
from domain.follow_up import PENDING, PriorDiagnosis, VisitType
from domain.notifications import Rule
from domain.records import Author
from domain.users import Role, User
from server import keys
from server.documents.samples import sample_dicom, sample_pdf
from server.pharmacy.demo_catalogue import seed_catalogue
from server.settings import Settings
from storage.mongo import Repositories

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DemoUser:
    email: str
    password: str
    name: str
    role: Role
    specialty: str | None = None
    timezone: str = "Asia/Shanghai"
    phone: str | None = None  # for sign-in by phone (the code is in the log)


# Demo sign-ins are printed on purpose; --demo is refused in production.
DEMO_USERS = (
    DemoUser("admin@demo.clinic", "demo-Admin-Console-2026", "Admin 管理员", Role.ADMIN),
    DemoUser(
        "dr.li@demo.clinic",
        "demo-Doctor-Li-2026",
        "李医生 Dr. Li Wei",
        Role.DOCTOR,
        "General practice",
    ),
    DemoUser(
        "dr.chen@demo.clinic",
        "demo-Doctor-Chen-2026",
        "陈医生 Dr. Chen Jing",
        Role.DOCTOR,
        "Cardiology",
    ),
    DemoUser(
        "wang@demo.clinic",
        "demo-Patient-Wang-2026",
        "王芳 Wang Fang",
        Role.PATIENT,
        phone="+8613800138000",
    ),
    DemoUser("zhang@demo.clinic", "demo-Patient-Zhang-2026", "张伟 Zhang Wei", Role.PATIENT),
    DemoUser(
        "pharmacist@demo.clinic",
        "demo-Pharmacist-Zhao-2026",
        "赵药师 Pharmacist Zhao Min",
        Role.PHARMACIST,
    ),
)


DEMO_TIMEZONE = "Asia/Shanghai"
# A demo appointment in one of these states, within its half hour, can still be joined.
_OPEN = frozenset(
    {AppointmentStatus.BOOKED, AppointmentStatus.WAITING, AppointmentStatus.IN_PROGRESS}
)
DEMO_REASON = "Demo video consultation 演示视频问诊"
# Weekdays 09:00-12:00 and 14:00-17:30, Saturday mornings; 30-minute slots.
DEMO_WEEK = tuple(
    [WeeklyWindow(d, 9 * 60, 12 * 60) for d in range(6)]
    + [WeeklyWindow(d, 14 * 60, 17 * 60 + 30) for d in range(5)]
)


async def demo_startup(app: web.Application) -> None:
    """``on_startup`` of ``telemed serve --demo``: seed, and keep the appointment id for the
    banner in ``app[keys.DEMO_APPOINTMENT]``."""
    appointment_id = await seed_demo(app)
    if appointment_id is not None:
        app[keys.DEMO_APPOINTMENT] = appointment_id


async def seed_demo(app: web.Application) -> str | None:
    """Users, the doctors' weekly availability, and a video appointment open now for patient
    Wang with Dr. Li, whose id is returned. Idempotent: a restart while that appointment is
    still open (booked, waiting or in progress, and not yet past its end) finds it again; once
    it is over (completed, cancelled, or its half hour gone) a restart creates a fresh one
    starting now, so the banner's "open now" is always true. Also what a new user could
    otherwise see only after waiting: Zhang Wei's son's video appointment with Dr. Chen open
    now, two appointments of Wang with Dr. Chen whose reminders fall due at each start, and
    Wang's text consultation to Dr. Chen past its deadline."""
    accounts = app[keys.ACCOUNTS]
    repos = app[keys.DATABASE].repos
    users: dict[str, User] = {}
    for demo in DEMO_USERS:
        existing = await repos.users.get_by_email(demo.email)
        if existing is None:
            try:
                existing = await accounts.create_user(
                    email=demo.email,
                    password=demo.password,
                    name=demo.name,
                    role=demo.role,
                    specialty=demo.specialty,
                    timezone=demo.timezone,
                )
            except Conflict:  # another process seeded it a moment ago
                existing = await repos.users.get_by_email(demo.email)
        if existing is not None and demo.phone and existing.phone is None:
            with contextlib.suppress(Conflict):  # the number went to another account meanwhile
                existing = await repos.users.set_phone(existing.id, demo.phone) or existing
        if existing is not None:
            users[demo.email] = existing
    now = app[keys.CLOCK]()
    for demo in DEMO_USERS:
        doctor = users.get(demo.email)
        if (
            demo.role is Role.DOCTOR
            and doctor is not None
            and await repos.availability.get(doctor.id) is None
        ):
            await repos.availability.put(
                doctor.id, Availability(DEMO_TIMEZONE, 30, DEMO_WEEK), now=now
            )
    appointment_id = None
    wang, li = users.get("wang@demo.clinic"), users.get("dr.li@demo.clinic")
    if wang is not None and li is not None:
        appointment_id = await _appointment_now(app, patient=wang, doctor=li, now=now)
        await _prior_documents(app, patient=wang, appointment_id=appointment_id)
        await _follow_up(app, appointment_id=appointment_id)
    chen = users.get("dr.chen@demo.clinic")
    if wang is not None and chen is not None:
        await _reminders_due(app, patient=wang, doctor=chen, now=now)
        if appointment_id is not None:
            await _overdue_text(app, patient=wang, doctor=chen, now=now, prior=appointment_id)
    zhang = users.get("zhang@demo.clinic")
    if zhang is not None and not await repos.users.managed_ids(zhang.id):
        # A family member (就诊人) to book for: Zhang Wei's son, four years old (under six: a
        # video visit needs his father in the call).
        await repos.users.create_managed(
            holder_id=zhang.id,
            name="张小宝 Zhang Xiaobao",
            relation="child",
            birth_date=date(now.year - 4, 6, 1),
            sex="male",
            created_at=now,
            timezone=zhang.timezone,
        )
    if zhang is not None and chen is not None:
        managed = await repos.users.list_managed(zhang.id)
        if managed:  # his son, seeded first
            await _child_appointment(app, holder=zhang, child=managed[0], doctor=chen, now=now)
    drugs = await seed_catalogue(repos.drugs, clock=app[keys.CLOCK])
    log.info("demo_seeded", users=len(DEMO_USERS), drugs_added=drugs, appointment_id=appointment_id)
    return appointment_id


async def _appointment_now(
    app: web.Application, *, patient: User, doctor: User, now: datetime, reason: str = DEMO_REASON
) -> str:
    """The demo appointment open now, created starting now if there is none: one of today's
    (Shanghai day) that is not over yet and has not ended. Inserted through the repository:
    the API refuses to book in the past, and "now" is."""
    repos = app[keys.DATABASE].repos
    tz = zone(DEMO_TIMEZONE)
    today = now.astimezone(tz).date()
    day_start = local_to_utc(datetime.combine(today, time(0), tzinfo=tz))
    day_end = local_to_utc(datetime.combine(today + timedelta(days=1), time(0), tzinfo=tz))
    found = await repos.appointments.find_for_pair(
        patient_id=patient.id,
        doctor_id=doctor.id,
        since=day_start,
        until=day_end,
        reason=reason,
    )
    open_now = [a for a in found if a.status in _OPEN and a.start <= now < a.end]
    if open_now:
        return min(open_now, key=lambda a: a.created_at).id
    start = now.replace(second=0, microsecond=0)
    for _ in range(30):  # the minute may hold a booking of Dr. Li already: take the next one
        try:
            appointment = await _video_visit(
                repos, patient=patient, doctor=doctor, start=start, reason=reason, booked=now
            )
        except Conflict:
            start += timedelta(minutes=1)
            continue
        return appointment.id
    raise Conflict("could not place the demo appointment")


async def _video_visit(
    repos: Repositories,
    *,
    patient: User,
    doctor: User,
    start: datetime,
    reason: str,
    booked: datetime,
) -> Appointment:
    """A 30-minute video appointment placed through the repository, as booked at ``booked``
    (:class:`Conflict` when the doctor's slot is taken)."""
    return await repos.appointments.insert(
        patient_id=patient.id,
        doctor_id=doctor.id,
        start=start,
        end=start + timedelta(minutes=30),
        kind=AppointmentKind.VIDEO,
        reason=reason,
        now=booked,
    )


# How long before a reminder's moment the demo's reminder appointments start (see below).
REMINDER_LEAD = timedelta(minutes=5)
DEMO_REMINDER_REASONS = {
    Rule.REMINDER_24H: "Demo: its reminder a day before 演示：提前一天的提醒",
    Rule.REMINDER_1H: "Demo: its reminder an hour before 演示：提前一小时的提醒",
}


async def _reminders_due(
    app: web.Application, *, patient: User, doctor: User, now: datetime
) -> None:
    """Two video appointments of Wang with Dr. Chen, booked a day ago, whose reminders fall due
    as the demo starts: one starting five minutes short of the early reminder's offset
    (``reminder_24h``, TELEMED_REMINDER_EARLY_MINUTES), one five minutes short of the late
    one's (``reminder_1h``), so the first sweep of due reminders sends both and a new user
    reads them without waiting a day. Inserted through the repository (a booking made now would
    be past its reminders' moments, which are then not sent). Every start places a fresh pair
    and cancels the pair an earlier start placed, if still ahead (quietly: through the
    repository), so each start's mail folder has both reminders."""
    repos = app[keys.DATABASE].repos
    for rule, offset in app[keys.NOTIFICATIONS].offsets.items():
        reason = DEMO_REMINDER_REASONS[rule]
        earlier = await repos.appointments.find_for_pair(
            patient_id=patient.id,
            doctor_id=doctor.id,
            since=now,
            until=now + offset + REMINDER_LEAD,
            reason=reason,
        )
        for appointment in earlier:
            if appointment.status is AppointmentStatus.BOOKED:
                await repos.appointments.transition(
                    appointment.id,
                    AppointmentStatus.CANCELLED,
                    now=now,
                    extra={"cancel_reason": "Replaced by the demo's next start"},
                )
        start = now + offset - min(REMINDER_LEAD, offset / 2)
        with contextlib.suppress(Conflict):  # another process placed it a moment ago
            await _video_visit(
                repos,
                patient=patient,
                doctor=doctor,
                start=start,
                reason=reason,
                booked=now - timedelta(days=1),
            )


DEMO_OVERDUE_REASON = (
    "Blood pressure readings higher this week (demo: not answered in time)"
    " 本周血压偏高（演示：超过回复时限）"
)


async def _overdue_text(
    app: web.Application, *, patient: User, doctor: User, now: datetime, prior: str
) -> None:
    """A text consultation of Wang with Dr. Chen asked an hour longer ago than the clinic's
    response time (TELEMED_TEXT_RESPONSE_HOURS) and not answered: a new user sees a text
    consultation past its deadline (Wang's list and page, Dr. Chen's text queue, the admin's
    counts) without waiting for one. A follow-up of the diagnosis of Wang's appointment with Dr.
    Li (``prior``), its documents named. Once while one is unanswered."""
    repos = app[keys.DATABASE].repos
    found = await repos.appointments.find_for_pair(
        patient_id=patient.id,
        doctor_id=doctor.id,
        since=now - timedelta(days=366),
        until=now,
        reason=DEMO_OVERDUE_REASON,
    )
    if any(a.status is AppointmentStatus.BOOKED for a in found):
        return
    asked = now - timedelta(hours=app[keys.APPOINTMENTS].text.response_hours + 1)
    respond_by = asked + timedelta(hours=app[keys.APPOINTMENTS].text.response_hours)
    appointment = await repos.appointments.insert(
        patient_id=patient.id,
        doctor_id=doctor.id,
        start=asked,
        end=respond_by,
        kind=AppointmentKind.TEXT,
        reason=DEMO_OVERDUE_REASON,
        now=asked,
        respond_by=respond_by,
    )
    documents = await app[keys.DOCUMENTS].for_appointment(prior)
    with contextlib.suppress(DuplicateKeyError):
        await repos.follow_ups.insert(
            appointment.id,
            visit_type=VisitType.FOLLOW_UP,
            prior=PriorDiagnosis(
                condition="Hypertension (I10) 高血压",
                diagnosed_on=date(2025, 10, 1),
                institution="Ruijin Hospital 瑞金医院",
                document_ids=tuple(d.id for d in documents),
            ),
            eligibility=PENDING if app[keys.FOLLOW_UPS].gate else None,
        )


DEMO_DIAGNOSIS_TITLE = "Hypertension diagnosis 高血压诊断 (Ruijin Hospital, 2025)"
DEMO_STUDY_TITLE = "Chest CT 胸部CT"


async def _prior_documents(app: web.Application, *, patient: User, appointment_id: str) -> None:
    """The patient's prior diagnosis (a PDF) and a CT study (DICOM, three slices), made at seed
    time by the libraries, attached to today's appointment; once per appointment."""
    documents = app[keys.DOCUMENTS]
    if await documents.for_appointment(appointment_id):
        return
    author = Author(id=patient.id, role=Role.PATIENT)
    await documents.store(
        author,
        patient.id,
        sample_pdf("Hypertension (I10), diagnosed 2025-10-01, Ruijin Hospital. Follow-up advised."),
        kind=DocumentKind.DIAGNOSIS,
        title=DEMO_DIAGNOSIS_TITLE,
        appointment_id=appointment_id,
    )
    await documents.store(
        author,
        patient.id,
        sample_dicom(rows=128, columns=128, frames=3),
        kind=DocumentKind.IMAGING,
        title=DEMO_STUDY_TITLE,
        appointment_id=appointment_id,
    )


async def _follow_up(
    app: web.Application,
    *,
    appointment_id: str,
    condition: str = "Hypertension (I10) 高血压",
    diagnosed_on: date = date(2025, 10, 1),
    institution: str = "Ruijin Hospital 瑞金医院",
) -> None:
    """The demo appointment is a video follow-up of the PDF's diagnosis, its documents named;
    with the gate on (TELEMED_FOLLOW_UP_ONLY) the doctor's eligibility decision is pending, and
    the patient has not yet accepted the consent to online care. Once per appointment."""
    repos = app[keys.DATABASE].repos
    if await repos.follow_ups.get(appointment_id) is not None:
        return
    documents = await app[keys.DOCUMENTS].for_appointment(appointment_id)
    prior = PriorDiagnosis(
        condition=condition,
        diagnosed_on=diagnosed_on,
        institution=institution,
        document_ids=tuple(d.id for d in documents),
    )
    with contextlib.suppress(DuplicateKeyError):  # another process seeded it a moment ago
        await repos.follow_ups.insert(
            appointment_id,
            visit_type=VisitType.FOLLOW_UP,
            prior=prior,
            eligibility=PENDING if app[keys.FOLLOW_UPS].gate else None,
        )


DEMO_CHILD_REASON = "Demo video consultation for a child 演示儿童视频问诊"
DEMO_CHILD_DIAGNOSIS_TITLE = "Heart murmur diagnosis 心脏杂音诊断 (Children's Hospital, 2025)"


async def _child_appointment(
    app: web.Application, *, holder: User, child: User, doctor: User, now: datetime
) -> str:
    """A video appointment open now for a family member (Zhang Wei's son, under six) with Dr.
    Chen, made like Wang's: a follow-up of a heart murmur (a PDF of it, stored by his father),
    the doctor's decision pending, the son's consent to online care not yet given by his
    father. So a new user joins for a family member at once, and sees the guardian rule."""
    appointment_id = await _appointment_now(
        app, patient=child, doctor=doctor, now=now, reason=DEMO_CHILD_REASON
    )
    documents = app[keys.DOCUMENTS]
    if not await documents.for_appointment(appointment_id):
        await documents.store(
            Author(id=holder.id, role=Role.PATIENT),
            child.id,
            sample_pdf(
                "Innocent heart murmur (R01.0), diagnosed 2025-09-12, Children's Hospital of Fudan"
                " University. Yearly follow-up advised."
            ),
            kind=DocumentKind.DIAGNOSIS,
            title=DEMO_CHILD_DIAGNOSIS_TITLE,
            appointment_id=appointment_id,
        )
    await _follow_up(
        app,
        appointment_id=appointment_id,
        condition="Innocent heart murmur (R01.0) 良性心脏杂音",
        diagnosed_on=date(2025, 9, 12),
        institution="Children's Hospital of Fudan University 复旦大学附属儿科医院",
    )
    return appointment_id


def _login_json(user: DemoUser) -> str:
    return json.dumps({"email": user.email, "password": user.password}, ensure_ascii=False)


def banner(url: str, appointment_id: str | None = None, *, smtp: str | None = None) -> str:
    """What ``serve --demo`` prints; ``smtp`` is the SMTP server mail goes to (scripts/demo.sh
    starts a local sink and prints where its messages are kept), None when mail is logged."""
    width = max(len(u.email) for u in DEMO_USERS)
    lines = [
        "",
        f"Telemed demo clinic is running at {url}",
        f"远程问诊演示诊所已启动：{url}",
        "",
        "Demo sign-ins (演示账号):",
    ]
    lines += [f"  {u.role.value:<10} {u.email:<{width}}  {u.password}" for u in DEMO_USERS]
    if appointment_id is not None:
        lines += [
            "",
            f"Video appointment open now (Wang Fang with Dr. Li): {appointment_id}",
            f"现在可以进入的视频问诊（王芳 与 李医生）：{appointment_id}",
            f"  {url}/consult/{appointment_id}",
            "  A follow-up of Wang's hypertension, with its PDF and a CT study: Wang accepts the",
            "  consent to online care; Dr. Li opens the documents and confirms the follow-up,",
            "  lets Wang in, and may refer Wang to an in-person visit.",
            "  高血压复诊（附诊断 PDF 与胸部 CT）：王芳同意在线诊疗知情同意书；李医生查看资料、",
            "  确认复诊后让其进入，并可转线下就诊。",
        ]
    lines += [
        "",
        "Family member (就诊人): Zhang Wei manages his son Zhang Xiaobao (4); the son's video"
        " follow-up with Dr. Chen is open now, on Zhang's list: Zhang accepts the consent for him"
        " and joins; Dr. Chen lets him in only while his father holds his seat (under six).",
        "  张伟管理其子张小宝（4 岁）；张小宝与陈医生的视频复诊现在可进入：张伟代为同意并进入；"
        "未满六岁，须父亲在场，陈医生方可让其进入。",
        "",
        "Also in a call: the doctor invites a guest (interpreter, family, colleague) by a one-time"
        " link, lets them in and removes them; either side shares the screen (the patient when"
        " the doctor allows). Text consultation (图文问诊): a patient asks by text on the booking"
        " page; the doctor answers from the console's text queue, ends it with a summary, or"
        " turns it into a video call. Wang's question to Dr. Chen is already past its deadline.",
        "  通话中：医生以一次性链接邀请第三方（翻译、家属、同事）、让其进入或移出；可共享屏幕"
        "（患者须经医生允许）。图文问诊：患者在预约页文字提问，医生在工作台的图文队列回复、写小结"
        "结束或转为视频；王芳向陈医生的提问已超过回复时限。",
    ]
    lines += [
        "",
        "Pharmacy (在线购药): a doctor prescribes a catalogue drug from the clinic console or the"
        " call; the pharmacist reviews it and fulfils paid orders; the patient buys it and pays"
        " with the demo provider (no money moves):",
        f"  {url}/doctor  ->  {url}/pharmacist  ->  {url}/pharmacy",
    ]
    if smtp is None:
        lines += [
            "",
            "Notifications (通知): booking confirmations (with the calendar file), reminders and"
            " sign-in codes are written to this log, not sent: look for email_logged and"
            " sms_logged.",
            "  预约确认（附日历文件）、提醒与短信验证码写在本日志中（email_logged、sms_logged）。",
        ]
    else:
        lines += [
            "",
            f"Notifications (通知): e-mails (booking confirmations with the calendar file,"
            f" reminders) go to the SMTP server at {smtp} (scripts/demo.sh: a local sink, see"
            " the folder it printed); texts and sign-in codes are written to this log"
            " (sms_logged).",
            f"  邮件（预约确认附日历文件、提醒）发往 {smtp}；"
            "短信与验证码写在本日志中（sms_logged）。",
        ]
    lines += [
        "  Reminders: Wang Fang has two video appointments with Dr. Chen, booked a day ago,"
        " starting in just under 24 hours and just under an hour; their reminders (reminder_24h,"
        " reminder_1h) go out by e-mail and text within a sweep (TELEMED_NOTIFY_INTERVAL, 30 s)"
        " of the start.",
        "  提醒：王芳与陈医生有两个一天前预约的视频问诊，分别在将近 24 小时与将近 1 小时后开始；"
        "启动后约 30 秒内发出它们的邮件与短信提醒（reminder_24h、reminder_1h）。",
        '  A patient opts in to medication reminders by e-mail and text under "Messages outside'
        ' the app" on their page.',
        "  患者可在其页面的“应用外的消息”中选择以邮件与短信接收用药提醒。",
        f"  Sign in by phone as Wang Fang (王芳): {url}/?mode=phone  13800138000",
    ]
    lines += [
        "",
        f"Try: curl -s -X POST {url}/api/v1/auth/login -H 'Content-Type: application/json' "
        f"-d '{_login_json(DEMO_USERS[3])}'",
        "Press Ctrl-C to stop (the embedded database stops with the server).",
        "",
    ]
    return "\n".join(lines)


DEMO_ADDRESS_EN = "Demo Clinic, 2nd floor, 100 Century Avenue, Pudong, Shanghai"
DEMO_ADDRESS_ZH = "上海市浦东新区世纪大道100号 演示诊所2楼"


def demo_settings(settings: Settings) -> Settings:
    """``serve --demo``: the demo clinic's address, unless the environment names one."""
    if settings.clinic.configured:
        return settings
    # A copy, so the clinic's other settings (text consultations) stay as the environment set.
    return settings.with_(
        clinic=settings.clinic.model_copy(
            update={"clinic_address_en": DEMO_ADDRESS_EN, "clinic_address_zh": DEMO_ADDRESS_ZH}
        )
    )
