/**
 * The pipeline's drift stage (pipeline/stages/drift.py, numpy) and the streaming monitor (binning.ts, psi.ts)
 * compute the same PSI on the same records: counts per bin equal, PSI within 1e-9, for every feature and the
 * score of the initial model's reference — on values that hit the edges exactly, fall outside them, are
 * missing (NaN, ±Infinity, absent), and come from a shifted population.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { accumulate, layoutOf } from '../../services/drift/windows/layout.ts';
import { psi } from '../../services/drift/statistics/psi.ts';
import { loadReference, SCORE_TARGET } from '../../services/drift/statistics/reference.ts';
import { createRng } from '../../services/simulator/rng.ts';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { initialModelDir } from '../helpers/model.ts';
import { run } from '../../support/processes.ts';

const N = 5000;
const EPS = 1e-4;

describe('numpy PSI of the drift stage equals the monitor PSI', () => {
  it('on the same records, per feature and the score, within 1e-9', async () => {
    const reference = await loadReference(initialModelDir());
    const layout = layoutOf(reference);
    const rng = createRng(1313);
    const values: Record<string, (number | null)[]> = Object.fromEntries(reference.targets.map((t) => [t.name, []]));
    const records = Array.from({ length: N }, (_, i) => {
      const features: Record<string, number> = {};
      let score = 0;
      for (const t of reference.targets) {
        const e = t.edges;
        const u = rng.next();
        // an exact edge, a value beyond either end, a missing value, or a shifted draw between the edges
        let x: number | undefined =
          u < 0.1 ? e[Math.floor(rng.next() * e.length)] : u < 0.13 ? e[0]! - 1 - rng.next() : u < 0.16 ? e[e.length - 1]! + 1 + rng.next() * 10 : u < 0.17 ? NaN : u < 0.175 ? Infinity : u < 0.18 ? undefined : e[0]! + (e[e.length - 1]! - e[0]!) * Math.pow(rng.next(), i < N / 2 ? 1 : 0.6);
        if (t.name === SCORE_TARGET) {
          x = Math.min(1, Math.max(0, Number.isFinite(x) ? x! : 0.5));
          score = x;
        } else if (x !== undefined) features[t.name] = x;
        values[t.name]!.push(x === undefined || !Number.isFinite(x) ? null : x);
      }
      return { applicationId: String(i), eventAt: i, features, score };
    });
    const counts = new Uint32Array(layout.size);
    for (const r of records) accumulate(counts, layout, r);
    const ts = Object.fromEntries(layout.targets.map((t) => [t.ref.name, { psi: psi(counts, t.ref.expected, EPS, t.binOffset), counts: Array.from(counts.subarray(t.binOffset, t.binOffset + t.bins)) }]));

    const dir = mkdtempSync(join(tmpdir(), 'psi-parity-'));
    writeFileSync(join(dir, 'in.json'), JSON.stringify({ metadata: join(initialModelDir(), 'metadata.json'), epsilon: EPS, values }));
    const script = [
      'import json, sys, numpy as np',
      'from pipeline.stages.drift import target_psi',
      'w = json.load(open(sys.argv[1]))',
      'ref = json.load(open(w["metadata"]))["reference"]',
      'vals = {k: np.asarray([np.nan if v is None else v for v in vs], dtype=np.float64) for k, vs in w["values"].items()}',
      'json.dump(target_psi(vals, ref, w["epsilon"]), open(sys.argv[2], "w"))',
    ].join('\n');
    const r = await run(join(REPO_ROOT, '.venv', 'bin', 'python'), ['-c', script, join(dir, 'in.json'), join(dir, 'out.json')], { cwd: REPO_ROOT });
    expect(r.status, r.stderr).toBe(0);
    const py = JSON.parse(readFileSync(join(dir, 'out.json'), 'utf8')) as Record<string, { psi: number; counts: number[] }>;
    expect(Object.keys(py).sort()).toEqual(Object.keys(ts).sort());
    for (const [name, t] of Object.entries(ts)) {
      expect(py[name]!.counts, name).toEqual(t.counts);
      expect(Math.abs(py[name]!.psi - t.psi), name).toBeLessThanOrEqual(1e-9);
      expect(t.psi).toBeGreaterThan(0.001); // the shifted half makes it a real comparison, not 0 = 0
    }
  });
});
