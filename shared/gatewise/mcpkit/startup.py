"""A server process's start-up: its imports build hundreds of thousands of objects (modules,
classes, schemas) that live as long as the process. The cyclic garbage collector, left running,
walks them again and again while they load, for none to free: about a sixth of a server's
start-up CPU, measured with ``bench/startup.py``."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def loading() -> Iterator[None]:
    """Run a server's imports with the collector paused, then move what they built out of its
    sight (``gc.freeze``), so that no later collection walks it either."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
