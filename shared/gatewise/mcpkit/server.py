"""The server factory every gatewise server uses."""

from __future__ import annotations

import importlib.metadata
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal, TypeVar

from mcp import MCPError
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.types import (
    INTERNAL_ERROR,
    INVALID_PARAMS,
    CallToolResult,
    Icon,
    InputRequiredResult,
    Tool,
    ToolAnnotations,
)
from pydantic import ValidationError

from gatewise.config import Settings
from gatewise.errors import GatewiseError
from gatewise.mcpkit.client_logging import add_client_logging
from gatewise.mcpkit.errors import cap_error_text, failure_text
from gatewise.mcpkit.exact_arguments import exact_arguments, refuse_unknown_names
from gatewise.mcpkit.grants import Ownership
from gatewise.mcpkit.inline_schema import inline_input_schema, lean_output_schema
from gatewise.mcpkit.redaction import scrub_tool_result
from gatewise.mcpkit.structured import output_schema, result_model, returning_results
from gatewise.mcpkit.tracing import trace_only_when_traced
from gatewise.mcpkit.wellformed import refuse_lone_surrogates
from gatewise.runtime import Runtime

T = TypeVar("T")

# Requests that run the server's own code, which may read the catalogue: they wait for the
# start-up refresh. The handshake, discovery and listings are answered at once.
RUNS_SERVER_CODE = frozenset({"tools/call", "resources/read", "prompts/get", "completion/complete"})


def package_version() -> str:
    try:
        return importlib.metadata.version("gatewise")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


def runtime_lifespan(settings: Settings, make: Callable[[Runtime], T]
                     ) -> Callable[[MCPServer[Any]], AbstractAsyncContextManager[T]]:
    """A lifespan that opens the shared runtime, hands tools ``make(runtime)``, and closes it.

    The server answers the handshake and tools/list while the model catalogue is still being
    fetched; a GatewiseServer's tool calls wait for it (see ``Runtime.settle_catalog``).
    """

    @asynccontextmanager
    async def lifespan(server: MCPServer[Any]) -> AsyncIterator[T]:
        # Any other server has no per-call wait, so its start-up waits as before.
        runtimes = server.runtimes if isinstance(server, GatewiseServer) else None
        runtime = await Runtime.open(settings, settle_catalog=runtimes is None)
        try:
            try:
                state = make(runtime)
            except GatewiseError:
                # A model the config names may be listed only by the upstream: judge the config
                # by the catalogue a start-up that waited would have had.
                await runtime.settle_catalog()
                state = make(runtime)
            if runtimes is not None:
                runtimes[id(state)] = runtime
            try:
                yield state
            finally:
                if runtimes is not None:
                    del runtimes[id(state)]
        finally:
            await runtime.close()

    return lifespan


