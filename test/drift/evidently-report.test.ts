/**
 * The drift stage's Evidently report (pipeline/stages/drift.py: evidently_report) renders in headless Chromium,
 * and a missing Evidently does not fail it: the stage gets the reason instead of a report. Small data (400
 * current rows against the reference samples of the initial model), one feature shifted by 30%.
 */
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../services/shared/schemas.ts';
import { initialModelDir } from '../helpers/model.ts';
import { run } from '../../support/processes.ts';
import { dumpDom } from './chromium.ts';

const PY = join(REPO_ROOT, '.venv', 'bin', 'python');
const script = (blockEvidently: boolean) =>
  [
    'import json, sys',
    ...(blockEvidently ? ["sys.modules['evidently'] = None"] : []),
    'import numpy as np',
    'from pathlib import Path',
    'from pipeline.stages.drift import evidently_report',
    'meta = json.load(open(sys.argv[1]))',
    "cur = {n: np.asarray(meta['reference']['features'][n]['sample'])[:400] * (1.3 if n == 'age' else 1.0) for n in meta['feature_names']}",
    "cur['score'] = np.asarray(meta['reference']['score']['sample'])[:400]",
    "print(json.dumps(evidently_report(meta['reference'], cur, Path(sys.argv[2]))))",
  ].join('\n');

describe('the Evidently report of the drift stage', () => {
  it('is written and renders in headless Chromium', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'evidently-')), 'report.html');
    const r = await run(PY, ['-c', script(false), join(initialModelDir(), 'metadata.json'), out], { cwd: REPO_ROOT, timeoutMs: 240_000 });
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; version?: string; reason?: string };
    expect(res, res.reason).toMatchObject({ ok: true, version: '0.7.23' });
    expect(readFileSync(out, 'utf8')).toContain('Dataset Drift');
    const dom = await dumpDom(pathToFileURL(out).href);
    // Evidently renders its widgets client-side: after load the DOM holds the drift table with our columns.
    expect(dom).toMatch(/Dataset Drift/);
    expect(dom).toContain('annual_income');
  }, 300_000);

  it('without Evidently the stage gets the reason, not an exception', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'evidently-')), 'report.html');
    const r = await run(PY, ['-c', script(true), join(initialModelDir(), 'metadata.json'), out], { cwd: REPO_ROOT });
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as { ok: boolean; reason?: string };
    expect(res.ok).toBe(false);
    expect(res.reason).toMatch(/^evidently is not usable: (ModuleNotFound|Import)Error/);
    expect(existsSync(out)).toBe(false);
  });
});
