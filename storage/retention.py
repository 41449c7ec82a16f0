"""The one place the application deletes clinical data: the retention job's reads and deletes
(``server/retention.py`` decides; ``domain/retention.py`` says what "past its period" means).

No repository of a clinical collection has a delete, no endpoint calls this module, and no
clinical collection has a TTL index (a test lists them all). Each delete here repeats the age
check in its filter: a document with any date on or after the cutoff is never deleted, even if
it arrived after the job decided.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from domain.retention import latest
from storage.batches import in_batches

Document = dict[str, Any]

# Every collection the storage layer creates has exactly one of these classes (a test binds the
# repositories to a database that records every name they use, and fails on one missing here).
#
# A patient's clinical record: kept ``TELEMED_RETENTION_YEARS`` from its last entry, removed
# whole. Collection -> the dates that count as activity (dotted paths reach into a field).
PATIENT_COLLECTIONS: dict[str, tuple[str, ...]] = {
    "appointments": ("end", "ended_at", "updated_at"),
    "notes": ("created_at",),
    "vitals": ("created_at", "measured_at"),
    "allergies": ("created_at",),
    "conditions": ("created_at",),
    "prescriptions": ("created_at", "stopped_at"),
    "reminders": ("due_at", "taken_at"),
    "documents": ("created_at",),  # with their bytes in GridFS: see DOCUMENT_FILES
    "referrals": ("created_at",),
    "visit_summaries": ("created_at", "updated_at"),
    "orders": ("created_at", "updated_at"),  # dispensed medicine is part of the record
    "online_care_consents": ("accepted_at",),
}
# A consultation's data, reached through its appointment: collection -> the dates.
CONSULTATION_COLLECTIONS: dict[str, tuple[str, ...]] = {
    "messages": ("sent_at",),
    "recordings": ("started_at", "stopped_at", "deleted_at"),
    "recording_consents": ("at",),
    "follow_ups": ("eligibility.at",),
    # Which notifications of an appointment were sent (no content): kept with it.
    "notification_sends": ("claimed_at", "finished_at"),
    "guest_invites": ("created_at", "expires_at", "redeemed_at"),
}
# Notification sends about a patient's medication reminders and orders have no appointment:
# they are found by their ``patient_id`` (and, for the sweep's "done" markers stored before they
# carried one, by the reminder's or order's id) and go with the record.
SENDS = "notification_sends"
SEND_RESOURCES: dict[str, str] = {"reminder": "reminders", "order": "orders"}
# The field naming the appointment, where it is not ``appointment_id``.
CONSULTATION_KEY: dict[str, str] = {"follow_ups": "_id"}
# Process data (过程资料): removed per consultation after the shorter period.
PROCESS_COLLECTIONS = ("messages", "recordings")
# The GridFS bucket holding the documents' bytes (``storage/documents.py``): its files and
# chunks go with their ``documents`` entry (same ``_id``), bytes first.
DOCUMENT_FILES = "documents.files"
DOCUMENT_CHUNKS = "documents.chunks"
# Never removed by retention, and why (docs/SECURITY.md "Retention").
KEPT_COLLECTIONS: dict[str, str] = {
    "users": "accounts: kept while the account exists; names and sign-in, no clinical data",
    "availability": "doctors' weekly hours: configuration, no patient data",
    "drugs": "the catalogue: orders and prescriptions name its entries; withdrawn, not deleted",
    "audit": "the audit log: a hash chain (removing an entry breaks it); kept for good",
    "audit_chain": "the audit chain's head",
    "telemed_keys": "field encryption's data key, wrapped: without it nothing sealed opens",
    "notification_preferences": "a person's language and channel opt-outs: no clinical data",
}
# Collections whose documents expire by themselves (TTL indexes): sign-ins and throttles,
# never clinical data.
TTL_ALLOWED = frozenset({"sessions", "refresh_tokens", "login_failures", "sms_codes", "sms_budget"})


def classified() -> frozenset[str]:
    """Every collection name retention knows, whatever it does with it."""
    return frozenset(
        {
            *PATIENT_COLLECTIONS,
            *CONSULTATION_COLLECTIONS,
            DOCUMENT_FILES,
            DOCUMENT_CHUNKS,
            *KEPT_COLLECTIONS,
            *TTL_ALLOWED,
        }
    )


def _field(doc: Document, path: str) -> Any:
    value: Any = doc
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _key(name: str) -> str:
    return CONSULTATION_KEY.get(name, "appointment_id")


def _younger_kept(fields: tuple[str, ...], cutoff: datetime) -> Document:
    """Matches only documents none of whose dates is on or after ``cutoff``."""
    return {"$and": [{field: {"$not": {"$gte": cutoff}}} for field in fields]}


class RetentionStore:
    def __init__(self, db: AsyncDatabase[Document]) -> None:
        self._db = db

    async def _latest_by(
        self, collection: str, key: str, fields: tuple[str, ...], query: Document | None = None
    ) -> dict[str, datetime]:
        out: dict[str, datetime] = {}
        projection = {key: 1, **dict.fromkeys(fields, 1)}
        async for doc in self._db[collection].find(query or {}, projection):
            owner = _field(doc, key)
            dates = (_field(doc, f) for f in fields)
            when = latest(*(d for d in dates if isinstance(d, datetime)))
            if owner is None or when is None:
                continue
            known = out.get(owner)
            out[owner] = when if known is None else max(known, when)
        return out

    async def appointments(self, patient_id: str | None = None) -> dict[str, str]:
        """appointment id -> patient id."""
        query = {} if patient_id is None else {"patient_id": patient_id}
        return {
            str(d["_id"]): str(d["patient_id"])
            async for d in self._db["appointments"].find(query, {"patient_id": 1})
        }

    async def last_by_patient(self, patient_id: str | None = None) -> dict[str, datetime]:
        """The last entry of each patient's record (or of one patient's)."""
        last: dict[str, datetime] = {}

        def merge(owner: str, when: datetime) -> None:
            known = last.get(owner)
            last[owner] = when if known is None else max(known, when)

        mine = None if patient_id is None else {"patient_id": patient_id}
        for name, fields in PATIENT_COLLECTIONS.items():
            for owner, when in (await self._latest_by(name, "patient_id", fields, mine)).items():
                merge(owner, when)
        owners = await self.appointments(patient_id)
        for name, fields in CONSULTATION_COLLECTIONS.items():
            key = _key(name)
            theirs = None if patient_id is None else {key: {"$in": list(owners)}}
            found = await self._latest_by(name, key, fields, theirs)
            for appointment_id, when in found.items():
                if appointment_id in owners:
                    merge(owners[appointment_id], when)
        fields = CONSULTATION_COLLECTIONS[SENDS]
        for owner, when in (await self._latest_by(SENDS, "patient_id", fields, mine)).items():
            merge(owner, when)
        return last

    async def _patient_sends(self, patient_id: str) -> list[Document]:
        """Queries for the patient's notification sends that name no appointment (those that
        do go with their appointment): by ``patient_id``, or by the reminder's or order's id
        for a marker stored without one."""
        queries: list[Document] = [{"appointment_id": {"$exists": False}, "patient_id": patient_id}]
        for resource_type, collection in SEND_RESOURCES.items():
            ids = [
                d["_id"]
                async for d in self._db[collection].find({"patient_id": patient_id}, {"_id": 1})
            ]
            queries.extend(
                {
                    "appointment_id": {"$exists": False},
                    "patient_id": {"$exists": False},
                    "resource_type": resource_type,
                    "resource_id": {"$in": batch},
                }
                for batch in in_batches(ids)
            )
        return queries

    async def consultation_ends(self) -> dict[str, datetime]:
        """The end of each consultation: its scheduled or actual end, its last message, its
        recordings' stops, whichever is latest."""
        ends = await self._latest_by("appointments", "_id", ("end", "ended_at"))
        for name in PROCESS_COLLECTIONS:
            found = await self._latest_by(name, "appointment_id", CONSULTATION_COLLECTIONS[name])
            for appointment_id, when in found.items():
                known = ends.get(appointment_id)
                ends[appointment_id] = when if known is None else max(known, when)
        return ends

    async def consultation_end(self, appointment_id: str) -> datetime | None:
        found = [
            (await self._latest_by(name, key, fields, {key: appointment_id})).get(appointment_id)
            for name, key, fields in (
                ("appointments", "_id", ("end", "ended_at")),
                *((n, "appointment_id", CONSULTATION_COLLECTIONS[n]) for n in PROCESS_COLLECTIONS),
            )
        ]
        return latest(*found)

    async def count_process(self, appointment_id: str) -> dict[str, int]:
        return {
            name: await self._db[name].count_documents({"appointment_id": appointment_id})
            for name in PROCESS_COLLECTIONS
        }

    async def count_record(self, patient_id: str) -> dict[str, int]:
        counts = {
            name: await self._db[name].count_documents({"patient_id": patient_id})
            for name in PATIENT_COLLECTIONS
        }
        appointment_ids = list(await self.appointments(patient_id))
        for name in CONSULTATION_COLLECTIONS:
            counts[name] = await self._db[name].count_documents(
                {_key(name): {"$in": appointment_ids}}
            )
        for query in await self._patient_sends(patient_id):
            counts[SENDS] += await self._db[SENDS].count_documents(query)
        document_ids = [
            d["_id"]
            async for d in self._db["documents"].find({"patient_id": patient_id}, {"_id": 1})
        ]
        counts["document_files"] = 0
        for batch in in_batches(document_ids):
            counts["document_files"] += await self._db[DOCUMENT_FILES].count_documents(
                {"_id": {"$in": batch}}
            )
        return counts

    async def recording_ids(self, appointment_ids: list[str], cutoff: datetime) -> list[str]:
        query = {
            "appointment_id": {"$in": appointment_ids},
            **_younger_kept(CONSULTATION_COLLECTIONS["recordings"], cutoff),
        }
        return [str(d["_id"]) async for d in self._db["recordings"].find(query, {"_id": 1})]

    async def delete_process(self, appointment_id: str, cutoff: datetime) -> dict[str, int]:
        removed = {}
        for name in PROCESS_COLLECTIONS:
            query = {
                "appointment_id": appointment_id,
                **_younger_kept(CONSULTATION_COLLECTIONS[name], cutoff),
            }
            removed[name] = (await self._db[name].delete_many(query)).deleted_count
        return removed

    async def delete_record(self, patient_id: str, cutoff: datetime) -> dict[str, int]:
        appointment_ids = list(await self.appointments(patient_id))
        removed = {}
        for name, fields in CONSULTATION_COLLECTIONS.items():
            query = {_key(name): {"$in": appointment_ids}, **_younger_kept(fields, cutoff)}
            removed[name] = (await self._db[name].delete_many(query)).deleted_count
        # Before the reminders and orders whose ids find the older markers.
        for query in await self._patient_sends(patient_id):
            query = {**query, **_younger_kept(CONSULTATION_COLLECTIONS[SENDS], cutoff)}
            removed[SENDS] += (await self._db[SENDS].delete_many(query)).deleted_count
        removed["document_files"] = await self._delete_document_files(patient_id, cutoff)
        for name, fields in PATIENT_COLLECTIONS.items():
            query = {"patient_id": patient_id, **_younger_kept(fields, cutoff)}
            removed[name] = (await self._db[name].delete_many(query)).deleted_count
        return removed

    async def _delete_document_files(self, patient_id: str, cutoff: datetime) -> int:
        """The GridFS bytes of the patient's documents that are going: chunks, then files,
        before their ``documents`` entries (a run stopped between the two leaves an entry
        without bytes, which the next run removes; never bytes nobody can find)."""
        query = {
            "patient_id": patient_id,
            **_younger_kept(PATIENT_COLLECTIONS["documents"], cutoff),
        }
        ids = [d["_id"] async for d in self._db["documents"].find(query, {"_id": 1})]
        removed = 0
        for batch in in_batches(ids):
            await self._db[DOCUMENT_CHUNKS].delete_many({"files_id": {"$in": batch}})
            removed += (
                await self._db[DOCUMENT_FILES].delete_many({"_id": {"$in": batch}})
            ).deleted_count
        return removed
