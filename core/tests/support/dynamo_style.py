"""Rewrite an opset-17 ONNX policy the way torch.onnx.export(dynamo=True) lays out its models.

Usage: python3 dynamo_style.py IN.onnx OUT.onnx

What the loader meets in a dynamo export, without torch: opset 18 (ReduceMax and ReduceMean take
their axes as an input), the batch dimension named "s0" on the graph's inputs and outputs, and
every intermediate tensor declared in value_info with its inferred shape over that symbolic batch.
"""

import sys

import onnx
from onnx import shape_inference, version_converter


def main():
    model = onnx.load(sys.argv[1])
    for value in list(model.graph.input) + list(model.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "s0"
    del model.graph.value_info[:]
    model = version_converter.convert_version(model, 18)
    del model.graph.value_info[:]
    model = shape_inference.infer_shapes(model, strict_mode=True)
    labelled = sum(
        1
        for v in model.graph.value_info
        if any(d.dim_param == "s0" for d in v.type.tensor_type.shape.dim)
    )
    if model.opset_import[0].version != 18 or labelled == 0:
        sys.exit("conversion did not give an opset-18 graph with symbolic intermediate shapes")
    onnx.save(model, sys.argv[2])
    print(f"opset 18, {len(model.graph.value_info)} intermediate shapes, {labelled} over s0")


if __name__ == "__main__":
    main()
