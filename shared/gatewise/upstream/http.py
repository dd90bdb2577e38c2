"""A pooled, retrying JSON-over-HTTP client shared by every upstream.

One ``httpx.AsyncClient`` per upstream (connection pooling), connect/read timeouts, an overall
deadline per call, and retries with capped exponential backoff and full jitter on connection
errors, 408, 429 and 5xx — honouring ``Retry-After``. Other 4xx answers are final. Every failure
leaves as a :class:`~gatewise.errors.GatewiseError`.
"""

from __future__ import annotations

import asyncio
import email.utils
import functools
import json as jsonlib
import logging
import math
import random
import ssl
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import httpx
import pydantic_core

from gatewise.config import Limits
from gatewise.errors import ErrorCode, GatewiseError, error_from_response
from gatewise.redact import remember, scrub
from gatewise.upstream.decoding import ACCEPT_COMPRESSED, BoundedDecoding
from gatewise.upstream.pool import ShardedTransport
from gatewise.upstream.sse import iter_sse_json

log = logging.getLogger(__name__)

# Per-request INFO lines from httpx would cost time on the hot path and may show URLs.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 520, 522, 524, 529})
# A JSON body is sent as bytes made once (pydantic_core writes them several times faster than the
# json module httpx would use); its type goes with it, and a caller's own type still wins.
_JSON_TYPE = {"Content-Type": "application/json"}
_KEPT_URLS = 32  # parsed paths kept per client
# The longest wait an upstream's Retry-After is taken at (a day); a rate-limited model's cool-down
# lasts as long, so "1e20" must not take it out of every route for good.
MAX_RETRY_AFTER_S = 86400.0
_URL_TOO_LONG_HINT = ("Shorten the arguments that go into the URL (ids, filters, search terms): "
                      "a URL is limited to 64 KB.")
