"""The pipeline's validator and the scorer's agree on the golden rows of test/fixtures/validation-golden.json.

The same rows run through ``services/scorer/validate.ts`` in ``services/scorer/validate.golden.test.ts``:
both tests hold each validator to the fixture's ``fields`` (the fields found wrong), so the two agree on
every row; each also holds its own rules (``pipeline`` here) to the file.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from pipeline.population.features import feature_names
from pipeline.paths import REPO_ROOT
from pipeline.population.validation import RULE_FIELDS, rule_violations

GOLDEN = json.loads((REPO_ROOT / "test" / "fixtures" / "validation-golden.json").read_text(encoding="utf-8"))
NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}
FINITE_RULE = "all finite"


def _row(case: dict) -> dict[str, float]:
    values = {**GOLDEN["base"], **case["set"]}
    return {name: NON_FINITE.get(values[name], values[name]) for name in feature_names()}


def _verdict(row: dict[str, float]) -> tuple[list[str], list[str]]:
    names = feature_names()
    broken = [rule for rule, mask in rule_violations(np.array([[row[n] for n in names]], dtype=np.float64), names).items() if mask[0]]
    unknown = [r for r in broken if r != FINITE_RULE and r not in RULE_FIELDS]
    assert not unknown, f"rules {unknown} of pipeline/population/validation.py have no field in RULE_FIELDS"
    fields = {RULE_FIELDS[r] for r in broken if r != FINITE_RULE}
    if FINITE_RULE in broken:
        fields |= {n for n in names if not math.isfinite(row[n])}
    return broken, sorted(fields)


def test_every_rule_is_exercised_and_rows_cover_valid_and_invalid():
    seen = set()
    for case in GOLDEN["cases"]:
        seen.update(_verdict(_row(case))[0])
    assert seen == {FINITE_RULE, *RULE_FIELDS}
    assert any(not c["fields"] for c in GOLDEN["cases"]) and any(c["fields"] for c in GOLDEN["cases"])


@pytest.mark.parametrize("case", GOLDEN["cases"], ids=[c["name"] for c in GOLDEN["cases"]])
def test_pipeline_verdict_is_the_scorers(case):
    broken, fields = _verdict(_row(case))
    assert fields == case["fields"], f"pipeline finds {fields} wrong, the scorer {case['fields']}"
    assert broken == case["pipeline"]
