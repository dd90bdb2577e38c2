"""The generic part of the stand-in: request context, body checks, CRUD from a resource table,
and the wrapper every endpoint runs in (auth, fault header, plan gating, recording, audit)."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from gatewise_sandbox.chat import disconnect_waiter
from gatewise_sandbox.checks import BadRequest, header_fault
from gatewise_sandbox.portkey.errors import CODE_BY_STATUS, MESSAGES, AdminError, forbidden, invalid
from gatewise_sandbox.portkey.org import Org
from gatewise_sandbox.portkey.store import (
    SNAKE,
    Paging,
    Record,
    Table,
    conflict,
    matching,
    paginate,
    public,
    searched,
)
from gatewise_sandbox.wire import INJECTED, json_response

if TYPE_CHECKING:
    from gatewise_sandbox.portkey.state import PortkeyState
    from gatewise_sandbox.state import SandboxState

log = logging.getLogger(__name__)

KEY_HEADER = "x-portkey-api-key"
BAD_KEY_PREFIX = "pk-bad"
WORKSPACE_KEY_PREFIX = "pk-ws-"
# Any other key is an organisation admin key: clients of the stand-in need no particular one.

KeyKind = Literal["organisation", "workspace"]
ListShape = Literal["list", "total", "success", "bare", "more", "mappings"]
_ACTIONS = {"POST": "create", "PUT": "update", "DELETE": "delete"}


@dataclass
class Ctx:
    """One request as a handler sees it."""

    request: Request
    org: Org
    kind: KeyKind
    params: dict[str, str]
    query: dict[str, str]
    body: Any

    def arg(self, name: str) -> str:
        return self.params[name]

    def obj(self) -> dict[str, Any]:
        if self.body is None:
            return {}
        if not isinstance(self.body, dict):
            raise invalid("body", "expected a JSON object")
        return self.body

    @property
    def workspace_key(self) -> bool:
        return self.kind == "workspace"

    def require_organisation(self) -> None:
        if self.workspace_key:
            raise forbidden()


Handler = Callable[[Ctx], Any]


@dataclass(frozen=True)
class Op:
    """One method on one path. ``gated`` endpoints refuse workspace keys (Enterprise, org-level);
    ``legacy`` ones answer errors in the older ``{"success": false, "data": …}`` shape."""

    method: str
    path: str
    handler: Handler
    gated: bool = False
    legacy: bool = False
    public: bool = False


# -- body checks ------------------------------------------------------------------------------

_KINDS: dict[str, tuple[type, ...]] = {
    "str": (str,), "list": (list,), "dict": (dict,), "number": (int, float), "int": (int,),
    "bool": (bool,), "any": (object,),
}


@dataclass(frozen=True)
class Field:
    kind: str
    required: bool = False
    choices: tuple[Any, ...] = ()


def need(kind: str, *choices: Any) -> Field:
    return Field(kind, True, choices)


def may(kind: str, *choices: Any) -> Field:
    return Field(kind, False, choices)


def validate(body: Mapping[str, Any], fields: Mapping[str, Field], prefix: str = "") -> None:
    """AB01 naming the first field that is missing, of the wrong type or outside its choices."""
    for name, spec in fields.items():
        where = prefix + name
        value = body.get(name)
        if value is None or (spec.required and value in ("", [])):
            if spec.required:
                raise invalid(where, "required")
            continue
        kinds = _KINDS[spec.kind]
        wrong = isinstance(value, bool) and bool not in kinds and spec.kind != "any"
        if wrong or not isinstance(value, kinds):
            raise invalid(where, f"expected {'an' if spec.kind[0] in 'aeiou' else 'a'} {spec.kind}")
        if spec.choices and value not in spec.choices:
            raise invalid(where, f"expected one of {', '.join(map(str, spec.choices))}")


def each(body: Mapping[str, Any], name: str, fields: Mapping[str, Field]) -> list[dict[str, Any]]:
    """Check every object of the array ``body[name]``."""
    items = body.get(name) or []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise invalid(f"{name}[{i}]", "expected an object")
        validate(item, fields, f"{name}[{i}].")
    return items


def listing(shape: ListShape, total: int, data: list[Any], has_more: bool = False) -> Any:
    if shape == "list":
        return {"object": "list", "total": total, "data": data}
    if shape == "total":
        return {"total": total, "data": data}
    if shape == "success":
        return {"success": True, "data": data}
    if shape == "more":
        return {"data": data, "total": total, "has_more": has_more}
    if shape == "mappings":
        return {"mappings": data, "total_count": total}
    return data


def page_of(ctx: Ctx, rows: list[Any], paging: Paging | None) -> tuple[list[Any], bool]:
    """The requested page and whether more follow."""
    return (rows, False) if paging is None else paginate(rows, ctx.query, paging)


# -- CRUD from a table ------------------------------------------------------------------------

View = Callable[[Ctx, Record], Any]


def _public(ctx: Ctx, row: Record) -> Any:
    return public(row)


def _empty(ctx: Ctx, row: Record) -> Any:
    return {}


@dataclass(frozen=True)
class Resource:
    """A collection served at ``path`` (list, create) and ``path/{param}`` (get, update, delete).

    ``build`` turns a checked create body into a record, ``created`` is the create answer,
    ``apply`` changes a record from a checked update body and returns the update answer.
    ``gated`` names the operations (of ``LCRUD``) that refuse workspace keys.
    """

    table: str
    path: str
    param: str
    build: Callable[[Ctx, dict[str, Any]], Record] | None = None
    created: View = _empty
    fields: Mapping[str, Field] = field(default_factory=dict)
    update_fields: Mapping[str, Field] = field(default_factory=dict)
    listing: ListShape = "list"
    paging: Paging | None = SNAKE
    filters: tuple[str, ...] = ()
    search: tuple[str, ...] = ("name",)
    required_query: tuple[str, ...] = ()
    unique: tuple[str, ...] = ()
    view: View = _public
    item: View | None = None
    apply: Callable[[Ctx, Record, dict[str, Any]], Any] | None = None
    scope: Callable[[Ctx, list[Record]], list[Record]] | None = None
    on_delete: Callable[[Ctx, Record], None] | None = None  # may refuse, or clean up
    deleted: View = _empty
    legacy: bool = False
    gated: str = ""
    ops: str = "LCRUD"

    def operations(self) -> list[Op]:
        one = f"{self.path}/{{{self.param}}}"
        table = [("L", "GET", self.path, self._list), ("C", "POST", self.path, self._create),
                 ("R", "GET", one, self._get), ("U", "PUT", one, self._update),
                 ("D", "DELETE", one, self._delete)]
        return [Op(method, path, handler, gated=letter in self.gated, legacy=self.legacy)
                for letter, method, path, handler in table if letter in self.ops]

    def _list(self, ctx: Ctx) -> Any:
        for name in self.required_query:
            if not ctx.query.get(name):
                raise invalid(name, "required")
        rows = matching(ctx.org.table(self.table).newest_first(), ctx.query, self.filters)
        rows = searched(rows, ctx.query.get("search"), self.search)
        if self.scope is not None:
            rows = self.scope(ctx, rows)
        page, more = page_of(ctx, rows, self.paging)
        show = self.item or self.view
        return listing(self.listing, len(rows), [show(ctx, r) for r in page], more)

    def _create(self, ctx: Ctx) -> Any:
        body = ctx.obj()
        validate(body, self.fields)
        table = ctx.org.table(self.table)
        self._free(table, body)  # before build, which may add related records
        assert self.build is not None
        row = self.build(ctx, body)
        self._free(table, row)  # generated slugs too
        table.add(row)
        return self.created(ctx, row)

    def _free(self, table: Table, values: Mapping[str, Any], besides: Record | None = None) -> None:
        for name in self.unique:
            if values.get(name) is not None and table.taken(name, values[name], besides=besides):
                raise conflict(table.what.lower(), name)

    def _get(self, ctx: Ctx) -> Any:
        return self.view(ctx, ctx.org.table(self.table).get(ctx.arg(self.param)))

    def _update(self, ctx: Ctx) -> Any:
        table = ctx.org.table(self.table)
        row = table.get(ctx.arg(self.param))
        body = ctx.obj()
        validate(body, self.update_fields)
        self._free(table, body, besides=row)
        if self.apply is not None:
            return self.apply(ctx, row, body)
        merge(ctx, row, body, self.update_fields)
        return {}

    def _delete(self, ctx: Ctx) -> Any:
        table = ctx.org.table(self.table)
        row = table.get(ctx.arg(self.param))
        if self.on_delete is not None:
            self.on_delete(ctx, row)
        table.remove(ctx.arg(self.param))
        return self.deleted(ctx, row)


def merge(ctx: Ctx, row: Record, body: Mapping[str, Any], fields: Iterable[str]) -> None:
    """Copy the named fields present in ``body`` onto the record and stamp the update."""
    for name in fields:
        if name in body:
            row[name] = body[name]
    row["last_updated_at"] = ctx.org.stamp()


# -- the wrapper ------------------------------------------------------------------------------

def authenticate(request: Request) -> KeyKind:
    key = request.headers.get(KEY_HEADER, "").strip()
    if not key:
        raise AdminError("AB05", f"Missing {KEY_HEADER} header")
    if key.startswith(BAD_KEY_PREFIX):
        raise AdminError("AB05", "Invalid API key")
    return "workspace" if key.startswith(WORKSPACE_KEY_PREFIX) else "organisation"


async def _injected(request: Request, sandbox: SandboxState) -> None:
    """Act on an ``X-Gatewise-Fault`` header: delay, hang, or fail with the asked status."""
    try:
        fault = header_fault(request)
    except BadRequest as exc:
        raise AdminError("AB01", exc.message, param="X-Gatewise-Fault") from None
    if fault is None:
        return
    if fault.latency_ms:
        await sandbox.pause(fault.latency_ms / 1000, disconnect_waiter(request))
    if fault.kind == "timeout":
        await sandbox.pause(sandbox.config.timeout_s, disconnect_waiter(request))
        raise AdminError("AB04", "Gateway timeout" + INJECTED, status=504)
    if fault.kind is not None:
        code = CODE_BY_STATUS.get(fault.status, "AB04" if fault.status >= 500 else "AB01")
        raise AdminError(code, MESSAGES[code] + INJECTED, status=fault.status,
                         retry_after=fault.retry_after)


def _parse(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except ValueError:
        raise AdminError("AB01", "The request body is not valid JSON", param="body") from None


def endpoint(op: Op) -> Callable[[Request], Awaitable[Response]]:
    async def run(request: Request) -> Response:
        sandbox: SandboxState = request.app.state.sandbox
        portkey: PortkeyState = sandbox.portkey
        try:
            raw = await request.body()
        except ClientDisconnect:
            raw = b""
        entry = portkey.remember(request, raw)
        try:
            kind: KeyKind = "organisation" if op.public else authenticate(request)
            entry["key_type"] = kind
            await _injected(request, sandbox)
            if op.gated and kind == "workspace":
                raise forbidden()
            body = _parse(raw)
            org = portkey.org
            ctx = Ctx(request, org, kind, dict(request.path_params), dict(request.query_params), body)
            result = op.handler(ctx)
            response = result if isinstance(result, Response) else json_response(result)
            if op.method in _ACTIONS and response.status_code < 300 and not op.public:
                org.record_audit(_audit(ctx, op, entry, response.status_code))
        except AdminError as err:
            response = err.response(op.legacy)
        except Exception as exc:  # a sandbox bug: answer like upstream, log no request data
            log.error("portkey sandbox handler failed on %s: %s", op.path, type(exc).__name__)
            response = AdminError("AB04").response(op.legacy)
        entry["status"] = response.status_code
        return response
    return run


def _audit(ctx: Ctx, op: Op, entry: Record, status: int) -> Record:
    parts = op.path.strip("/").split("/")
    return {
        "timestamp": ctx.org.stamp(), "method": op.method, "uri": entry["path"],
        "request_id": ctx.org.ids.uuid(), "request_body": json.dumps(entry["body"] or {}),
        "query_params": json.dumps(entry["query"]), "request_headers": "{}",
        "user_id": ctx.org.owner_id, "user_type": "api_key", "organisation_id": ctx.org.id,
        "workspace_id": ctx.org.default_workspace_id, "response_status_code": status,
        "resource_type": parts[1] if parts[0] == "admin" and len(parts) > 1 else parts[0],
        "action": _ACTIONS[op.method], "client_ip": ctx.request.client.host if ctx.request.client
        else "127.0.0.1", "country": "US"}
