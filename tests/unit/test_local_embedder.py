"""The local embedder's int8 graph: the same model as the shipped float graph, every product on
int8 weights, and each text's vector its own (no padding, no batch mates)."""

from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import helper, numpy_helper

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


def test_the_products_take_the_shipped_weights_shifted_to_uint8() -> None:
    shipped = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(_model_path())).graph.initializer}
    graph = onnx.load_from_string(dynamic_int8(_model_path())).graph
    constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    for node in (n for n in graph.node if n.op_type == "DynamicQuantizeMatMul"):
        weights, zero = constants[node.input[1]], constants[node.input[3]]
        assert weights.dtype == np.uint8 and zero.dtype == np.uint8 and set(zero.tolist()) == {128}
        original = shipped[node.input[1].removesuffix(".uint8")]
        assert original.dtype == np.int8
        assert np.array_equal(weights.astype(np.int16) - 128, original.astype(np.int16))


def test_uint8_products_sum_exactly_where_int8_ones_may_saturate() -> None:
    """Activations near their largest quantised value against weights of +-127 in pairs: the
    pairwise sums pass 16 bits, which an int8-weight kernel without VNNI saturates. The uint8
    form (weights shifted by 128, zero point 128) must give numpy's exact product on any core."""
    rows, inner, columns = 2, 64, 8
    activations = np.full((rows, inner), 1.0, np.float32)
    activations[1, ::2] = -1.0
    signed = np.where(np.arange(inner * columns).reshape(inner, columns) % 3 == 0, -127, 127).astype(np.int8)
    scales = np.full(columns, 0.01, np.float32)
    node = helper.make_node("DynamicQuantizeMatMul", ["x", "w", "s", "z"], ["y"], domain="com.microsoft")
    graph = helper.make_graph(
        [node], "product", [helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [rows, inner])],
        [helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [rows, columns])],
        [numpy_helper.from_array((signed.astype(np.int16) + 128).astype(np.uint8), "w"),
         numpy_helper.from_array(scales, "s"), numpy_helper.from_array(np.full(columns, 128, np.uint8), "z")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    (got,) = session.run(None, {"x": activations})
    expected = activations @ (signed.astype(np.float32) * scales)
    np.testing.assert_allclose(got, expected, rtol=0.02, atol=0.05)
