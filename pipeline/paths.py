"""Locations of repository files the pipeline reads."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
"""Root of the repository (the parent of ``pipeline/``)."""

SCHEMAS_DIR = REPO_ROOT / "schemas"
LOAN_APPLICATION_SCHEMA = SCHEMAS_DIR / "loan-application.avsc"
POPULATION_SPEC = SCHEMAS_DIR / "population.json"
