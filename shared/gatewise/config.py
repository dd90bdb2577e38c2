"""One typed Settings object for every gatewise server.

Sources, later ones winning: defaults → the optional config file named by ``GATEWISE_CONFIG``
(JSON or TOML) → environment variables. Validation happens once, at start-up; a bad value is
reported as one line (see :func:`load_settings_or_exit`) rather than a traceback.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from gatewise.bounds import (
    USD,
    Count,
    FiniteJSON,
    Fraction,
    LimitUSD,
    PositiveFraction,
    PositiveSeconds,
    Seconds,
    Tokens,
)
from gatewise.errors import ErrorCode, GatewiseError
from gatewise.redact import remember, url_secrets
from gatewise.storage.dsn import check_dsn, dsn_password

OPENROUTER_URL = "https://openrouter.ai/api/v1"
PORTKEY_URL = "https://api.portkey.ai/v1"


class TaskType(StrEnum):
    REASONING = "reasoning"
    CODE_GENERATION = "code_generation"
    DATA_ANALYSIS = "data_analysis"
    MATH = "math"
    SUMMARIZATION = "summarization"
    TRANSLATION = "translation"
    CREATIVE_WRITING = "creative_writing"
    SIMPLE_QUERY = "simple_query"
    VISION = "vision"
    WEB_SEARCH = "web_search"


# Names users write in `primary_models` for each task (the documented ones included).
TASK_ALIASES: dict[str, TaskType] = {
    **{t.value: t for t in TaskType},
    "reasoning_tasks": TaskType.REASONING,
    "code": TaskType.CODE_GENERATION,
    "coding": TaskType.CODE_GENERATION,
    "analysis": TaskType.DATA_ANALYSIS,
    "summarisation": TaskType.SUMMARIZATION,
    "summary": TaskType.SUMMARIZATION,
    "creative": TaskType.CREATIVE_WRITING,
    "simple_queries": TaskType.SIMPLE_QUERY,
    "simple": TaskType.SIMPLE_QUERY,
    "image": TaskType.VISION,
    "search": TaskType.WEB_SEARCH,
}

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?i?B?)\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}
MAX_BYTES = 2**50  # a pebibyte: beyond any cache, image or message size


def parse_size(value: Any) -> int:
    """``"10GB"`` → bytes. Integers pass through; binary units (``GiB``) are honoured."""
    if isinstance(value, bool):
        raise ValueError("expected a size such as '10GB' or a number of bytes")
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ValueError(f"{value!r} is not a size such as '512MB' or '10GB'")
    number, unit = float(match.group(1)), match.group(2).upper()
    factor = 1024 ** "BKMGT".index(unit[0]) if "I" in unit else _UNITS[unit.rstrip("B") or ""]
    size = number * factor
    if not size <= MAX_BYTES:  # also catches a number so long that it reads as infinity
        raise ValueError(f"{str(value)[:40]!r} is more than a pebibyte")
    return int(size)


ByteSize = Annotated[int, BeforeValidator(parse_size), Field(ge=0, le=MAX_BYTES)]


class _Block(BaseModel):
    # No NaN or infinity in any float; the field types add bounds (gatewise.bounds).
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class HealthConfig(_Block):
    """Per (provider, model) circuit breaker and latency tracking."""

    failure_threshold: Count = Field(5, ge=1, description="consecutive failures that open the circuit")
    error_rate_threshold: PositiveFraction = Field(0.5, description="error share that opens it")
    window: Count = Field(20, ge=2, description="recent calls the error share is taken over")
    cooldown_s: Seconds = Field(30.0, description="open time before a half-open probe")
    latency_alpha: PositiveFraction = Field(0.2, description="EWMA weight of the newest latency")
    # A model deferred for its latency gets no calls to show it is fast again: past this age its
    # average no longer counts, and the next call to it (one at a time) replaces it.
    latency_recovery_s: PositiveSeconds = Field(
        30.0, description="age after which an observed latency is measured again by a probe call")


class RoutingConfig(_Block):
    strategy: Literal["hybrid_optimization"] = "hybrid_optimization"
    primary_models: dict[TaskType, str] = Field(default_factory=dict)
    fallback_chain: list[str] = Field(default_factory=list)
    cost_threshold: USD | None = Field(None, description="max estimated USD per request")
    latency_threshold_ms: PositiveSeconds | None = None  # the same range, in milliseconds
    # Premium-tier tasks whose difficulty score is below this go to a standard-tier model first
    # (scores: bench/routing_replay.py; ~0.55 keeps 95 % of premium quality there). None: off.
    difficulty_threshold: Fraction | None = 0.55
    # A Portkey gateway config pasted as-is; when set it decides the targets instead of the table.
    config: Annotated[dict[str, Any] | None, FiniteJSON] = None
    health: HealthConfig = Field(default_factory=HealthConfig)

    @field_validator("config")
    @classmethod
    def _portkey_config(cls, value: dict[str, Any] | None) -> dict[str, Any] | None:
        """Check a pasted Portkey config at start-up and keep it without its credentials."""
        if value is None:
            return None
        from gatewise.routing.portkey_config import parse_portkey_config

        try:
            parsed = parse_portkey_config(value)
        except GatewiseError as exc:
            raise ValueError(exc.message) from None
        return parsed.root.model_dump(mode="json", exclude_none=True)

    @field_validator("primary_models", mode="before")
    @classmethod
    def _task_names(cls, value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = {}
        for key, model in value.items():
            task = TASK_ALIASES.get(str(key).strip().lower())
            if task is None:
                known = ", ".join(sorted(TASK_ALIASES))
                raise ValueError(f"unknown task {key!r} (known: {known})")
            out[task] = model
        return out


PiiAction = Literal["redact", "flag", "block"]


class InputFilters(_Block):
    # true: redact every entity type; a mapping sets the action per type, e.g.
    # {"EMAIL": "redact", "CREDIT_CARD": "block", "PHONE": "flag"} (other types: not checked).
    pii_detection: bool | dict[str, PiiAction] = False
    restore_pii: bool = Field(True, description="put the caller's redacted values back into the answer")
    phone_regions: list[str] = Field(
        default_factory=lambda: ["US", "GB", "DE", "FR", "IT", "ES", "NL", "BR", "IN", "AU"],
        description="regions tried, in order, for phone numbers written without +country code")
    content_safety: Literal["off", "basic", "standard", "enterprise"] = "off"
    moderation_model: str | None = Field(
        None, description="enterprise: a Llama Guard style model also asked, through the gateway")
    custom_blocklist: list[str] = Field(default_factory=list)
    blocklist_action: Literal["block", "flag"] = "block"
    prompt_injection: bool = False

    @field_validator("pii_detection")
    @classmethod
    def _entity_names(cls, value: bool | dict[str, str]) -> bool | dict[str, str]:
        if isinstance(value, bool):
            return value
        from gatewise.guardrails.entities import entity_type

        return {entity_type(name): action for name, action in value.items()}

    @field_validator("phone_regions")
    @classmethod
    def _regions(cls, value: list[str]) -> list[str]:
        import phonenumbers

        regions = [r.strip().upper() for r in value]
        unknown = [r for r in regions if r not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown phone region(s): {', '.join(unknown)} (use ISO codes such as US, GB)")
        return regions


class OutputFilters(_Block):
    compliance_check: bool = False
    fact_verification: bool = False
    hallucination_detection: Fraction | None = None
    hallucination_action: Literal["flag", "block"] = "flag"
    prompt_injection_action: Literal["flag", "block"] = Field(
        "flag", description="with input_filters.prompt_injection on, what an answer that carries "
                            "injected instructions gets: flag (a warning) or block")
    judge_model: str | None = Field(None, description="a cheap model that also scores grounding")


class GuardrailsConfig(_Block):
    input_filters: InputFilters = Field(default_factory=InputFilters)
    output_filters: OutputFilters = Field(default_factory=OutputFilters)
    # Portkey guardrails (Admin API, hook or shorthand form) run locally on input / output.
    input_guardrails: list[dict[str, Any]] = Field(default_factory=list)
    output_guardrails: list[dict[str, Any]] = Field(default_factory=list)
    audit_retention_days: int = Field(90, ge=1, le=3650)

    @field_validator("input_guardrails", "output_guardrails")
    @classmethod
    def _portkey_hooks(cls, value: list[dict[str, Any]]) -> list[dict[str, Any]]:
        from gatewise.guardrails.portkey_checks import hooks_from

        try:
            hooks_from(value)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"not a Portkey guardrail: {exc}") from None
        return value


class SemanticCacheConfig(_Block):
    enabled: bool = False
    # Chosen on bench/cache_quality.py's sets: the gates, not the cosine, keep traps out (no more
    # served at 0.60 than at 0.95), and from 0.70 down to 0.65 a few more paraphrases whose words
    # all match are served; lower still, the cosine is left as a backstop for no gain worth it.
    similarity_threshold: Fraction = 0.65
    ttl_seconds: Count = 3600
    max_cache_size: ByteSize = parse_size("1GB")


class ResponseCacheConfig(_Block):
    exact_match: bool = True
    ttl_seconds: Count = 1800
    max_size: ByteSize = parse_size("256MB")  # least recently used entries go first beyond this


class EmbeddingCacheConfig(_Block):
    # "local": a small model run in-process (no download, no cost); "local-hash": lexical only;
    # any other name is an embedding model called upstream, its vectors kept for ttl_seconds.
    model: str = Field("local", min_length=1)
    ttl_seconds: Count = 86400
    dimensions: int | None = Field(None, ge=16, le=8192,
                                   description="shorter upstream vectors, for models that offer them")


class CachingConfig(_Block):
    semantic_cache: SemanticCacheConfig = Field(default_factory=SemanticCacheConfig)
    response_cache: ResponseCacheConfig = Field(default_factory=ResponseCacheConfig)
    embedding_cache: EmbeddingCacheConfig = Field(default_factory=EmbeddingCacheConfig)


def _json_text(value: Any) -> Any:
    """A config object given inline becomes compact JSON text."""
    return json.dumps(value, separators=(",", ":")) if isinstance(value, dict) else value


class PortkeyRouteConfig(_Block):
    """How calls routed through Portkey's hosted gateway are addressed (model ids `portkey:<model>`)."""

    # Sent as x-portkey-config; kept secret because Portkey configs may hold provider keys.
    config: Annotated[SecretStr, BeforeValidator(_json_text)] | None = Field(
        None, description="Portkey config object (its guardrails, cache, retry, targets)")
    virtual_key: SecretStr | None = None
    provider: str | None = Field(None, description="x-portkey-provider, e.g. 'openai' or '@my-openai'")


