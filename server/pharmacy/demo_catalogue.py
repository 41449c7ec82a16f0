"""The demo clinic's drug catalogue: real drugs, their names in both languages, typical package
sizes and retail prices in fen. Seeded by ``telemed serve --demo`` (idempotent, by English name).
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.clock import Clock
from domain.ids import new_id
from domain.pharmacy import Drug, Money
from storage.drugs import DrugRepository


@dataclass(frozen=True, slots=True)
class DemoDrug:
    en: str
    zh: str
    form: str
    strength: str
    package: str
    ingredients: tuple[str, ...]
    fen: int
    rx: bool
    online: bool = True
    stock: int = 200


DEMO_DRUGS = (
    # Over the counter (非处方药)
    DemoDrug(
        "Ibuprofen Sustained-release Capsules",
        "布洛芬缓释胶囊",
        "capsule",
        "0.3 g",
        "20 capsules",
        ("ibuprofen", "布洛芬"),
        1580,
        rx=False,
    ),
    DemoDrug(
        "Paracetamol Tablets",
        "对乙酰氨基酚片",
        "tablet",
        "0.5 g",
        "12 tablets",
        ("paracetamol", "对乙酰氨基酚"),
        850,
        rx=False,
    ),
    DemoDrug(
        "Loratadine Tablets",
        "氯雷他定片",
        "tablet",
        "10 mg",
        "6 tablets",
        ("loratadine", "氯雷他定"),
        1890,
        rx=False,
    ),
    DemoDrug(
        "Cetirizine Hydrochloride Tablets",
        "盐酸西替利嗪片",
        "tablet",
        "10 mg",
        "12 tablets",
        ("cetirizine", "西替利嗪"),
        2250,
        rx=False,
    ),
    DemoDrug(
        "Montmorillonite Powder",
        "蒙脱石散",
        "powder",
        "3 g",
        "10 sachets",
        ("montmorillonite", "蒙脱石"),
        1960,
        rx=False,
    ),
    DemoDrug(
        "Omeprazole Enteric-coated Capsules",
        "奥美拉唑肠溶胶囊",
        "capsule",
        "20 mg",
        "14 capsules",
        ("omeprazole", "奥美拉唑"),
        1850,
        rx=False,
    ),
    DemoDrug(
        "Compound Licorice Tablets",
        "复方甘草片",
        "tablet",
        "—",
        "100 tablets",
        ("licorice", "甘草"),
        650,
        rx=False,
    ),
    DemoDrug(
        "Vitamin C Tablets",
        "维生素C片",
        "tablet",
        "0.1 g",
        "100 tablets",
        ("ascorbic acid", "维生素C"),
        450,
        rx=False,
    ),
    # Prescription (处方药)
    DemoDrug(
        "Amoxicillin Capsules",
        "阿莫西林胶囊",
        "capsule",
        "0.25 g",
        "24 capsules",
        ("amoxicillin", "阿莫西林", "penicillin", "青霉素"),
        1260,
        rx=True,
    ),
    DemoDrug(
        "Cefuroxime Axetil Tablets",
        "头孢呋辛酯片",
        "tablet",
        "0.25 g",
        "12 tablets",
        ("cefuroxime", "头孢呋辛"),
        3280,
        rx=True,
    ),
    DemoDrug(
        "Azithromycin Tablets",
        "阿奇霉素片",
        "tablet",
        "0.25 g",
        "6 tablets",
        ("azithromycin", "阿奇霉素"),
        2860,
        rx=True,
    ),
    DemoDrug(
        "Amlodipine Besylate Tablets",
        "苯磺酸氨氯地平片",
        "tablet",
        "5 mg",
        "28 tablets",
        ("amlodipine", "氨氯地平"),
        3150,
        rx=True,
    ),
    DemoDrug(
        "Nifedipine Controlled-release Tablets",
        "硝苯地平控释片",
        "tablet",
        "30 mg",
        "7 tablets",
        ("nifedipine", "硝苯地平"),
        3360,
        rx=True,
    ),
    DemoDrug(
        "Valsartan Capsules",
        "缬沙坦胶囊",
        "capsule",
        "80 mg",
        "28 capsules",
        ("valsartan", "缬沙坦"),
        4590,
        rx=True,
    ),
    DemoDrug(
        "Metformin Hydrochloride Tablets",
        "盐酸二甲双胍片",
        "tablet",
        "0.5 g",
        "60 tablets",
        ("metformin", "二甲双胍"),
        2480,
        rx=True,
    ),
    DemoDrug(
        "Atorvastatin Calcium Tablets",
        "阿托伐他汀钙片",
        "tablet",
        "20 mg",
        "7 tablets",
        ("atorvastatin", "阿托伐他汀"),
        4260,
        rx=True,
    ),
    DemoDrug(
        "Aspirin Enteric-coated Tablets",
        "阿司匹林肠溶片",
        "tablet",
        "100 mg",
        "30 tablets",
        ("aspirin", "阿司匹林", "acetylsalicylic acid"),
        1550,
        rx=True,
    ),
    DemoDrug(
        "Clopidogrel Bisulfate Tablets",
        "硫酸氢氯吡格雷片",
        "tablet",
        "75 mg",
        "7 tablets",
        ("clopidogrel", "氯吡格雷"),
        11900,
        rx=True,
    ),
    DemoDrug(
        "Levothyroxine Sodium Tablets",
        "左甲状腺素钠片",
        "tablet",
        "50 µg",
        "100 tablets",
        ("levothyroxine", "左甲状腺素"),
        2950,
        rx=True,
    ),
    DemoDrug(
        "Salbutamol Sulfate Inhalation Aerosol",
        "硫酸沙丁胺醇吸入气雾剂",
        "aerosol",
        "100 µg/dose",
        "200 doses",
        ("salbutamol", "沙丁胺醇"),
        2680,
        rx=True,
    ),
    DemoDrug(
        "Sertraline Hydrochloride Tablets",
        "盐酸舍曲林片",
        "tablet",
        "50 mg",
        "14 tablets",
        ("sertraline", "舍曲林"),
        6120,
        rx=True,
    ),
    # A narcotic: never prescribed online (麻醉药品不得网络销售)
    DemoDrug(
        "Morphine Hydrochloride Tablets",
        "盐酸吗啡片",
        "tablet",
        "10 mg",
        "10 tablets",
        ("morphine", "吗啡"),
        1200,
        rx=True,
        online=False,
        stock=20,
    ),
    DemoDrug(
        "Diazepam Tablets",
        "地西泮片",
        "tablet",
        "2.5 mg",
        "20 tablets",
        ("diazepam", "地西泮"),
        580,
        rx=True,
        online=False,
        stock=20,
    ),
)


async def seed_catalogue(drugs: DrugRepository, *, clock: Clock) -> int:
    """Insert the demo drugs that are missing (by English name); returns how many were added."""
    added = 0
    for d in DEMO_DRUGS:
        if await drugs.find_by_name(d.en) is not None:
            continue
        now = clock()
        await drugs.insert(
            Drug(
                id=new_id(),
                names={"en": d.en, "zh-CN": d.zh},
                form=d.form,
                strength=d.strength,
                package=d.package,
                ingredients=d.ingredients,
                unit_price=Money(amount=d.fen),
                rx=d.rx,
                online_prescribable=d.online,
                stock=d.stock,
                active=True,
                created_at=now,
                updated_at=now,
            )
        )
        added += 1
    return added
