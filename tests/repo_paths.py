"""Where tests find the repository's files, wherever in ``tests/`` the test itself lives."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent
BENCH = REPO / "bench"
CONTRACTS = TESTS / "contract"  # tools/list snapshots, one per server


def load_bench(name: str) -> ModuleType:
    """``bench/<name>.py`` imported as module ``name`` (the bench scripts are not a package)."""
    spec = importlib.util.spec_from_file_location(name, BENCH / f"{name}.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module
