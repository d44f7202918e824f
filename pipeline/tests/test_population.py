"""The synthetic population: validity, base rate, signal, shock, determinism."""

import copy

import numpy as np
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score

from pipeline.population.features import feature_names
from pipeline.population.synthetic import (
    affected_by_shock,
    apply_shock,
    as_columns,
    check_spec,
    default_probability,
    generate,
    load_spec,
    _iso_to_ms,
)
from pipeline.population.validation import invalid_rows, rule_violations

N = 200_000


@pytest.fixture(scope="module")
def base():
    return generate(N, seed=11)


@pytest.fixture(scope="module")
def shocked():
    return generate(N, seed=12, shock=True)


def _col(population, name):
    return population.X[:, feature_names().index(name)]


@pytest.mark.parametrize("which", ["base", "shocked"])
def test_generated_rows_satisfy_every_validation_rule(which, request):
    population = request.getfixturevalue(which)
    broken = {rule: int(mask.sum()) for rule, mask in rule_violations(population.X, feature_names()).items()}
    assert broken == {rule: 0 for rule in broken}
    assert len(broken) == 8


def test_validation_rules_catch_each_kind_of_broken_row():
    names = feature_names()
    good = dict(age=30.0, annual_income=5e4, debt_to_income_ratio=0.3, credit_history_length=5.0,
                num_open_accounts=2.0, num_late_payments=0.0, loan_amount=1e4)
    breaks = [dict(age=17.0), dict(age=30.5), dict(age=121.0), dict(annual_income=0.0), dict(debt_to_income_ratio=-0.1),
              dict(debt_to_income_ratio=10.5), dict(credit_history_length=13.0), dict(credit_history_length=-1.0),
              dict(credit_history_length=2.5), dict(num_open_accounts=-1.0), dict(num_open_accounts=1.5),
              dict(num_late_payments=-2.0), dict(loan_amount=0.0), dict(annual_income=np.inf), dict(loan_amount=np.nan)]
    X = np.array([[{**good, **b}[n] for n in names] for b in [{}] + breaks])
    assert invalid_rows(X, names).tolist() == [False] + [True] * len(breaks)


def test_base_default_rate_is_between_15_and_25_percent(base):
    assert 0.15 <= base.probability.mean() <= 0.25
    assert 0.15 <= base.defaulted.mean() <= 0.25
    assert abs(base.defaulted.mean() - base.probability.mean()) < 0.005


def test_signal_is_learnable_but_noisy(base):
    assert 0.78 <= roc_auc_score(base.defaulted, base.probability) <= 0.85


def test_same_seed_same_population_and_different_seed_differs():
    for shock in (False, True):
        a, b, c = generate(5000, 3, shock=shock), generate(5000, 3, shock=shock), generate(5000, 4, shock=shock)
        for x, y in zip(a, b):
            np.testing.assert_array_equal(x, y)
        assert not np.array_equal(a.X, c.X)


def test_submitted_at_is_sorted_and_inside_the_time_window(base):
    window = load_spec()["time_window"]
    t = base.submitted_at
    assert (np.diff(t) >= 0).all()
    assert t.min() >= _iso_to_ms(window["from"]) and t.max() < _iso_to_ms(window["to"])


def test_shock_affects_changed_features_and_their_dependents_only():
    spec = load_spec()
    changed = {c["feature"] for c in spec["shock"]["changes"]}
    affected = affected_by_shock(spec)
    assert changed <= affected
    assert "credit_history_length" in affected  # a fraction of (age - 18), and age is shocked
    assert {"num_open_accounts", "loan_amount"}.isdisjoint(affected)
    assert affected < set(feature_names())


def test_shock_moves_affected_distributions_and_leaves_the_others(base, shocked):
    affected = affected_by_shock(load_spec())
    for name in feature_names():
        p_value = ks_2samp(_col(base, name), _col(shocked, name)).pvalue
        if name in affected:
            assert p_value < 1e-6, name
        else:
            assert p_value > 1e-3, name


def test_shock_goes_the_intended_way(base, shocked):
    def mean(population, name):
        return _col(population, name).mean()

    # A recession (schemas/population.json shock.doc): about 40 -> 31 years, 57k -> 40k, 0.30 -> 0.45,
    # 0.32 -> 0.98 late payments, P(default) about 0.20 -> 0.46.
    assert mean(shocked, "age") < mean(base, "age") - 6
    assert mean(shocked, "annual_income") < 0.8 * mean(base, "annual_income")
    assert mean(shocked, "debt_to_income_ratio") > 1.35 * mean(base, "debt_to_income_ratio")
    assert mean(shocked, "num_late_payments") > 2.5 * mean(base, "num_late_payments")
    assert shocked.probability.mean() > base.probability.mean() + 0.2


def test_apply_shock_leaves_the_spec_alone():
    spec = load_spec()
    before = copy.deepcopy(spec)
    shocked = apply_shock(spec)
    assert spec == before and shocked != spec
    assert shocked["default_model"] == spec["default_model"]


def test_true_probability_is_monotone_as_the_spec_declares(base):
    spec = load_spec()
    names = feature_names()
    X = base.X[:20_000]
    p0 = default_probability(as_columns(X, names), spec)
    assert spec["default_model"]["monotone"]
    for name, sign in spec["default_model"]["monotone"].items():
        j = names.index(name)
        for step in (1.0, 0.1 * np.abs(X[:, j]).mean() + 1e-3):
            bumped = X.copy()
            bumped[:, j] += step
            delta = default_probability(as_columns(bumped, names), spec) - p0
            assert (sign * delta > 0).all(), name


def test_check_spec_rejects_forward_references_and_wrong_order():
    spec = load_spec()
    forward = copy.deepcopy(spec)
    forward["features"][0]["dist"]["scale"] = {"mul": [9.0, "loan_amount"]}
    with pytest.raises(ValueError, match="not generated before"):
        check_spec(forward)
    swapped = copy.deepcopy(spec)
    swapped["features"][0], swapped["features"][1] = swapped["features"][1], swapped["features"][0]
    with pytest.raises(ValueError, match="schema features"):
        check_spec(swapped)
