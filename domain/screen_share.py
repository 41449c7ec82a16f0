"""Screen sharing in a consultation, as pure rules (no I/O).

* **Who may share.** The doctor, whenever admitted to the call and connected. The patient only
  while the doctor allows it in this call (``patient_allowed``, off when the room opens).
* **One at a time.** While one participant shares, the other's ``start`` is refused
  (``screen_in_use``): two shared screens would fight over the one video track each side sends.
* **Stopping.** The sharer stops at any time; the doctor taking the permission back stops the
  patient's share at once; the sharer leaving, dropping or being replaced (a reload) ends it.

The browser sends the shared screen in place of its camera (``RTCRtpSender.replaceTrack`` on
the call's video sender and on the recorder's), so the other participant and a consented
recording see the screen while it is shared; the room only says who shares. This state lives in
the consultation room (:class:`domain.consultation.Room`), so every hub node sees the same and
the registry changes it atomically with the seats.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from domain.errors import Conflict, Forbidden
from domain.ids import UserId
from domain.users import Role


class ScreenShareNotAllowed(Forbidden):
    code = "screen_share_not_allowed"
    title = "The doctor has not allowed screen sharing"


class ScreenInUse(Conflict):
    code = "screen_in_use"
    title = "The other participant is sharing their screen"


@dataclass(frozen=True, slots=True)
class ScreenShare:
    """Who shares their screen now (``None``: nobody) and whether the patient may."""

    sharer: UserId | None = None
    patient_allowed: bool = False

    def start(self, user_id: UserId, role: Role) -> ScreenShare:
        """``user_id`` (admitted and connected: the caller checks) starts sharing."""
        if self.sharer == user_id:
            return self
        if role is Role.PATIENT and not self.patient_allowed:
            raise ScreenShareNotAllowed("the doctor has not allowed you to share your screen")
        if self.sharer is not None:
            raise ScreenInUse("the other participant is sharing their screen; ask them to stop")
        return replace(self, sharer=user_id)

    def stop(self, user_id: UserId) -> ScreenShare:
        """``user_id`` stops sharing (stopping a share one does not hold changes nothing)."""
        if self.sharer != user_id:
            return self
        return replace(self, sharer=None)

    def allow(self, role: Role, allowed: bool, patient_id: UserId) -> ScreenShare:
        """The doctor allows the patient to share, or takes it back (which stops their share)."""
        if role is not Role.DOCTOR:
            raise Forbidden("only the doctor allows the patient to share their screen")
        sharer = None if not allowed and self.sharer == patient_id else self.sharer
        return replace(self, patient_allowed=allowed, sharer=sharer)

    def without(self, user_id: UserId) -> ScreenShare:
        """``user_id`` is no longer in the call: their share ends."""
        return self.stop(user_id)
