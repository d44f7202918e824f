/** Reads the Prometheus text exposition format (what /metrics returns) into metric families and series names. */
export interface Family {
  readonly name: string;
  readonly type: string;
  readonly help: string;
  /** Label names seen on this family's samples (le and quantile excluded). */
  readonly labels: Set<string>;
  readonly samples: number;
}

export interface Exposition {
  readonly families: Map<string, Family>;
  /** Every series name a query can use: samples present, plus the names each declared family implies. */
  readonly seriesNames: Set<string>;
}

const SUFFIXES: Record<string, string[]> = { histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'], counter: [''], gauge: [''], untyped: [''] };

export function parseExposition(text: string): Exposition {
  const families = new Map<string, { name: string; type: string; help: string; labels: Set<string>; samples: number }>();
  const family = (name: string) => {
    let f = families.get(name);
    if (!f) families.set(name, (f = { name, type: 'untyped', help: '', labels: new Set(), samples: 0 }));
    return f;
  };
  const seriesNames = new Set<string>();
  for (const line of text.split('\n')) {
    const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
    if (meta) {
      const f = family(meta[2]!);
      if (meta[1] === 'TYPE') f.type = meta[3]!.trim();
      else f.help = meta[3]!;
      continue;
    }
    if (!line.trim() || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})?\s/.exec(line);
    if (!sample) continue;
    const name = sample[1]!;
    seriesNames.add(name);
    const owner = [...families.values()].find((f) => (SUFFIXES[f.type] ?? ['']).some((s) => f.name + s === name)) ?? family(name);
    owner.samples++;
    for (const m of (sample[3] ?? '').matchAll(/([a-zA-Z_]\w*)="/g)) if (m[1] !== 'le' && m[1] !== 'quantile') owner.labels.add(m[1]!);
  }
  for (const f of families.values()) for (const s of SUFFIXES[f.type] ?? ['']) seriesNames.add(f.name + s);
  return { families, seriesNames };
}
