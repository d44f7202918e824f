"""Feature order comes from the Avro schema, everywhere."""

import json

import onnx

from pipeline.population.features import feature_names, feature_types
from pipeline.paths import LOAN_APPLICATION_SCHEMA
from pipeline.population.synthetic import load_spec


def _avsc_features() -> list[str]:
    fields = [f["name"] for f in json.loads(LOAN_APPLICATION_SCHEMA.read_text())["fields"]]
    return fields[fields.index("submitted_at") + 1 :]


def test_feature_names_are_the_fields_after_submitted_at():
    assert feature_names() == _avsc_features()
    assert "application_id" not in feature_names() and "submitted_at" not in feature_names()


def test_feature_names_follow_a_different_schema(tmp_path):
    schema = {"type": "record", "name": "R", "fields": [
        {"name": "id", "type": "string"}, {"name": "submitted_at", "type": "long"},
        {"name": "b", "type": "int"}, {"name": "a", "type": "double"}]}
    path = tmp_path / "r.avsc"
    path.write_text(json.dumps(schema))
    assert feature_names(path) == ["b", "a"]
    assert feature_types(path) == {"b": "int", "a": "double"}


def test_population_spec_lists_the_schema_features_in_order():
    assert [f["name"] for f in load_spec()["features"]] == _avsc_features()


def test_model_artifacts_carry_the_schema_order(trained):
    out, result = trained
    assert result.metadata["feature_names"] == _avsc_features()
    assert json.loads((out / "metadata.json").read_text())["feature_names"] == _avsc_features()
    assert json.loads((out / "golden.json").read_text())["feature_names"] == _avsc_features()
    assert list(result.metadata["reference"]["features"]) == _avsc_features()
    props = {p.key: p.value for p in onnx.load(str(out / "model.onnx")).metadata_props}
    assert json.loads(props["feature_names"]) == _avsc_features()
