"""The model runtime's own limit in Python: the scorer's ONNX model in onnxruntime, no Kafka, no decoding.

Usage: python bench/peers/onnx_limit.py FEATURES.f32 ROWS MODEL.onnx
FEATURES.f32 holds ROWS x 7 float32 values (row-major, model input order), written by the harness from
the same applications the contenders score. Prints one JSON object: rows/s for one big batch and for
batches of 2000 (the scorer's default chunk), and microseconds per session.run call with one row.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import onnxruntime as ort


def best_of(fn, repeats: int) -> float:
    """Median seconds of `repeats` calls of fn after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return float(np.median(times))


def main() -> int:
    path, rows, model = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    X = np.fromfile(path, dtype=np.float32).reshape(rows, -1)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1  # as the scorer runs it (ORT_INTRA_OP_THREADS=1)
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    sess = ort.InferenceSession(model, so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0].name
    out = [o.name for o in sess.get_outputs() if o.name == "probabilities"] or [sess.get_outputs()[-1].name]

    big = best_of(lambda: sess.run(out, {inp: X}), 3)
    chunks = [X[i : i + 2000] for i in range(0, rows, 2000)]
    chunked = best_of(lambda: [sess.run(out, {inp: c}) for c in chunks], 3)
    one = X[:1]
    calls = 2000
    per_call = best_of(lambda: [sess.run(out, {inp: one}) for _ in range(calls)], 5) / calls
    print(json.dumps({
        "rows": rows,
        "bigBatchRowsPerSec": rows / big,
        "batch2000RowsPerSec": rows / chunked,
        "perCallMicros1Row": per_call * 1e6,
        "onnxruntime": ort.__version__,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
