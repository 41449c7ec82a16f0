"""The ``telemed`` command line: ``serve``, ``user create`` (and more, added by their owners)."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Callable, Sequence

from aiohttp import web

from domain.errors import DomainError
from domain.users import Role
from server.logging import configure_logging
from server.settings import Environment, HttpSettings, Settings, SettingsError

Command = Callable[[argparse.Namespace, Settings], int]


def _serve(args: argparse.Namespace, settings: Settings) -> int:
    from server import keys
    from server.app import create_app, freeze_startup_heap
    from server.demo import banner, demo_settings, demo_startup

    if args.host or args.port is not None:
        http = settings.http.model_copy(
            update={
                "host": args.host or settings.http.host,
                "port": settings.http.port if args.port is None else args.port,
            }
        )
        settings = settings.with_(http=HttpSettings.model_validate(http.model_dump()))
    if args.demo and settings.core.env is Environment.PRODUCTION:
        raise SettingsError("--demo is refused when TELEMED_ENV=production")
    if args.demo:
        settings = demo_settings(settings)
    app = create_app(settings)
    if args.demo:
        app.on_startup.append(demo_startup)
    app.on_startup.append(freeze_startup_heap)

    def announce(message: str) -> None:
        url = settings.http.local_url
        if args.demo:
            mail = settings.notifications
            smtp = f"{mail.smtp_host}:{mail.smtp_port}" if mail.smtp_host else None
            print(banner(url, app.get(keys.DEMO_APPOINTMENT), smtp=smtp))
        else:
            print(f"Telemed is running at {url} (Ctrl-C to stop)")
        sys.stdout.flush()

    loop = _new_loop()
    web.run_app(
        app,
        host=settings.http.host,
        port=settings.http.port,
        print=announce,
        access_log=None,
        loop=loop,
        shutdown_timeout=5.0,
    )
    return 0


def _new_loop() -> asyncio.AbstractEventLoop:
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop is a dependency on every platform we run
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def _user_create(args: argparse.Namespace, settings: Settings) -> int:
    from server.auth.factory import make_account_service
    from storage.mongo import open_database

    password: str | None = args.password
    if password is None:
        password = getpass.getpass("Password: ")
    elif password == "-":  # noqa: S105 - "-" means "read it from stdin"
        password = sys.stdin.readline().rstrip("\n")

    async def run() -> None:
        async with open_database(
            url=settings.database.mongodb_url,
            database=settings.database.mongodb_database,
            data_dir=settings.core.data_dir,
            timeout_ms=settings.database.mongodb_timeout_ms,
        ) as db:
            accounts = make_account_service(settings, db)
            user = await accounts.create_user(
                email=args.email,
                password=password,
                name=args.name,
                role=Role(args.role),
                specialty=args.specialty,
            )
            print(f"created {user.role.value} {user.email} (id {user.id})")

    try:
        asyncio.run(run())
    except DomainError as exc:
        print(f"telemed: {exc.message}", file=sys.stderr)
        return 1
    return 0


def _user_active(args: argparse.Namespace, settings: Settings) -> int:
    """``user deactivate EMAIL`` / ``user reactivate EMAIL``. A deactivated account's sign-ins
    are revoked in the database: every request and handshake with its tokens is refused at
    once, and each running node drops its sockets at its next session check
    (``TELEMED_HUB_HOUSEKEEPING``)."""
    from server.auth.factory import make_account_service
    from storage.mongo import open_database

    async def run() -> None:
        async with open_database(
            url=settings.database.mongodb_url,
            database=settings.database.mongodb_database,
            data_dir=settings.core.data_dir,
            timeout_ms=settings.database.mongodb_timeout_ms,
        ) as db:
            accounts = make_account_service(settings, db)
            user = await accounts.find_user(email=args.email.strip().lower())
            if args.user_command == "deactivate":
                user, ended = await accounts.deactivate(user, by=None)
                print(f"deactivated {user.email} (id {user.id}); {len(ended)} sign-in(s) ended")
            else:
                user = await accounts.reactivate(user)
                print(f"reactivated {user.email} (id {user.id})")

    try:
        asyncio.run(run())
    except DomainError as exc:
        print(f"telemed: {exc.message}", file=sys.stderr)
        return 1
    return 0


def _read_password(given: str | None) -> str:
    """``--password``: as given, ``-`` reads a line from stdin, omitted prompts for it."""
    if given is None:
        return getpass.getpass("Password: ")
    if given == "-":  # "-" means "read it from stdin"
        return sys.stdin.readline().rstrip("\n")
    return given


def _precall(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from media.probe import ProbeError, ProbeOptions, run_precall

    password = _read_password(args.password)
    options = ProbeOptions(
        url=args.url,
        email=args.email,
        password=password,
        timeout=args.timeout,
        width=args.width,
        height=args.height,
        fps=args.fps,
    )
    try:
        result = asyncio.run(run_precall(options))
    except ProbeError as exc:
        print(json.dumps({"ok": False, "error": {"code": exc.code, "message": exc.message}}))
        return 3
    print(json.dumps(result))
    return 0 if result["ok"] else 1


def _bot(args: argparse.Namespace, settings: Settings) -> int:
    import json

    from media.bot import BotOptions, run_bot

    options = BotOptions(
        url=args.url,
        email=args.email,
        password=_read_password(args.password),
        appointment_id=args.appointment,
        duration=args.duration,
        timeout=args.timeout,
        end=args.end,
        width=args.width,
        height=args.height,
        fps=args.fps,
    )
    report = asyncio.run(run_bot(options))
    print(json.dumps(report.as_json()))
    return report.exit_code


def _positive(value: str) -> float:
    number = float(value)
    if not number > 0:
        raise argparse.ArgumentTypeError("must be a positive number of seconds")
    return number


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="telemed", description="Telemedicine consultation server")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the server")
    serve.add_argument("--demo", action="store_true", help="seed and print a demo clinic first")
    serve.add_argument("--host", help="listen address (default TELEMED_HOST or 127.0.0.1)")
    serve.add_argument("--port", type=int, help="listen port (default TELEMED_PORT or 8080)")
    serve.set_defaults(run=_serve)

    user = sub.add_parser("user", help="manage users")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    create = user_sub.add_parser("create", help="create a user (the first admin, doctors)")
    create.add_argument("--email", required=True)
    create.add_argument("--password", help="the password; '-' reads it from stdin; omitted: prompt")
    create.add_argument("--name", required=True)
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--specialty")
    create.set_defaults(run=_user_create)
    for verb, about in (
        ("deactivate", "deactivate an account: it cannot sign in, its sign-ins end now"),
        ("reactivate", "let a deactivated account sign in again"),
    ):
        command = user_sub.add_parser(verb, help=about)
        command.add_argument("email")
        command.set_defaults(run=_user_active)

    precall = sub.add_parser(
        "precall",
        help="check the connection to a server with generated media",
        description="Sign in, run the pre-call check with generated video and audio, print one "
        "JSON line. Exit 0 when a call will work (good or poor), 1 when it will not, "
        "3 when the check could not run.",
    )
    precall.add_argument("--url", required=True, help="the server, e.g. https://clinic.example")
    precall.add_argument("--email", required=True)
    precall.add_argument("--password", help="the password; '-' reads it from stdin")
    precall.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    precall.add_argument("--width", type=int, default=640)
    precall.add_argument("--height", type=int, default=480)
    precall.add_argument("--fps", type=int, default=30)
    precall.set_defaults(run=_precall)

    bot = sub.add_parser(
        "bot",
        help="take part in a consultation as a synthetic participant",
        description="Sign in, join the appointment in the user's role (a doctor admits whoever "
        "waits), hold a real WebRTC call with generated media with the other participant, print "
        "one JSON line. Exit 0 when media flowed both ways, 1 when the call failed (no "
        "counterpart in time, no connection, media one way only), 3 when the bot could not take "
        "part (server unreachable, sign-in or join refused).",
    )
    bot.add_argument("--url", required=True, help="the server, e.g. https://clinic.example")
    bot.add_argument("--email", required=True)
    bot.add_argument("--password", help="the password; '-' reads it from stdin")
    bot.add_argument("--appointment", required=True, help="the appointment id")
    bot.add_argument(
        "--duration", type=_positive, default=10.0, help="seconds in the call (default 10)"
    )
    bot.add_argument(
        "--timeout",
        type=_positive,
        default=60.0,
        help="seconds to get a call with media both ways going (default 60)",
    )
    bot.add_argument("--end", action="store_true", help="a doctor bot ends the consultation")
    bot.add_argument("--width", type=int, default=640)
    bot.add_argument("--height", type=int, default=480)
    bot.add_argument("--fps", type=int, default=30)
    bot.set_defaults(run=_bot)

    from server.record_cli import add_commands as add_record_commands

    add_record_commands(sub)  # audit verify|head, retention run, backup create|restore
    return parser


def _log_format(args: argparse.Namespace, settings: Settings) -> str:
    """JSON lines unless ``TELEMED_LOG_FORMAT`` says otherwise; ``serve --demo`` reads its
    terminal as a person does, so it defaults to the console format (an explicit
    ``TELEMED_LOG_FORMAT`` still wins)."""
    if getattr(args, "demo", False) and "log_format" not in settings.core.model_fields_set:
        return "console"
    return settings.core.log_format


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = Settings.from_env()
        configure_logging(settings.core.log_level, _log_format(args, settings))
        run: Command = args.run
        return run(args, settings)
    except SettingsError as exc:
        print(f"telemed: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