class GatewiseServer(MCPServer[T]):
    """An MCPServer whose failed tool calls all read ``Error executing tool <name>: CODE: ...``.

    Failures inside a tool body are worded by ``tool_errors``; this catches what fails around
    it, where the SDK would send pydantic's text (arguments the input schema rejects, echoing
    the input) or a bare "Error executing tool" (a crash outside a wrapped body).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The runtime behind each open lifespan, by the id of the state its tools receive (an
        # SSE server opens one per connection), so a tool call can wait for its start-up.
        self.runtimes: dict[int, Runtime] = {}
        # Each tool's schema as last listed and its published form, by schema kind and tool: every
        # tools/list (one per session) reuses it while the schema is unchanged, instead of
        # walking it again.
        self._published: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any]]] = {}
        # The output schema of each tool that returns a model, which this server dumps itself.
        self._result_schemas: dict[str, dict[str, Any]] = {}
        # The tools whose grant covers each resource and prompt (see grants).
        self.ownership = Ownership()
        # The argument names each tool takes, as a client sends them.
        self._argument_names: dict[str, frozenset[str]] = {}

    def add_tool(self, fn: Callable[..., Any], name: str | None = None, title: str | None = None,
                 description: str | None = None, annotations: ToolAnnotations | None = None,
                 icons: list[Icon] | None = None, meta: dict[str, Any] | None = None,
                 structured_output: bool | None = None) -> None:
        """Register a tool; one that returns a model has its result dumped once, nulls left out,
        and the matching schema published (see ``structured``)."""
        name = name or fn.__name__
        model = result_model(fn) if structured_output is not False else None
        self._result_schemas.pop(name, None)
        if model is not None:
            self._result_schemas[name] = output_schema(model)
            fn = returning_results(fn)
        super().add_tool(fn, name=name, title=title, description=description, annotations=annotations,
                         icons=icons, meta=meta, structured_output=structured_output)
        tool = self._tool_manager.get_tool(name)
        if tool is not None:
            tool.fn_metadata = exact_arguments(tool.fn_metadata)
            self._argument_names[name] = frozenset(tool.parameters.get("properties", {}))

    async def call_tool(self, name: str, arguments: dict[str, Any],
                        context: Context[Any, Any] | None = None
                        ) -> CallToolResult | InputRequiredResult:
        try:
            refuse_lone_surrogates(arguments)
            names = self._argument_names.get(name)
            if names is not None:
                refuse_unknown_names(arguments, names)
        except GatewiseError as exc:
            raise ToolError(cap_error_text(f"Error executing tool {name}: {exc}")) from None
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            raise ToolError(cap_error_text(_tool_failure(name, exc))) from None

    async def list_tools(self) -> list[Tool]:
        """The tools with inlined, closed input schemas, so clients that convert tools to strict
        mode take every one, and lean output schemas, which clients check every result against
        at a fraction of the cost (see ``inline_schema``)."""
        tools = []
        for tool in await super().list_tools():
            update = {"input_schema": self._published_schema(tool.name, "input", tool.input_schema)}
            if tool.name in self._result_schemas:
                update["output_schema"] = self._result_schemas[tool.name]
            elif tool.output_schema is not None:
                update["output_schema"] = self._published_schema(tool.name, "output", tool.output_schema)
            tools.append(tool.model_copy(update=update))
        return tools

    def _published_schema(self, name: str, kind: Literal["input", "output"], schema: dict[str, Any]
                          ) -> dict[str, Any]:
        listed = self._published.get((kind, name))
        if listed is None or listed[0] != schema:
            publish = inline_input_schema if kind == "input" else lean_output_schema
            listed = (schema, publish(schema))
            self._published[(kind, name)] = listed
        return listed[1]


def _tool_failure(name: str, exc: ToolError) -> str:
    cause = exc.__cause__
    if not (isinstance(exc, UnexpectedToolError) or isinstance(cause, ValidationError)):
        return str(exc)  # worded by tool_errors or by the tool itself
    while isinstance(cause, UnexpectedToolError):  # a nested tool call crashed
        cause = cause.__cause__
    return f"Error executing tool {name}: {failure_text(cause or exc, f'tool {name}')}"


def _cap(exc: MCPError) -> None:
    """JSON-RPC errors stay short (some echo the method or tool name)."""
    # Edited in place: subclasses (e.g. an elicitation request) keep their type.
    capped: dict[str, Any] = {"message": cap_error_text(exc.message)}
    if isinstance(exc.data, str):
        capped["data"] = cap_error_text(exc.data)
    exc.error = exc.error.model_copy(update=capped)


def build_server(
    name: str,
    *,
    instructions: str,
    lifespan: Callable[[MCPServer[T]], AbstractAsyncContextManager[T]] | None = None,
) -> GatewiseServer[T]:
    """A GatewiseServer with the version set, static lists, unknown tools rejected per spec and
    every error text capped; its tools reach what ``lifespan`` yields as the lifespan context of
    a ``Context[T]``."""
    server: GatewiseServer[T] = GatewiseServer(
        name,
        instructions=instructions,
        version=package_version(),
        lifespan=lifespan,
        subscriptions=False,
    )
    known: set[str] = set()
    prompts: dict[str, set[str]] = {}  # each prompt's required arguments

    async def reject_unknown_names(ctx: ServerRequestContext[Any, Any]) -> None:
        # The SDK answers an unknown tool with an isError result, and an unknown prompt or a
        # missing prompt argument with an internal error; the spec asks for -32602 for each.
        if ctx.method == "tools/call" and isinstance(ctx.params, dict):
            if not known:
                known.update(tool.name for tool in await server.list_tools())
            name = ctx.params.get("name")
            if not isinstance(name, str) or name not in known:
                raise MCPError(code=INVALID_PARAMS, message=f"Unknown tool: {name}")
        elif ctx.method == "prompts/get" and isinstance(ctx.params, dict):
            if not prompts:
                prompts.update({prompt.name: {arg.name for arg in prompt.arguments or () if arg.required}
                                for prompt in await server.list_prompts()})
            name, given = ctx.params.get("name"), ctx.params.get("arguments") or {}
            if not isinstance(name, str) or name not in prompts:
                raise MCPError(code=INVALID_PARAMS, message=f"Unknown prompt: {name}")
            if isinstance(given, dict) and (missing := sorted(prompts[name] - given.keys())):
                raise MCPError(code=INVALID_PARAMS, message=f"Missing prompt arguments: {', '.join(missing)}")

    async def gatewise_frame(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        """One middleware frame for every request (each frame costs a call of its own): unknown
        names rejected, the start-up waited for, each tool result scrubbed, and JSON-RPC errors
        capped and free of internals."""
        try:
            if ctx.method in RUNS_SERVER_CODE:
                await reject_unknown_names(ctx)
                if runtime := server.runtimes.get(id(ctx.lifespan_context)):
                    await runtime.settle_catalog()
            result = await call_next(ctx)
            # The inner frames leave a tool result as the tool made it; it leaves scrubbed.
            return scrub_tool_result(result) if ctx.method == "tools/call" else result
        except MCPError as exc:
            _cap(exc)
            raise
        except ValidationError:
            raise  # the SDK answers it with a bare "Invalid request parameters"
        except Exception as exc:
            raise MCPError(code=INTERNAL_ERROR, message=failure_text(exc, ctx.method)) from None

    trace_only_when_traced(server)
    server.middleware.append(gatewise_frame)
    add_client_logging(server)
    return server
