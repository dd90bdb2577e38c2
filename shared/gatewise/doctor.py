"""``gatewise doctor``: what the servers would use, and whether it works."""

from __future__ import annotations

import time

from gatewise.bounds import format_usd
from gatewise.cache.embedders import EmbedderError
from gatewise.catalog import Catalog
from gatewise.config import Settings
from gatewise.dashboard import DashboardSources, build_snapshot
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.guardrails.gateway_calls import active_checks
from gatewise.ledger.budget_store import BudgetStatus
from gatewise.portkey import PortkeyAdmin
from gatewise.portkey.toolsets import ToolName, parse_toolsets
from gatewise.redact import mask
from gatewise.routing.policy import resolve_routing
from gatewise.runtime import Runtime
from gatewise.search.service import search_model
from gatewise.storage.backends import backend_name
from gatewise.storage.data_dir import check_data_dir
from gatewise.storage.outage import told_to_the_operator

PROBE_TIMEOUT_S = 5.0  # the upstream's /models, retries included


def _line(ok: bool, text: str) -> None:
    print(f"  [{'ok' if ok else '!!'}] {text}")


async def run_doctor(settings: Settings) -> int:
    """Print a check list (the report, on stdout); exit code 1 when something needs fixing. Each
    check that does not depend on another runs whatever the others found."""
    problems = 0
    key = settings.openrouter_api_key
    print("gatewise doctor")
    _line(True, f"OpenRouter key: {mask(key.get_secret_value()) if key else '(not set: sandbox)'}")
    pk = settings.portkey_api_key
    _line(True, f"Portkey key: {mask(pk.get_secret_value()) if pk else '(not set)'}")
    _line(True, http_serving(settings))
    _line(True, limits_line(settings))
    toolsets_ok, toolsets = portkey_toolsets_line(settings)
    problems += not toolsets_ok
    _line(toolsets_ok, toolsets)
    problems += await _serve_auth(settings)
    try:
        check_data_dir(settings.data_dir)
        _line(True, f"data directory {settings.data_dir}")
    except GatewiseError as exc:  # the stores' line says what that stops
        problems += 1
        _line(False, exc.message)
    roots_ok, roots = media_roots_line(settings)
    problems += not roots_ok
    _line(roots_ok, roots)
    try:
        runtime = await Runtime.open(settings, settle_catalog=False)
    except GatewiseError as exc:  # the local sandbox did not start, say
        _line(False, f"upstream: {exc.message}")
        return 1
    try:
        stored = await _stores(runtime)
        problems += not stored
        reached, catalog = await _upstream(runtime)
        problems += not reached
        problems += await _portkey_admin(runtime.settings)
        checks = active_checks(runtime.guardrails)
        _line(True, f"guardrails: {'; '.join(checks)}" if checks else "guardrails: off (no filter is on)")
        gaps = runtime.guardrails.gaps if runtime.guardrails else []
        problems += len(gaps)
        for gap in gaps:
            _line(False, f"guardrails: {gap}")
        try:
            routing = resolve_routing(settings.routing, catalog,
                                      allow_unlisted=settings.allow_unlisted_models)
            for task, model in routing.primary.items():
                _line(True, f"route {task.value:<17} → {model}  [{routing.sources[task]}]")
        except GatewiseError as exc:
            problems += 1
            _line(False, exc.message)
        try:
            search = settings.search
            cache = f"cached {search.cache_ttl_seconds}s" if search.cache_enabled else "not cached"
            _line(True, f"web search → {search_model(settings, catalog)}  [{search.engine} engine, {cache}]")
        except GatewiseError as exc:
            problems += 1
            _line(False, exc.message)
        if stored:
            problems += await _dashboard(runtime) + await _semantic_cache(runtime)
        if key is not None:
            try:
                info = await runtime.client.key_info()
                _line(True, f"key valid; label {info.get('label', '?')!r}")
            except GatewiseError as exc:
                problems += 1
                _line(False, f"key check failed: {exc.message}")
    finally:
        await runtime.close()
    return 1 if problems else 0


