"""Time ONNX Runtime (one thread) on the observations the policy benchmark writes.

Usage: python3 onnxruntime_forward.py MODEL OBS_FILE
OBS_FILE holds n x 275 little-endian float32 values. Prints one JSON object: median microseconds of
a batch-1 forward pass (over the observations in turn), the same for an Identity model of the same
input (the cost of a call from Python, which the forward figure includes), and batch-64
observations per second.
"""

import json
import statistics
import sys
import time

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto, helper


def session(model_bytes):
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def median_us(run, inputs, rounds):
    samples = []
    for r in range(rounds):
        x = inputs[r % len(inputs)]
        start = time.perf_counter_ns()
        run(x)
        samples.append(time.perf_counter_ns() - start)
    return statistics.median(samples) / 1000.0


def main():
    model_path, obs_path = sys.argv[1], sys.argv[2]
    obs = np.fromfile(obs_path, dtype="<f4").reshape(-1, 275)
    policy = session(open(model_path, "rb").read())
    name = policy.get_inputs()[0].name
    singles = [obs[i : i + 1].copy() for i in range(len(obs))]

    identity = helper.make_model(
        helper.make_graph(
            [helper.make_node("Identity", ["obs"], ["logits"])],
            "identity",
            [helper.make_tensor_value_info("obs", TensorProto.FLOAT, ["batch", 275])],
            [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 275])],
        ),
        opset_imports=[helper.make_opsetid("", 17)],
    )
    identity = session(identity.SerializeToString())

    for x in singles[:200]:
        policy.run(None, {name: x})
    forward = median_us(lambda x: policy.run(None, {name: x}), singles, 20000)
    call = median_us(lambda x: identity.run(None, {"obs": x}), singles, 20000)

    batch = obs[:64].copy()
    for _ in range(50):
        policy.run(None, {name: batch})
    batch_us = median_us(lambda x: policy.run(None, {name: x}), [batch], 2000)
    print(
        json.dumps(
            {
                "version": ort.__version__,
                "forward_us": forward,
                "call_us": call,
                "batch64_obs_per_s": 64.0 / (batch_us / 1e6),
            }
        )
    )


if __name__ == "__main__":
    main()
