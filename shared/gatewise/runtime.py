"""What a running server holds: settings, the upstream client, the catalogue, the ledger.

With no OpenRouter key and no sandbox URL configured, the local sandbox upstream is started as a
child process so every server works out of the box, and every answer then says
``provider: sandbox``.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import TracebackType
from typing import TYPE_CHECKING, Any

from gatewise.cache import ResponseCache
from gatewise.cache.response import FILE_NAME as CACHE_FILE
from gatewise.catalog import Catalog, CatalogCache
from gatewise.config import GuardrailsConfig, Settings
from gatewise.errors import GatewiseError
from gatewise.ledger import LedgerStore
from gatewise.search.upstream import WebSearchUpstream
from gatewise.storage.backends import Stores, analytics_source, open_stores
from gatewise.storage.interfaces import AuditTrail, BudgetBackend
from gatewise.upstream.http import tls_context
from gatewise.upstream.local_sandbox import SandboxProcess
from gatewise.upstream.openrouter import OpenRouterClient
from gatewise.upstream.portkey_gateway import PortkeyGatewayClient

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Sequence

    from gatewise.analytics.source import Dialect, LedgerSource, Reader, Row
    from gatewise.cache.admin import CacheHome
    from gatewise.cache.semantic import SemanticCache
    from gatewise.guardrails import GuardrailPipeline
    from gatewise.storage.postgres.database import Database

log = logging.getLogger(__name__)

CATALOG_REFRESH_TIMEOUT_S = 5.0
# How long start-up waits for a stale catalogue's refresh before serving from the cached copy:
# a slow /models must not hold up a server's first answer. The refresh carries on and its
# catalogue replaces the cached one when it lands.
CATALOG_STARTUP_WAIT_S = 0.25


class OwnRowsFirst:
    """A report's read transaction, begun once the ledger has committed the rows it holds back
    for a moment (see ``LedgerStore.record_soon``)."""

    def __init__(self, ledger: LedgerStore, reader: Reader) -> None:
        self._ledger, self._reader = ledger, reader
        self.dialect: Dialect = reader.dialect

    async def __aenter__(self) -> OwnRowsFirst:
        await self._ledger.flush()
        await self._reader.__aenter__()
        return self

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await self._reader.__aexit__(exc_type, exc, tb)

    async def rows(self, sql: str, params: Sequence[Any] = ()) -> Sequence[Row]:
        return await self._reader.rows(sql, params)

    async def each(self, sql: str, params: Sequence[Any], feed: Callable[[Iterable[Row]], None]) -> None:
        await self._reader.each(sql, params, feed)


def catalog_cache(settings: Settings) -> CatalogCache:
    name = "sandbox" if settings.uses_sandbox else "openrouter"
    return CatalogCache(settings.data_dir / f"catalog-{name}.json", settings.limits.catalog_ttl_s)


def exact_cache_on(settings: Settings) -> bool:
    config = settings.caching.response_cache
    return config.exact_match and config.ttl_seconds > 0


def open_cache(settings: Settings, database: Database | None = None) -> ResponseCache | None:
    """The response cache, when the exact cache or the search cache uses it: a file beside the
    ledger, or a table of the shared database when there is one (``storage.url``)."""
    config = settings.caching.response_cache
    if not exact_cache_on(settings) and not settings.search.cache_enabled:
        return None
    if database is not None:
        from gatewise.storage.postgres.response_cache import PostgresResponseCache

        return PostgresResponseCache(database, ttl_s=config.ttl_seconds, max_bytes=config.max_size)
    return ResponseCache(settings.data_dir / CACHE_FILE, ttl_s=config.ttl_seconds,
                         max_bytes=config.max_size)


def open_semantic(settings: Settings, database: Database | None, client: OpenRouterClient,
                  catalog: Catalog) -> SemanticCache:
    """The semantic cache: a file beside the ledger, or tables of the shared database."""
    from gatewise.cache.semantic import SemanticCache  # numpy, and the embedder

    if database is not None:
        from gatewise.storage.postgres.semantic_cache import PostgresSemanticCache

        return PostgresSemanticCache.open_on(database, settings, client=client, catalog=catalog)
    return SemanticCache.open(settings, client=client, catalog=catalog)


def preload(*, sqlite: bool) -> None:
    """Load, on a worker thread while the event loop answers the handshake and tools/list, what
    opening the stores and the first upstream call would otherwise load on the loop: the SQLite
    stores' library (which loads numpy when installed) and the TLS context (the CA bundle)."""
    if sqlite:
        importlib.import_module("sqlite_utils")
    tls_context()


def offline_catalog(settings: Settings) -> Catalog:
    """The best catalogue available without network: the disk cache (even stale), or the snapshot."""
    return catalog_cache(settings).load(allow_stale=True) or Catalog.snapshot()