async def _stores(runtime: Runtime) -> bool:
    """The storage's lines: the backend, stale holds, leases and the audit trail; one failing line
    when the storage cannot be opened (what needs it is then not checked)."""
    settings = runtime.settings
    try:
        with told_to_the_operator():
            await runtime.settle_catalog()  # opens the stores
    except GatewiseError as exc:  # the shared database is unreachable, the ledger unusable, say
        _line(False, f"storage {backend_name(settings)}: {exc.message}")
        _line(False, "budgets, guardrail audit trail, dashboard and semantic cache: not checked "
                     "without the storage")
        return False
    _line(True, storage_line(settings))
    found = runtime.budgets.recovered
    _line(True, f"budgets: {found.released} stale hold(s) released and {found.charged} charged from "
                f"the ledger, left by {found.owners} stopped process(es)" if found.owners
          else "budgets: no stale holds")
    for note in runtime_rule_notes(await runtime.budgets.status()):
        _line(True, note)
    _line(True, spend_lease_line(settings))
    events = await runtime.guardrail_events.count()
    _line(True, f"guardrail audit trail: {events} flag/block event(s) in the ledger, each kept "
                f"{settings.guardrails.audit_retention_days} days")
    return True


async def _upstream(runtime: Runtime) -> tuple[bool, Catalog]:
    """Whether the upstream answers (its ``/models``, within PROBE_TIMEOUT_S), and the catalogue
    the routes are read from: the one it answered with, else the copy on disk or the bundled one,
    named as such."""
    where = f"upstream {runtime.provider} at {runtime.client.base_url}"
    try:
        payload = await runtime.client.list_models(timeout_s=PROBE_TIMEOUT_S)
        live = Catalog.from_openrouter_json(payload, runtime.provider)
    except (GatewiseError, ValueError) as exc:
        reason = exc.message if isinstance(exc, GatewiseError) else str(exc)
        _line(False, f"{where}: does not answer ({reason[:200]})")
        offline = runtime.catalog
        if offline.source == "snapshot":
            origin = "the bundled snapshot"
        else:
            hours = max(0.0, time.time() - offline.fetched_at) / 3600
            origin = f"the disk cache of {offline.source}, fetched {hours:.1f} h ago"
        _line(False, f"model catalogue: {len(offline)} models from {origin}, not live")
        return False, offline
    _line(True, f"{where}: answers")
    _line(True, f"model catalogue: {len(live)} models from {live.source}, live")
    return True, live


async def _portkey_admin(settings: Settings) -> int:
    """Whether the Admin API portkey-admin would call (Portkey with a key, else the sandbox's
    stand-in) answers and takes the key: a one-item page of API keys, within PROBE_TIMEOUT_S.
    Nothing when portkey-admin has no Admin API to call (no key and no sandbox)."""
    admin = PortkeyAdmin(settings)
    if admin.target is None:
        return 0
    where = f"Portkey Admin API ({admin.provider}) at {settings.portkey_url}"
    try:
        await admin.probe(timeout_s=PROBE_TIMEOUT_S)
    except GatewiseError as exc:
        if exc.code is not ErrorCode.FORBIDDEN_SCOPE:
            _line(False, f"{where}: {exc.message[:200]}")
            return 1
        # The key was accepted; it is one that may not list API keys (a workspace key, say).
        _line(True, f"{where}: answers; the key is accepted but may not list API keys")
        return 0
    finally:
        await admin.aclose()
    _line(True, f"{where}: answers" + ("; the key is accepted" if admin.provider == "portkey" else ""))
    return 0


