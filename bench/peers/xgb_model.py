"""Saves the scorer's model as a native XGBoost model for Peer B (the ONNX file is all `make model` keeps).

Usage: python bench/peers/xgb_model.py OUT.json MODEL_DIR

Retrains with pipeline.train_initial.train — deterministic, same rows, seed and parameters as recorded
in MODEL_DIR/metadata.json — and refuses to save unless the retrained model exports to the very same
ONNX bytes (sha256), so Peer B serves the same model the scorer does. Writes OUT.json (XGBoost's
save_model) and OUT.json.sha256 (the ONNX sha it matches); does nothing if those already match.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))


def main() -> int:
    out, model_dir = Path(sys.argv[1]), Path(sys.argv[2])
    meta = json.loads((model_dir / "metadata.json").read_text())
    want = meta["model_sha256"]
    stamp = out.with_name(out.name + ".sha256")
    if out.exists() and stamp.exists() and stamp.read_text().strip() == want:
        return 0
    from pipeline.train_initial import train  # noqa: E402  (slow import: only when needed)

    training = meta["training"]
    rows = training["rows"] + training["holdout_rows"]
    with tempfile.TemporaryDirectory() as tmp:
        result = train(Path(tmp) / meta["version"], rows=rows, seed=training["seed"], version=meta["version"])
    got = result.metadata["model_sha256"]
    if got != want:
        print(f"retrained model exports to ONNX {got}, but {model_dir} has {want}: not the same model", file=sys.stderr)
        return 1
    out.parent.mkdir(parents=True, exist_ok=True)
    result.model.save_model(out)
    stamp.write_text(want + "\n")
    print(f"saved {out} (same model as {model_dir}, ONNX sha256 {want[:12]})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
