"""The retraining loop's parts, which the stages (``pipeline.stages``) call.

Pure: ``params`` (params.yaml, checked), ``dataset`` (the training set's columns, CSV/JSON), ``join``
(scoring log x outcomes), ``generate`` (a generated dataset), ``candidate`` (dataset + split + model),
``evaluation`` and ``gate_rules`` (metrics, floors, champion comparison), ``announcement`` (the
model-updates record), ``layout`` (where the files live). With I/O at their edge: ``champion`` (the
served champion: models/ folders and the model-updates topic), ``tracking`` (MLflow), ``versions``
(reserving ``models/<name>/<n>/``).
"""