class BudgetRule(_Block):
    scope: str = Field("global", pattern=r"^(global|project:[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63})$",
                       description="'global' or 'project:<tag>'")
    window: Literal["daily", "monthly"] = "monthly"
    limit_usd: LimitUSD
    on_exceed: Literal["block", "downgrade", "warn"] = "block"


class BudgetsConfig(_Block):
    rules: list[BudgetRule] = Field(default_factory=list)
    alert_thresholds: list[PositiveFraction] = Field(default_factory=lambda: [0.8])
    webhook_url: str | None = Field(None, description="Slack-compatible incoming-webhook URL")
    # Holds left by a crashed process are released on start-up and then every interval.
    reconcile_interval_s: float = Field(
        30.0, gt=0, le=3600, description="how often a server renews its lease and settles crashed "
                                         "processes' holds")
    owner_lease_s: float = Field(
        120.0, gt=0, le=86400, description="a process on another host that has not renewed its lease "
                                           "for this long counts as crashed")
    # A process holds a slice of its budgets' headroom and admits calls against it in memory, so
    # a call costs no budget transaction; near a limit or an alert threshold calls hold one by one.
    spend_lease_calls: int = Field(
        32, ge=0, le=1024, description="calls' worth (at their worst case) of headroom one spend "
                                       "lease holds; 0: every call holds and settles its own")
    spend_lease_s: float = Field(
        2.0, gt=0, le=60, description="a spend lease admits calls for at most this long, then is "
                                      "settled with what its calls cost and the rest given back")

    @field_validator("owner_lease_s")
    @classmethod
    def _lease(cls, value: float, info: ValidationInfo) -> float:
        interval = info.data.get("reconcile_interval_s")
        if interval is not None and value <= interval:
            raise ValueError(f"owner_lease_s ({value:g}) must be longer than reconcile_interval_s "
                             f"({interval:g}), or live processes would count as crashed")
        return value


