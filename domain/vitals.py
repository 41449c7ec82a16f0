"""Vital signs: the accepted types, units (UCUM) and plausible ranges, and the conversion of
each reading to its type's canonical unit so a series charts on one axis. Pure, no I/O.

Every accepted unit is a UCUM code (what FHIR's ``Quantity.code`` carries); a few spellings
people type are accepted as aliases of them (``mmHg``, ``bpm``, ``°C``, ``lb``...).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class VitalType(StrEnum):
    BLOOD_PRESSURE = "blood_pressure"
    HEART_RATE = "heart_rate"
    GLUCOSE = "glucose"
    WEIGHT = "weight"
    TEMPERATURE = "temperature"
    SPO2 = "spo2"


@dataclass(frozen=True, slots=True)
class Unit:
    code: str  # UCUM
    display: str
    low: float  # plausible range, inclusive, in this unit
    high: float
    to_canonical: Callable[[float], float]


@dataclass(frozen=True, slots=True)
class Loinc:
    code: str
    display: str


@dataclass(frozen=True, slots=True)
class VitalSpec:
    type: VitalType
    canonical_unit: str
    units: Mapping[str, Unit]  # by UCUM code
    loinc: Loinc
    category: str  # FHIR observation-category code
    # Blood pressure only: LOINC of its two components.
    components: Mapping[str, Loinc] | None = None


def _same(value: float) -> float:
    return value


def _mg_dl_to_mmol_l(value: float) -> float:
    return value / 18.0156  # glucose, molar mass 180.156 g/mol


def _lb_to_kg(value: float) -> float:
    return value * 0.45359237


def _f_to_c(value: float) -> float:
    return (value - 32.0) * 5.0 / 9.0


SPECS: dict[VitalType, VitalSpec] = {
    VitalType.BLOOD_PRESSURE: VitalSpec(
        type=VitalType.BLOOD_PRESSURE,
        canonical_unit="mm[Hg]",
        units={"mm[Hg]": Unit("mm[Hg]", "mmHg", 20, 300, _same)},
        loinc=Loinc("85354-9", "Blood pressure panel with all children optional"),
        category="vital-signs",
        components={
            "systolic": Loinc("8480-6", "Systolic blood pressure"),
            "diastolic": Loinc("8462-4", "Diastolic blood pressure"),
        },
    ),
    VitalType.HEART_RATE: VitalSpec(
        type=VitalType.HEART_RATE,
        canonical_unit="/min",
        units={"/min": Unit("/min", "beats/minute", 20, 300, _same)},
        loinc=Loinc("8867-4", "Heart rate"),
        category="vital-signs",
    ),
    VitalType.GLUCOSE: VitalSpec(
        type=VitalType.GLUCOSE,
        canonical_unit="mmol/L",
        units={
            "mmol/L": Unit("mmol/L", "mmol/L", 0.5, 50, _same),
            "mg/dL": Unit("mg/dL", "mg/dL", 9, 900, _mg_dl_to_mmol_l),
        },
        loinc=Loinc("2339-0", "Glucose [Mass/volume] in Blood"),
        category="laboratory",
    ),
    VitalType.WEIGHT: VitalSpec(
        type=VitalType.WEIGHT,
        canonical_unit="kg",
        units={
            "kg": Unit("kg", "kg", 0.2, 650, _same),
            "[lb_av]": Unit("[lb_av]", "lb", 0.5, 1430, _lb_to_kg),
        },
        loinc=Loinc("29463-7", "Body weight"),
        category="vital-signs",
    ),
    VitalType.TEMPERATURE: VitalSpec(
        type=VitalType.TEMPERATURE,
        canonical_unit="Cel",
        units={
            "Cel": Unit("Cel", "°C", 25, 45, _same),
            "[degF]": Unit("[degF]", "°F", 77, 113, _f_to_c),
        },
        loinc=Loinc("8310-5", "Body temperature"),
        category="vital-signs",
    ),
    VitalType.SPO2: VitalSpec(
        type=VitalType.SPO2,
        canonical_unit="%",
        units={"%": Unit("%", "%", 50, 100, _same)},
        loinc=Loinc("59408-5", "Oxygen saturation in Arterial blood by Pulse oximetry"),
        category="vital-signs",
    ),
}

# Spellings people type, mapped to their UCUM code (matched exactly, after stripping spaces).
ALIASES: dict[str, str] = {
    "mmHg": "mm[Hg]",
    "bpm": "/min",
    "beats/min": "/min",
    "mmol/l": "mmol/L",
    "mg/dl": "mg/dL",
    "lb": "[lb_av]",
    "lbs": "[lb_av]",
    "°C": "Cel",
    "C": "Cel",
    "°F": "[degF]",
    "F": "[degF]",
}

# FHIR's loinc code for glucose measured in moles per volume.
GLUCOSE_MOLAR_LOINC = Loinc("15074-8", "Glucose [Moles/volume] in Blood")


@dataclass(frozen=True, slots=True)
class Reading:
    """A validated reading: the value in the unit given (as a UCUM code) and in the canonical
    unit of its type. Blood pressure has ``systolic``/``diastolic`` instead of ``value``."""

    type: VitalType
    unit: str
    value: float | None
    systolic: float | None
    diastolic: float | None
    canonical: dict[str, float]

    @property
    def as_value(self) -> float | dict[str, float]:
        if self.value is not None:
            return self.value
        assert self.systolic is not None
        assert self.diastolic is not None
        return {"systolic": self.systolic, "diastolic": self.diastolic}


class VitalProblem(ValueError):
    """One field of a reading is wrong: ``field`` names it (``value``, ``unit``...)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def normalise_unit(vital_type: VitalType, unit: str) -> str:
    spec = SPECS[vital_type]
    code = unit.strip()
    code = ALIASES.get(code, code)
    if code not in spec.units:
        allowed = ", ".join(spec.units)
        raise VitalProblem("unit", f"{vital_type.value} is measured in {allowed}, not {unit!r}")
    return code


def _number(name: str, raw: object, unit: Unit) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        raise VitalProblem(name, "must be a number")
    value = float(raw)
    if not math.isfinite(value):
        raise VitalProblem(name, "must be a finite number")
    if not unit.low <= value <= unit.high:
        raise VitalProblem(
            name, f"{value:g} {unit.display} is outside {unit.low:g}-{unit.high:g} {unit.display}"
        )
    return value


def validate_reading(vital_type: VitalType, value: object, unit: str) -> Reading:
    """Check a reading's value shape, unit and plausible range; :class:`VitalProblem` if wrong."""
    spec = SPECS[vital_type]
    code = normalise_unit(vital_type, unit)
    u = spec.units[code]
    if vital_type is VitalType.BLOOD_PRESSURE:
        if not isinstance(value, dict) or set(value) != {"systolic", "diastolic"}:
            raise VitalProblem("value", "blood pressure is {systolic, diastolic}")
        systolic = _number("value.systolic", value["systolic"], u)
        diastolic = _number("value.diastolic", value["diastolic"], u)
        if diastolic >= systolic:
            raise VitalProblem("value.diastolic", "must be lower than systolic")
        return Reading(
            type=vital_type,
            unit=code,
            value=None,
            systolic=systolic,
            diastolic=diastolic,
            canonical={"systolic": systolic, "diastolic": diastolic},
        )
    number = _number("value", value, u)
    return Reading(
        type=vital_type,
        unit=code,
        value=number,
        systolic=None,
        diastolic=None,
        canonical={"value": round(u.to_canonical(number), 4)},
    )
