/**
 * The elderly-age probe of docs/fairness.md (issue 19): 150 synthetic applicants, each scored at every whole
 * age from 55 to 90 with all else fixed, on a bundle's exported ONNX model (onnxruntime-node), explained with
 * the scorer's own TreeSHAP and reason code. Counts, for ages 62 and above (Regulation B's elderly applicant):
 * REVIEW/DECLINE decisions, those carrying an age reason, those whose age contribution is positive (what an
 * age reason would be made from), steps a -> a+1 into or within 62+ where the probability rises, and
 * applicants scored higher at some age >= 62 than at some younger age of the range. Not part of `make bench`.
 *
 *   node --import tsx bench/probes/elderly-age.ts [model dir=models/credit-default-classifier/1] [applicants=150]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import { FEATURE_NAMES } from '../../services/shared/schemas.ts';
import { createExplainer } from '../../services/scorer/explain/explainer.ts';
import { reasonDirections, reasonsFor } from '../../services/scorer/explain/reasons.ts';
import { decide, DEFAULT_POLICY } from '../../services/scorer/policy.ts';
import { populationSource } from '../../services/simulator/source.ts';

const dir = process.argv[2] ?? join('models', 'credit-default-classifier', '1');
const applicants = Number(process.argv[3] ?? 150);
const AGES = Array.from({ length: 36 }, (_, k) => 55 + k);
const ELDERLY = 62;

const meta = JSON.parse(readFileSync(join(dir, 'metadata.json'), 'utf8'));
const session = await ort.InferenceSession.create(join(dir, 'model.onnx'));
const explainer = createExplainer(readFileSync(join(dir, 'trees.json')), FEATURE_NAMES);
const directions = reasonDirections(meta);
const source = populationSource({ seed: 19, runId: 'elderly-probe', clock: () => 0 });
const F = FEATURE_NAMES.length;
const ageIdx = FEATURE_NAMES.indexOf('age');

const rows = applicants * AGES.length;
const data = new Float32Array(rows * F);
for (let a = 0; a < applicants; a++) {
  const app = source(a) as unknown as Record<string, number>;
  AGES.forEach((age, k) => {
    const r = a * AGES.length + k;
    FEATURE_NAMES.forEach((f, j) => (data[r * F + j] = f === 'age' ? age : app[f]!));
    // a history longer than age - 18 is invalid: cap it at the youngest age of the range (55 - 18 = 37)
    data[r * F + FEATURE_NAMES.indexOf('credit_history_length')] = Math.min(app.credit_history_length!, AGES[0]! - 18);
  });
}
const out = await session.run({ [meta.input_name]: new ort.Tensor('float32', data, [rows, F]) });
const probs = out[meta.output_probability_name]!.data as Float32Array;
const p = (r: number) => Number(probs[r * 2 + (meta.probability_column ?? 1)]);
const contributions = explainer.contributions(data, rows);

let adverse = 0, withAgeReason = 0, positiveAge = 0, steps = 0, rises = 0, maxRise = 0, applicantsRising = 0;
for (let a = 0; a < applicants; a++) {
  let youngerMin = Infinity, elderlyMax = -Infinity;
  AGES.forEach((age, k) => {
    const r = a * AGES.length + k;
    const prob = p(r);
    if (age < ELDERLY) youngerMin = Math.min(youngerMin, prob);
    else {
      elderlyMax = Math.max(elderlyMax, prob);
      const { decision } = decide(prob, DEFAULT_POLICY);
      if (decision !== 'APPROVE') {
        adverse++;
        const features = Object.fromEntries(FEATURE_NAMES.map((f, j) => [f, data[r * F + j]!]));
        const reasons = reasonsFor(decision, features, contributions, r * (F + 1), directions, 4);
        if (reasons.some((x) => x.feature === 'age')) withAgeReason++;
        if (contributions[r * (F + 1) + ageIdx]! > 0) positiveAge++;
      }
    }
    if (k > 0 && age >= ELDERLY) {
      steps++;
      const d = prob - p(r - 1);
      if (d > 0) rises++;
      maxRise = Math.max(maxRise, d);
    }
  });
  if (elderlyMax > youngerMin) applicantsRising++;
}
console.log(JSON.stringify({ model: `${meta.name} v${meta.version}`, dir, applicants, ages: `${AGES[0]}..${AGES.at(-1)}`,
  elderly_adverse_decisions: adverse, elderly_adverse_with_age_reason: withAgeReason, elderly_adverse_with_positive_age_contribution: positiveAge,
  steps_into_or_within_62: steps, steps_where_probability_rises: rises, max_rise: maxRise,
  applicants_scored_higher_at_62plus_than_at_a_younger_age: applicantsRising }, null, 2));