# A live database answers within its statement timeout; this much more is left for the answer to
# travel before the server is taken for stalled.
STALL_GRACE_S = 2.0


class StorageConfig(_Block):
    """Where shared state lives: SQLite files in data_dir (no url), or one PostgreSQL database that
    several gateway instances share (ledger, budgets, alerts, guardrail audit rows)."""

    url: SecretStr | None = Field(
        None, description="postgresql://user:password@host:5432/db?sslmode=require; libpq options "
                          "(sslmode, sslrootcert, sslcert, sslkey, application_name...) pass through")
    pool_min_size: int = Field(1, ge=0, le=100, description="connections kept open per process")
    pool_max_size: int = Field(10, ge=1, le=200, description="connections at most per process")
    connect_timeout_s: float = Field(5.0, gt=0, le=120, description="to reach the server, at start-up too")
    statement_timeout_ms: int = Field(5000, ge=100, le=600_000, description="any one statement")
    # fail_closed: a call that needs the database fails with STORAGE_UNAVAILABLE while it is
    # unreachable; fail_open: the call goes ahead without budgets, the caches miss, and its ledger
    # rows wait in memory (at most spool_max_rows) to be written once the database answers again.
    on_unavailable: Literal["fail_closed", "fail_open"] = "fail_closed"
    spool_max_rows: int = Field(10_000, ge=0, le=1_000_000,
                                description="fail_open: ledger rows kept while the database is away; "
                                            "rows past it are dropped, counted in the log")
    # The key of the request and guardrail value hashes (default <data_dir>/guardrail-audit.key).
    # Instances sharing a database must share it: copy one instance's file to the others.
    audit_key_file: Path | None = None

    @property
    def answer_within_s(self) -> float:
        """The longest any exchange of a call waits for the server before it is taken for stalled."""
        return self.statement_timeout_ms / 1000 + STALL_GRACE_S

    @field_validator("url")
    @classmethod
    def _postgres_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            check_dsn(value.get_secret_value())  # never echoes the value: it may carry a password
        return value

    @field_validator("pool_max_size")
    @classmethod
    def _pool(cls, value: int, info: ValidationInfo) -> int:
        low = info.data.get("pool_min_size")
        if low is not None and value < low:
            raise ValueError(f"pool_max_size ({value}) must not be below pool_min_size ({low})")
        return value