_SIZE_HINT = "limits.max_response_bytes sets the bound."


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` as seconds: either delta-seconds or an HTTP date, at most
    MAX_RETRY_AFTER_S. What is not a finite number ("nan", "inf", "1e400") counts as absent:
    a pause of NaN seconds neither ends nor compares with any cap."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, OverflowError):
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if not math.isfinite(seconds):
        return None
    return min(max(seconds, 0.0), MAX_RETRY_AFTER_S)


@functools.cache
def tls_context() -> ssl.SSLContext:
    """The verifying TLS context every client of this process shares: building one loads the CA
    bundle (about 0.15 s), which each new client would otherwise pay again."""
    return httpx.create_ssl_context()


def guarded_transport(*, accept: str = ACCEPT_COMPRESSED, **options: Any) -> BoundedDecoding:
    """A connection pool for a client of its own (``options`` are httpx.AsyncHTTPTransport's),
    verifying with the shared TLS context, whose answers are decoded in bounded pieces (see
    :mod:`gatewise.upstream.decoding`). Every client of this package is built on one."""
    return BoundedDecoding(httpx.AsyncHTTPTransport(verify=tls_context(), **options), accept=accept)


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int = 2
    backoff_base_s: float = 0.25
    backoff_max_s: float = 8.0
    retry_after_cap_s: float = 30.0

    @classmethod
    def from_limits(cls, limits: Limits) -> RetryPolicy:
        return cls(limits.max_retries, limits.backoff_base_s, limits.backoff_max_s,
                   limits.retry_after_cap_s)

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        """Pause before retry number ``attempt`` (0-based); the server's word wins when given."""
        if retry_after is not None:
            return min(retry_after, self.retry_after_cap_s)
        ceiling = min(self.backoff_max_s, self.backoff_base_s * (2**attempt))
        return rng.uniform(0, ceiling)  # full jitter: spreads retries of many callers


@dataclass(frozen=True)
class Response:
    status: int
    body: Any
    headers: httpx.Headers
    elapsed_ms: float


class HttpUpstream:
    """Base client: subclasses add the endpoints of one API."""

    name = "upstream"
    # Hints, by code, for the failures the client meets itself (no answer, an unusable one, too
    # slow) where the taxonomy's, which speak of models to route to, do not fit the API.
    hints: ClassVar[Mapping[ErrorCode, str]] = {}

    def __init__(
        self,
        base_url: str,
        *,
        limits: Limits,
        headers: Mapping[str, str] | None = None,
        secrets: tuple[str, ...] = (),
        transport: httpx.AsyncBaseTransport | None = None,
        max_response_bytes: int | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.limits = limits
        self.max_response_bytes = max_response_bytes or limits.max_response_bytes
        self.retry = RetryPolicy.from_limits(limits)
        self._secrets = secrets
        remember(secrets)  # every exit's scrubber then knows the keys this client sends
        self._rng = random.Random()
        self._headers = dict(headers or {})
        self._transport = transport
        # The timeouts of a request with more time left than either limit (most of them), made once.
        self._full_timeout = httpx.Timeout(limits.read_timeout_s, connect=limits.connect_timeout_s)
        # Full URLs of the paths called, parsed once: httpx parses and joins a path on every call.
        self._urls: dict[str, httpx.URL] = {}
        # The header lines of a JSON request to each path but its Content-Length, as httpx
        # writes them: it merges, checks and encodes every header again on each call.
        self._json_heads: dict[tuple[str, str], list[tuple[bytes, bytes]]] = {}

    @functools.cached_property
    def _client(self) -> httpx.AsyncClient:
        """Made on first use: its TLS context loads the CA bundle, which a server need not wait
        for before it answers tools/list."""
        limits = self.limits
        transport = BoundedDecoding(self._transport or ShardedTransport(limits.max_connections,
                                                                        verify=tls_context()))
        return httpx.AsyncClient(
            base_url=self.base_url,
            headers=self._headers,
            timeout=self._full_timeout,
            limits=httpx.Limits(max_connections=limits.max_connections,
                                max_keepalive_connections=limits.max_connections),
            transport=transport,
            verify=tls_context(),
        )

    async def aclose(self) -> None:
        if "_client" in self.__dict__:  # made, see _client
            await self._client.aclose()

    async def __aenter__(self) -> HttpUpstream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def _deadline(self, timeout_s: float | None) -> float:
        return time.monotonic() + (timeout_s if timeout_s is not None else self.limits.deadline_s)

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
        retries: int | None = None,
        retry_on: frozenset[int] | None = None,
        resend_if_lost: bool = True,
    ) -> Response:
        """Send one request with retries; return the 2xx answer or raise GatewiseError.

        ``retry_on`` narrows the statuses worth a retry (a failed connect, which sent nothing,
        always is); ``resend_if_lost=False`` keeps a request whose connection was lost after it
        was sent from going again (a write that may have been applied).
        """
        deadline = self._deadline(timeout_s)
        max_retries = self.retry.max_retries if retries is None else retries
        content = None
        if json is not None:  # written once, the same bytes for every retry
            content = _json_body(json)
            headers = _JSON_TYPE if headers is None else {**_JSON_TYPE, **headers}
        attempt = 0
        while True:
            try:
                return await self._send_once(method, path, content, params, headers, deadline)
            except GatewiseError as exc:
                if attempt >= max_retries \
                        or not _worth_retrying(exc, retry_on or RETRY_STATUSES, resend_if_lost):
                    raise
                pause = self.retry.delay(attempt, exc.retry_after, self._rng)
                if exc.retry_after is not None and exc.retry_after > self.retry.retry_after_cap_s:
                    raise  # the upstream asks for a longer wait than we are willing to hold
                if time.monotonic() + pause >= deadline:
                    raise
                log.debug("%s %s failed with %s; retry %d in %.2fs", self.name, path, exc.code,
                          attempt + 1, pause)
                await asyncio.sleep(pause)
                attempt += 1

    async def _send_once(
        self,
        method: str,
        path: str,
        content: bytes | None,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        deadline: float,
    ) -> Response:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise self._timeout_error(path)
        read_s, connect_s = self.limits.read_timeout_s, self.limits.connect_timeout_s
        timeout = self._full_timeout if remaining >= max(read_s, connect_s) \
            else httpx.Timeout(min(read_s, remaining), connect=min(connect_s, remaining))
        started = time.perf_counter()
        try:
            # httpx times each read on its own, so a body that drips a byte at a time would
            # never trip it; the deadline bounds the whole exchange.
            async with asyncio.timeout(remaining):
                reply = await self._client.send(self._build(method, path, content, params, headers, timeout),
                                                stream=True)
                try:
                    raw = await self._read(reply)
                finally:
                    await reply.aclose()
        except httpx.TimeoutException as exc:
            raise self._timeout_error(path, connect=isinstance(exc, httpx.ConnectTimeout)) from None
        except TimeoutError:
            raise self._timeout_error(path) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._request_error(exc) from None
        elapsed_ms = (time.perf_counter() - started) * 1000
        body = _json_or_text(raw, reply.charset_encoding)
        if reply.is_success:
            return Response(reply.status_code, body, reply.headers, elapsed_ms)
        raise self._status_error(reply.status_code, body, reply.headers)

    async def stream(
        self,
        path: str,
        *,
        json: Any,
        headers: Mapping[str, str] | None = None,
        timeout_s: float | None = None,
    ) -> AsyncIterator[dict[str, Any]]:
        """POST and yield the JSON events of an SSE answer (comments skipped).

        Errors before the first byte of the body are mapped like :meth:`request`; connection
        problems are retried only before the stream starts, never mid-stream.
        """
        deadline = self._deadline(timeout_s)
        timeout = self._full_timeout
        try:
            async with self._client.stream("POST", path, json=json, headers=headers,
                                           timeout=timeout) as reply:
                if not reply.is_success:
                    raw = await self._read(reply)
                    raise self._status_error(reply.status_code, _json_or_text(raw, reply.charset_encoding),
                                             reply.headers)
                async for event in iter_sse_json(self._lines(reply)):
                    if time.monotonic() > deadline:
                        raise self._timeout_error(path)
                    yield event
        except httpx.TimeoutException:
            raise self._timeout_error(path) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise self._request_error(exc) from None

    # How this upstream's error bodies map to the taxonomy; an API with its own codes swaps it.
    error_from_response = staticmethod(error_from_response)

    def _url(self, path: str) -> httpx.URL:
        """``path`` joined to the base URL as httpx joins it. The first paths a client calls are
        kept (its endpoints); a bounded number, since some paths carry ids."""
        url = self._urls.get(path)
        if url is None:
            url = self._client.build_request("GET", path).url
            if len(self._urls) < _KEPT_URLS:
                self._urls[path] = url
        return url

    def _build(self, method: str, path: str, content: bytes | None, params: Mapping[str, Any] | None,
               headers: Mapping[str, str] | None, timeout: httpx.Timeout) -> httpx.Request:
        """The request httpx's ``build_request`` makes. A JSON body with no headers or query of
        the caller's own (every chat call) gets the header lines kept for its path, with its
        length; anything else, or a client holding cookies to send, is built by httpx."""
        url = self._url(path)
        extensions = {"timeout": timeout.as_dict()}
        if headers is not _JSON_TYPE or params is not None or not content or self._client.cookies:
            return self._client.build_request(method, url, content=content, params=params,
                                              headers=headers, extensions=extensions)
        head = self._json_heads.get((method, path))
        if head is None:
            # httpx puts the length it works out from the body last.
            head = self._client.build_request(method, url, content=b"-", headers=headers).headers.raw[:-1]
            if len(self._json_heads) < _KEPT_URLS:
                self._json_heads[(method, path)] = head
        length = (b"Content-Length", str(len(content)).encode())
        request = httpx.Request(method, url, headers=httpx.Headers([*head, length]),
                                stream=httpx.ByteStream(content), extensions=extensions)
        request.read()  # its body at hand as httpx's own requests have it (request.content)
        return request

    async def _lines(self, reply: httpx.Response) -> AsyncIterator[str]:
        """A streamed answer's lines, refused once the stream passes ``max_response_bytes`` in
        all: a line that never ends, or a stream that never stops, is not held in memory."""
        line = bytearray()

        def cut_off() -> GatewiseError:
            return GatewiseError(ErrorCode.UPSTREAM_ERROR, f"{self.name}'s streamed answer passed "
                                 f"{self.max_response_bytes:,} bytes; it was cut off", hint=_SIZE_HINT)

        async for chunk in self._within_limit(reply, cut_off):
            start = 0
            while (end := chunk.find(b"\n", start)) != -1:
                line += chunk[start:end]
                yield line.decode("utf-8", "replace")
                line.clear()
                start = end + 1
            line += chunk[start:]
        if line:
            yield line.decode("utf-8", "replace")

    async def _read(self, reply: httpx.Response) -> bytes:
        """The answer's body, decoded, refused past ``max_response_bytes`` as soon as that is
        known (from Content-Length, or while reading) rather than held whole."""
        def too_large() -> GatewiseError:
            return GatewiseError(ErrorCode.UPSTREAM_ERROR, f"{self.name} answered HTTP {reply.status_code} "
                                 f"with a body over {self.max_response_bytes:,} bytes; it was not read",
                                 hint=_SIZE_HINT)

        declared = reply.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_response_bytes:
            raise too_large()
        return b"".join([chunk async for chunk in self._within_limit(reply, too_large)])

    async def _within_limit(self, reply: httpx.Response,
                            exceeded: Callable[[], GatewiseError]) -> AsyncIterator[bytes]:
        """The body's chunks, decoded; ``exceeded()`` is raised once they pass ``max_response_bytes``
        (the error is made only then: most answers are within the bound)."""
        size = 0
        async for chunk in reply.aiter_bytes():
            size += len(chunk)
            if size > self.max_response_bytes:
                raise exceeded()
            yield chunk

    def _status_error(self, status: int, body: Any, headers: httpx.Headers) -> GatewiseError:
        err = self.error_from_response(status, body, provider=self.name,
                                       retry_after=parse_retry_after(headers.get("retry-after")))
        err.message = scrub(err.message, self._secrets)
        return err

    def _timeout_error(self, path: str, *, connect: bool = False) -> GatewiseError:
        what = "connecting to" if connect else "waiting for"
        return GatewiseError(ErrorCode.UPSTREAM_TIMEOUT, f"timed out {what} {self.name} ({path})",
                             hint=self.hints.get(ErrorCode.UPSTREAM_TIMEOUT), details={"connect": connect})

    def _request_error(self, exc: httpx.HTTPError | httpx.InvalidURL) -> GatewiseError:
        """A call that got no usable answer. Only connection trouble is worth a retry: a request
        httpx refuses to send was built from the caller's arguments (an over-long or malformed
        URL or header) and would fail the same way again."""
        reason = scrub(str(exc) or type(exc).__name__, self._secrets)[:300]
        if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol | httpx.LocalProtocolError):
            if "too long" in reason:
                return GatewiseError(ErrorCode.TOO_LARGE, f"the request to {self.name} is too large "
                                     f"to send: {reason}", hint=_URL_TOO_LONG_HINT)
            return GatewiseError(ErrorCode.INVALID_INPUT,
                                 f"the request to {self.name} could not be sent: {reason}")
        if isinstance(exc, httpx.TransportError):
            # A failed connect sent nothing; a connection lost later may have delivered the request.
            sent = "connect" if isinstance(exc, httpx.ConnectError) else "connection"
            return GatewiseError(ErrorCode.UPSTREAM_ERROR, f"could not reach {self.name}: {reason}",
                                 hint=self.hints.get(ErrorCode.UPSTREAM_ERROR), details={sent: True})
        # An answer that could not be decoded, or a redirect loop.
        return GatewiseError(ErrorCode.UPSTREAM_ERROR, f"{self.name} answered unusably: {reason}",
                             hint=self.hints.get(ErrorCode.UPSTREAM_ERROR))


def _worth_retrying(exc: GatewiseError, statuses: frozenset[int], resend_if_lost: bool) -> bool:
    if exc.details.get("connect"):
        return True  # the request never reached the upstream: always safe to send again
    if exc.details.get("connection"):
        return resend_if_lost  # lost after it may have been delivered
    return exc.status in statuses


def _json_body(value: Any) -> bytes:
    try:
        body = pydantic_core.to_json(value)
    except pydantic_core.PydanticSerializationError:
        pass  # nested deeper than pydantic_core writes: the json module goes further
    else:  # it writes NaN and Infinity, which are not JSON: the json module refuses them
        if b"NaN" not in body and b"Infinity" not in body:
            return body
    try:  # the bytes httpx itself would send
        return jsonlib.dumps(value, ensure_ascii=False, separators=(",", ":"),
                             allow_nan=False).encode()
    except (ValueError, TypeError, RecursionError):
        raise GatewiseError(ErrorCode.INVALID_INPUT,
                            "The request cannot be written as JSON: it is nested too deeply or "
                            "holds a value JSON has no form for.") from None


def _json_or_text(raw: bytes, charset: str | None) -> Any:
    try:  # UTF-8 JSON, as every upstream sends, parsed about twice as fast as by the json module
        return pydantic_core.from_json(raw)
    except ValueError:
        pass
    try:  # what only the json module reads (UTF-16 or -32, a byte-order mark, huge numbers)
        return jsonlib.loads(raw)
    except (ValueError, RecursionError):  # not JSON, or nested deeper than it reads
        pass
    head = raw[:8000]
    try:
        return head.decode(charset or "utf-8", errors="replace")[:2000]
    except LookupError:  # a charset Python does not know
        return head.decode("utf-8", errors="replace")[:2000]
