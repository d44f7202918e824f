"""A trained candidate as later stages see it: the dataset, the time-ordered split and the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
from xgboost import XGBClassifier

from pipeline.retrain.dataset import Dataset, file_sha256, read_csv
from pipeline.errors import PipelineError
from pipeline.population.features import feature_names
from pipeline.model.classifier import load as load_model
from pipeline.model.classifier import time_split

MODEL_FILE = "model.ubj"
INFO_FILE = "train.json"


class Candidate(NamedTuple):
    """Dataset, split and model of one training run.

    Attributes
    ----------
    dataset : Dataset
        The extracted training set (train + holdout rows).
    train_idx, holdout_idx : numpy.ndarray
        Row indices; every training row is submitted no later than every holdout row.
    model : xgboost.XGBClassifier
        The fitted candidate.
    info : dict
        Content of ``train.json``.
    """

    dataset: Dataset
    train_idx: np.ndarray
    holdout_idx: np.ndarray
    model: XGBClassifier
    info: dict[str, Any]

    @property
    def X_train(self) -> np.ndarray:
        """Training features."""
        return self.dataset.X[self.train_idx]

    @property
    def X_holdout(self) -> np.ndarray:
        """Holdout features."""
        return self.dataset.X[self.holdout_idx]

    @property
    def y_holdout(self) -> np.ndarray:
        """Holdout labels."""
        return self.dataset.defaulted[self.holdout_idx]


def split(dataset: Dataset, holdout_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(train_idx, holdout_idx)``: the latest ``holdout_fraction`` of rows is the holdout.

    Raises
    ------
    PipelineError
        ``DATASET_INVALID`` when either side lacks a class (no metric could be computed).
    """
    train_idx, holdout_idx = time_split(dataset.submitted_at, holdout_fraction)
    for side, idx in (("training", train_idx), ("holdout", holdout_idx)):
        if len(set(dataset.defaulted[idx].tolist())) < 2:
            raise PipelineError("DATASET_INVALID", f"the {side} rows ({len(idx)}) hold one class only; use more data")
    return train_idx, holdout_idx


def load(dataset_path: Path, train_dir: Path) -> Candidate:
    """Read the dataset, the model and ``train.json`` back, re-deriving the same split.

    Raises
    ------
    PipelineError
        ``CANDIDATE_INVALID`` if the files are missing or the dataset is not the one trained on.
    """
    info_path, model_path = train_dir / INFO_FILE, train_dir / MODEL_FILE
    if not info_path.is_file() or not model_path.is_file():
        raise PipelineError("CANDIDATE_INVALID", f"{train_dir}: no {INFO_FILE} / {MODEL_FILE}; run the train stage first")
    info = json.loads(info_path.read_text(encoding="utf-8"))
    sha = file_sha256(dataset_path)
    if sha != info["dataset"]["sha256"]:
        raise PipelineError("CANDIDATE_INVALID", f"{dataset_path} (sha256 {sha[:12]}) is not the dataset the candidate was trained on ({info['dataset']['sha256'][:12]})")
    dataset = read_csv(dataset_path, feature_names())
    train_idx, holdout_idx = split(dataset, info["split"]["holdout_fraction"])
    return Candidate(dataset, train_idx, holdout_idx, load_model(model_path), info)
