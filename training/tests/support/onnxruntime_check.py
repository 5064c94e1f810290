"""Run an exported policy through ONNX Runtime and compare with the trained network's outputs.

Usage: onnxruntime_check.py MODEL.onnx VECTORS.json
VECTORS.json: {"observations": [[275 floats], ...], "logits": [[36 floats], ...], "values": [float, ...]}
Prints the opset and the largest difference (absolute up to 1 in size, relative beyond); exits non-zero when the model is invalid or differs.
"""
import json
import sys

import numpy as np
import onnx
import onnxruntime as ort

model_path, vectors_path = sys.argv[1], sys.argv[2]
model = onnx.load(model_path)
onnx.checker.check_model(model, full_check=True)
opset = {o.domain: o.version for o in model.opset_import}[""]
with open(vectors_path) as f:
    vectors = json.load(f)
obs = np.asarray(vectors["observations"], dtype=np.float32)
session = ort.InferenceSession(model_path, providers=["CPUExecutionProvider"])
logits, values = session.run(["logits", "value"], {"obs": obs})
assert logits.shape == (len(obs), 36), logits.shape
assert values.shape == (len(obs), 1), values.shape


def difference(a, b):
    """Absolute up to 1 in size, relative beyond (as the export's check)."""
    return float(np.max(np.abs(a - b) / np.maximum(np.maximum(np.abs(a), np.abs(b)), 1.0)))


worst = max(
    difference(logits, np.asarray(vectors["logits"], dtype=np.float32)),
    difference(values[:, 0], np.asarray(vectors["values"], dtype=np.float32)),
)
print(json.dumps({"opset": opset, "rows": len(obs), "max_diff": worst}))
sys.exit(0 if np.isfinite(worst) and worst <= 1e-5 else 1)
