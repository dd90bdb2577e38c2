"""What the OpenAPI checks of both sandboxes share: reading a spec, wrapping an httpx answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from openapi_core.datatypes import RequestParameters


def load_spec(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser: the specs are > 1 MB
    with path.open() as handle:
        return yaml.load(handle, Loader=loader)


@dataclass
class SpecResponse:
    """An httpx answer in the shape openapi-core validates."""

    status_code: int
    data: bytes
    headers: dict[str, str]
    content_type: str

    @classmethod
    def of(cls, response: httpx.Response) -> SpecResponse:
        return cls(response.status_code, response.content, dict(response.headers),
                   response.headers.get("content-type", "").split(";")[0])


@dataclass
class SpecRequest:
    """An httpx request seen through openapi-core's request protocol, re-homed on ``host_url``."""

    method: str
    path: str
    body: bytes | None
    content_type: str
    host_url: str
    parameters: RequestParameters = field(default_factory=RequestParameters)

    @classmethod
    def of(cls, request: httpx.Request, host_url: str, *, title_case_headers: bool = False
           ) -> SpecRequest:
        """``title_case_headers`` where a spec names headers that way rather than lower-case."""
        headers = {(k.title() if title_case_headers else k): v for k, v in request.headers.items()}
        return cls(request.method.lower(), request.url.path, request.content or None,
                   request.headers.get("content-type", ""), host_url,
                   RequestParameters(query=dict(request.url.params), header=headers))
