"""The Portkey Admin (control-plane) API: client, endpoint catalogue, local validation, masking."""

from gatewise.portkey.admin import PortkeyAdmin, resolve_target
from gatewise.portkey.client import PortkeyAdminClient
from gatewise.portkey.validate import validate_config, validate_guardrail

__all__ = ["PortkeyAdmin", "PortkeyAdminClient", "resolve_target", "validate_config", "validate_guardrail"]
