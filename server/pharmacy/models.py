"""Request, query and response models of the drug catalogue and the review queue."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from domain.pharmacy import CURRENCY, Drug, ReviewStatus
from domain.text import text_problem
from server.http.pagination import PageQuery
from server.http.types import DisplayLine, DisplayText
from server.records.models import AllergyOut, PersonRef, PrescriptionOut, WarningOut

LANGUAGES = ("en", "zh-CN")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, allow_inf_nan=False)


# ---------------------------------------------------------------------------- drugs


class MoneyModel(Strict):
    amount: int = Field(ge=0, le=100_000_000, description="minor units (fen for CNY)")
    currency: str = Field(default=CURRENCY, pattern=r"^CNY$")


class Names(Strict):
    en: DisplayLine = Field(min_length=1, max_length=200)
    zh_cn: DisplayLine = Field(min_length=1, max_length=200, alias="zh-CN")

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, populate_by_name=True)

    def as_dict(self) -> dict[str, str]:
        return {"en": self.en, "zh-CN": self.zh_cn}


def _ingredients(value: list[str]) -> list[str]:
    cleaned = [v.strip() for v in value]
    if any(not v or len(v) > 100 for v in cleaned):
        raise ValueError("each ingredient is 1-100 characters")
    for v in cleaned:
        if (problem := text_problem(v, multiline=False)) is not None:
            raise ValueError(problem)
    return cleaned


class DrugIn(Strict):
    names: Names
    form: DisplayLine = Field(min_length=1, max_length=80, examples=["capsule"])
    strength: DisplayLine = Field(min_length=1, max_length=80, examples=["0.25 g"])
    package: DisplayLine = Field(min_length=1, max_length=120, examples=["24 capsules"])
    ingredients: list[str] = Field(min_length=1, max_length=20)
    unit_price: MoneyModel
    rx: bool
    online_prescribable: bool = True
    stock: int = Field(default=0, ge=0, le=1_000_000)
    active: bool = True

    _check_ingredients = field_validator("ingredients")(_ingredients)


class DrugPatch(Strict):
    names: Names | None = None
    form: DisplayLine | None = Field(default=None, min_length=1, max_length=80)
    strength: DisplayLine | None = Field(default=None, min_length=1, max_length=80)
    package: DisplayLine | None = Field(default=None, min_length=1, max_length=120)
    ingredients: list[str] | None = Field(default=None, min_length=1, max_length=20)
    unit_price: MoneyModel | None = None
    rx: bool | None = None
    online_prescribable: bool | None = None
    stock: int | None = Field(default=None, ge=0, le=1_000_000, description="counted stock")
    active: bool | None = None

    @field_validator("ingredients")
    @classmethod
    def _check(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _ingredients(value)


class MoneyOut(BaseModel):
    amount: int
    currency: str


class DrugOut(BaseModel):
    id: str
    name: str
    names: dict[str, str]
    form: str
    strength: str
    package: str
    ingredients: list[str]
    unit_price: MoneyOut
    rx: bool
    online_prescribable: bool
    stock: int
    active: bool

    @classmethod
    def of(cls, d: Drug) -> DrugOut:
        return cls(
            id=d.id,
            name=d.name,
            names=d.names,
            form=d.form,
            strength=d.strength,
            package=d.package,
            ingredients=list(d.ingredients),
            unit_price=MoneyOut(amount=d.unit_price.amount, currency=d.unit_price.currency),
            rx=d.rx,
            online_prescribable=d.online_prescribable,
            stock=d.stock,
            active=d.active,
        )


class DrugEnvelope(BaseModel):
    drug: DrugOut


class DrugsQuery(PageQuery):
    q: str | None = Field(default=None, min_length=1, max_length=80, description="either name")
    rx: bool | None = None


class DrugsPage(BaseModel):
    drugs: list[DrugOut]
    next_cursor: str | None = None


# ---------------------------------------------------------------------------- reviews


class ReviewsQuery(PageQuery):
    status: ReviewStatus = ReviewStatus.PENDING


class ReviewItem(BaseModel):
    prescription: PrescriptionOut
    patient: PersonRef
    doctor: PersonRef
    allergies: list[AllergyOut]
    active_prescriptions: list[PrescriptionOut]
    warnings: list[WarningOut]


class ReviewsPage(BaseModel):
    reviews: list[ReviewItem]
    next_cursor: str | None = None


class RejectIn(Strict):
    reason: DisplayText = Field(min_length=1, max_length=500)


class ApprovedEnvelope(BaseModel):
    prescription: PrescriptionOut
    reminders_created: int


class RejectedEnvelope(BaseModel):
    prescription: PrescriptionOut
