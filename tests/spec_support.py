"""What the OpenAPI checks of both sandboxes share: reading a spec, wrapping an httpx answer."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml


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
