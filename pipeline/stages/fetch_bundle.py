"""Fetch bundle: download a model version from an HTTP(S) artifact store and check its sha256.

The Helm chart's init containers run it so the scorer and the drift monitor start from a verified
bundle without a shared volume; it exits 2 (not retriable) when ``model.onnx`` is not the announced
file and 75 when the store is unavailable.

Usage::

    python -m pipeline.stages.fetch_bundle --uri URL --sha256 HEX --out DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

from pipeline.stages.common import EXIT_OK, parser, run
from pipeline.store.client import fetch_bundle


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point; returns 0, 2 (sha256 mismatch, bad input) or 75 (store unavailable)."""
    p = parser("fetch_bundle", __doc__)
    p.add_argument("--uri", required=True, help="folder URL of the version, e.g. http://store/credit-default-classifier/3")
    p.add_argument("--sha256", required=True, help="expected sha256 of model.onnx (hex)")
    p.add_argument("--out", type=Path, required=True)
    args = p.parse_args(argv)

    def body() -> int:
        out = fetch_bundle(args.uri, args.out, args.sha256)
        print(f"fetched {args.uri} -> {out} (model.onnx sha256 {args.sha256[:16]}... verified)")
        return EXIT_OK

    return run(body)


if __name__ == "__main__":
    sys.exit(main())
