"""``telemed serve --demo``: a small demo clinic to try the product with (idempotent)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import structlog
from aiohttp import web

from domain.errors import Conflict
from domain.users import Role
from server import keys

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class DemoUser:
    email: str
    password: str
    name: str
    role: Role
    specialty: str | None = None


# Demo sign-ins are printed on purpose; --demo is refused in production.
DEMO_USERS = (
    DemoUser("admin@demo.clinic", "demo-Admin-Console-2026", "Admin 管理员", Role.ADMIN),
    DemoUser(
        "dr.li@demo.clinic",
        "demo-Doctor-Li-2026",
        "李医生 Dr. Li Wei",
        Role.DOCTOR,
        "General practice",
    ),
    DemoUser(
        "dr.chen@demo.clinic",
        "demo-Doctor-Chen-2026",
        "陈医生 Dr. Chen Jing",
        Role.DOCTOR,
        "Cardiology",
    ),
    DemoUser("wang@demo.clinic", "demo-Patient-Wang-2026", "王芳 Wang Fang", Role.PATIENT),
    DemoUser("zhang@demo.clinic", "demo-Patient-Zhang-2026", "张伟 Zhang Wei", Role.PATIENT),
)


async def seed_demo(app: web.Application) -> None:
    accounts = app[keys.ACCOUNTS]
    repos = app[keys.DATABASE].repos
    for demo in DEMO_USERS:
        if await repos.users.get_by_email(demo.email) is not None:
            continue
        try:
            await accounts.create_user(
                email=demo.email,
                password=demo.password,
                name=demo.name,
                role=demo.role,
                specialty=demo.specialty,
            )
        except Conflict:  # another process seeded it a moment ago
            continue
    log.info("demo_seeded", users=len(DEMO_USERS))


def _login_json(user: DemoUser) -> str:
    return json.dumps({"email": user.email, "password": user.password}, ensure_ascii=False)


def banner(url: str) -> str:
    width = max(len(u.email) for u in DEMO_USERS)
    lines = [
        "",
        f"Telemed demo clinic is running at {url}",
        f"远程问诊演示诊所已启动：{url}",
        "",
        "Demo sign-ins (演示账号):",
    ]
    lines += [f"  {u.role.value:<8} {u.email:<{width}}  {u.password}" for u in DEMO_USERS]
    lines += [
        "",
        f"Try: curl -s -X POST {url}/api/v1/auth/login -H 'Content-Type: application/json' "
        f"-d '{_login_json(DEMO_USERS[3])}'",
        "Press Ctrl-C to stop (the embedded database stops with the server).",
        "",
    ]
    return "\n".join(lines)