def _path_list(value: Any) -> Any:
    """``"/a:/b"`` (an environment variable, separated like PATH) → ``["/a", "/b"]``."""
    return [part for part in value.split(os.pathsep) if part.strip()] if isinstance(value, str) else value


class MediaConfig(_Block):
    """Where images may come from and how they are prepared before they are sent."""

    allowed_roots: Annotated[list[Path], BeforeValidator(_path_list)] = Field(
        default_factory=list, description="local files are read only under these folders")
    output_root: Path | None = Field(None, description="where generated images may be saved")
    max_input_bytes: ByteSize = parse_size("20MB")
    max_pixels: Count = Field(100_000_000, gt=0, description="decompression-bomb limit")
    # One call's images together, from their headers before any is decoded (JPEGs count at the
    # reduced scale they are decoded at): many small bombs are refused like one big one.
    max_call_pixels: int = Field(100_000_000, gt=0, description="pixels decoded per call")
    max_call_decoded_bytes: ByteSize = Field(parse_size("400MB"), gt=0)
    decode_workers: int = Field(2, ge=1, le=32, description="threads decoding images, for all calls")
    max_long_side: Count = Field(2048, ge=64, description="larger images are scaled down to this")
    jpeg_quality: int = Field(85, ge=1, le=100)
    fetch_timeout_s: PositiveSeconds = 15.0
    max_redirects: int = Field(5, ge=0, le=20)
    user_agent: str = "gatewise/0.1 (+https://github.com/gatewise/gatewise)"


class SearchConfig(_Block):
    """openrouter-search and the gateway's web branch."""

    default_model: str | None = Field(
        None, description="model for web_search/research; empty: a cheap current catalogue model")
    engine: Literal["auto", "native", "exa"] = "auto"
    max_results: int = Field(5, ge=1, le=25)
    # The model decides how often to search; each search is billed, so a call may run at most this many.
    max_uses: int = Field(3, ge=1, le=10)
    max_query_chars: Count = Field(2000, gt=0)
    cache_enabled: bool = True
    cache_ttl_seconds: Count = Field(3600, description="how long an identical search is reused")
    # routed_complete searches by itself when a query needs fresh information; false: only when
    # the caller passes web_search: true.
    gateway_auto: bool = True
    research_concurrency: int = Field(3, ge=1, le=16, description="searches research runs at once")
    research_max_searches: int = Field(6, ge=1, le=16)


