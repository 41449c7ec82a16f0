"""A small typed route registry over aiohttp.

Each REST endpoint declares its body, query and response models once; the registry validates
requests against them, authenticates and authorizes the caller, serialises the result, and
generates the OpenAPI document from the very same models.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from domain.errors import DomainError, Forbidden, InvalidInput, MalformedRequest, Unauthorized
from domain.users import Principal, Role
from server import keys
from server.http.json import dumps
from server.http.problems import FieldError

M = TypeVar("M", bound=BaseModel)

Handler = Callable[["Call"], Awaitable[BaseModel | web.StreamResponse | None]]
# Turns the ``ticket`` query parameter of an endpoint that accepts one into its caller.
TicketRedeemer = Callable[[web.Request, str], Awaitable[Principal]]
TICKET_PARAM = "ticket"

_COMMON_ERRORS = (400, 404, 413, 422, 429)


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    status = 415
    title = "Unsupported media type"


_AUTH_ERRORS = (401, 403)


@dataclass(slots=True)
class Call:
    """What a handler gets: the raw request plus everything the registry already checked."""

    request: web.Request
    principal_or_none: Principal | None
    body_value: BaseModel | None = None
    query_value: BaseModel | None = None

    @property
    def principal(self) -> Principal:
        if self.principal_or_none is None:
            raise Unauthorized("authentication required")
        return self.principal_or_none

    def body(self, model: type[M]) -> M:
        assert isinstance(self.body_value, model), "endpoint declared a different body model"
        return self.body_value

    def query(self, model: type[M]) -> M:
        assert isinstance(self.query_value, model), "endpoint declared a different query model"
        return self.query_value

    def path(self, name: str) -> str:
        return self.request.match_info[name]

    @property
    def request_id(self) -> str:
        return str(self.request.get(keys.REQUEST_ID, ""))

    @property
    def client_ip(self) -> str:
        return str(self.request.get(keys.CLIENT_IP, "unknown"))

    @property
    def app(self) -> web.Application:
        return self.request.app


@dataclass(slots=True)
class Endpoint:
    method: str
    path: str
    handler: Handler
    summary: str
    tags: tuple[str, ...]
    body: type[BaseModel] | None = None
    body_optional: bool = False
    query: type[BaseModel] | None = None
    response: type[BaseModel] | None = None
    status: int = 200
    auth: bool = True
    roles: frozenset[Role] | None = None
    errors: tuple[int, ...] = ()
    operation_id: str = ""
    content_type: str = "application/json"
    ticket: TicketRedeemer | None = None


def validation_errors(exc: ValidationError) -> list[FieldError]:
    """Offending fields, without echoing their values (they may be passwords)."""
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = ".".join(str(part) for part in err["loc"]) or "body"
        out.append(FieldError(field=loc, message=err["msg"], type=err["type"]))
    return out


def _raise_invalid(exc: ValidationError, where: str) -> None:
    if any(err["type"] == "json_invalid" for err in exc.errors()):
        raise MalformedRequest("the request body is not valid JSON") from None
    errors = validation_errors(exc)
    names = ", ".join(e.field for e in errors[:5])
    raise InvalidInput(f"invalid {where}: {names}", details=errors) from None


def parse_query(model: type[M], request: web.Request) -> M:
    raw: dict[str, Any] = {}
    list_fields = {
        name
        for name, info in model.model_fields.items()
        if getattr(info.annotation, "__origin__", None) is list
    }
    for name in set(request.query.keys()):
        values = request.query.getall(name)
        if name in list_fields:
            raw[name] = values
        elif len(values) > 1:
            raise InvalidInput(
                f"query parameter {name!r} given more than once",
                details=[FieldError(field=name, message="given more than once", type="repeated")],
            )
        else:
            raw[name] = values[0]
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        _raise_invalid(exc, "query parameters")
        raise  # unreachable


async def parse_body(model: type[M], request: web.Request, *, optional: bool) -> M:
    raw = await request.read()
    if not raw.strip():
        if optional:
            return model()
        raise MalformedRequest("a JSON request body is required")
    ctype = request.content_type
    if ctype not in ("application/json", "") and not ctype.endswith("+json"):
        raise UnsupportedMediaType(f"send the body as application/json, not {ctype}")
    try:
        return model.model_validate_json(raw, strict=True)
    except ValidationError as exc:
        _raise_invalid(exc, "request body")
        raise  # unreachable


class Api:
    """The registry of every REST endpoint under one prefix."""

    def __init__(self, prefix: str = "/api/v1") -> None:
        self.prefix = prefix
        self.endpoints: list[Endpoint] = []

    def route(
        self,
        method: str,
        path: str,
        *,
        summary: str,
        tags: Iterable[str] = (),
        body: type[BaseModel] | None = None,
        body_optional: bool = False,
        query: type[BaseModel] | None = None,
        response: type[BaseModel] | None = None,
        status: int = 200,
        auth: bool = True,
        roles: Iterable[Role] | None = None,
        errors: Iterable[int] = (),
        content_type: str = "application/json",
        ticket: TicketRedeemer | None = None,
    ) -> Callable[[Handler], Handler]:
        """``ticket``: the endpoint also accepts a short-lived ticket in the ``ticket`` query
        parameter instead of the bearer token (for links a browser follows by itself), and this
        redeems it for the caller; never both in one request (RFC 6750, section 2)."""

        def decorator(handler: Handler) -> Handler:
            self.endpoints.append(
                Endpoint(
                    method=method.upper(),
                    path=path,
                    handler=handler,
                    summary=summary,
                    tags=tuple(tags),
                    body=body,
                    body_optional=body_optional,
                    query=query,
                    response=response,
                    status=status,
                    auth=auth,
                    roles=frozenset(roles) if roles is not None else None,
                    errors=tuple(errors),
                    operation_id=handler.__name__,
                    content_type=content_type,
                    ticket=ticket,
                )
            )
            return handler

        return decorator

    def get(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("GET", path, **kw)

    def post(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("POST", path, **kw)

    def put(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PUT", path, **kw)

    def delete(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("DELETE", path, **kw)

    def patch(self, path: str, **kw: Any) -> Callable[[Handler], Handler]:
        return self.route("PATCH", path, **kw)

    def include(self, other: Api) -> None:
        self.endpoints.extend(other.endpoints)

    def register(self, app: web.Application) -> None:
        for endpoint in self.endpoints:
            app.router.add_route(
                endpoint.method, self.prefix + endpoint.path, _wrap(endpoint), name=None
            )


async def authenticate(request: web.Request) -> Principal | None:
    """The caller from ``Authorization: Bearer``; ``None`` when the header is absent."""
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("use Authorization: Bearer <access_token>")
    principal = await request.app[keys.AUTHENTICATOR](token.strip())
    request[keys.PRINCIPAL] = principal
    return principal


async def redeem_ticket(
    request: web.Request, redeemer: TicketRedeemer, principal: Principal | None
) -> Principal | None:
    """The caller named by the ``ticket`` query parameter, when there is one."""
    tickets = request.query.getall(TICKET_PARAM, [])
    if not tickets:
        return principal
    if principal is not None:
        raise MalformedRequest("send either a bearer token or a ticket, not both")
    if len(tickets) > 1:
        raise MalformedRequest("send one ticket")
    principal = await redeemer(request, tickets[0])
    request[keys.PRINCIPAL] = principal
    return principal


def _wrap(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        principal = await authenticate(request)
        if endpoint.ticket is not None:
            principal = await redeem_ticket(request, endpoint.ticket, principal)
        # An endpoint open to anonymous callers (register, sign in...) always counts per
        # address: a bearer token sent along must not move it to a per-user budget.
        counted_as = principal.user_id if principal is not None and endpoint.auth else None
        await request.app[keys.RATE_LIMITER].check_request(
            counted_as, str(request.get(keys.CLIENT_IP))
        )
        if endpoint.auth:
            if principal is None:
                raise Unauthorized("authentication required")
            if endpoint.roles is not None and principal.role not in endpoint.roles:
                raise Forbidden("your role may not use this endpoint")
        call = Call(request=request, principal_or_none=principal)
        if endpoint.query is not None:
            call.query_value = parse_query(endpoint.query, request)
        if endpoint.body is not None:
            call.body_value = await parse_body(
                endpoint.body, request, optional=endpoint.body_optional
            )
        result = await endpoint.handler(call)
        if isinstance(result, web.StreamResponse):
            return result
        if result is None:
            return web.Response(status=204)
        return web.Response(
            body=dumps(result), status=endpoint.status, content_type=endpoint.content_type
        )

    handle.__name__ = endpoint.operation_id
    return handle


# --------------------------------------------------------------------------- OpenAPI


_PATH_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


def openapi_document(api: Api, *, title: str, version: str) -> dict[str, Any]:
    from pydantic.json_schema import models_json_schema

    from server.http.json_schema import ContractSchema
    from server.http.problems import Problem

    models: list[tuple[type[BaseModel], Any]] = [(Problem, "serialization")]
    for ep in api.endpoints:
        if ep.body is not None:
            models.append((ep.body, "validation"))
        if ep.response is not None:
            models.append((ep.response, "serialization"))
    key_map, schema = models_json_schema(
        models, ref_template="#/components/schemas/{model}", schema_generator=ContractSchema
    )
    components = schema.get("$defs", {})

    paths: dict[str, dict[str, Any]] = {}
    for ep in api.endpoints:
        path = _PATH_PARAM.sub(r"{\1}", api.prefix + ep.path)
        op: dict[str, Any] = {
            "operationId": ep.operation_id,
            "summary": ep.summary,
            "tags": list(ep.tags),
            "parameters": [],
            "responses": {},
        }
        for name in _PATH_PARAM.findall(ep.path):
            op["parameters"].append(
                {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
            )
        if ep.query is not None:
            qschema = ep.query.model_json_schema(ref_template="#/components/schemas/{model}")
            components.update(qschema.pop("$defs", {}))
            required = set(qschema.get("required", []))
            for name, prop in qschema.get("properties", {}).items():
                param: dict[str, Any] = {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    "schema": prop,
                }
                if "description" in prop:
                    param["description"] = prop["description"]
                op["parameters"].append(param)
        if ep.body is not None:
            op["requestBody"] = {
                "required": not ep.body_optional,
                "content": {"application/json": {"schema": key_map[(ep.body, "validation")]}},
            }
        if ep.response is not None:
            op["responses"][str(ep.status)] = {
                "description": ep.summary,
                "content": {ep.content_type: {"schema": key_map[(ep.response, "serialization")]}},
            }
        else:
            op["responses"][str(ep.status)] = {"description": ep.summary}
        problem_ref = key_map[(Problem, "serialization")]
        codes = set(_COMMON_ERRORS) | set(ep.errors)
        if ep.auth or ep.roles is not None:
            codes |= set(_AUTH_ERRORS)
        else:
            codes.add(401)  # a malformed Authorization header is refused even here
        if ep.body is not None:
            codes.add(415)
        for code in sorted(codes):
            op["responses"][str(code)] = {
                "description": "problem",
                "content": {"application/problem+json": {"schema": problem_ref}},
            }
        if ep.auth:
            op["security"] = [{"bearer": []}]
            if ep.ticket is not None:
                op["security"].append({"ticket": []})
        paths.setdefault(path, {})[ep.method.lower()] = op

    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "ticket": {
                    "type": "apiKey",
                    "in": "query",
                    "name": TICKET_PARAM,
                    "description": "a short-lived download ticket (see the download-link "
                    "endpoints); never together with the bearer token",
                },
            },
        },
    }