async def _dashboard(runtime: Runtime) -> int:
    """The dashboard's line: the last day's figures, read as the page reads them."""
    try:
        day = await build_snapshot(DashboardSources.from_runtime(runtime), "24h")
    except Exception as exc:  # whatever the store raised: named, and counted as a problem
        _line(False, f"dashboard: the ledger's figures cannot be read ({type(exc).__name__})")
        return 1
    events = sum(check.blocked + check.flagged for check in day.guardrail_checks)
    _line(True, f"dashboard: /dashboard under gatewise serve; last 24 h {day.totals.requests} request(s), "
                f"{format_usd(day.totals.cost_usd)}, {len(day.budgets)} budget(s), "
                f"{events} guardrail event(s)")
    return 0


async def _semantic_cache(runtime: Runtime) -> int:
    """The semantic cache's line: off, or its embedder (tried when local: it costs nothing), its
    threshold and what it holds. 1 when the embedder does not work."""
    semantic = runtime.semantic
    if semantic is None:
        _line(True, "semantic cache: off (caching.semantic_cache.enabled)")
        return 0
    embedder = semantic.embedder.name
    if embedder.startswith("local"):
        try:
            await semantic.embedder.embed(["gatewise doctor"])
        except EmbedderError as exc:
            _line(False, f"semantic cache: the embedder {embedder} does not load: {exc}")
            return 1
    stats = await semantic.stats()
    in_context = ", a rebuilt question's words read in context" if semantic.reads_in_context else ""
    _line(True, f"semantic cache: {stats.entries} entries ({stats.bytes:,} bytes), embedder {embedder}, "
                f"similarity ≥ {semantic.threshold}, kept {semantic.ttl_s:.0f}s{in_context}")
    return 0


def http_serving(settings: Settings) -> str:
    """Who may reach the servers over HTTP/SSE, and the limits on slow or greedy clients."""
    server = settings.server
    hosts = ", ".join(server.allowed_hosts) or "loopback only"
    origins = ", ".join(server.allowed_origins) or "none (requests without Origin only)"
    return (f"http/sse: hosts {hosts}; browser origins {origins}; at most {server.max_connections} "
            f"connections, {server.max_sessions} sessions; headers within {server.header_timeout_s:g}s, "
            f"bodies within {server.body_timeout_s:g}s and {server.max_body_bytes:,} bytes")

def limits_line(settings: Settings) -> str:
    """The bounds every call keeps (``limits``): its waits, retries and sizes."""
    lim = settings.limits
    return (f"limits: connect {lim.connect_timeout_s:g}s, read {lim.read_timeout_s:g}s, a call "
            f"{lim.deadline_s:g}s, {lim.max_retries} retries; prompts ≤ {lim.max_prompt_chars:,} chars, "
            f"{lim.max_messages} messages, {lim.max_content_parts:,} content parts, {lim.max_tool_calls:,} "
            f"tool calls; answers ≤ "
            f"{lim.max_output_tokens:,} tokens (default {lim.default_max_tokens:,}), upstream bodies ≤ "
            f"{lim.max_response_bytes:,} bytes, stdio frames ≤ {lim.max_stdio_frame_bytes:,} bytes")


def portkey_toolsets_line(settings: Settings) -> tuple[bool, str]:
    """The portkey-admin tools GATEWISE_PORTKEY_TOOLSETS selects, checked as the server checks
    them before serving."""
    try:
        tools = parse_toolsets(settings.portkey_toolsets)
    except GatewiseError as exc:
        return False, f"portkey-admin: {exc.message}"
    chosen = settings.portkey_toolsets
    return True, f"portkey-admin: {len(tools)} of {len(ToolName)} tools (toolsets: {chosen})"


def media_roots_line(settings: Settings) -> tuple[bool, str]:
    """Where local images may be read from; a named folder that does not exist is a problem."""
    roots = settings.media.allowed_roots
    if not roots:
        return True, "local images: none may be read (set GATEWISE_ALLOWED_ROOTS or media.allowed_roots)"
    missing = [str(r) for r in roots if not r.is_dir()]
    if missing:
        return False, f"local images: media.allowed_roots names no folder at {', '.join(missing)}"
    return True, f"local images: read only under {', '.join(str(r) for r in roots)}"


