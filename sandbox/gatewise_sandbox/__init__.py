"""A local stand-in for the OpenRouter HTTP API, with fault injection.

Speaks OpenRouter's wire protocol under ``/api/v1`` with deterministic answers, priced from the
model catalogue, so every server, test and benchmark runs with no key and no network; and it can
be told to fail (statuses, latency, timeouts, mid-stream errors) to exercise retries and routing.
"""

from gatewise_sandbox.app import BASE_PATH, create_app
from gatewise_sandbox.faults import Fault, FaultRule, parse_fault_header
from gatewise_sandbox.runner import SandboxServer, serve
from gatewise_sandbox.state import SandboxConfig, SandboxState

__all__ = [
    "BASE_PATH",
    "Fault",
    "FaultRule",
    "SandboxConfig",
    "SandboxServer",
    "SandboxState",
    "create_app",
    "parse_fault_header",
    "serve",
]
