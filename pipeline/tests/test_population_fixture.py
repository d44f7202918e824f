"""The committed TypeScript fixture is what the current spec produces."""

import json

from pipeline.artifacts import sha256_bytes
from pipeline.population.fixture import FIXTURE, build_fixture
from pipeline.paths import POPULATION_SPEC
from pipeline.population.synthetic import load_spec


def test_committed_fixture_is_current():
    committed = json.loads(FIXTURE.read_text())
    assert committed["spec_sha256"] == sha256_bytes(POPULATION_SPEC.read_bytes()), (
        "schemas/population.json changed: run `python -m pipeline.population.fixture`"
    )
    fresh = json.loads(json.dumps(build_fixture(load_spec(), committed["spec_sha256"])))
    assert fresh == committed
