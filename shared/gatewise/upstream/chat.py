"""The chat seam: what a tool sends upstream and what every chat upstream offers.

Messages are typed from the tool boundary to the HTTP body in OpenAI's chat format, which
OpenRouter and Portkey's gateway both take. Bodies stay open dictionaries on the wire (a Portkey
config may force any parameter onto them), but the parts gatewise builds or reads are named here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, Protocol, Required, TypedDict, TypeGuard

if TYPE_CHECKING:
    from gatewise.upstream.openrouter import ChatResult

Role = Literal["system", "developer", "user", "assistant", "tool"]


class TextPart(TypedDict):
    type: Literal["text"]
    text: str


ImageDetail = Literal["auto", "low", "high", "original"]


class ImageURL(TypedDict, total=False):
    url: Required[str]  # http(s) or a data: URL
    detail: ImageDetail


class ImagePart(TypedDict):
    type: Literal["image_url"]
    image_url: ImageURL


class AudioData(TypedDict):
    data: str  # base64, never a URL
    format: str


class AudioPart(TypedDict):
    type: Literal["input_audio"]
    input_audio: AudioData


class VideoURL(TypedDict):
    url: str


class VideoPart(TypedDict):
    type: Literal["video_url"]
    video_url: VideoURL


class FileData(TypedDict, total=False):
    filename: str
    file_data: Required[str]  # a URL or a data: URL


class FilePart(TypedDict):
    type: Literal["file"]
    file: FileData


ContentPart = TextPart | ImagePart | AudioPart | VideoPart | FilePart
Content = str | list[ContentPart]
# Every content part type the chat format takes, with the input modality it needs; `input_video`
# is the legacy spelling of `video_url` that OpenRouter still takes.
PART_MODALITIES: dict[str, str] = {"text": "text", "image_url": "image", "input_audio": "audio",
                                   "video_url": "video", "input_video": "video", "file": "file"}


def is_image(part: ContentPart) -> TypeGuard[ImagePart]:
    return part.get("type") == "image_url"


def image_url_of(part: ImagePart) -> str:
    """The URL of an image part; '' for one a caller wrote without it (the media checks refuse
    that), since a caller's parts reach gatewise unchecked."""
    written: Mapping[str, Any] = part
    return str((written.get("image_url") or {}).get("url", ""))


class Message(TypedDict, total=False):
    """One chat message as sent upstream."""

    role: Required[Role]
    content: Content | None
    name: str
    tool_calls: list[dict[str, Any]]  # the model's own, passed back as it sent them
    tool_call_id: str


class ChatRequest(TypedDict, total=False):
    """A chat completion request body as a tool builds it. Other generation parameters (a
    caller's, or a route's forced ones: Portkey ``override_params``) join it as given."""

    model: Required[str]
    messages: Required[list[Message]]
    max_tokens: int
    temperature: float
    tools: list[dict[str, Any]]


class ChatUpstream(Protocol):
    """A chat upstream the fallback executor can drive: OpenRouter (or the sandbox speaking its
    protocol), Portkey's gateway, and the web-search upstream that wraps OpenRouter."""

    name: str  # the provider named in ledger rows and errors

    async def chat(
        self,
        body: Mapping[str, Any],
        *,
        timeout_s: float | None = None,
        retries: int | None = None,
        retry_on: frozenset[int] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> ChatResult: ...
