"""Lines read and frames written on the stdio wire, over a pipe (the event loop waits on it) and
over a regular file (a worker thread does the reading and writing)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import anyio
import pytest

from gatewise.mcpkit.stdio_wire import FrameWriter, LineReader

INPUT = b'{"a": 1}\n\n' + b"x" * 100_000 + b"\n" + b"y" * 30 + b"\nno newline at the end"
Source = Callable[[bytes], int]


@pytest.fixture(params=["pipe", "file"])
def source(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Source]:
    """A descriptor to read ``data`` from, fed in small pieces when it is a pipe."""
    opened: list[int] = []

    def open_with(data: bytes) -> int:
        if request.param == "file":
            (tmp_path / "in").write_bytes(data)
            opened.append(os.open(tmp_path / "in", os.O_RDONLY))
            return opened[-1]
        read_end, write_end = os.pipe()
        opened.append(read_end)
        threading.Thread(target=_feed, args=(write_end, data), daemon=True).start()
        return read_end

    yield open_with
    for fd in opened:
        os.close(fd)


def _feed(fd: int, data: bytes) -> None:
    with os.fdopen(fd, "wb", buffering=0) as pipe:
        for start in range(0, len(data), 7_000):
            pipe.write(data[start:start + 7_000])


async def test_lines_come_whole_bounded_and_in_order(source: Source) -> None:
    reader = LineReader(source(INPUT))
    lines = [await reader.readline(50_000) for _ in range(8)]
    assert lines == [b'{"a": 1}\n', b"\n", b"x" * 50_000, b"x" * 50_000, b"\n", b"y" * 30 + b"\n",
                     b"no newline at the end", b""]


async def test_a_line_is_cut_at_the_limit_when_its_newline_lies_beyond(source: Source) -> None:
    reader = LineReader(source(b"abcdef\nrest\n"))
    assert [await reader.readline(6) for _ in range(4)] == [b"abcdef", b"\n", b"rest\n", b""]


@pytest.mark.parametrize("kind", ["pipe", "file"])
async def test_frames_arrive_whole_and_in_order(kind: str, tmp_path: Path) -> None:
    frames = [b'{"n": %d, "pad": "%s"}\n' % (n, b"p" * size)
              for n, size in enumerate([0, 5_000, 300_000, 10])]
    if kind == "file":
        fd = os.open(tmp_path / "out", os.O_WRONLY | os.O_CREAT)
        for frame in frames:
            await FrameWriter(fd).write(frame)
        os.close(fd)
        assert (tmp_path / "out").read_bytes() == b"".join(frames)
        return
    read_end, write_end = os.pipe()
    received: list[bytes] = []
    # Read as a client does, while the writer runs: the large frame outgrows the pipe's buffer.
    drain = threading.Thread(target=_drain, args=(read_end, received))
    drain.start()
    writer = FrameWriter(write_end)
    for frame in frames:
        await writer.write(frame)
    os.close(write_end)
    drain.join(timeout=30)
    assert received == [b"".join(frames)]


def _drain(fd: int, into: list[bytes]) -> None:
    with os.fdopen(fd, "rb") as pipe:
        into.append(pipe.read())


async def test_a_pipe_the_client_does_not_read_holds_up_the_writer_alone() -> None:
    # The frame outgrows the pipe's buffer while nobody reads: the writer must wait on the loop,
    # not in a write that blocks it, so the loop's other tasks run while the frame is unfinished.
    read_end, write_end = os.pipe()
    loop_ran = threading.Event()
    drain_waited_for_the_loop: list[bool] = []
    received: list[bytes] = []

    def drain_once_the_loop_has_run() -> None:
        # A blocked loop never sets the event: the drain then starts anyway, so nothing hangs.
        drain_waited_for_the_loop.append(loop_ran.wait(timeout=30))
        _drain(read_end, received)

    drain = threading.Thread(target=drain_once_the_loop_has_run)
    drain.start()
    frame = b"x" * 300_000 + b"\n"
    written: list[bool] = []

    async def write() -> None:
        await FrameWriter(write_end).write(frame)
        written.append(True)

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(write)
        await anyio.sleep(0)  # the writer fills the pipe, then waits for room
        unfinished_when_the_loop_ran = not written
        loop_ran.set()
    os.close(write_end)
    drain.join(timeout=30)
    assert unfinished_when_the_loop_ran and drain_waited_for_the_loop == [True]
    assert received == [frame]