def runtime_rule_notes(budgets: list[BudgetStatus]) -> list[str]:
    """The budgets set at run time (set_budget), which restarts keep: each against the config's
    rule for its scope and window, when the config has one."""
    notes = []
    for b in budgets:
        if b.source != "runtime":
            continue
        head = f"budget {b.scope} {b.window}: {format_usd(b.limit_usd)} {b.on_exceed}, set at run time"
        if b.config_limit_usd is None:
            notes.append(f"{head} (the config has no rule for it)")
        else:
            notes.append(f"{head}, stands over the config's {format_usd(b.config_limit_usd)} "
                         f"{b.config_on_exceed} until the config's rule for it changes")
    if notes:
        notes.append("run-time budgets are removed with routing-gateway's delete_budget tool")
    return notes


def spend_lease_line(settings: Settings) -> str:
    spend = settings.budgets
    if not spend.spend_lease_calls:
        return "budget spend leases: off (every budgeted call holds and settles its own)"
    return (f"budget spend leases: {spend.spend_lease_calls} calls' worth of headroom each, settled "
            f"every {spend.spend_lease_s:g}s")


def storage_line(settings: Settings) -> str:
    """Which backend holds the ledger, budgets and audit rows (reached: the runtime opened it)."""
    storage = settings.storage
    if storage.url is None:
        return f"storage: {backend_name(settings)} (this machine only; storage.url shares one database)"
    return (f"storage: {backend_name(settings)} reachable and migrated; pool {storage.pool_min_size}-"
            f"{storage.pool_max_size} connections, statements within {storage.statement_timeout_ms} ms "
            f"(no answer within {storage.answer_within_s:g} s: unavailable), "
            f"{storage.on_unavailable} when it is down; audit key {settings.audit_key_path}, the one "
            "every instance on it uses")

def serve_binds(settings: Settings) -> str:
    """Where ``gatewise serve`` may bind: beyond loopback it needs authentication (anyone reaching
    the port could spend money) and a Host list (the DNS-rebinding check)."""
    hosts = ", ".join(settings.server.allowed_hosts)
    if not settings.server.auth.enabled:
        return ("binds loopback only (beyond it needs server.auth.tokens, server.auth.jwt or "
                "GATEWISE_AUTH_TOKENS" + (")" if hosts else ", and server.allowed_hosts)"))
    if not hosts:
        return ("binds loopback only until server.allowed_hosts (or --allowed-host) names the Host "
                "values clients use")
    return f"binds beyond loopback too, for Host {hosts}"


async def _serve_auth(settings: Settings) -> int:
    """Who ``gatewise serve`` lets in; with JWTs, whether the provider's key set can be fetched."""
    auth = settings.server.auth
    if not auth.enabled:
        _line(True, f"gatewise serve: no authentication configured, so it {serve_binds(settings)}")
        return 0
    named = len(auth.tokens) + len(auth.named_env_tokens())
    _line(True, f"gatewise serve: {named} bearer token(s), {auth.rate_per_minute} calls a minute "
                f"each (burst {auth.burst}) unless a token says otherwise; {serve_binds(settings)}; "
                f"{auth.failed_auth_limit} failed authentications per address in "
                f"{auth.failed_auth_window_s:g} s, then 429")
    if auth.jwt is None:
        return 0
    from gatewise.serving.jwt_tokens import KeySet, KeysUnavailable

    try:
        count = await KeySet(auth.jwt).count()
    except KeysUnavailable:
        _line(False, f"JWTs from {auth.jwt.issuer}: the key set at {auth.jwt.jwks_url} cannot be fetched")
        return 1
    _line(True, f"JWTs from {auth.jwt.issuer}: {count} key(s) at {auth.jwt.jwks_url}, "
                f"algorithms {', '.join(auth.jwt.algorithms)}")
    return 0
