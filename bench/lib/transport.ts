/**
 * `bench/run.ts --secure`: which contenders also run through the SASL_SSL listener, and the TLS overhead
 * as a ratio of the two runs of the same contender in the same benchmark. Pure.
 */
import type { Spread } from './stats.ts';
import { ratio } from './stats.ts';

export type Transport = 'plaintext' | 'SASL_SSL';

/** The contenders that have a SASL_SSL twin (only today's scorer has a principal in infra/acls.json). */
export const SECURE_CAPABLE = ['scorer-eos', 'scorer-alo'] as const;
export const SECURE_SUFFIX = '-sasl_ssl';

export const secureTwin = (id: string): string => `${id}${SECURE_SUFFIX}`;
export const isSecureTwin = (id: string): boolean => id.endsWith(SECURE_SUFFIX);
export const plaintextOf = (id: string): string => (isSecureTwin(id) ? id.slice(0, -SECURE_SUFFIX.length) : id);

/**
 * The contender ids to run. Without --secure, naming a SASL_SSL twin is an error. With it, every selected
 * scorer-eos / scorer-alo gets its twin right after it, and a twin named alone brings its plaintext run (a
 * ratio needs both); a selection without either scorer mode is an error (there is nothing to compare).
 */
export function withSecureTwins(ids: readonly string[], secure: boolean): string[] {
  const twins = ids.filter(isSecureTwin);
  if (!secure) {
    if (twins.length) throw new Error(`contender(s) ${twins.join(', ')} run on the SASL_SSL broker: add --secure`);
    return [...ids];
  }
  const bad = twins.filter((t) => !(SECURE_CAPABLE as readonly string[]).includes(plaintextOf(t)));
  if (bad.length) throw new Error(`unknown contender(s) ${bad.join(', ')}; SASL_SSL twins: ${SECURE_CAPABLE.map(secureTwin).join(', ')}`);
  const out: string[] = [];
  for (const id of ids) {
    const base = plaintextOf(id);
    for (const x of (SECURE_CAPABLE as readonly string[]).includes(base) ? [base, secureTwin(base)] : [id]) if (!out.includes(x)) out.push(x);
  }
  if (!out.some(isSecureTwin)) throw new Error(`--secure compares ${SECURE_CAPABLE.join(' / ')} on SASL_SSL and plaintext; select at least one of them (got ${ids.join(', ')})`);
  return out;
}

export interface TlsOverhead {
  /** 'scorer-eos (SASL_SSL)/scorer-eos (plaintext)'. */
  readonly name: string;
  readonly id: string;
  readonly plaintext: { readonly appsPerSec: number; readonly cpuSecPer100k: number };
  readonly secure: { readonly appsPerSec: number; readonly cpuSecPer100k: number };
  /** applications/s on SASL_SSL / on plaintext (below 1: TLS + SASL cost throughput). */
  readonly throughputRatio: number;
  /** CPU s per 100k on SASL_SSL / on plaintext, of the scorer's process (above 1: TLS costs the scorer CPU). */
  readonly cpuRatio: number;
}

const med = (c: Record<string, Record<string, unknown>>, id: string, field: string): number => (c[id]?.[field] as Spread | null | undefined)?.median ?? Number.NaN;

export const overheadName = (id: string): string => `${id} (SASL_SSL)/${id} (plaintext)`;

/** One entry per scorer mode that ran both ways (medians over the repetitions; NaN where a side failed). */
export function tlsOverhead(contenders: Record<string, Record<string, unknown>>): TlsOverhead[] {
  return SECURE_CAPABLE.filter((id) => contenders[id] && contenders[secureTwin(id)]).map((id) => {
    const side = (x: string) => ({ appsPerSec: med(contenders, x, 'appsPerSec'), cpuSecPer100k: med(contenders, x, 'cpuSecPer100k') });
    const plaintext = side(id);
    const secure = side(secureTwin(id));
    return { name: overheadName(id), id, plaintext, secure, throughputRatio: ratio(secure.appsPerSec, plaintext.appsPerSec), cpuRatio: ratio(secure.cpuSecPer100k, plaintext.cpuSecPer100k) };
  });
}

/** The ratios entries of the throughput result: applications/s and CPU s per 100k, SASL_SSL over plaintext. */
export function tlsRatios(contenders: Record<string, Record<string, unknown>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of tlsOverhead(contenders)) {
    out[o.name] = o.throughputRatio;
    out[`cpu-per-100k ${o.name}`] = o.cpuRatio;
  }
  return out;
}