class Limits(_Block):
    """Every limit the servers enforce, named so users can find and change it."""

    connect_timeout_s: PositiveSeconds = 5.0
    read_timeout_s: PositiveSeconds = 60.0
    deadline_s: PositiveSeconds = Field(120.0, description="overall time for one tool call")
    # An answer that drips in (each read in time) would otherwise hold the whole deadline and
    # leave the fallbacks none; the last model to try keeps all that is left.
    attempt_share: PositiveFraction = Field(
        0.5, description="most of the call's remaining time one model may take while others wait")
    max_retries: int = Field(2, ge=0, le=10)
    backoff_base_s: Seconds = 0.25
    backoff_max_s: Seconds = 8.0
    retry_after_cap_s: Seconds = 30.0
    max_prompt_chars: Count = Field(400_000, gt=0)
    max_messages: Count = Field(500, gt=0)
    max_content_parts: Count = Field(1000, gt=0)  # in all of one call's messages
    max_tool_calls: Count = Field(500, gt=0)  # the assistant turns' tool calls, in all of one call's messages
    max_output_tokens: Tokens = 32_768
    # Sent when the caller gives no max_tokens, so every call's worst-case cost is bounded.
    default_max_tokens: Tokens = 4096
    catalog_ttl_s: Seconds = 3600.0
    max_connections: Count = Field(100, gt=0)
    # One upstream answer, as decoded (a compressed body counts at its full size): a generated
    # image set fits many times over; a broken or hostile upstream cannot fill the memory.
    max_response_bytes: ByteSize = Field(parse_size("64MiB"), gt=0)
    # One stdio message (a line); a longer one is answered with an error and discarded unbuffered.
    max_stdio_frame_bytes: ByteSize = Field(parse_size("16MiB"), gt=0)


def _comma_list(value: Any) -> Any:
    """``"a, b"`` (an environment variable) → ``["a", "b"]``; lists pass through."""
    return [part.strip() for part in value.split(",") if part.strip()] if isinstance(value, str) else value


def _entries_like(pattern: str, what: str) -> AfterValidator:
    """Every entry of a list must match ``pattern`` (else: ``'x' is not <what>``)."""
    compiled = re.compile(pattern)

    def check(value: list[str]) -> list[str]:
        for entry in value:
            if not compiled.fullmatch(entry):
                raise ValueError(f"{entry!r} is not {what}")
        return value

    return AfterValidator(check)


_HOST = r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.\-]+)(:(\d{1,5}|\*))?"
HostList = Annotated[list[str], BeforeValidator(_comma_list), _entries_like(
    _HOST, "a Host value such as 'gw.example.com' or 'gw.example.com:8000'")]
OriginList = Annotated[list[str], BeforeValidator(_comma_list), _entries_like(
    "https?://" + _HOST, "an origin such as 'https://app.example.com' (scheme://host[:port], no path)")]


# A project tag: what budgets (`project:<tag>`) and the ledger group calls by.
PROJECT_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.:\-]{0,63}$"
# "*" or a server name / tool name; token and caller names are log-safe words.
_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}"
NameList = Annotated[list[str], BeforeValidator(_comma_list), _entries_like(
    rf"\*|{_NAME}", "'*' or a server or tool name")]
_MIN_TOKEN_CHARS = 24  # a bearer token must be long and random: it is stored as a fast hash


class Grant(_Block):
    """What a caller may reach, and the project its calls are billed to."""

    servers: NameList = Field(default_factory=lambda: ["*"], description="server names, or '*'")
    tools: NameList = Field(default_factory=lambda: ["*"], description="tool names, or '*'")
    project: Annotated[str, Field(pattern=PROJECT_PATTERN)] | None = Field(
        None, description="every model call of this caller is this project's (ledger and budgets)")
    rate_per_minute: int | None = Field(
        None, gt=0, le=1_000_000,
        description="calls (tools, resource reads, prompts, completions) a minute; default: auth's")


class TokenEntry(Grant):
    """A bearer token, kept only as the hex SHA-256 of the token (``gatewise serve --new-token``)."""

    name: str = Field(pattern=rf"^{_NAME}$")
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


JwtAlgorithm = Literal["RS256", "RS384", "RS512", "PS256", "PS384", "PS512",
                       "ES256", "ES384", "ES512", "EdDSA"]
DEFAULT_JWT_ALGORITHMS: tuple[JwtAlgorithm, ...] = ("RS256", "ES256")


class JwtConfig(Grant):
    """Access tokens issued by the operator's identity provider (OAuth 2.1 resource server role)."""

    issuer: str = Field(pattern=r"^https?://\S+$", description="the iss claim, and the authorization server")
    jwks_url: str = Field(pattern=r"^https?://\S+$")
    audience: str | None = Field(None, description="the aud claim; default: the resource's own URL")
    # Public-key algorithms only: "none" and shared-secret HMACs can never be allowed.
    algorithms: list[JwtAlgorithm] = Field(default_factory=lambda: list(DEFAULT_JWT_ALGORITHMS), min_length=1)
    required_scopes: NameList = Field(default_factory=list, description="each must be in scope/scp")
    project_claim: str | None = Field(None, description="claim naming the caller's project")
    leeway_s: float = Field(30.0, ge=0, le=600, description="clock skew allowed on exp/nbf/iat")
    jwks_timeout_s: float = Field(5.0, gt=0, le=60, description="to fetch the key set")
    jwks_max_bytes: ByteSize = Field(parse_size("256KiB"), gt=0, le=parse_size("4MiB"))
    jwks_cache_s: float = Field(600.0, gt=0, le=86_400, description="a fetched key set is reused")


