"""The retraining pipeline's pure parts: parameters, datasets, joins, gate rules, versions."""
