"""The local sandbox upstream, run as a child process and reached only through its URL.

The stand-in for OpenRouter and Portkey ships beside gatewise as its own package, and gatewise
never imports it: with no key configured, a server runs ``python -m gatewise_sandbox --port 0
--announce`` and reads the API URL the child prints once it listens. The child stops when its
stdin closes, so it ends with this process even if this process is killed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
from types import FrameType, TracebackType

from gatewise.errors import ErrorCode, GatewiseError

MODULE = "gatewise_sandbox"
API_PATH = "/api/v1"  # the sandbox's OpenRouter-style base; its Portkey stand-in is under /v1
# The Portkey key sent to a sandbox, which takes any key as an organisation admin key (apart from
# its test prefixes pk-bad… and pk-ws…). Not a secret.
PORTKEY_KEY = "pk-sandbox-admin-key"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 5.0


def run_in_foreground(args: list[str]) -> None:
    """``gatewise sandbox ARGS``: become the sandbox process (signals then reach it directly, and
    no child is left behind), or, where a process cannot be replaced, run it as a child."""
    command = [sys.executable, "-m", MODULE, *args]
    if os.name == "posix":
        os.execv(sys.executable, command)
    raise SystemExit(run_as_child(command))


class _Stopped(Exception):
    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum


def run_as_child(command: list[str]) -> int:
    """Run ``command`` until it ends or this process is told to stop: SIGINT and SIGTERM are
    passed on to it, and a child still running STOP_TIMEOUT_S later is killed, so it never
    outlives this process holding its port. Its exit code (128 + the signal's number when a
    signal ended it, as a shell reports it)."""
    def stop(signum: int, frame: FrameType | None) -> None:
        raise _Stopped(signum)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    proc = None
    try:
        proc = subprocess.Popen(command)
        return _exit_code(proc.wait())
    except _Stopped as stopped:
        if proc is None:
            return 128 + stopped.signum
        for sig in previous:  # a second signal must not cut the wait short and leave the child
            signal.signal(sig, signal.SIG_IGN)
        proc.send_signal(stopped.signum)
        try:
            return _exit_code(proc.wait(STOP_TIMEOUT_S))
        except subprocess.TimeoutExpired:
            proc.kill()
            return _exit_code(proc.wait())
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _exit_code(returncode: int) -> int:
    return 128 - returncode if returncode < 0 else returncode  # -15 (SIGTERM) → 143


class SandboxProcess:
    """A sandbox on a free loopback port while the ``with`` / ``async with`` block runs."""

    def __init__(self) -> None:
        self._proc: subprocess.Popen[str] | None = None
        self.url = ""

    @property
    def root_url(self) -> str:
        """Where the ``/_sandbox`` admin routes and the Portkey stand-in (``/v1``) live."""
        return self.url.removesuffix(API_PATH)

    def start(self) -> SandboxProcess:
        proc = subprocess.Popen([sys.executable, "-m", MODULE, "--port", "0", "--announce"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        # A child that hangs before announcing is killed, which ends the read below.
        watchdog = threading.Timer(START_TIMEOUT_S, proc.kill)
        watchdog.start()
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline().strip()
        finally:
            watchdog.cancel()
        if not line.startswith("http"):
            _stop(proc)
            raise GatewiseError(ErrorCode.UPSTREAM_ERROR, "the local sandbox did not start",
                                hint="Set OPENROUTER_API_KEY, or point GATEWISE_SANDBOX_URL at a running "
                                     "`gatewise sandbox`.")
        proc.stdout.close()
        self._proc, self.url = proc, line
        return self

    def stop(self) -> None:
        if self._proc is not None:
            _stop(self._proc)
            self._proc = None

    def __enter__(self) -> SandboxProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    async def __aenter__(self) -> SandboxProcess:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await asyncio.to_thread(self.stop)


def _stop(proc: subprocess.Popen[str]) -> None:
    if proc.stdin is not None:
        proc.stdin.close()  # the child's signal to stop
    try:
        proc.wait(STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