class AuthConfig(_Block):
    """Who may call ``gatewise serve``: bearer tokens and/or JWTs; required beyond loopback."""

    tokens: list[TokenEntry] = Field(default_factory=list, max_length=10_000)
    # GATEWISE_AUTH_TOKENS=name:token,...: full access, no project (quick set-ups).
    env_tokens: SecretStr | None = None
    jwt: JwtConfig | None = None
    resource_url: str | None = Field(
        None, pattern=r"^https?://[^\s/]+/?$",
        description="public base URL clients use, e.g. https://gw.example.com (default: the bind)")
    rate_per_minute: int = Field(
        600, gt=0, le=1_000_000,
        description="calls (tools, resource reads, prompts, completions) a minute per caller")
    burst: int = Field(60, gt=0, le=100_000, description="calls a caller may make at once")
    failed_auth_limit: int = Field(
        10, gt=0, le=100_000, description="failed authentications a client address may make in "
        "failed_auth_window_s before it is answered 429")
    failed_auth_window_s: float = Field(60.0, gt=0, le=86_400, description="see failed_auth_limit")

    @field_validator("env_tokens")
    @classmethod
    def _env_tokens(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None:
            parse_env_tokens(value.get_secret_value())
        return value

    def model_post_init(self, context: Any) -> None:
        # Plain tokens given in the environment are secrets the scrubber must know.
        remember(token for _, token in self.named_env_tokens())

    def named_env_tokens(self) -> list[tuple[str, str]]:
        return parse_env_tokens(self.env_tokens.get_secret_value()) if self.env_tokens else []

    @property
    def enabled(self) -> bool:
        return bool(self.tokens or self.env_tokens or self.jwt)


def parse_env_tokens(value: str) -> list[tuple[str, str]]:
    """``"ci:tok1, alice:tok2"`` → ``[("ci", "tok1"), ("alice", "tok2")]``; errors never echo a token."""
    found = []
    for index, item in enumerate(part.strip() for part in value.split(",") if part.strip()):
        name, _, token = item.partition(":")
        if not re.fullmatch(_NAME, name) or len(token) < _MIN_TOKEN_CHARS or any(c.isspace() for c in token):
            raise ValueError(f"entry {index + 1} must be name:token, the token at least "
                             f"{_MIN_TOKEN_CHARS} characters with no spaces")
        found.append((name, token))
    return found


class ServerConfig(_Block):
    """Serving over HTTP/SSE: who may call, and the limits that stop slow or greedy clients."""

    # Host header values (name, name:port or name:*) accepted besides the loopback names; required
    # before the servers bind beyond loopback, since there is no authentication yet.
    allowed_hosts: HostList = Field(default_factory=list)
    # Browser origins (scheme://host[:port|:*]) allowed to call; requests without Origin always pass.
    allowed_origins: OriginList = Field(default_factory=list)
    # Above max_sessions: an SSE session holds its stream open and posts on other connections.
    max_connections: int = Field(200, gt=0, description="open connections; more are answered 503")
    max_sessions: int = Field(100, gt=0, description="open MCP sessions; more are answered 503")
    # One caller (token or JWT subject) may hold this many of them; more are answered 429, so one
    # token cannot take every session from the others.
    max_sessions_per_caller: int = Field(20, gt=0, description="open MCP sessions of one caller")
    session_idle_timeout_s: float = Field(1800.0, gt=0, description="an unused session ends")
    header_timeout_s: float = Field(10.0, gt=0, description="time to send a request's headers")
    max_header_bytes: ByteSize = Field(parse_size("16KiB"), gt=0)
    body_timeout_s: float = Field(30.0, gt=0, description="time to send a request's body (408)")
    max_body_bytes: ByteSize = Field(parse_size("4MiB"), gt=0, description="larger bodies get 413")
    keep_alive_timeout_s: float = Field(5.0, gt=0, description="idle time between requests")
    shutdown_grace_s: float = Field(30.0, gt=0, le=3600,
                                    description="on SIGTERM, time in-flight calls get to finish")
    ready_timeout_s: float = Field(2.0, gt=0, le=60,
                                   description="/readyz: time the shared database gets to answer")
    auth: AuthConfig = Field(default_factory=AuthConfig)


AUDIT_KEY_FILE = "guardrail-audit.key"  # in data_dir, unless storage.audit_key_file names another


class Settings(_Block):
    openrouter_api_key: SecretStr | None = None
    openrouter_base_url: str = OPENROUTER_URL
    portkey_api_key: SecretStr | None = None
    portkey_base_url: str = PORTKEY_URL
    data_dir: Path = Field(default_factory=lambda: default_data_dir())
    app_url: str = "https://github.com/gatewise/gatewise"
    app_title: str = "gatewise"
    allow_unlisted_models: bool = False
    # portkey-admin tool groups a client sees: comma-separated names, or "all".
    portkey_toolsets: str = "all"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # Set when the servers talk to the local stand-in upstream (no key, or `gatewise sandbox`).
    sandbox_url: str | None = None
    routing: RoutingConfig = Field(default_factory=RoutingConfig)
    guardrails: GuardrailsConfig = Field(default_factory=GuardrailsConfig)
    caching: CachingConfig = Field(default_factory=CachingConfig)
    budgets: BudgetsConfig = Field(default_factory=BudgetsConfig)
    portkey_route: PortkeyRouteConfig = Field(default_factory=PortkeyRouteConfig)
    media: MediaConfig = Field(default_factory=MediaConfig)
    search: SearchConfig = Field(default_factory=SearchConfig)
    limits: Limits = Field(default_factory=Limits)
    server: ServerConfig = Field(default_factory=ServerConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)

    @field_validator("openrouter_base_url", "portkey_base_url", "sandbox_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s/]+", value):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value.rstrip("/") if value else value

    def model_post_init(self, context: Any) -> None:
        remember(self.secrets)  # the scrubber at every exit knows them before any call is made

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every configured secret: the API keys, the virtual key, the credentials inside a
        Portkey route config and the token in the budget webhook URL."""
        keys = (self.openrouter_api_key, self.portkey_api_key, self.portkey_route.virtual_key)
        found = [k.get_secret_value() for k in keys if k is not None]
        if self.portkey_route.config is not None:
            from gatewise.portkey.masking import config_secrets  # here: gatewise.portkey imports this module

            found += config_secrets(self.portkey_route.config.get_secret_value())
        return (*found, *url_secrets(self.budgets.webhook_url), *database_secrets(self.storage.url))

    @property
    def uses_sandbox(self) -> bool:
        """True when chat calls go to the local stand-in rather than OpenRouter."""
        return self.sandbox_url is not None or self.openrouter_api_key is None

    @property
    def portkey_url(self) -> str:
        """Portkey's base URL; the sandbox's ``/v1`` when it stands in (no Portkey key)."""
        if self.portkey_api_key is None and self.sandbox_url:
            return self.sandbox_url.removesuffix("/api/v1") + "/v1"
        return self.portkey_base_url

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.sqlite3"

    @property
    def audit_key_path(self) -> Path:
        """The file of the key the ledger's request hashes and the audit's value hashes use."""
        return self.storage.audit_key_file or self.data_dir / AUDIT_KEY_FILE


def database_secrets(url: SecretStr | None) -> tuple[str, ...]:
    """The password inside a database URL, for the scrubber."""
    if url is None:
        return ()
    found = dsn_password(url.get_secret_value())
    return (found,) if found else ()


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "gatewise"


# Environment variable → dotted settings path.
ENV_VARS: dict[str, str] = {
    "OPENROUTER_API_KEY": "openrouter_api_key",
    "OPENROUTER_BASE_URL": "openrouter_base_url",
    "PORTKEY_API_KEY": "portkey_api_key",
    "PORTKEY_BASE_URL": "portkey_base_url",
    "GATEWISE_DATA_DIR": "data_dir",
    "GATEWISE_ALLOW_UNLISTED_MODELS": "allow_unlisted_models",
    "GATEWISE_LOG_LEVEL": "log_level",
    "GATEWISE_SANDBOX_URL": "sandbox_url",
    "GATEWISE_PORTKEY_TOOLSETS": "portkey_toolsets",
    "GATEWISE_SEARCH_MODEL": "search.default_model",
    "GATEWISE_ALLOWED_HOSTS": "server.allowed_hosts",
    "GATEWISE_ALLOWED_ORIGINS": "server.allowed_origins",
    "GATEWISE_AUTH_TOKENS": "server.auth.env_tokens",
    "GATEWISE_DATABASE_URL": "storage.url",
    "GATEWISE_AUDIT_KEY_FILE": "storage.audit_key_file",
    "GATEWISE_ALLOWED_ROOTS": "media.allowed_roots",
}

# A value a client passed on without expanding it, as the MCP Inspector does with mcp.json's
# "${OPENROUTER_API_KEY:-}": read as unset, so it is never taken for a key, a path or a URL.
_PLACEHOLDER = re.compile(r"\s*\$\{[^{}]*\}\s*")
_warned_placeholders: set[str] = set()


def _is_placeholder(name: str, value: object) -> bool:
    """True for a ``${…}`` value, warned about once per name (the value is never shown: its
    default part may hold a key)."""
    if not (isinstance(value, str) and _PLACEHOLDER.fullmatch(value)):
        return False
    if name not in _warned_placeholders:
        _warned_placeholders.add(name)
        logging.getLogger(__name__).warning(
            "gatewise: %s is an unexpanded ${...} placeholder; treated as unset", name)
    return True


def _without_placeholders(data: Any, where: str) -> Any:
    """The config file's data with every ``${…}`` value left out (so its default applies)."""
    if isinstance(data, dict):
        return {k: _without_placeholders(v, f"{where}.{k}") for k, v in data.items()
                if not _is_placeholder(f"{where}.{k}", v)}
    if isinstance(data, list):
        return [_without_placeholders(v, where) for v in data if not _is_placeholder(where, v)]
    return data


def read_config_file(path: Path) -> dict[str, Any]:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        reason = f"cannot read config file {path}: {exc.strerror}"
        raise GatewiseError(ErrorCode.CONFIG_ERROR, reason) from None
    try:
        data = tomllib.loads(raw.decode()) if path.suffix.lower() == ".toml" else json.loads(raw)
        if not isinstance(data, dict):
            raise GatewiseError(ErrorCode.CONFIG_ERROR, f"config file {path} must hold an object")
        return dict(_without_placeholders(data, path.name))
    except (ValueError, UnicodeDecodeError) as exc:
        raise GatewiseError(ErrorCode.CONFIG_ERROR, f"config file {path} is not valid: {exc}") from None
    except RecursionError:
        raise GatewiseError(ErrorCode.CONFIG_ERROR, f"config file {path} is not valid: it nests "
                                                    "lists or objects too deeply") from None


def _kind(value: object) -> str:
    """What a config file's value is, in the file's own terms, for an error."""
    if value is None:
        return "null"
    kinds = {bool: "true or false", int: "a number", float: "a number", str: "a string", list: "a list"}
    return kinds.get(type(value), f"a {type(value).__name__}")


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Build Settings from the config file, the environment and explicit overrides."""
    env = os.environ if env is None else env
    env = {k: v for k, v in env.items()
           if (k in ENV_VARS or k == "GATEWISE_CONFIG") and not _is_placeholder(k, v)}
    data: dict[str, Any] = {}
    if env.get("GATEWISE_CONFIG"):
        data.update(read_config_file(Path(env["GATEWISE_CONFIG"]).expanduser()))
    for var, key in ENV_VARS.items():
        if env.get(var):
            *parents, leaf = key.split(".")
            target = data
            for depth, part in enumerate(parents, 1):
                target = target.setdefault(part, {})
                if not isinstance(target, dict):
                    where = ".".join(parents[:depth])
                    raise GatewiseError(ErrorCode.CONFIG_ERROR, (
                        f"invalid configuration at {where}: the config file makes it {_kind(target)}, "
                        f"not an object, and {var} sets {key} inside it"))
            target[leaf] = env[var]
    data.update(overrides)
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        raise GatewiseError(ErrorCode.CONFIG_ERROR, describe_validation_error(exc)) from None


def describe_validation_error(exc: ValidationError, what: str = "configuration") -> str:
    """The first problem of a pydantic error, as ``invalid <what> at <where>: <msg>``, one line."""
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first["loc"])
    extra = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    place = f" at {where}" if where else ""
    message = str(first["msg"]).removeprefix("Value error, ")
    return f"invalid {what}{place}: {message}{extra}"


def load_settings_or_exit(**overrides: Any) -> Settings:
    """For console scripts: settings, or one line on stderr and exit code 2."""
    try:
        return load_settings(**overrides)
    except GatewiseError as exc:
        print(f"gatewise: {exc.message}", file=sys.stderr)
        raise SystemExit(2) from None
