"""The local embedder's int8 graph: the same model as the shipped float graph, every product on
int8 weights, and each text's vector its own (no padding, no batch mates)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from gatewise.cache.embedders import LocalEmbedder, _model_path
from gatewise.cache.int8_graph import dynamic_int8

TEXTS = ["How do I cancel my subscription?", "Where is my parcel?", "Is the pool open on Sundays?",
         "What's the price of a return ticket from London to Manchester?", "hi"]


@pytest.fixture(scope="module")
def embedder() -> LocalEmbedder:
    return LocalEmbedder()


def float_vectors(embedder: LocalEmbedder, texts: list[str]) -> np.ndarray:
    """The shipped graph as onnxruntime runs it by default (weights folded to float32)."""
    session = ort.InferenceSession(str(_model_path()), providers=["CPUExecutionProvider"])
    rows = []
    for text in texts:
        ids = np.array([embedder._tokenizer.encode(text).ids], dtype=np.int64)
        (hidden,) = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids),
                                       "token_type_ids": np.zeros_like(ids)})
        mean = hidden[0].mean(axis=0)
        rows.append(mean / np.linalg.norm(mean))
    return np.stack(rows)


def test_every_int8_product_runs_on_the_int8_weights() -> None:
    graph = onnx.load_from_string(dynamic_int8(_model_path())).graph
    ops = [node.op_type for node in graph.node]
    assert ops.count("DynamicQuantizeMatMul") == 36  # 6 layers x (q, k, v, out, up, down)
    assert ops.count("MatMul") == 12  # left: attention's two float products per layer
    products = [node for node in graph.node if node.op_type == "DynamicQuantizeMatMul"]
    assert all(node.input[4] for node in products)  # each adds its bias itself: no Add after it
    assert ops.count("Add") == 26


def test_int8_vectors_are_the_float_models_and_ignore_batch_mates(embedder: LocalEmbedder) -> None:
    together = embedder.embed_now(TEXTS)
    alone = np.stack([embedder.embed_now([text])[0] for text in TEXTS])
    assert np.array_equal(together, alone)
    agreement = (together * float_vectors(embedder, TEXTS)).sum(axis=1)
    assert agreement.min() > 0.97, agreement
