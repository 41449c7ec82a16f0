"""Audit entries: who did what to which patient's clinical data, when, and how it ended.

Entries are only ever appended; the application never updates or deletes one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    SUCCESS = "success"
    DENIED = "denied"  # not authorized, or the object does not exist for this caller
    FAILED = "failed"  # invalid input or a conflict


@dataclass(frozen=True, slots=True)
class AuditEntry:
    at: datetime
    actor_id: str | None
    actor_role: str | None
    action: str  # dotted verb, e.g. "record.read", "notes.create", "transcript.read"
    outcome: Outcome
    patient_id: str | None = None
    resource_type: str | None = None  # e.g. "appointment", "note", "fhir_bundle"
    resource_id: str | None = None
    request_id: str | None = None
    client_ip: str | None = None
    details: dict[str, Any] = field(default_factory=dict)  # never clinical content
    # Its place in the hash chain (domain/audit_chain.py), as stored: set by the repository when
    # it appends the entry (whatever a caller passes is ignored), None for an entry written
    # before the chain began.
    seq: int | None = None
    prev_hash: str | None = None
    hash: str | None = None
