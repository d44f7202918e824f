"""Shared fixtures: one small training run per test session."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.train_initial import TrainingResult, train

TEST_ROWS = 20_000
TEST_SEED = 7


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, TrainingResult]:
    """Train once on a small population into a temporary model directory."""
    out = tmp_path_factory.mktemp("models") / "credit-default-classifier" / "1"
    return out, train(out, rows=TEST_ROWS, seed=TEST_SEED)
