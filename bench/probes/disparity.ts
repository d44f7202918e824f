/**
 * The disparity probe of docs/fairness.md (issue 19): what the simulator's disparity scenario
 * (services/simulator/disparity.ts) does to a model that never sees the group. The same applicants (seed,
 * index) are generated without the scenario and with the group's incomes scaled by each factor, scored on a
 * bundle's exported ONNX model (onnxruntime-node), decided by the default policy; per factor: the group's and
 * the reference's approval rate and the AIR (what the fairness windows compute), and the PSI of the income
 * and of the score against the unscaled population's deciles (what the drift monitor would see: the fairness
 * story should not also be a drift story). Not part of `make bench`.
 *
 *   node --import tsx bench/probes/disparity.ts [model dir=models/credit-default-classifier/1] [applicants=30000] [group=race_ethnicity=BLACK] [factors=0.4,0.5,0.6,0.7]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { psi } from '../../services/drift/statistics/psi.ts';
import { fairLending } from '../../services/shared/fair-lending.ts';
import { FEATURE_NAMES } from '../../services/shared/schemas.ts';
import { decide, DEFAULT_POLICY } from '../../services/scorer/policy.ts';
import { DISPARITY_FEATURE, parseDisparityGroup } from '../../services/simulator/disparity.ts';
import { demographicsOf, populationSource, type SourceOptions } from '../../services/simulator/source.ts';

const dir = process.argv[2] ?? join('models', 'credit-default-classifier', '1');
const applicants = Number(process.argv[3] ?? 30_000);
const { attribute, group } = parseDisparityGroup(process.argv[4] ?? 'race_ethnicity=BLACK', fairLending().attributes, 'group');
const factors = (process.argv[5] ?? '0.4,0.5,0.6,0.7').split(',').map(Number);
const reference = fairLending().attributes.find((a) => a.name === attribute)!.reference;

const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
const F = FEATURE_NAMES.length;

async function run(factor: number | undefined) {
  const o: SourceOptions = { seed: 42, runId: 'disparity-probe', clock: () => 0, ...(factor ? { disparity: { from: 0, attribute, group, incomeFactor: factor } } : {}) };
  const source = populationSource(o);
  const data = new Float32Array(applicants * F);
  const groups: string[] = [];
  const incomes: number[] = [];
  for (let i = 0; i < applicants; i++) {
    const app = source(i);
    const features = app as unknown as Record<string, number>;
    FEATURE_NAMES.forEach((f, j) => (data[i * F + j] = features[f]!));
    groups.push((demographicsOf(o, i, app) as unknown as Record<string, string>)[attribute]!);
    incomes.push(features[DISPARITY_FEATURE]!);
  }
  const out = await session.run({ [meta.input_name]: new ort.Tensor('float32', data, [applicants, F]) });
  const probs = out[meta.output_probability_name]!.data as Float32Array;
  const scores = Array.from({ length: applicants }, (_, i) => Number(probs[i * 2 + (meta.probability_column ?? 1)]));
  const rate = (g: string) => {
    let n = 0, approved = 0;
    scores.forEach((p, i) => groups[i] === g && (n++, decide(p, DEFAULT_POLICY).decision === 'APPROVE' && approved++));
    return approved / n;
  };
  return { groupRate: rate(group), referenceRate: rate(reference), incomes, scores };
}

const deciles = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return Array.from({ length: 9 }, (_, k) => s[Math.floor(((k + 1) * s.length) / 10)]!);
};
const shares = (xs: readonly number[], edges: readonly number[]) => {
  const c = new Array<number>(edges.length + 1).fill(0);
  for (const x of xs) c[edges.filter((e) => x >= e).length]!++;
  return c.map((n) => n / xs.length);
};

const base = await run(undefined);
const incomeEdges = deciles(base.incomes), scoreEdges = deciles(base.scores);
const row = (factor: number | undefined, r: Awaited<ReturnType<typeof run>>) => ({
  income_factor: factor ?? 1,
  [`approval_${group}`]: +r.groupRate.toFixed(3),
  [`approval_${reference}`]: +r.referenceRate.toFixed(3),
  air: +(r.groupRate / r.referenceRate).toFixed(3),
  psi_income: +psi(shares(r.incomes, incomeEdges), shares(base.incomes, incomeEdges)).toFixed(4),
  psi_score: +psi(shares(r.scores, scoreEdges), shares(base.scores, scoreEdges)).toFixed(4),
});
const rows = [row(undefined, base)];
for (const f of factors) rows.push(row(f, await run(f)));
console.log(JSON.stringify({ model: `${meta.name} v${meta.version}`, dir, applicants, group: `${attribute}=${group}`, reference, rows }, null, 2));
