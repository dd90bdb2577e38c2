"""Serving the sandbox: in a background thread (tests, and ``--announce`` for a parent process),
or blocking for the CLI."""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
import threading
import time
from types import FrameType, TracebackType
from typing import Any

import uvicorn

from gatewise_sandbox.app import BASE_PATH, create_app
from gatewise_sandbox.faults import FaultRule
from gatewise_sandbox.state import SandboxConfig, SandboxState

log = logging.getLogger(__name__)

START_TIMEOUT_S = 15.0
GRACEFUL_SHUTDOWN_S = 3.0


class _Server(uvicorn.Server):
    """uvicorn, but a stop request also releases requests parked in a fault's long wait."""

    def __init__(self, config: uvicorn.Config, state: SandboxState) -> None:
        super().__init__(config)
        self.sandbox = state

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.sandbox.close()
        super().handle_exit(sig, frame)


def _uvicorn_config(app: Any, host: str, port: int, access_log: bool,
                    log_level: str | None = None) -> uvicorn.Config:
    return uvicorn.Config(app, host=host, port=port, access_log=access_log, log_config=None,
                          log_level=log_level, lifespan="on",
                          # uvicorn annotates this int but waits with asyncio, which takes a float
                          timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S)  # type: ignore[arg-type]


class SandboxServer:
    """A sandbox on a free loopback port, running while the ``with`` block runs.

    ``url`` is the OpenRouter-style base (``http://127.0.0.1:PORT/api/v1``); ``root_url`` is where
    the ``/_sandbox`` admin routes live. Works with ``with`` and ``async with``.
    """

    def __init__(self, config: SandboxConfig | None = None, *, host: str = "127.0.0.1",
                 port: int = 0, access_log: bool = False) -> None:
        self.state = SandboxState(config)
        self.app = create_app(self.state)
        self.host = host
        self._port = port
        self._access_log = access_log
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._error: BaseException | None = None

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the sandbox is not running")
        return int(self._socket.getsockname()[1])

    @property
    def root_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def url(self) -> str:
        return self.root_url + BASE_PATH

    # Conveniences for tests that hold the server object (same effect as the admin routes).
    def set_fault(self, model: str, rule: FaultRule) -> None:
        self.state.faults.set(model, rule)

    def clear_faults(self) -> None:
        self.state.faults.clear()

    def stats(self) -> dict[str, Any]:
        return self.state.stats()

    def reset(self, seed: int | None = None) -> None:
        self.state.reset(seed)

    def start(self) -> SandboxServer:
        if self._thread is not None:
            raise RuntimeError("the sandbox is already running")
        # Bind first, so the port is known and connections queue up before uvicorn serves them.
        sock = _bound_socket(self.host, self._port)
        sock.set_inheritable(True)
        self._socket = sock
        # Embedded in a server or a test: its start/stop lines would only be noise.
        config = _uvicorn_config(self.app, self.host, self.port, self._access_log, "warning")
        self._server = _Server(config, self.state)
        self._thread = threading.Thread(target=self._run, name="gatewise-sandbox", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                self.stop()
                raise RuntimeError(f"the sandbox failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the sandbox did not start in time")
            time.sleep(0.005)
        return self

    def _run(self) -> None:
        assert self._server is not None and self._socket is not None
        try:
            asyncio.run(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # reported to the starting thread
            self._error = exc

    def stop(self) -> None:
        server, thread = self._server, self._thread
        if server is not None:
            self.state.close()
            server.should_exit = True
        if thread is not None:
            thread.join(GRACEFUL_SHUTDOWN_S + 5.0)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    async def __aenter__(self) -> SandboxServer:
        return await asyncio.to_thread(self.start)

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        await asyncio.to_thread(self.stop)


def _bound_socket(host: str, port: int) -> socket.socket:
    # IPPROTO_TCP explicitly: asyncio turns Nagle off only on sockets that name it, and with
    # Nagle on, each small answer waits ~40 ms for a delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def serve(host: str = "127.0.0.1", port: int = 8799, config: SandboxConfig | None = None, *,
          access_log: bool = False) -> None:
    """Run the sandbox in the foreground until Ctrl+C or SIGTERM; logs go to stderr. The port is
    bound before the address is printed: a port in use is one line and exit code 2."""
    if not logging.getLogger().handlers:
        logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                            format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        sock = _bound_socket(host, port)
    except OSError as exc:
        print(f"gatewise sandbox: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
        raise SystemExit(2) from None
    state = SandboxState(config)
    server = _Server(_uvicorn_config(create_app(state), host, sock.getsockname()[1], access_log), state)
    with sock:
        sock.listen(2048)  # connections queue from here on, so the line below is true
        print(f"gatewise sandbox (a stand-in for OpenRouter) listening on "
              f"http://{host}:{sock.getsockname()[1]}{BASE_PATH}", file=sys.stderr)
        server.run(sockets=[sock])
