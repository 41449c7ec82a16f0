"""Request and response models of the pre-call check endpoints (also the OpenAPI schemas)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from domain.clock import iso_z
from domain.precall import Advice, Verdict
from media.ice import IceServer
from media.precall import MAX_SDP_BYTES, CheckState, PrecallReport, StartedCheck

UtcDateTime = Annotated[datetime, PlainSerializer(iso_z, return_type=str)]


def _absent(value: object) -> bool:
    return value is None


class PrecallOfferIn(BaseModel):
    # No whitespace stripping: an SDP is passed on exactly as sent.
    model_config = ConfigDict(extra="forbid")

    sdp: str = Field(
        min_length=1,
        max_length=MAX_SDP_BYTES,
        description="A complete SDP offer, sent after ICE gathering finished (no trickle ICE)",
    )
    type: Literal["offer"]


class IceServerOut(BaseModel):
    urls: list[str]
    username: str | None = Field(default=None, exclude_if=_absent)
    credential: str | None = Field(default=None, exclude_if=_absent)

    @classmethod
    def of(cls, server: IceServer) -> IceServerOut:
        return cls(urls=list(server.urls), username=server.username, credential=server.credential)


class IceServersOut(BaseModel):
    ice_servers: list[IceServerOut]


class PrecallAnswerOut(BaseModel):
    id: str
    type: Literal["answer"] = "answer"
    sdp: str
    ice_servers: list[IceServerOut]
    expires_at: UtcDateTime = Field(description="When the check's peer is closed at the latest")

    @classmethod
    def of(cls, started: StartedCheck, ice_servers: list[IceServer]) -> PrecallAnswerOut:
        return cls(
            id=started.id,
            sdp=started.answer_sdp,
            ice_servers=[IceServerOut.of(s) for s in ice_servers],
            expires_at=started.expires_at,
        )


class PrecallReportOut(BaseModel):
    id: str
    state: CheckState
    complete: bool = Field(description="True once the verdict is final enough to show")
    measured_seconds: float = Field(description="Seconds of connected media measured so far")
    rtt_ms: float | None = Field(description="Round-trip time, milliseconds")
    jitter_ms: float | None = Field(description="Jitter of the worse direction, milliseconds")
    packet_loss: float | None = Field(description="Lost fraction (0-1) of the worse direction")
    bitrate_kbps: float | None = Field(description="What the device uploads, kbit/s")
    verdict: Verdict | None = Field(description="Set once complete")
    advice: Advice | None = Field(description="The one thing to act on first; set once complete")
    problems: list[Advice] = Field(description="Every problem found, worst first")
    expires_at: UtcDateTime

    @classmethod
    def of(cls, report: PrecallReport) -> PrecallReportOut:
        m, a = report.measurement, report.assessment
        return cls(
            id=report.id,
            state=report.state,
            complete=report.complete,
            measured_seconds=report.measured_seconds,
            rtt_ms=None if m.rtt_ms is None else round(m.rtt_ms, 2),
            jitter_ms=None if m.jitter_ms is None else round(m.jitter_ms, 2),
            packet_loss=None if m.packet_loss is None else round(m.packet_loss, 4),
            bitrate_kbps=m.bitrate_kbps,
            verdict=a.verdict if a else None,
            advice=a.advice if a else None,
            problems=list(a.problems) if a else [],
            expires_at=report.expires_at,
        )
