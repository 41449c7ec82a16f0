"""The pharmacy: the drug catalogue and the pharmacist's review of a prescription. Pure, no I/O.

A prescription a pharmacist must review moves through one small state machine, beside the
appointment's (``domain/appointments.py``)::

    pending -> approved
    pending -> rejected

The repository applies a decision only while the stored review is still ``pending``
(compare-and-set on the status), so of two pharmacists deciding at once exactly one wins and the
other gets 409.

Warnings are computed here from the drug, the patient's allergies and their active
prescriptions: ``allergy`` (an allergy naming the drug, in either language, or one of its
ingredients) and ``duplicate_therapy`` (an ingredient already in an active prescription).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from domain.errors import Conflict

CURRENCY = "CNY"  # the catalogue's currency; amounts are integers in its minor unit (fen)


@dataclass(frozen=True, slots=True)
class Money:
    amount: int  # minor units (fen for CNY)
    currency: str = CURRENCY


@dataclass(frozen=True, slots=True)
class Drug:
    id: str
    names: dict[str, str]  # {"en": ..., "zh-CN": ...}
    form: str
    strength: str
    package: str
    ingredients: tuple[str, ...]
    unit_price: Money
    rx: bool
    online_prescribable: bool
    stock: int
    active: bool
    created_at: datetime
    updated_at: datetime

    @property
    def name(self) -> str:
        """The name shown where one name is needed: Chinese first, then English."""
        return self.names.get("zh-CN") or self.names.get("en") or ""


class ReviewStatus(StrEnum):
    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


R = ReviewStatus

REVIEW_TRANSITIONS: dict[ReviewStatus, frozenset[ReviewStatus]] = {
    R.PENDING: frozenset({R.APPROVED, R.REJECTED}),
    R.APPROVED: frozenset(),
    R.REJECTED: frozenset(),
}


def check_review(current: ReviewStatus, target: ReviewStatus) -> None:
    """Raise :class:`Conflict` (HTTP 409) for a decision the map does not allow."""
    if target not in REVIEW_TRANSITIONS[current]:
        raise Conflict(f"a review that is {current.value} cannot become {target.value}")


class WarningCode(StrEnum):
    ALLERGY = "allergy"
    DUPLICATE_THERAPY = "duplicate_therapy"


@dataclass(frozen=True, slots=True)
class ReviewWarning:
    code: WarningCode
    message: str  # in English, for logs and the API's readers
    # What the message says, for a page to say it in its own language: the allergy's substance
    # and the drug name or ingredient it matched; or the shared ingredients and the drug already
    # prescribed. Empty in warnings stored before they were kept.
    subject: str = ""
    matched: str = ""


@dataclass(frozen=True, slots=True)
class Reviewer:
    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Review:
    status: ReviewStatus
    pharmacist: Reviewer | None
    reviewed_at: datetime | None
    reason: str | None
    warnings: tuple[ReviewWarning, ...]


def _norm(text: str) -> str:
    return "".join(text.casefold().split())


def _mentions(allergy: str, term: str) -> bool:
    a, t = _norm(allergy), _norm(term)
    if not a or not t:
        return False
    return a in t or t in a


@dataclass(frozen=True, slots=True)
class ActiveTherapy:
    """One active prescription of the patient, as the warnings need it."""

    prescription_id: str
    drug: str
    ingredients: tuple[str, ...]


def review_warnings(
    *,
    drug_names: Iterable[str],
    ingredients: Iterable[str],
    allergies: Iterable[str],
    active: Iterable[ActiveTherapy],
) -> tuple[ReviewWarning, ...]:
    """What a pharmacist must look at before approving a prescription of this drug."""
    names = [n for n in drug_names if n]
    own = [i for i in ingredients if i]
    warnings: list[ReviewWarning] = []
    for substance in allergies:
        hit = next((t for t in [*names, *own] if _mentions(substance, t)), None)
        if hit is not None:
            warnings.append(
                ReviewWarning(
                    WarningCode.ALLERGY,
                    f"the patient is allergic to {substance} (matches {hit})",
                    subject=substance,
                    matched=hit,
                )
            )
    wanted = {_norm(i): i for i in own}
    for therapy in active:
        shared = sorted(wanted[k] for k in wanted.keys() & {_norm(i) for i in therapy.ingredients})
        if shared:
            warnings.append(
                ReviewWarning(
                    WarningCode.DUPLICATE_THERAPY,
                    f"{', '.join(shared)} is already prescribed ({therapy.drug})",
                    subject=", ".join(shared),
                    matched=therapy.drug,
                )
            )
    return tuple(warnings)
