/** A reader for the few Dockerfile instructions the image tests look at (stages, COPY, RUN, CMD, HEALTHCHECK). */
export interface Instruction {
  readonly op: string;
  readonly args: string;
}

export interface Stage {
  readonly name: string;
  readonly from: string;
  readonly instructions: Instruction[];
}

export function parseDockerfile(text: string): Stage[] {
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  const stages: Stage[] = [];
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const m = /^(\w+)\s+(.*)$/.exec(line);
    if (!m) continue;
    const op = m[1]!.toUpperCase();
    const args = m[2]!.replace(/\s+/g, ' ').trim();
    if (op === 'FROM') {
      const f = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(args)!;
      stages.push({ name: f[2] ?? String(stages.length), from: f[1]!, instructions: [] });
    } else {
      stages.at(-1)?.instructions.push({ op, args });
    }
  }
  return stages;
}

/** The instructions that apply to `target`: its ancestors' (FROM <stage>) first, then its own. */
export function effectiveInstructions(stages: Stage[], target: string): Instruction[] {
  const s = stages.find((x) => x.name === target);
  if (!s) throw new Error(`no stage ${target}`);
  const parent = stages.find((x) => x.name === s.from);
  return [...(parent ? effectiveInstructions(stages, parent.name) : []), ...s.instructions];
}

/** The environment an image's ENV instructions set (`ENV K=V K2=V2` form, unquoted values), later ones winning. */
export function imageEnv(instructions: readonly Instruction[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const i of instructions.filter((x) => x.op === 'ENV')) {
    for (const pair of i.args.split(' ')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) throw new Error(`ENV ${i.args}: only the K=V form is read here`);
      env[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
  }
  return env;
}

/** The exec-form JSON array of CMD/ENTRYPOINT/HEALTHCHECK CMD. */
export function execForm(args: string): string[] {
  const json = args.slice(args.indexOf('['));
  return JSON.parse(json) as string[];
}

export interface Copy {
  readonly from?: string;
  readonly src: string[];
  readonly dst: string;
}

export function parseCopy(args: string): Copy {
  const parts = args.split(' ');
  let from: string | undefined;
  while (parts[0]?.startsWith('--')) {
    const flag = parts.shift()!;
    if (flag.startsWith('--from=')) from = flag.slice('--from='.length);
  }
  const dst = parts.pop()!;
  return { ...(from ? { from } : {}), src: parts, dst };
}
