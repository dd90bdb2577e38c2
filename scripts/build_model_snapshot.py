"""Rebuild ``shared/gatewise/data/models.json``, the offline model catalogue.

The file has the shape of OpenRouter's ``GET /models`` answer so that one parser reads both. The
model list and capabilities are curated here; prices and context lengths come from the
``genai-prices`` package's bundled data, a maintained source, so a refresh is one command:

    python scripts/build_model_snapshot.py
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from genai_prices import data_snapshot

OUT = Path(__file__).resolve().parents[1] / "shared" / "gatewise" / "data" / "models.json"

T, TI, TIF = ["text"], ["text", "image"], ["text", "image", "file"]
TIA = ["text", "image", "audio", "video"]  # Gemini models also take audio and video
# id: (display name, input modalities, output modalities, context fallback, created yyyy-mm-dd)
MODELS: dict[str, tuple[str, list[str], list[str], int, str]] = {
    "anthropic/claude-opus-5.5": ("Anthropic: Claude Opus 5.5", TIF, T, 1_000_000, "2026-09-15"),
    "anthropic/claude-sonnet-5.5": ("Anthropic: Claude Sonnet 5.5", TIF, T, 1_000_000, "2026-09-15"),
    "anthropic/claude-haiku-5.5": ("Anthropic: Claude Haiku 5.5", TIF, T, 1_000_000, "2026-09-15"),
    "anthropic/claude-sonnet-4.5": ("Anthropic: Claude Sonnet 4.5", TIF, T, 1_000_000, "2025-09-29"),
    "anthropic/claude-haiku-4.5": ("Anthropic: Claude Haiku 4.5", TIF, T, 200_000, "2025-10-15"),
    "anthropic/claude-3-opus": ("Anthropic: Claude 3 Opus", TI, T, 200_000, "2024-03-05"),
    "anthropic/claude-3-haiku": ("Anthropic: Claude 3 Haiku", TI, T, 200_000, "2024-03-13"),
    "openai/gpt-6-sol": ("OpenAI: GPT-6 Sol", TIF, T, 1_050_000, "2026-10-01"),
    "openai/gpt-6-luna": ("OpenAI: GPT-6 Luna", TIF, T, 1_050_000, "2026-10-01"),
    "openai/gpt-5.5": ("OpenAI: GPT-5.5", TIF, T, 1_050_000, "2026-05-01"),
    "openai/gpt-5": ("OpenAI: GPT-5", TIF, T, 400_000, "2025-08-07"),
    "openai/gpt-5-mini": ("OpenAI: GPT-5 Mini", TIF, T, 400_000, "2025-08-07"),
    "openai/gpt-5-nano": ("OpenAI: GPT-5 Nano", TIF, T, 400_000, "2025-08-07"),
    "openai/gpt-4o": ("OpenAI: GPT-4o", TIF, T, 128_000, "2024-05-13"),
    "openai/gpt-4o-mini": ("OpenAI: GPT-4o-mini", TIF, T, 128_000, "2024-07-18"),
    "openai/gpt-oss-120b": ("OpenAI: gpt-oss-120b", T, T, 131_072, "2025-08-05"),
    "google/gemini-3.1-pro-preview": ("Google: Gemini 3.1 Pro Preview", TIA, T, 1_048_576, "2026-02-19"),
    "google/gemini-3.8-flash": ("Google: Gemini 3.8 Flash", TIA, T, 1_048_576, "2026-10-20"),
    "google/gemini-2.5-pro": ("Google: Gemini 2.5 Pro", TIA, T, 1_048_576, "2025-06-17"),
    "google/gemini-2.5-flash": ("Google: Gemini 2.5 Flash", TIA, T, 1_048_576, "2025-06-17"),
    "google/gemini-2.5-flash-lite": ("Google: Gemini 2.5 Flash Lite", TIA, T, 1_048_576, "2025-07-22"),
    "google/gemini-2.5-flash-image": ("Google: Gemini 2.5 Flash Image", TI, TI, 32_768, "2025-10-07"),
    "deepseek/deepseek-v4-pro": ("DeepSeek: DeepSeek V4 Pro", T, T, 1_048_576, "2026-08-13"),
    "deepseek/deepseek-v4.1-flash": ("DeepSeek: DeepSeek V4.1 Flash", T, T, 1_048_576, "2026-10-02"),
    "deepseek/deepseek-r1": ("DeepSeek: R1", T, T, 64_000, "2025-01-20"),
    "qwen/qwen3-coder-plus": ("Qwen: Qwen3 Coder Plus", T, T, 1_000_000, "2025-09-23"),
    "qwen/qwen3.7-max": ("Qwen: Qwen3.7 Max", T, T, 1_000_000, "2026-07-10"),
    "qwen/qwen3-vl-32b-instruct": ("Qwen: Qwen3 VL 32B Instruct", TI, T, 131_072, "2025-10-21"),
    "meta-llama/llama-3.3-70b-instruct": ("Meta: Llama 3.3 70B Instruct", T, T, 131_072, "2024-12-06"),
    "meta-llama/llama-3.1-8b-instruct": ("Meta: Llama 3.1 8B Instruct", T, T, 131_072, "2024-07-23"),
    "mistralai/mistral-large-2512": ("Mistral: Mistral Large 3", TI, T, 262_144, "2025-12-02"),
    "mistralai/mistral-small-3.2-24b-instruct": (
        "Mistral: Mistral Small 3.2 24B", TI, T, 131_072, "2025-06-20"),
    "mistralai/devstral-2512": ("Mistral: Devstral 2", T, T, 262_144, "2025-12-09"),
    "x-ai/grok-4.20": ("xAI: Grok 4.20", TI, T, 2_000_000, "2026-03-01"),
    "x-ai/grok-4-fast": ("xAI: Grok 4 Fast", TI, T, 2_000_000, "2025-09-19"),
    "moonshotai/kimi-k3": ("MoonshotAI: Kimi K3", TI, T, 1_048_576, "2026-07-28"),
    "perplexity/sonar": ("Perplexity: Sonar", TI, T, 127_072, "2025-01-27"),
    "perplexity/sonar-pro": ("Perplexity: Sonar Pro", TI, T, 200_000, "2025-03-07"),
}
EMBEDDINGS = {"openai/text-embedding-3-large": ("OpenAI: Text Embedding 3 Large", 8_191, "0.00000013")}


def _per_token(mtok: object) -> str:
    base = getattr(mtok, "base", mtok)  # tiered prices: the base tier
    return format((Decimal(str(base or 0)) / Decimal(1_000_000)).normalize(), "f")


def _prices() -> dict[str, object]:
    provider = next(p for p in data_snapshot.get_snapshot().providers if p.id == "openrouter")
    return {m.id: m for m in provider.models}


def build() -> dict[str, object]:
    known = _prices()
    data = []
    for model_id, (name, inputs, outputs, ctx, created) in MODELS.items():
        info = known[model_id]
        prices = info.prices[0].prices if isinstance(info.prices, list) else info.prices
        data.append({
            "id": model_id,
            "canonical_slug": model_id,
            "name": name,
            "created": int(date.fromisoformat(created).strftime("%s")),
            "context_length": info.context_window or ctx,
            "architecture": {
                "modality": f"{'+'.join(inputs)}->{'+'.join(outputs)}",
                "input_modalities": inputs,
                "output_modalities": outputs,
                "tokenizer": model_id.split("/")[0],
            },
            "pricing": {
                "prompt": _per_token(prices.input_mtok),
                "completion": _per_token(prices.output_mtok),
                "request": "0",
                "image": "0",
            },
            "top_provider": {"context_length": info.context_window or ctx,
                             "max_completion_tokens": 32_768, "is_moderated": False},
            "supported_parameters": ["max_tokens", "temperature", "top_p", "stop", "tools",
                                     "response_format"],
        })
    for model_id, (name, ctx, price) in EMBEDDINGS.items():
        data.append({
            "id": model_id, "canonical_slug": model_id, "name": name,
            "created": int(date(2024, 1, 25).strftime("%s")), "context_length": ctx,
            "architecture": {"modality": "text->embeddings", "input_modalities": ["text"],
                             "output_modalities": ["embeddings"], "tokenizer": "openai"},
            "pricing": {"prompt": price, "completion": "0", "request": "0", "image": "0"},
            "top_provider": {"context_length": ctx, "max_completion_tokens": None,
                             "is_moderated": False},
            "supported_parameters": ["dimensions"],
        })
    return {"data": data}


if __name__ == "__main__":
    OUT.write_text(json.dumps(build(), indent=1) + "\n")
    print(f"wrote {OUT}")
