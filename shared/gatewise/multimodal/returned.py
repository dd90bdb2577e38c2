"""Images a model returns, checked as strictly as the images a caller sends before anyone sees them.

An answer's ``message.images`` is upstream content: an inline image must declare an image type,
fit media.max_input_bytes and decode in full (PNG, JPEG, WebP or GIF) within the pixel limits and
the per-call decode budget; a link must pass the URL policy, and is handed on, never fetched here.
Everything else is dropped, and one warning says how many and why.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from gatewise.config import MediaConfig
from gatewise.errors import ErrorCode, GatewiseError, quoted
from gatewise.media.urls import link_refusal
from gatewise.multimodal.images import decode_data_url, in_decoders, is_data_url

if TYPE_CHECKING:
    from gatewise.media.image import ImageHeader

_REFUSALS = {ErrorCode.TOO_LARGE: "too large to decode (media.max_pixels or media.max_call_pixels)",
             ErrorCode.UNSUPPORTED_FORMAT: "not a whole PNG, JPEG, WebP or GIF image"}
_NO_URL = "no URL"
# A generation returns a few images; past this many, each would cost a decode for nothing.
MAX_RETURNED_IMAGES = 16
_PAST_THE_CAP = f"past the first {MAX_RETURNED_IMAGES}"


@dataclass
class ReturnedImages:
    images: list[tuple[str, bytes]] = field(default_factory=list)  # (MIME type read from the bytes, bytes)
    links: list[str] = field(default_factory=list)  # http(s) links that pass the URL policy
    dropped: Counter[str] = field(default_factory=Counter)  # why, and how many

    def warnings(self) -> list[str]:
        if not self.dropped:
            return []
        total = len(self.images) + len(self.links) + sum(self.dropped.values())
        why = "; ".join(f"{reason} ({count})" for reason, count in self.dropped.most_common())
        return [f"Dropped {sum(self.dropped.values())} of the {total} images the model returned: {why}."]


def image_urls(message: Mapping[str, Any]) -> list[Any]:
    """The URL of every entry of an answer's ``images`` (anything the upstream put there)."""
    urls = []
    for item in message.get("images") or []:
        holder = item.get("image_url") if isinstance(item, dict) else None
        urls.append(holder.get("url") if isinstance(holder, dict) else None)
    return urls


async def check_returned_images(message: Mapping[str, Any], media: MediaConfig) -> ReturnedImages:
    """Sort an answer's images into inline images, links and dropped ones (see the module)."""
    out = ReturnedImages()
    decoded: list[ImageHeader] = []  # the answer's images decoded so far, for the per-call budget
    for index, url in enumerate(image_urls(message)):
        if index >= MAX_RETURNED_IMAGES:
            out.dropped[_PAST_THE_CAP] += 1
        elif not isinstance(url, str) or not url:
            out.dropped[_NO_URL] += 1
        elif is_data_url(url):
            checked = await _inline(url, media, decoded, f"returned image {index + 1}")
            if isinstance(checked, str):
                out.dropped[checked] += 1
            else:
                out.images.append(checked)
        elif (refusal := link_refusal(url)) is not None:
            out.dropped[refusal] += 1
        else:
            out.links.append(url)
    return out


async def _inline(url: str, media: MediaConfig, decoded: list[ImageHeader], label: str
                  ) -> tuple[str, bytes] | str:
    """(MIME type, bytes) of an inline image that passes every check, or why it does not."""
    # Imported with the first answer that holds an image rather than at start-up: it loads Pillow.
    from gatewise.media.image import verify_image

    try:
        raw = decode_data_url(url)
    except GatewiseError:
        return "a malformed data: URL"
    if not (raw.mime_type or "").startswith("image/"):
        return f"declared {quoted(raw.mime_type or '')}, not an image type"
    if len(raw.data) > media.max_input_bytes:
        return f"larger than {media.max_input_bytes:,} bytes (media.max_input_bytes)"
    try:
        mime = await in_decoders(media, verify_image, raw.data, media, decoded, source=label)
    except GatewiseError as exc:
        return _REFUSALS.get(exc.code, "not a readable image")
    return mime, raw.data
