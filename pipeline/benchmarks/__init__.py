"""Benchmarks of the batch pipeline (run by hand; not tests)."""
