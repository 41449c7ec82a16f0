"""The seam the consultation hub uses to push medication reminders that fall due.

The hub calls :meth:`ReminderService.claim_due_reminders` periodically (from every server
process; each reminder is claimed by exactly one) and emits ``reminder:due`` with each returned
:class:`~domain.reminders.DueReminder` to the patient's open sockets.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.clock import Clock
from domain.reminders import DueReminder
from storage.reminders import ReminderRepository

# A reminder this late (e.g. after the server was down) is no longer worth pushing.
MAX_LATENESS = timedelta(hours=1)


class ReminderService:
    def __init__(self, repo: ReminderRepository, *, clock: Clock) -> None:
        self._repo = repo
        self._clock = clock

    async def claim_due_reminders(
        self,
        now: datetime | None = None,
        *,
        limit: int = 500,
        max_lateness: timedelta = MAX_LATENESS,
    ) -> list[DueReminder]:
        """Claim the pending reminders due by ``now`` (default: the clock) and not yet pushed,
        at most ``max_lateness`` late, oldest first. What is returned is this caller's to push;
        no other caller (in this process or another) gets the same reminder."""
        now = now or self._clock()
        claimed = await self._repo.claim_due(now=now, not_before=now - max_lateness, limit=limit)
        return [
            DueReminder(
                reminder_id=r.id,
                patient_id=r.patient_id,
                prescription_id=r.prescription_id,
                drug=r.drug,
                dose=r.dose,
                due_at=r.due_at,
                local_time=r.local_time,
                timezone=r.timezone,
            )
            for r in claimed
        ]
