"""Independent reference computation of a drift window, for test/drift: numpy/scipy, same bins, same epsilon.

Usage: psi_reference.py WINDOW.json OUT.json

WINDOW.json: {"metadata": path to the model's metadata.json, "epsilon": 1e-4, "reference_records": N,
              "values": {target: [value or null, ...]}}  (null = missing)
OUT.json:    {target: {"psi", "psi_p_value", "df", "ks_statistic", "ks_p_value", "counts"}}
"""

import json
import sys

import numpy as np
from scipy import stats


def main(src: str, dst: str) -> None:
    window = json.load(open(src))
    meta = json.load(open(window["metadata"]))
    eps = window["epsilon"]
    big_n = window["reference_records"]
    out = {}
    for target, raw in window["values"].items():
        ref = meta["reference"]["score"] if target == "score" else meta["reference"]["features"][target]
        edges = np.asarray(ref["edges"], dtype=np.float64)
        values = np.asarray([np.nan if v is None else v for v in raw], dtype=np.float64)
        finite = values[np.isfinite(values)]
        # Bins: bisect_right over the edges, then one bin for missing values.
        counts = np.bincount(np.searchsorted(edges, finite, side="right"), minlength=len(edges) + 1).tolist()
        counts.append(int((~np.isfinite(values)).sum()))
        counts = np.asarray(counts, dtype=np.float64)
        m = ref.get("missing_proportion", 0.0)
        expected = np.append(np.asarray(ref["proportions"]) * (1 - m), m)
        n = counts.sum()
        a = np.maximum(counts / n, eps)
        e = np.maximum(expected, eps)
        psi = float(np.sum((a - e) * np.log(a / e)))
        df = max(1, int(np.sum((expected > 0) | (counts > 0))) - 1)
        p_value = float(stats.chi2.sf(psi / (1 / n + 1 / big_n), df))
        sample = np.asarray(ref["sample"], dtype=np.float64)
        ks = stats.ks_2samp(finite, sample, method="asymp")
        en = len(finite) * len(sample) / (len(finite) + len(sample))
        out[target] = {
            "psi": psi,
            "psi_p_value": p_value,
            "df": df,
            "ks_statistic": float(ks.statistic),
            "ks_p_value": float(stats.kstwobign.sf(np.sqrt(en) * ks.statistic)),
            "counts": counts.astype(int).tolist(),
        }
    json.dump(out, open(dst, "w"))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
