"""Model and web text handed to a client model: labelled and fenced, so it is read as data."""

from __future__ import annotations


def fence(text: str, *, notice: str, model: str) -> str:
    return f'{notice}\n<untrusted_model_output model="{model}">\n{text}\n</untrusted_model_output>'
