"""Pure parts of the retraining pipeline: params validation, dataset files, join, gate rules, versions."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipeline.retrain import params as params_mod
from pipeline.retrain.dataset import read_csv, read_file, to_csv_bytes
from pipeline.errors import PipelineError
from pipeline.retrain.gate_rules import champion_checks, failed, floor_checks
from pipeline.retrain.generate import generated_dataset
from pipeline.retrain.join import join
from pipeline.retrain.params import GateParams, Margins
from pipeline.retrain.versions import reserve_next
from pipeline.population.features import feature_names
from pipeline.paths import REPO_ROOT


def test_repository_params_file_is_valid_and_holds_the_issue_floors():
    p = params_mod.load(REPO_ROOT / "params.yaml")
    assert (p.gate.roc_auc_min, p.gate.pr_auc_min, p.gate.brier_max) == (0.70, 0.45, 0.20)
    assert p.data.source == "generate" and p.gate.champion == "file"


@pytest.mark.parametrize(
    ("raw", "named"),
    [
        ({"gate": {"roc_auc_min": 1.5}}, "gate.roc_auc_min"),
        ({"gate": {"margin": {"brier": -0.1}}}, "gate.margin.brier"),
        ({"data": {"source": "s3"}}, "data.source"),
        ({"data": {"source": "file"}}, "data.file"),
        ({"data": {"rows": "many"}}, "data.rows"),
        ({"train": {"xgboost": {"base_score": 0.2}}}, "train.xgboost.base_score"),
        ({"train": {"xgboost": {"max_dept": 3}}}, "train.xgboost"),
        ({"train": {"holdout_fraction": 1}}, "train.holdout_fraction"),
        ({"gates": {}}, "gates"),
    ],
)
def test_params_errors_name_the_key(raw, named):
    with pytest.raises(PipelineError) as error:
        params_mod.parse(raw)
    assert error.value.code == "PARAMS_INVALID" and named in error.value.message


def test_params_file_missing_keys_take_defaults(tmp_path):
    path = tmp_path / "p.yaml"
    path.write_text("gate:\n  roc_auc_min: 0.8\n")
    p = params_mod.load(path)
    assert p.gate.roc_auc_min == 0.8 and p.gate.pr_auc_min == 0.45 and p.train.seed == 42


def test_csv_round_trip_is_bit_exact_and_jsonl_parquet_read_the_same_rows(tmp_path):
    ds = generated_dataset(300, seed=2)
    path = tmp_path / "d.csv"
    path.write_bytes(to_csv_bytes(ds))
    back = read_csv(path, feature_names())
    np.testing.assert_array_equal(back.X, ds.X)
    np.testing.assert_array_equal(back.true_probability, ds.true_probability)
    assert back.application_id.tolist() == ds.application_id.tolist()

    rows = [
        {"application_id": str(ds.application_id[i]), "submitted_at": int(ds.submitted_at[i]), "features": dict(zip(feature_names(), ds.X[i].tolist())), "defaulted": bool(ds.defaulted[i])}
        for i in range(ds.rows)
    ]
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("\n".join(json.dumps(r) for r in reversed(rows)) + "\n")
    from_jsonl, dropped = read_file(jsonl, feature_names())
    assert dropped.total == 0
    np.testing.assert_array_equal(from_jsonl.X, ds.X)  # sorted back into time order

    import pyarrow as pa
    import pyarrow.parquet as pq

    flat = [{"application_id": r["application_id"], "submitted_at": r["submitted_at"], **r["features"], "defaulted": int(r["defaulted"])} for r in rows]
    pq.write_table(pa.Table.from_pylist(flat), tmp_path / "d.parquet")
    from_parquet, _ = read_file(tmp_path / "d.parquet", feature_names())
    np.testing.assert_array_equal(from_parquet.X, ds.X)
    assert from_parquet.defaulted.tolist() == ds.defaulted.tolist()


def test_unusable_input_rows_are_dropped_by_reason_and_unknown_formats_refused(tmp_path):
    names = feature_names()
    good = {"application_id": "a", "submitted_at": "2026-01-01T00:00:00Z", **{n: 1.0 for n in names}, "defaulted": 1}
    rows = [good, {**good, "application_id": "b", "defaulted": "maybe"}, {**good, "application_id": "c", names[0]: None}, {**good}]
    path = tmp_path / "d.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    ds, dropped = read_file(path, names)
    assert ds.rows == 1 and ds.submitted_at[0] == 1_767_225_600_000
    assert dropped.reasons == {"id, time or label missing or invalid": 1, "feature missing or not a number": 1, "duplicate application_id": 1}
    with pytest.raises(PipelineError, match="unknown format"):
        xlsx = tmp_path / "d.xlsx"
        xlsx.write_text("")
        read_file(xlsx, names)


def test_csv_with_another_header_is_refused(tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("application_id,submitted_at,age,defaulted,true_probability\na,1,30,0,\n")
    with pytest.raises(PipelineError, match="header"):
        read_csv(path, feature_names())


def test_join_window_is_half_open_and_latest_outcome_wins():
    logs = [{"application_id": f"a{i}", "submitted_at": i, "features": {"x": float(i)}} for i in range(10)]
    outcomes = [{"application_id": f"a{i}", "defaulted": True, "observed_at": 5} for i in range(10)]
    outcomes.append({"application_id": "a3", "defaulted": False, "observed_at": 4})  # older: ignored
    rows, stats = join(logs, outcomes, since_ms=3, until_ms=7)
    assert [r["application_id"] for r in rows] == ["a3", "a4", "a5", "a6"]
    assert rows[0]["defaulted"] == 1 and stats.outside_window == 6


def test_gate_passes_only_when_every_floor_and_champion_check_passes():
    gate = GateParams(margin=Margins(roc_auc=0.01, pr_auc=0.02, brier=0.01))
    good = {"roc_auc": 0.81, "pr_auc": 0.60, "brier": 0.12, "ece": 0.02}
    assert failed(floor_checks(good, gate)) == []
    assert failed(floor_checks({**good, "brier": 0.25}, gate)) == ["brier <= 0.2"]
    champion = {"roc_auc": 0.83, "pr_auc": 0.60, "brier": 0.12}
    assert failed(champion_checks(good, champion, "4", gate)) == ["roc_auc >= champion v4 - 0.01"]
    assert failed(champion_checks(good, {**champion, "roc_auc": 0.82}, "4", gate)) == []  # exactly at the margin
    assert failed(floor_checks({**good, "ece": 0.2}, GateParams(ece_max=0.05))) == ["ece <= 0.05"]


def test_versions_are_reserved_above_existing_folders_and_the_registry(tmp_path):
    for name in ("1", "2", "candidate"):
        (tmp_path / name).mkdir()
    assert reserve_next(tmp_path)[0] == "3"
    assert reserve_next(tmp_path, at_least=10)[0] == "10"
    assert reserve_next(tmp_path)[0] == "11"
