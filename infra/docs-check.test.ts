/** make docs-check: the docs as they are pass; a planted wrong path, target, variable, metric or alert fails. */
import { describe, expect, it } from 'vitest';
import { checkDoc, gatherFacts, ignoredBy, parseGitignore, runDocsCheck, undocumented, type DocFile } from './docs-check.ts';

const { facts, mustDocument, docs } = gatherFacts();
const plant = (text: string): DocFile => ({ path: 'docs/planted.md', text });
const kinds = (text: string) => checkDoc(plant(text), facts).map((p) => `${p.kind}:${p.name}`);

describe('make docs-check', () => {
  it('passes on README.md and docs/*.md as committed', () => {
    expect(runDocsCheck().map((p) => `${p.file}:${p.line} ${p.message}`)).toEqual([]);
  });

  it('fails on a repository path that does not exist, and not on one that does or on a generated one', () => {
    expect(kinds('see `services/drift/retrain-policy.ts` and `services/drift/aggregation/retrain-policy.ts`')).toEqual(['path:services/drift/retrain-policy.ts']);
    expect(kinds('settings in `.local/stack.env`, models in `models/credit-default-classifier/1/model.onnx`')).toEqual([]);
    expect(kinds('[runbook](operations.md#no-such-heading) and [x](nothere.md)')).toEqual(['anchor:docs/operations.md#no-such-heading', 'path:docs/nothere.md']);
    expect(kinds('[runbook](operations.md#failure-behaviour-and-fencing)')).toEqual([]);
  });

  it('fails on a make target the Makefile does not define', () => {
    expect(kinds('run `make scorer` then `make scorre`')).toEqual(['make-target:scorre']);
    expect(kinds('```sh\nSTACK_SECURITY=sasl_ssl make stack\nmake promote VERSION=3 APPROVED_BY=jane REASON="x"\nmake nosuch-target\n```')).toEqual(['make-target:nosuch-target']);
    expect(kinds('`make retrain|extract|gaet`')).toEqual(['make-target:gaet']);
  });

  it('fails on a variable no code reads: in a variable table, as VAR=value, and backticked', () => {
    expect(kinds('| variable | default |\n|---|---|\n| `SCORER_MAX_BATCH` | 2000 |\n| `SCORER_MAX_BATCHES` | 1 |')).toEqual(['variable:SCORER_MAX_BATCHES']);
    expect(kinds('`STACK_BROKERS=3 make stack` or `STACK_BROKER=3 make stack`')).toEqual(['variable:STACK_BROKER']);
    expect(kinds('set `KAFKA_CONNECT_TIMEOUT`; an error `KAFKA_AUTH_FAILED`; all of `TOPIC_*`')).toEqual(['variable:KAFKA_CONNECT_TIMEOUT']);
    // A name the code uses but never reads from the environment is no variable in a configuration table.
    expect(kinds('| variable | default |\n|---|---|\n| `DECODE_MAGIC_BYTE` | – |')).toEqual(['variable:DECODE_MAGIC_BYTE']);
  });

  it('fails on a metric no service registers and on an alert no rule defines', () => {
    expect(kinds('`scorer_model_swaps_total{result="refused"}`, `rate(scorer_end_to_end_latency_seconds_bucket[5m])`')).toEqual([]);
    expect(kinds('counted as `scorer_model_swap_total`')).toEqual(['metric:scorer_model_swap_total']);
    expect(kinds('the alert `ScorerDown` and the alert `ScorerOnFire`')).toEqual(['alert:ScorerOnFire']);
  });

  it('fails when a variable the code reads is documented nowhere', () => {
    expect(undocumented(docs, mustDocument)).toEqual([]);
    expect(undocumented(docs, new Map([['KAFKA_NEW_KNOB', 'services/x.ts']])).map((p) => p.name)).toEqual(['KAFKA_NEW_KNOB']);
  });

  it('reads .gitignore rules as git does for folders, anchors and negation', () => {
    const rules = [...parseGitignore('.local/\n/models/*/\n!/models/README.md\n'), ...parseGitignore('profiles/\n', 'bench/results')];
    expect(ignoredBy(rules, '.local/stack.env')).toBe(true);
    expect(ignoredBy(rules, 'models/a/1/model.onnx')).toBe(true);
    expect(ignoredBy(rules, 'models/README.md')).toBe(false);
    expect(ignoredBy(rules, 'bench/results/profiles/x/a.cpuprofile')).toBe(true);
    expect(ignoredBy(rules, 'bench/run.ts')).toBe(false);
  });
});
