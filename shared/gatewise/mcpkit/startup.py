"""A server process's start-up: its imports build hundreds of thousands of objects (modules,
classes, schemas) that live as long as the process. The cyclic garbage collector, left running,
walks them again and again while they load, for none to free: about a sixth of a server's
start-up CPU, measured with ``bench/startup.py``.

httpx's package also imports its command-line interface (click, rich and pygments: about 30 ms
of CPU) whenever those happen to be installed, which a server never runs."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# Marked absent in sys.modules while a server loads, httpx falls back to a stub ``main``.
_HTTPX_CLI = "httpx._main"


@contextmanager
def loading() -> Iterator[None]:
    """Run a server's imports with the collector paused, then move what they built out of its
    sight (``gc.freeze``), so that no later collection walks it either; and without httpx's
    command-line interface."""
    enabled = gc.isenabled()
    gc.disable()
    skip_cli = _HTTPX_CLI not in sys.modules
    if skip_cli:
        sys.modules[_HTTPX_CLI] = None  # type: ignore[assignment]  # None: "not importable"
    try:
        yield
    finally:
        if skip_cli and sys.modules.get(_HTTPX_CLI, ...) is None:
            del sys.modules[_HTTPX_CLI]  # an explicit import later still finds it
        gc.freeze()
        if enabled:
            gc.enable()
