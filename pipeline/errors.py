"""Typed errors of the batch pipeline: a ``code``, a message, and whether retrying may help."""

from __future__ import annotations


class PipelineError(Exception):
    """A failure a stage reports to its caller (and to the operator) with a stable code.

    Parameters
    ----------
    code : str
        Stable identifier, e.g. ``'DATASET_INVALID'``, ``'KAFKA_UNAVAILABLE'``.
    message : str
        What went wrong, naming the file, topic or parameter concerned.
    retriable : bool, optional
        True when the same call may succeed later (a broker or registry down).

    Examples
    --------
    >>> e = PipelineError("PARAMS_INVALID", "gate.roc_auc_min: must be in [0, 1]")
    >>> str(e), e.retriable
    ('PARAMS_INVALID: gate.roc_auc_min: must be in [0, 1]', False)
    """

    def __init__(self, code: str, message: str, retriable: bool = False) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.retriable = retriable
