"""Peer B: the request/response scoring service the usual tutorial builds, written fairly.

FastAPI on uvicorn (uvloop + httptools), the model loaded once at start-up, one POST /score per
application: pydantic validates the JSON body with the scorer's rules, the model scores one row, the
decision policy (the scorer's defaults) turns the probability into a decision.

PEER_B_MODEL selects the model: "xgboost" (the same XGBoost model, saved by bench/peers/xgb_model.py
to PEER_B_XGB_MODEL; predict_proba with one thread — XGBoost's default thread pool costs ~8x per
single-row call on 2 cores) or "onnx" (the scorer's ONNX file in onnxruntime, one intra-op thread).
Run: python -m uvicorn peer_b:app --app-dir bench/peers --loop uvloop --http httptools --no-access-log
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel, Field, model_validator

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = REPO / os.environ.get("MODEL_DIR", "models/credit-default-classifier/1")
META = json.loads((MODEL_DIR / "metadata.json").read_text())
FEATURES: list[str] = META["feature_names"]
CLASSIFICATION_THRESHOLD, RISK_MEDIUM_AT, RISK_HIGH_AT, REVIEW_AT, DECLINE_AT = 0.5, 0.3, 0.6, 0.3, 0.6


class Application(BaseModel):
    """A loan application with the scorer's validation rules (services/scorer/validate.ts)."""

    application_id: str = Field(min_length=1, max_length=128)
    submitted_at: int = Field(ge=0)
    age: int = Field(ge=18, le=120)
    annual_income: float = Field(gt=0, allow_inf_nan=False)
    debt_to_income_ratio: float = Field(ge=0, le=10, allow_inf_nan=False)
    credit_history_length: int = Field(ge=0)
    num_open_accounts: int = Field(ge=0)
    num_late_payments: int = Field(ge=0)
    loan_amount: float = Field(gt=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def history_within_adult_life(self) -> "Application":
        if self.credit_history_length > self.age - 18:
            raise ValueError(f"credit_history_length must be at most age - 18 ({self.age - 18})")
        return self


class Decision(BaseModel):
    application_id: str
    probability_of_default: float
    predicted_class: int
    risk_category: str
    decision: str
    model_name: str
    model_version: str


def load_model():
    """Returns f(row: float32 [1, n_features]) -> P(default)."""
    kind = os.environ.get("PEER_B_MODEL", "xgboost")
    if kind == "xgboost":
        from xgboost import XGBClassifier

        model = XGBClassifier(n_jobs=1)
        model.load_model(os.environ["PEER_B_XGB_MODEL"])
        return lambda x: float(model.predict_proba(x)[0, 1])
    if kind == "onnx":
        import onnxruntime as ort

        so = ort.SessionOptions()
        so.intra_op_num_threads = 1
        so.inter_op_num_threads = 1
        session = ort.InferenceSession(str(MODEL_DIR / "model.onnx"), so, providers=["CPUExecutionProvider"])
        inp, out, col = META["input_name"], META["output_probability_name"], META["probability_column"]
        return lambda x: float(session.run([out], {inp: x})[0][0, col])
    raise SystemExit(f"PEER_B_MODEL must be xgboost or onnx, got {kind}")


predict = load_model()
app = FastAPI()


@app.get("/health")
async def health() -> dict:
    return {"status": "ok"}


@app.post("/score")
async def score(a: Application) -> Decision:
    # async def: the model call is short and CPU-bound, so it runs on the event loop instead of paying
    # for a thread-pool hop per request.
    x = np.array([[getattr(a, f) for f in FEATURES]], dtype=np.float32)
    p = predict(x)
    return Decision(
        application_id=a.application_id,
        probability_of_default=p,
        predicted_class=int(p >= CLASSIFICATION_THRESHOLD),
        risk_category="HIGH" if p >= RISK_HIGH_AT else "MEDIUM" if p >= RISK_MEDIUM_AT else "LOW",
        decision="DECLINE" if p >= DECLINE_AT else "REVIEW" if p >= REVIEW_AT else "APPROVE",
        model_name=META["name"],
        model_version=META["version"],
    )
