"""``telemed retention run [--dry-run]``: removes what is past its retention period, and nothing
else (``domain/retention.py`` defines the periods; ``storage/retention.py`` is the only code
that deletes clinical data). Every removal is audited (``retention.purge``, with the counts per
collection and never any content) and so is each run (``retention.run``).

Asked to remove a record or a consultation's data that is not past its period, it refuses
(:class:`domain.errors.Conflict`), and its deletes repeat the age check in their filters.
Recording files (``TELEMED_DATA_DIR/recordings``) go with their documents, file first.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from domain.audit import AuditEntry, Outcome
from domain.clock import Clock
from domain.errors import Conflict
from domain.retention import RetentionPolicy, past
from storage.audit import AuditRepository
from storage.retention import RetentionStore


@dataclass(slots=True)
class RetentionReport:
    dry_run: bool
    record_cutoff: datetime
    process_cutoff: datetime
    records: dict[str, dict[str, int]] = field(default_factory=dict)  # patient -> counts
    consultations: dict[str, dict[str, int]] = field(default_factory=dict)  # appointment
    files: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "dry_run": self.dry_run,
            "record_cutoff": self.record_cutoff.isoformat(),
            "process_cutoff": self.process_cutoff.isoformat(),
            "records": self.records,
            "consultations": self.consultations,
            "recording_files": self.files,
        }


class RetentionService:
    def __init__(
        self,
        store: RetentionStore,
        audit: AuditRepository,
        *,
        policy: RetentionPolicy,
        clock: Clock,
        recordings: Path,
    ) -> None:
        self._store = store
        self._audit = audit
        self._policy = policy
        self._clock = clock
        self._recordings = recordings

    async def run(self, *, dry_run: bool) -> RetentionReport:
        now = self._clock()
        report = RetentionReport(
            dry_run=dry_run,
            record_cutoff=self._policy.record_cutoff(now),
            process_cutoff=self._policy.process_cutoff(now),
        )
        gone: set[str] = set()
        for patient_id, last in sorted((await self._store.last_by_patient()).items()):
            if not past(last, report.record_cutoff):
                continue
            gone.update(await self._store.appointments(patient_id))
            if dry_run:
                report.records[patient_id] = await self._store.count_record(patient_id)
            else:
                counts = await self.purge_record(patient_id)
                report.files += counts.pop("recording_files", 0)
                report.records[patient_id] = counts
        for appointment_id, end in sorted((await self._store.consultation_ends()).items()):
            if appointment_id in gone or not past(end, report.process_cutoff):
                continue
            counts = await self._store.count_process(appointment_id)
            if not any(counts.values()):
                continue
            if not dry_run:
                counts = await self.purge_process(appointment_id)
                report.files += counts.pop("recording_files", 0)
            report.consultations[appointment_id] = counts
        await self._record(
            "retention.run",
            patient_id=None,
            resource_type="retention",
            resource_id=None,
            details={
                "dry_run": dry_run,
                "records": len(report.records),
                "consultations": len(report.consultations),
                "recording_files": report.files,
                "record_cutoff": report.record_cutoff,
                "process_cutoff": report.process_cutoff,
            },
        )
        return report

    async def purge_record(self, patient_id: str) -> dict[str, int]:
        """Remove a patient's whole record; refused unless it is past its period."""
        now = self._clock()
        cutoff = self._policy.record_cutoff(now)
        last = (await self._store.last_by_patient(patient_id)).get(patient_id)
        if not past(last, cutoff):
            raise Conflict(
                f"the record of {patient_id} is not past its retention period "
                f"({self._policy.record_years} years from its last entry, {last})"
            )
        appointment_ids = list(await self._store.appointments(patient_id))
        files = self._remove_files(await self._store.recording_ids(appointment_ids, cutoff))
        counts = await self._store.delete_record(patient_id, cutoff)
        await self._record(
            "retention.purge",
            patient_id=patient_id,
            resource_type="record",
            resource_id=None,
            details={**counts, "recording_files": files, "last_entry": last},
        )
        return {**counts, "recording_files": files}

    async def purge_process(self, appointment_id: str) -> dict[str, int]:
        """Remove a consultation's chat and recordings; refused unless past their period."""
        now = self._clock()
        cutoff = self._policy.process_cutoff(now)
        end = await self._store.consultation_end(appointment_id)
        if not past(end, cutoff):
            raise Conflict(
                f"the chat and recordings of {appointment_id} are not past their retention "
                f"period ({self._policy.process_years} years from the consultation's end, {end})"
            )
        owners = await self._store.appointments()
        files = self._remove_files(await self._store.recording_ids([appointment_id], cutoff))
        counts = await self._store.delete_process(appointment_id, cutoff)
        await self._record(
            "retention.purge",
            patient_id=owners.get(appointment_id),
            resource_type="consultation",
            resource_id=appointment_id,
            details={**counts, "recording_files": files, "consultation_end": end},
        )
        return {**counts, "recording_files": files}

    def _remove_files(self, recording_ids: list[str]) -> int:
        removed = 0
        for recording_id in recording_ids:
            for name in (f"{recording_id}.webm", f"{recording_id}.webm.part"):
                with contextlib.suppress(FileNotFoundError):
                    (self._recordings / name).unlink()
                    removed += 1
        return removed

    async def _record(
        self,
        action: str,
        *,
        patient_id: str | None,
        resource_type: str,
        resource_id: str | None,
        details: dict[str, Any],
    ) -> None:
        await self._audit.append(
            AuditEntry(
                at=self._clock(),
                actor_id=None,
                actor_role=None,
                action=action,
                outcome=Outcome.SUCCESS,
                patient_id=patient_id,
                resource_type=resource_type,
                resource_id=resource_id,
                details={"via": "retention", **details},
            )
        )
