"""Chat messages as tools take them: OpenAI's chat format, typed and closed.

Every field a message may carry is named (a tool's published schema stays strict-mode
convertible: no open object), and what the chat format further requires (a tool turn answering
a call before it, arguments as JSON text, limits) is checked once for every tool by
:mod:`gatewise.upstream.chat_format`.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any, Literal, cast

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic_core import PydanticCustomError

from gatewise.bounds import FiniteJSON
from gatewise.errors import quoted
from gatewise.strict_types import JsonObject
from gatewise.upstream.chat import Content, Message


class ToolFunction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="The function the model called.")
    arguments: str = Field(description="Its arguments as the model wrote them: the JSON text of an object.")


class ToolCall(BaseModel):
    """A tool call of an earlier assistant turn, as the model returned it."""

    model_config = ConfigDict(extra="forbid")

    id: str = Field(description="The call's id, which the tool message answering it repeats.")
    type: Literal["function"]
    function: ToolFunction


MESSAGE_KEYS = ("role", "content", "name", "tool_calls", "tool_call_id")


class ChatMessage(BaseModel):
    """One message of a chat history in OpenAI's format, sent upstream with every field given."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["system", "developer", "user", "assistant", "tool"]
    content: Annotated[str | list[JsonObject], FiniteJSON] | None = Field(
        None, description="Text, or OpenAI-style content parts, each a JSON object or its JSON text: "
                          "{type: text, text}, {type: image_url, image_url: {url}}, or input_audio, "
                          "video_url and file parts. A malformed part is refused before any model is "
                          "called. Only an assistant turn (with tool_calls) or a tool turn may have none.")
    name: str | None = Field(None, description="Optional name of the author (not on a tool message).")
    tool_calls: Annotated[list[ToolCall], Field(min_length=1)] | None = Field(
        None, description="An assistant turn's tool calls, as the model returned them.")
    tool_call_id: str | None = Field(
        None, description="A tool message: the id of the assistant turn's tool call it answers.")

    @model_validator(mode="before")
    @classmethod
    def _known_keys(cls, value: Any) -> Any:
        # Named here rather than left to pydantic's "Extra inputs are not permitted", so the caller
        # learns which keys a message takes.
        if isinstance(value, dict) and (unknown := sorted(str(k) for k in value if k not in MESSAGE_KEYS)):
            raise PydanticCustomError("unknown_key", "unknown key {key}; a message takes {keys}", {
                "key": quoted(unknown[0]), "keys": ", ".join(MESSAGE_KEYS)})
        return value

    def as_sent(self) -> Message:
        """The message as the upstream receives it: content always (null when none), the other
        fields when given."""
        message = cast(Message, self.model_dump(exclude_none=True))
        message["content"] = cast(Content | None, copy.deepcopy(self.content))
        return message
