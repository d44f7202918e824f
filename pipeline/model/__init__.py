"""The classifier and its bundle: fitting (``classifier``), ONNX export and parity (``onnx_export``),
the monotonicity check (``monotone``), holdout metrics (``metrics``), drift reference distributions
(``reference``) and the one bundle writer (``bundle``)."""
