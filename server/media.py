"""The media package wired from the settings: ICE servers, the pre-call service and the
recorders."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from domain.clock import Clock
from media.ice import IceProvider, IceServer, TurnRest
from media.precall import PrecallLimits, PrecallService
from media.recording import RecorderLimits, Recorders
from server.settings import MediaSettings


def make_ice_provider(media: MediaSettings, clock: Clock) -> IceProvider:
    """The ICE servers handed to browsers: the static list, plus TURN REST credentials when
    ``TELEMED_TURN_SECRET`` is set."""
    static = tuple(
        IceServer(
            urls=(s.urls,) if isinstance(s.urls, str) else tuple(s.urls),
            username=s.username,
            credential=s.credential,
        )
        for s in media.ice_servers
    )
    turn = None
    if media.turn_secret:
        turn = TurnRest(
            secret=media.turn_secret,
            urls=tuple(media.turn_urls),
            ttl=timedelta(seconds=media.turn_ttl),
        )
    return IceProvider(
        static=static, turn=turn, clock=clock, transport_policy=media.ice_transport_policy
    )


def make_precall_service(media: MediaSettings, ice: IceProvider, clock: Clock) -> PrecallService:
    limits = PrecallLimits(
        timeout=media.precall_timeout,
        measure_seconds=media.precall_measure_seconds,
        max_per_user=media.precall_max_per_user,
        max_total=media.precall_max_total,
    )
    # The server's own peer needs STUN to learn its public address, never a relay.
    return PrecallService(limits, clock=clock, server_ice=ice.stun_only)


def recordings_dir(data_dir: Path) -> Path:
    """Where recording files live: ``TELEMED_DATA_DIR/recordings``."""
    return data_dir / "recordings"


def make_recorders(media: MediaSettings, ice: IceProvider, data_dir: Path) -> Recorders:
    limits = RecorderLimits(
        max_concurrent=media.recording_max_concurrent,
        answer_timeout=media.recording_answer_timeout,
        video_bitrate=media.recording_video_bitrate,
    )
    # Like the pre-call peer: STUN to learn the server's public address, never a relay.
    return Recorders(recordings_dir(data_dir), limits=limits, server_ice=ice.stun_only)
