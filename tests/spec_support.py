"""What the OpenAPI checks of both sandboxes share: the vendored specs, reading one, wrapping an
httpx answer."""

from __future__ import annotations

import copy
import functools
import gzip
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml
from openapi_core.datatypes import RequestParameters

SPECS = Path(__file__).resolve().parent / "specs"  # provenance and licences: specs/README.md
OPENROUTER_SPEC = SPECS / "openrouter-openapi.yaml.gz"
PORTKEY_SPEC = SPECS / "portkey-openapi.yaml.gz"


def load_spec(path: Path) -> dict[str, Any]:
    """The spec at ``path``, a copy each caller may change: parsing takes seconds, copying does not."""
    return copy.deepcopy(_parsed(path))


@functools.cache
def _parsed(path: Path) -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # the C parser: the specs are > 1 MB
    with gzip.open(path, "rt", encoding="utf-8") as handle:
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
