"""Bytes on the stdio wire, moved on the event loop when it can wait on the descriptor.

A client that spawns a server talks over pipes or sockets: those are read when the loop sees
them readable, and a pipe is written in pieces it has room for, so a message costs no trip to a
worker thread (two or three per call otherwise, the larger part of what stdio adds). Any other
descriptor (a file, a terminal) cannot be waited on, and is read and written in a worker thread.
"""

from __future__ import annotations

import os
import select
import stat

import anyio

_CHUNK = 1 << 16


def _mode(fd: int) -> int:
    return os.fstat(fd).st_mode if os.name == "posix" else 0  # Windows loops cannot wait on pipes


class LineReader:
    """Lines off a descriptor, each bounded; nothing is read beyond a line and one chunk."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        mode = _mode(fd)
        self._polled = stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)
        self._buffer = bytearray()
        self._scanned = 0  # where the next search for a newline starts
        self._ended = False

    async def readline(self, limit: int) -> bytes:
        """Up to ``limit`` bytes, ending at the first newline; ``b""`` once the input has ended."""
        while True:
            end = self._buffer.find(b"\n", self._scanned, limit)
            if end >= 0 or len(self._buffer) >= limit or self._ended:
                size = end + 1 if end >= 0 else min(limit, len(self._buffer))
                line = bytes(self._buffer[:size])
                del self._buffer[:size]
                self._scanned = 0
                return line
            self._scanned = len(self._buffer)
            chunk = await self._read()
            self._ended = not chunk
            self._buffer += chunk

    async def _read(self) -> bytes:
        if self._polled:
            await anyio.wait_readable(self._fd)  # readable: the read returns without waiting
            return os.read(self._fd, _CHUNK)
        return await anyio.to_thread.run_sync(os.read, self._fd, _CHUNK)


class FrameWriter:
    """Whole frames onto a descriptor, one after another."""

    def __init__(self, fd: int) -> None:
        self._fd = fd
        self._room: select.poll | None = None
        if stat.S_ISFIFO(_mode(fd)):
            self._room = select.poll()  # asks whether the pipe has room, sparing a loop pass
            self._room.register(fd, select.POLLOUT)

    async def write(self, frame: bytes) -> None:
        if self._room is None:
            await anyio.to_thread.run_sync(_write_all, self._fd, frame)
            return
        # A pipe that polls writable takes PIPE_BUF bytes without blocking, so no write here
        # holds up the loop while the client is slow to read.
        view = memoryview(frame)
        while view:
            if not self._room.poll(0):
                await anyio.wait_writable(self._fd)
            view = view[os.write(self._fd, view[:select.PIPE_BUF]):]


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
