"""The committed TypeScript fixture is what the current spec produces."""

import json
import math

from pipeline.artifacts import sha256_bytes
from pipeline.population.fixture import FIXTURE, build_fixture
from pipeline.paths import POPULATION_SPEC
from pipeline.population.synthetic import load_spec


def _differences(a, b, path="$"):
    """Yield the paths where ``a`` and ``b`` differ; floats may differ in their last bits only.

    numpy's vectorised kernels (SIMD width, summation order) differ by machine, so a float in the fixture
    may differ from a fresh build in its last unit in the last place; anything larger is a real change.
    """
    if isinstance(a, float) or isinstance(b, float):
        if not (isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-300)):
            yield f"{path}: {a!r} != {b!r}"
    elif isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            yield f"{path}: keys {sorted(a)} != {sorted(b)}"
        for k in a.keys() & b.keys():
            yield from _differences(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            yield f"{path}: length {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            yield from _differences(x, y, f"{path}[{i}]")
    elif a != b:
        yield f"{path}: {a!r} != {b!r}"


def test_committed_fixture_is_current():
    committed = json.loads(FIXTURE.read_text())
    assert committed["spec_sha256"] == sha256_bytes(POPULATION_SPEC.read_bytes()), (
        "schemas/population.json changed: run `python -m pipeline.population.fixture`"
    )
    fresh = json.loads(json.dumps(build_fixture(load_spec(), committed["spec_sha256"])))
    diffs = list(_differences(fresh, committed))
    assert not diffs, f"{len(diffs)} values differ (run `python -m pipeline.population.fixture`): {diffs[:5]}"


def test_differences_finds_real_changes_only():
    assert not list(_differences({"x": [0.38580712279824103]}, {"x": [0.3858071227982409]}))
    assert list(_differences({"x": [0.3858]}, {"x": [0.3859]}))
    assert list(_differences({"x": [1, 2]}, {"x": [1]}))
    assert list(_differences({"x": "a"}, {"y": "a"}))
