"""The after-visit summary as a PDF, in Simplified Chinese or English (fpdf2).

Pure rendering: everything printed is given, nothing is read here but the font file. Chinese
needs a CJK font: WenQuanYi Micro Hei (Debian's ``fonts-wqy-microhei``) by default, its path a
setting (``TELEMED_SUMMARY_FONT``); without it, :class:`FontMissing` (503), never a PDF of
empty boxes. The font is embedded as a subset of the glyphs used, so the file stays small.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from domain.errors import Unavailable
from domain.visit_summary import VisitSummary

Lang = Literal["zh", "en"]
FONT = "summary"

LABELS: dict[Lang, dict[str, str]] = {
    "en": {
        "title": "After-visit summary",
        "patient": "Patient",
        "doctor": "Doctor",
        "visit": "Visit",
        "diagnosis": "Diagnosis",
        "advice": "Advice",
        "follow_up": "Follow-up",
        "follow_up_on": "Suggested follow-up visit: {date}",
        "no_follow_up": "No follow-up visit needed.",
        "prescriptions": "Prescriptions",
        "none": "None.",
        "rx_line": "{drug}, {dose}: {times} ({zone}), {days} days from {start}",
        "documents": "Documents shared in the visit",
        "written": "Written {when} (UTC)",
        "not_written": "The doctor has not written the summary yet.",
    },
    "zh": {
        "title": "就诊小结",
        "patient": "患者",
        "doctor": "医生",
        "visit": "就诊时间",
        "diagnosis": "诊断",
        "advice": "医嘱",
        "follow_up": "复诊",
        "follow_up_on": "建议复诊日期：{date}",
        "no_follow_up": "无需复诊。",
        "prescriptions": "处方",
        "none": "无。",
        "rx_line": "{drug}，{dose}：{times}（{zone}），自 {start} 起共 {days} 天",
        "documents": "就诊中分享的资料",
        "written": "填写于 {when}（UTC）",
        "not_written": "医生尚未填写小结。",
    },
}


class FontMissing(Unavailable):
    code = "summary_font_missing"
    title = "The font for the summary's PDF is not installed"


@dataclass(frozen=True, slots=True)
class RxLine:
    drug: str
    dose: str
    times: list[str]
    timezone: str
    start_date: date
    days: int


@dataclass(frozen=True, slots=True)
class SummaryDocument:
    """Everything the PDF prints."""

    patient_name: str
    doctor_name: str
    visit_start: datetime
    visit_timezone: str  # the zone the visit's time is printed in (the patient's)
    summary: VisitSummary | None
    prescriptions: list[RxLine]
    documents: list[str]  # titles


def _visit_time(doc: SummaryDocument) -> str:
    try:
        zone = ZoneInfo(doc.visit_timezone)
    except (KeyError, ValueError):
        zone = ZoneInfo("UTC")
    local = doc.visit_start.astimezone(zone)
    return f"{local:%Y-%m-%d %H:%M} ({zone.key})"


def render_pdf(doc: SummaryDocument, *, lang: Lang, font_path: Path) -> bytes:
    """The summary as PDF bytes (blocking: call it in a worker thread)."""
    if not font_path.is_file():
        raise FontMissing(f"no font at {font_path} (TELEMED_SUMMARY_FONT)")
    words = LABELS[lang]
    pdf = FPDF(format="A4")
    pdf.set_title(words["title"])
    pdf.set_creator("telemed")
    pdf.set_lang("zh-CN" if lang == "zh" else "en")
    pdf.add_font(FONT, "", str(font_path))
    pdf.set_margins(18, 18, 18)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()

    def heading(text: str) -> None:
        pdf.ln(3)
        pdf.set_font(FONT, size=13)
        pdf.multi_cell(0, 8, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def body(text: str) -> None:
        pdf.set_font(FONT, size=11)
        pdf.multi_cell(0, 6, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    pdf.set_font(FONT, size=18)
    pdf.multi_cell(0, 10, words["title"], new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    body(f"{words['patient']}: {doc.patient_name}")
    body(f"{words['doctor']}: {doc.doctor_name}")
    body(f"{words['visit']}: {_visit_time(doc)}")
    summary = doc.summary
    if summary is None:
        heading(words["diagnosis"])
        body(words["not_written"])
    else:
        heading(words["diagnosis"])
        body(summary.diagnosis or words["none"])
        heading(words["advice"])
        body(summary.advice or words["none"])
        heading(words["follow_up"])
        if summary.follow_up_date is not None:
            body(words["follow_up_on"].format(date=summary.follow_up_date.isoformat()))
        else:
            body(words["no_follow_up"])
        if summary.follow_up_note:
            body(summary.follow_up_note)
    heading(words["prescriptions"])
    if not doc.prescriptions:
        body(words["none"])
    for rx in doc.prescriptions:
        body(
            "• "
            + words["rx_line"].format(
                drug=rx.drug,
                dose=rx.dose,
                times=", ".join(rx.times),
                zone=rx.timezone,
                days=rx.days,
                start=rx.start_date.isoformat(),
            )
        )
    heading(words["documents"])
    if not doc.documents:
        body(words["none"])
    for title in doc.documents:
        body(f"• {title}")
    if summary is not None:
        pdf.ln(4)
        pdf.set_font(FONT, size=9)
        when = f"{summary.updated_at.astimezone(ZoneInfo('UTC')):%Y-%m-%d %H:%M}"
        pdf.multi_cell(0, 5, words["written"].format(when=when))
    return bytes(pdf.output())
