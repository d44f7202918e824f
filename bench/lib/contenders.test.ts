import { describe, expect, it } from 'vitest';
import type { BenchCluster } from './cluster.ts';
import { SCORER_EOS_SASL_SSL, selectedContenders } from './contenders.ts';

const ids = (cs: { id: string }[]) => cs.map((c) => c.id);

describe('selectedContenders with --secure', () => {
  it('adds the SASL_SSL twin right after each selected scorer mode, in the usual order', () => {
    expect(ids(selectedContenders(['peer-a', 'scorer-alo', 'scorer-eos'], undefined, true))).toEqual(['scorer-eos', 'scorer-eos-sasl_ssl', 'scorer-alo', 'scorer-alo-sasl_ssl', 'peer-a']);
    expect(ids(selectedContenders(undefined, undefined, true))).toEqual(['scorer-eos', 'scorer-eos-sasl_ssl', 'scorer-alo', 'scorer-alo-sasl_ssl', 'scorer-eos-noexplain', 'scorer-alo-noexplain', 'peer-a', 'peer-a-reasons']);
    expect(ids(selectedContenders(undefined))).toEqual(['scorer-eos', 'scorer-alo', 'scorer-eos-noexplain', 'scorer-alo-noexplain', 'peer-a', 'peer-a-reasons']);
  });

  it('the twins run on SASL_SSL as the scorer principal, which gets the output and model topics created for it', () => {
    const [plain, twin] = selectedContenders(['scorer-eos'], undefined, true);
    expect(plain!.transport).toBe('plaintext');
    expect(twin!.transport).toBe('SASL_SSL');
    expect(twin!.principal).toEqual({ name: 'scorer', roles: ['decisions', 'scoringLog', 'deadLetters', 'modelUpdates', 'modelEvents'], groupEnv: 'SCORER_GROUP_ID' });
    expect(twin!.description).toMatch(/SASL_SSL.*User:scorer/);
  });

  it('a twin refuses to start on a plaintext cluster (before spawning anything)', () => {
    const plaintextCluster = { transport: 'plaintext' } as unknown as BenchCluster;
    expect(() => SCORER_EOS_SASL_SSL.start(plaintextCluster, {} as never, 'g')).toThrow(/runs on a SASL_SSL cluster, got a plaintext one/);
  });
});
