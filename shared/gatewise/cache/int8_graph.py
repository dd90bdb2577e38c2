"""The local embedding model rewritten so its matrix products run on the int8 weights it ships.

The shipped all-MiniLM-L6-v2 stores each weight matrix as int8 with one float scale per output
column and turns it back into float32 inside the graph (``MatMul(x, Cast(W) * scale)``).
onnxruntime folds that into float32 constants at load, so every call then streams about 88 MB of
float weights through the core for a question of a dozen tokens: memory-bound, about 5 ms on one
core. Here each such product becomes onnxruntime's ``DynamicQuantizeMatMul``, which quantises
the activations per call and multiplies by the int8 weights themselves (22 MB): vectors within a
cosine of about 0.98 of the float ones, in a half to two thirds of the time, still on one thread. Each such
product also adds its bias itself, so the Add after it goes.

The weights go in as uint8 with a zero point of 128 (the same numbers, shifted), not as int8:
on x86 cores without VNNI, onnxruntime multiplies uint8 activations by int8 weights with an
instruction that adds pairs of products into 16 bits and saturates, so the same question got
another vector there than on a core with VNNI (a word read in context moved from 0.509 to 0.497,
across a 0.5 bound). uint8 by uint8 products sum exactly on every core: the vectors, and so
what the cache serves, do not depend on the machine.

Imported only when the local embedder loads (onnx is not light).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import helper, numpy_helper


def dynamic_int8(path: Path) -> bytes:
    """The serialised graph with every int8-weight MatMul replaced."""
    model = onnx.load(str(path))
    graph = model.graph
    constants = {tensor.name: tensor for tensor in graph.initializer}
    producer = {output: node for node in graph.node for output in node.output}
    nodes: list[onnx.NodeProto] = []
    for node in graph.node:
        weights = _int8_weights(node, producer, constants)
        if weights is None:
            nodes.append(node)
            continue
        int8_name, scale_name = weights
        columns, shifted, zero = scale_name + ".columns", int8_name + ".uint8", int8_name + ".zero"
        scales = numpy_helper.to_array(constants[scale_name]).reshape(-1).astype(np.float32)
        signed = numpy_helper.to_array(constants[int8_name]).astype(np.int16)
        graph.initializer.extend([numpy_helper.from_array(scales, columns),
                                  numpy_helper.from_array((signed + 128).astype(np.uint8), shifted),
                                  numpy_helper.from_array(np.full(signed.shape[-1], 128, np.uint8), zero)])
        nodes.append(helper.make_node("DynamicQuantizeMatMul", [node.input[0], shifted, columns, zero],
                                      list(node.output), name=node.name + ".int8", domain="com.microsoft"))
    kept_nodes = _needed(_with_bias(nodes, constants), {output.name for output in graph.output})
    del graph.node[:]
    graph.node.extend(kept_nodes)
    used = {name for node in kept_nodes for name in node.input}
    kept = [tensor for tensor in graph.initializer if tensor.name in used]
    del graph.initializer[:]
    graph.initializer.extend(kept)
    model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    serialised: bytes = model.SerializeToString()
    return serialised


def _int8_weights(node: onnx.NodeProto, producer: dict[str, onnx.NodeProto],
                  constants: dict[str, onnx.TensorProto]) -> tuple[str, str] | None:
    """(int8 weights, column scales) when ``node`` is ``MatMul(x, Cast(int8 W) * scale)``."""
    if node.op_type != "MatMul" or node.input[1] not in producer:
        return None
    scaled = producer[node.input[1]]
    if scaled.op_type != "Mul" or scaled.input[0] not in producer or scaled.input[1] not in constants:
        return None
    cast = producer[scaled.input[0]]
    weights = constants.get(cast.input[0]) if cast.op_type == "Cast" else None
    if weights is None or weights.data_type != onnx.TensorProto.INT8:
        return None
    return cast.input[0], scaled.input[1]


def _with_bias(nodes: list[onnx.NodeProto], constants: dict[str, onnx.TensorProto]) -> list[onnx.NodeProto]:
    """Each new product followed only by the Add of a constant bias vector takes the bias as its
    own input and the Add goes: one operator fewer to run per product (36 per question), with
    the same vectors."""
    users: dict[str, list[onnx.NodeProto]] = {}
    for node in nodes:
        for name in node.input:
            users.setdefault(name, []).append(node)
    folded: set[int] = set()
    for node in nodes:
        if node.op_type != "DynamicQuantizeMatMul" or len(users.get(node.output[0], [])) != 1:
            continue
        (add,) = users[node.output[0]]
        bias = next((name for name in add.input if name != node.output[0]), "")
        if add.op_type != "Add" or bias not in constants or len(constants[bias].dims) != 1:
            continue
        node.input.append(bias)
        node.output[0] = add.output[0]
        folded.add(id(add))
    return [node for node in nodes if id(node) not in folded]


def _needed(nodes: list[onnx.NodeProto], outputs: set[str]) -> list[onnx.NodeProto]:
    """The nodes the outputs still depend on, in order (the replaced Cast and Mul go)."""
    needed, kept = set(outputs), []
    for node in reversed(nodes):
        if needed.intersection(node.output):
            kept.append(node)
            needed.update(node.input)
    return kept[::-1]
