"""Compressed answers decoded a bounded piece at a time, so a size limit holds while decoding.

httpx decodes ``Content-Encoding`` a whole network read at a time, and every encoding the header
lists in a row: a 64 KiB read of gzip can hold 64 MiB of zeros, and ``gzip, gzip`` a thousand
times more. A limit that counts decoded bytes (a fetched image, an API answer) only sees them
once they are all in memory. This transport wrapper decodes the one encoding it asked for in
pieces of at most :data:`PIECE` bytes, so whoever reads the body and counts stops within a piece
of its limit, and refuses an answer encoded more than once (which no server needs) before
reading any of it.
"""

from __future__ import annotations

import zlib
from collections.abc import AsyncIterator

import httpx

PIECE = 64 * 1024
# What every client asks for: gzip and deflate, each decoded here in pieces. "identity" asks for
# the bytes as they are (a fetched image is compressed already).
ACCEPT_COMPRESSED = "gzip, deflate"
ACCEPT_IDENTITY = "identity"
_WBITS = {"gzip": zlib.MAX_WBITS | 16, "x-gzip": zlib.MAX_WBITS | 16, "deflate": zlib.MAX_WBITS}


class BoundedDecoding(httpx.AsyncBaseTransport):
    """Wraps a transport: asks for ``accept`` and hands on answers whose body is already decoded
    (no ``Content-Encoding`` left for httpx to act on), a piece at a time."""

    def __init__(self, inner: httpx.AsyncBaseTransport, *, accept: str = ACCEPT_COMPRESSED) -> None:
        self.inner = inner
        self.accept = accept

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.headers["Accept-Encoding"] = self.accept
        response = await self.inner.handle_async_request(request)
        encodings = [value.strip().lower() for value in
                     response.headers.get_list("content-encoding", split_commas=True)]
        encodings = [value for value in encodings if value and value != "identity"]
        if not encodings:
            return response
        if len(encodings) > 1 or encodings[0] not in _WBITS:
            await response.aclose()
            shown = ", ".join(value[:20] for value in encodings[:4])
            raise httpx.DecodingError(f"the answer's content-encoding is {shown!r}: only one of gzip or "
                                      "deflate is accepted", request=request)
        assert isinstance(response.stream, httpx.AsyncByteStream)  # an async transport's answer
        # The header now describes the body as it is read; its length was the encoded one.
        del response.headers["content-encoding"]
        response.headers.pop("content-length", None)
        response.stream = _Decoded(response.stream, encodings[0], request)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class _Decoded(httpx.AsyncByteStream):
    def __init__(self, raw: httpx.AsyncByteStream, encoding: str, request: httpx.Request) -> None:
        self._raw = raw
        self._encoding = encoding
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        decoder = None
        try:
            async for data in self._raw:
                if decoder is None:
                    if not data:
                        continue
                    decoder = zlib.decompressobj(_wbits(self._encoding, data))
                while not decoder.eof:
                    piece = decoder.decompress(data, PIECE)
                    data = decoder.unconsumed_tail
                    if piece:
                        yield piece
                    if not data and len(piece) < PIECE:  # all read, and nothing more held back
                        break
                if decoder.eof:
                    break  # anything after the end of the compressed stream is not the body
            rest = decoder.flush() if decoder is not None else b""
        except zlib.error as exc:
            raise httpx.DecodingError(f"the answer's {self._encoding} body is damaged: {exc}",
                                      request=self._request) from None
        if rest:
            yield rest

    async def aclose(self) -> None:
        await self._raw.aclose()


def _wbits(encoding: str, head: bytes) -> int:
    """``deflate`` is meant to be zlib-wrapped (RFC 1950), but some servers send the raw stream,
    which httpx and browsers accept too: the first two bytes tell them apart."""
    if encoding != "deflate":
        return _WBITS[encoding]
    wrapped = len(head) >= 2 and head[0] & 0x0F == 8 and (head[0] << 8 | head[1]) % 31 == 0
    return zlib.MAX_WBITS if wrapped else -zlib.MAX_WBITS