def _log_late_failure(task: asyncio.Task[Catalog]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.warning("model catalogue refresh failed (%s: %s); serving from the cached copy",
                    type(exc).__name__, exc)


async def _warm(semantic: SemanticCache) -> None:
    try:
        await semantic.warm()
    except Exception as exc:  # the first lookup tries again, and steps aside if it fails
        log.warning("semantic cache: loading ahead of the first lookup failed (%s: %s)",
                    type(exc).__name__, exc)


def guardrails_configured(config: GuardrailsConfig) -> bool:
    """False for the default guardrails config, in which every filter is off (how long audit
    rows are kept turns nothing on)."""
    return config.model_copy(update={"audit_retention_days": GuardrailsConfig().audit_retention_days}
                             ) != GuardrailsConfig()


@dataclass
class Runtime:
    settings: Settings
    client: OpenRouterClient
    catalog: Catalog
    portkey: PortkeyGatewayClient
    sandbox: SandboxProcess | None = None
    guardrails: GuardrailPipeline | None = None  # None when every guardrail filter is off
    semantic: SemanticCache | None = None  # caching.semantic_cache, when enabled
    # The stores, opened by start-up while the server answers the handshake and tools/list (see
    # open): a tool call waits for settle_catalog() first, so it always finds them open.
    ledger: LedgerStore = field(init=False, repr=False)
    budgets: BudgetBackend = field(init=False, repr=False)
    cache: ResponseCache | None = field(default=None, init=False)  # None when no cache is switched on
    database: Database | None = field(default=None, init=False)  # the pool behind the stores (storage.url)
    _stores: Stores | None = field(default=None, init=False, repr=False)  # what close() closes
    # Web searches for every server of the process, so a model's refusal of the server tool is
    # learnt once.
    web: WebSearchUpstream = field(init=False)
    # Flags and blocks of the guardrails, beside the ledger, kept guardrails.audit_retention_days.
    guardrail_events: AuditTrail = field(init=False, repr=False)
    # A start-up refresh still running past CATALOG_STARTUP_WAIT_S; close() cancels it.
    pending_refresh: asyncio.Task[Catalog] | None = field(default=None, init=False)
    # The start-up refresh and its wait, and the opening of the stores, begun by open(); see
    # settle_catalog.
    _settling: asyncio.Task[None] | None = field(default=None, init=False, repr=False)
    # The semantic cache's entries and embedding model, loaded after start-up; see _start.
    _warming: asyncio.Task[None] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.web = WebSearchUpstream(self.client, self._takes_tools)

    def _takes_tools(self, model: str) -> bool:
        """False only for models the catalogue lists without tool calling."""
        info = self.catalog.get(model)
        return info is None or info.supports_tools

    @property
    def analytics(self) -> LedgerSource:
        """The calls the analytics read: every instance's on a shared database. Each report
        first has the ledger commit the rows this process has yet to, so it counts them."""
        source = analytics_source(self.settings.ledger_path, self.database, self.guardrail_events)
        return replace(source, reader=lambda: OwnRowsFirst(self.ledger, source.reader()))

    @property
    def cache_home(self) -> CacheHome:
        """Where the caches' entries are, for counting and clearing them: the shared database
        when there is one, otherwise the data dir's files."""
        return self.database if self.database is not None else self.settings.data_dir

    @property
    def storage_skipped(self) -> bool:
        """Whether calls go ahead without the shared database just now: it was last found
        unreachable, and ``storage.on_unavailable`` is fail_open."""
        db = self.database
        return db is not None and db.fails_open and db.down is not None

    @property
    def exact_cache(self) -> ResponseCache | None:
        """The cache for repeated model calls (caching.response_cache), or None when it is off."""
        return self.cache if exact_cache_on(self.settings) else None

    @property
    def search_cache(self) -> ResponseCache | None:
        """The cache for repeated web searches (search.cache_enabled), or None when it is off."""
        return self.cache if self.settings.search.cache_enabled else None

    @cached_property
    def request_key(self) -> bytes:
        """The installation's key for the request hashes in the ledger (the audit key, so a
        request and its guardrail events can be matched by hash)."""
        from gatewise.guardrails.audit import installation_key  # the guardrails package imports this one

        return installation_key(self.settings.audit_key_path)

    @property
    def provider(self) -> str:
        return self.client.name

    @classmethod
    async def open(cls, settings: Settings, *, settle_catalog: bool = True) -> Runtime:
        """Start everything a server holds. With ``settle_catalog=False`` the catalogue refresh
        and the opening of the stores run on while the server answers what needs neither
        (tools/list); a tool call then awaits ``settle_catalog()`` first, so it sees the catalogue
        and the stores start-up would have given it."""
        sandbox = None
        if settings.uses_sandbox and settings.sandbox_url is None:
            sandbox = await SandboxProcess().__aenter__()
            settings = settings.model_copy(update={"sandbox_url": sandbox.url})
            log.info("no OPENROUTER_API_KEY: answering from the local sandbox at %s", sandbox.url)
        client = OpenRouterClient(settings)
        runtime = cls(settings, client, offline_catalog(settings), PortkeyGatewayClient(settings), sandbox)
        runtime._settling = asyncio.ensure_future(
            runtime._start(asyncio.ensure_future(runtime.refresh_catalog())))
        if settle_catalog:
            try:
                await runtime.settle_catalog()
            except BaseException:  # the stores could not be opened, say: nothing is left open
                await runtime.close()
                raise
        if guardrails_configured(settings.guardrails):
            # Imported here: the guardrails' Portkey checks import the portkey package, which
            # imports this module; and a server with the default config (every filter off) need
            # not load them (phonenumbers, regex) before it can answer.
            from gatewise.guardrails.gateway_calls import open_guardrails

            runtime.guardrails = open_guardrails(runtime)
        return runtime

    async def settle_catalog(self) -> None:
        """Return once the stores are open and the start-up refresh has landed or its wait has
        run out (from the start, not from this call); raise what stopped them. Immediate after
        the first time."""
        settling = self._settling
        if settling is None:
            return
        if not settling.done():
            await asyncio.shield(settling)  # a cancelled caller leaves the wait to the others
        settling.result()

    async def _start(self, refresh: asyncio.Task[Catalog]) -> None:
        await asyncio.gather(self._open_stores(), self._refresh_at_start(refresh))
        if self.settings.caching.semantic_cache.enabled:
            # Opened with the configured embedder: entries record its name, and a lookup only
            # searches those made with the same one. It resolves the embedding model's name in
            # the catalogue, so it opens once that has settled.
            self.semantic = open_semantic(self.settings, self.database, self.client, self.catalog)
            # Not awaited by tool calls: the first lookup would otherwise load the model (the local
            # embedder's takes most of a second) and the entries itself.
            self._warming = asyncio.ensure_future(_warm(self.semantic))

    async def _refresh_at_start(self, task: asyncio.Task[Catalog]) -> None:
        self.pending_refresh = task  # until it lands within the wait; close() cancels it
        # With no copy from this upstream yet (a first start: the bundled snapshot), the refresh
        # is waited for, up to its timeout: the config may name models only the upstream lists.
        wait_s = CATALOG_REFRESH_TIMEOUT_S if self.catalog.source == "snapshot" else CATALOG_STARTUP_WAIT_S
        done, _ = await asyncio.wait({task}, timeout=wait_s)
        if done:
            self.pending_refresh = None
            task.result()  # a failure refresh_catalog does not handle stops start-up, as before
            return
        log.info("model catalogue refresh still running; serving from %s until it lands",
                 self.catalog.source)
        task.add_done_callback(_log_late_failure)  # nothing else reads its outcome

    async def _open_stores(self) -> None:
        await asyncio.to_thread(preload, sqlite=self.settings.storage.url is None)
        stores = await open_stores(self.settings)
        stores.budgets.start_upkeep()  # crashed processes' holds stop counting within an interval
        self._stores, self.ledger, self.budgets = stores, stores.ledger, stores.budgets
        self.guardrail_events, self.database = stores.guardrail_events, stores.database
        self.cache = open_cache(self.settings, stores.database)
        await self.guardrail_events.purge_expired()  # then every few hours, on a write

    async def refresh_catalog(self, *, force: bool = False) -> Catalog:
        """Fetch ``/models`` when the cached copy is older than its TTL; keep the old one on failure."""
        cache = catalog_cache(self.settings)
        if not force and (fresh := cache.load()) is not None:
            self.catalog = fresh
            return fresh
        try:
            payload = await self.client.list_models(timeout_s=CATALOG_REFRESH_TIMEOUT_S)
            catalog = Catalog.from_openrouter_json(payload, self.provider)
        except (GatewiseError, ValueError) as exc:
            log.warning("model catalogue refresh failed (%s); using %s", exc, self.catalog.source)
            return self.catalog
        cache.store(payload, self.provider)
        self.catalog = catalog
        return catalog

    async def close(self) -> None:
        # Closed before the start-up wait ended (no tool call came), or with a refresh still
        # running past it: a failure was logged, and must not stop close.
        starting = {task for task in (self._settling, self.pending_refresh, self._warming)
                    if task is not None}
        for task in starting:
            task.cancel()
        if starting:
            await asyncio.wait(starting)
        await self.client.aclose()
        await self.portkey.aclose()
        if self.cache is not None:
            await self.cache.close()
        if self.semantic is not None:
            await self.semantic.close()
        if self._stores is not None:
            await self.budgets.close()
            await self.ledger.close()
        if self.database is not None:
            await self.database.close()
        if self.sandbox is not None:
            await self.sandbox.__aexit__(None, None, None)
