"""What every stage command shares: params loading, exit codes, error printing, JSON outputs."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline.errors import PipelineError
from pipeline.retrain.layout import PARAMS_FILE

if TYPE_CHECKING:  # the params module imports XGBoost (~10 s); stages that read no params skip it
    from pipeline.retrain.params import Params

EXIT_OK = 0
EXIT_REFUSED = 1
"""The gate refused the candidate (a floor or the champion comparison failed)."""
EXIT_ERROR = 2
"""Bad input or configuration (not retriable)."""
EXIT_RETRY = 75
"""A dependency (broker, registry) was unavailable; running again later may succeed (EX_TEMPFAIL)."""


def parser(prog: str, doc: str | None) -> argparse.ArgumentParser:
    """Return an argument parser with the common ``--params`` option."""
    summary = (doc or "").strip().split("\n\n")[0]
    p = argparse.ArgumentParser(prog=f"python -m pipeline.stages.{prog}", description=summary)
    p.add_argument("--params", type=Path, default=PARAMS_FILE, help="params file (default: params.yaml at the repository root)")
    return p


def load_params(path: Path) -> Params:
    """Load and check the params file."""
    from pipeline.retrain import params as params_mod

    return params_mod.load(path)


def run(main: Callable[[], int]) -> int:
    """Run a stage body: return its exit code, or print a :class:`PipelineError` and return 2 / 75."""
    try:
        return main()
    except PipelineError as e:
        print(f"error {e.code}: {e.message}", file=sys.stderr)
        return EXIT_RETRY if e.retriable else EXIT_ERROR
